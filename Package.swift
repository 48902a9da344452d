// swift-tools-version:6.0
import PackageDescription

// Module graph (see DESIGN.md): CLapack + CDetGEMM → Linear → Dynamics ┐
//                         CCairo + CDeflate → Charts ───────────┴→ GradLab → gradlab (CLI)
let package = Package(
    name: "gradlab",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "gradlab", targets: ["gradlab"]),
        .library(name: "GradLab", targets: ["GradLab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
    ],
    targets: [
        .systemLibrary(name: "CCairo", pkgConfig: "cairo",
                       providers: [.apt(["libcairo2-dev"])]),
        .systemLibrary(name: "CDeflate", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(name: "CLapack",
                       providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]),
        // The deterministic matrix product of the training path (C: one source, a generic and an AVX build).
        .target(name: "CDetGEMM"),
        .target(name: "Linear", dependencies: ["CLapack", "CDetGEMM"]),
        .target(name: "Dynamics", dependencies: ["Linear"]),
        .target(name: "Charts", dependencies: ["CCairo", "CDeflate"]),
        .target(name: "GradLab", dependencies: [
            "Linear", "Dynamics", "Charts", "CMalloc",
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ]),
        .executableTarget(name: "gradlab", dependencies: [
            "GradLab",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "LinearTests", dependencies: ["Linear"]),
        .testTarget(name: "DynamicsTests", dependencies: ["Dynamics", "Linear"]),
        .testTarget(name: "ChartsTests", dependencies: ["Charts"]),
        // Fixtures are read through #filePath (NumPy-written .npz files and their JSON twins), not as resources.
        .testTarget(name: "GradLabTests", dependencies: ["GradLab", "Dynamics", "Linear", "Charts"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v5]
)
