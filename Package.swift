// swift-tools-version:6.0
import PackageDescription

// Module graph (see docs/ARCHITECTURE.md):
//   CLapack + CDetGEMM → Linear → Dynamics ┐
//   CCairo + CDeflate → Charts ────────────┴→ GradLab → Explorer (HTTP, page) → GradLabCLI (commands) → gradlab
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
        // The explorer's HTTP/1.1 server: NIO's parser (llhttp, header limits) and event loops, without a
        // framework on top (Hummingbird would add minutes to a fresh build; see docs/ARCHITECTURE.md).
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
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
        // `gradlab serve`: routes, the compute gate and the page (its assets are compiled into the binary).
        .target(name: "Explorer", dependencies: [
            "GradLab", "Charts",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ], resources: [.embedInCode("Assets/index.html"), .embedInCode("Assets/explorer.js"), .embedInCode("Assets/live.js"), .embedInCode("Assets/explorer.css")]),
        // Every subcommand and the shared option groups. A library, so the explorer parses a query with the
        // very option declarations the command line uses.
        .target(name: "GradLabCLI", dependencies: [
            "GradLab", "Explorer", "Dynamics", "Linear",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "gradlab", dependencies: [
            "GradLab", "GradLabCLI",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "LinearTests", dependencies: ["Linear"]),
        .testTarget(name: "DynamicsTests", dependencies: ["Dynamics", "Linear"]),
        .testTarget(name: "ChartsTests", dependencies: ["Charts"]),
        // Fixtures are read through #filePath (NumPy-written .npz files and their JSON twins), not as resources.
        .testTarget(name: "GradLabTests", dependencies: ["GradLab", "Dynamics", "Linear", "Charts"], exclude: ["Fixtures"]),
        .testTarget(name: "ExplorerTests", dependencies: ["Explorer", "GradLabCLI", "GradLab", "Charts"]),
    ],
    swiftLanguageModes: [.v5]
)
