import Foundation

/// Limits on what one experiment may ask for, checked when a spec is submitted (422 when exceeded).
public struct ExperimentBudget: Sendable, Equatable {
    /// Default: 10,000 layers.
    public var maxDepth: Int = 10_000
    /// Default: 4,096 units.
    public var maxWidth: Int = 4_096
    /// Default: 4,096 samples.
    public var maxBatch: Int = 4_096
    /// Estimated peak memory of one run. Default: 1 GiB.
    public var maxMemoryBytes: Int64 = 1 << 30
    /// Estimated floating-point operations of one run. Default: 2e12.
    public var maxFLOPs: Double = 2e12

    public init() {}
}

/// Everything `initlab serve` can be told, built once in the executable from flags and environment variables
/// (flags win) and passed down. Defaults are what an unconfigured `initlab serve` uses.
public struct ServiceConfiguration: Sendable {
    /// Default: 127.0.0.1. Any other address requires `token`.
    public var host: String = "127.0.0.1"
    /// Default: 8080. 0 picks a free port (tests).
    public var port: Int = 8080
    /// Default: ./initlab.sqlite in the working folder.
    public var databasePath: String = "initlab.sqlite"
    /// Worker threads running experiments. Default: 1 (one experiment already uses every core).
    public var workers: Int = 1
    /// Queued jobs accepted before POST answers 503 with Retry-After. Default: 100.
    public var queueCapacity: Int = 100
    public var budget = ExperimentBudget()
    /// Largest request body; larger is 413 before it is read. Default: 64 KiB (a spec is well under 1 KiB).
    public var maxBodyBytes: Int = 64 * 1024
    /// How long finished jobs and their results are kept. Default: 7 days.
    public var retention: Duration = .seconds(7 * 24 * 3600)
    /// How often the pruning task runs. Default: 1 hour.
    public var pruneInterval: Duration = .seconds(3600)
    /// Origins allowed by CORS (exact match, or "*"). Default: none.
    public var corsOrigins: [String] = []
    /// Bearer token that every mutating request must carry. Default: none (only allowed on loopback).
    public var token: String? = nil
    /// Wall-clock limit of one run attempt; exceeded → failed with error "time limit". Default: 1 hour.
    public var jobTimeout: Duration = .seconds(3600)
    /// Runs a job may start before a crash-interrupted job is failed instead of re-queued. Default: 3.
    public var maxAttempts: Int = 3
    /// Longest long-poll (`?wait=`) in seconds. Default: 60.
    public var maxWaitSeconds: Int = 60
    /// Minimum interval between progress writes of one job. Default: 250 ms (≤ 4 writes/s).
    public var progressWriteInterval: Duration = .milliseconds(250)
    /// Dataset cache folder, shared with `initlab fetch` and `initlab run`. Default: ./.initlab-cache.
    public var cacheDirectory: String = ".initlab-cache"
    /// Mirrors for `POST /v1/datasets/{name}/fetch`: `NAME=URL-or-folder` for one dataset, a bare URL or folder
    /// for every dataset. Empty: each dataset's INITLAB_*_MIRROR variable, else its default mirrors.
    public var datasetMirrors: [String] = []

    public init() {}

    /// Idempotency keys are kept at least 24 h, and as long as the jobs they point at.
    public var idempotencyRetention: Duration { max(retention, .seconds(24 * 3600)) }

    /// True for 127.0.0.0/8, ::1 and "localhost".
    public var bindsLoopbackOnly: Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Checks the combination of settings; the message says which setting to change.
    public func validate() throws(ConfigurationError) {
        func fail(_ message: String) throws(ConfigurationError) { throw ConfigurationError(message: message) }
        if !bindsLoopbackOnly && (token ?? "").isEmpty {
            try fail(
                "binding \(host) (not loopback) requires a bearer token: pass --token or set INITLAB_TOKEN")
        }
        if let token, !token.isEmpty, token.count < 16 { try fail("the token must be at least 16 characters") }
        if !(0...65535).contains(port) { try fail("port must be 0...65535, got \(port)") }
        if workers < 1 || workers > 64 { try fail("workers must be 1...64, got \(workers)") }
        if queueCapacity < 1 { try fail("queue size must be at least 1, got \(queueCapacity)") }
        if maxAttempts < 1 { try fail("max attempts must be at least 1, got \(maxAttempts)") }
        if maxBodyBytes < 1024 { try fail("max body size must be at least 1024 bytes, got \(maxBodyBytes)") }
        if budget.maxDepth < 1 || budget.maxWidth < 1 || budget.maxBatch < 1 {
            try fail("max depth, width and batch must be at least 1")
        }
        if budget.maxMemoryBytes < 1 || !(budget.maxFLOPs > 0) { try fail("budgets must be positive") }
        if jobTimeout <= .zero { try fail("job timeout must be positive") }
        if retention <= .zero { try fail("retention must be positive") }
        if databasePath.isEmpty { try fail("database path must not be empty") }
        if cacheDirectory.isEmpty { try fail("cache dir must not be empty") }
        for mirror in datasetMirrors {
            guard let eq = mirror.firstIndex(of: "=") else { continue }
            let name = mirror[..<eq]
            // `name=…` with a bare word before `=` targets a dataset; a URL's query string does not look like that.
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else { continue }
            if DatasetRegistry.knownDatasets.contains(String(name)) {
                if mirror[mirror.index(after: eq)...].trimmingCharacters(in: .whitespaces).isEmpty {
                    try fail("--dataset-mirror \(mirror): the mirror after '=' is empty")
                }
            } else {
                try fail(
                    "--dataset-mirror \(mirror): unknown dataset '\(name)' (known: \(DatasetRegistry.knownDatasets.joined(separator: ", ")))")
            }
        }
    }
}

/// A configuration that cannot start; `message` names the setting.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension Duration {
    /// Seconds as a Double.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
