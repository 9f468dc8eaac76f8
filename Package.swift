// swift-tools-version:6.0
import PackageDescription

// The compute core is compiled for x86-64-v3 (AVX2 + FMA) on x86_64: without a target CPU, Swift lowers a
// SIMD fused multiply-add to a libm call per lane. The executable checks the CPU at start-up (CPUFeatures,
// compiled without these flags) and refuses to run on a CPU that lacks them. Other architectures build
// without the flags.
#if arch(x86_64)
let simdFlags: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
let simdDefine: [CSetting] = [.define("INITLAB_REQUIRE_X86_64_V3")]
#else
let simdFlags: [SwiftSetting] = []
let simdDefine: [CSetting] = []
#endif

let package = Package(
    name: "InitLab",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "initlab", targets: ["initlab"]),
        .library(name: "InitCore", targets: ["InitCore"]),
        .library(name: "HTTPServer", targets: ["HTTPServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // Pure compute: matrices, matmul, random numbers, initializers, activations, statistics, theory, runner.
        .target(name: "InitCore", dependencies: ["CPUHints"], swiftSettings: simdFlags),
        // The wire contract between clients and the core: the strict JSON parser and the one JSON value type, the
        // spec's decoding and validation against the configured limits (messages built from them), the one field
        // error type, and the Codable wire forms (snake_case) of specs, results and the scheme catalog.
        .target(name: "InitLabContract", dependencies: ["InitCore"]),
        // Generic HTTP/1.1 server on POSIX sockets: epoll event loops (two threads per core) for connections,
        // Dispatch for accepting; knows nothing of experiments.
        .target(name: "HTTPServer", dependencies: ["CLinux", .product(name: "Logging", package: "swift-log")]),
        // Thin C shims.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CPUFeatures", cSettings: simdDefine),
        // What Glibc's module does not export, for HTTPServer: epoll, eventfd, a thread's own nice value.
        .target(name: "CLinux"),
        // Spin-wait and prefetch hints for the core (x86 `pause` and `prefetchw`, ARM `yield`).
        .target(name: "CPUHints"),
        // Data: curl fetcher, gzip, IDX parsing, normalization.
        .target(name: "Datasets", dependencies: ["CCurl", "CZlib", .product(name: "Crypto", package: "swift-crypto")]),
        // The service: API routes, job queue, store, dashboard, metrics. The contract (a symlink to the top-level
        // openapi.yaml) and the dashboard's files are compiled into the binary as byte arrays (`PackageResources`),
        // so it needs no resource folder at run time.
        .target(
            name: "InitLabService",
            dependencies: [
                "InitCore", "InitLabContract", "HTTPServer", "Datasets",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            resources: [
                .embedInCode("Resources/openapi.yaml"),
                .embedInCode("Resources/dashboard/index.html"),
                .embedInCode("Resources/dashboard/app.css"),
                .embedInCode("Resources/dashboard/app.js"),
            ]
        ),
        // A client of the HTTP API for the remote commands (`initlab submit`, `watch`, …): requests on Foundation's
        // URLSession, problem answers, the SSE parser, the exit codes.
        .target(name: "InitLabClient", dependencies: ["InitLabContract"]),
        .executableTarget(
            name: "initlab",
            dependencies: [
                "InitLabService", "InitLabClient", "InitLabContract", "InitCore", "Datasets", "HTTPServer", "CPUFeatures",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Shared by the test targets: the trait that keeps long synchronous tests off the cooperative pool.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // InitLabContract only to build validated specs (the runner takes those) and compare encoded results.
        .testTarget(
            name: "InitCoreTests", dependencies: ["InitCore", "InitLabContract", "TestSupport"], swiftSettings: simdFlags),
        .testTarget(name: "InitLabContractTests", dependencies: ["InitLabContract", "InitCore", "TestSupport"]),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer"]),
        .testTarget(name: "InitLabClientTests", dependencies: ["InitLabClient", "InitLabContract", "HTTPServer"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "TestSupport"]),
        .testTarget(
            name: "InitLabServiceTests",
            dependencies: [
                "InitLabService", "InitLabContract", "InitCore", "HTTPServer", "Datasets", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
