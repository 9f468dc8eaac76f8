// swift-tools-version:6.0
// Benchmark-only package: the two routes of Benchmarks/service/run.sh on Hummingbird 2 at its defaults.
// Built by run.sh in release with its own scratch path; never part of the root build or CI.
import PackageDescription

let package = Package(
    name: "HBService",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .executableTarget(
            name: "hb-service",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
