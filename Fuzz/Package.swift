// swift-tools-version:6.0
import PackageDescription

// libFuzzer target for gradlab's file readers (.npz/.npy and gradlab.model/1 JSON). A package of its own so
// the main build never needs the fuzzer runtime; `make fuzz` builds it with -sanitize=fuzzer into .build-fuzz
// and runs it for a fixed time over Fuzz/corpus.
let package = Package(
    name: "gradlab-fuzz",
    dependencies: [.package(name: "gradlab", path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzInputs",
            dependencies: [.product(name: "GradLab", package: "gradlab")]),
    ],
    swiftLanguageModes: [.v5]
)
