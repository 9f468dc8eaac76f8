// swift-tools-version:6.0
// libFuzzer target for HTTPServer's request parser and connection state machine.
// Build and run with scripts/fuzz-parser.sh; it links .root/InitLab to the repository root so the dependency
// has a stable identity whatever the checkout folder is called. Not part of the root build or CI.
import PackageDescription

let package = Package(
    name: "InitLabFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: ".root/InitLab")],
    targets: [
        .executableTarget(
            name: "ParserFuzzer",
            dependencies: [.product(name: "HTTPServer", package: "InitLab")],
            // No main.swift: libFuzzer provides main, and LLVMFuzzerTestOneInput must live outside main.swift
            // for coverage instrumentation to see it.
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    ],
    swiftLanguageModes: [.v6]
)
