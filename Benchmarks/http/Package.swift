// swift-tools-version:6.0
// Benchmark-only package: the same tiny JSON endpoint on Hummingbird 2 and on InitLab's HTTPServer.
// Built by run.sh in release with its own scratch path; never part of the root build or CI.
import PackageDescription

let package = Package(
    name: "HTTPBench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // run.sh links .root/InitLab to the repository root, so the dependency has a stable identity
        // whatever the checkout folder is called.
        .package(path: ".root/InitLab"),
    ],
    targets: [
        .executableTarget(
            name: "hb-bench",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")]
        ),
        .executableTarget(
            name: "ours-bench",
            dependencies: [.product(name: "HTTPServer", package: "InitLab")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
