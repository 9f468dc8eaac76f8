import Foundation
import Logging

/// Limits on what one experiment may ask for, checked when a spec is submitted (422 when exceeded).
package struct ExperimentBudget: Sendable, Equatable {
    /// Default: 10,000 layers.
    package var maxDepth: Int = 10_000
    /// Default: 4,096 units.
    package var maxWidth: Int = 4_096
    /// Default: 4,096 samples.
    package var maxBatch: Int = 4_096
    /// Estimated peak memory of one run. Default: 1 GiB.
    package var maxMemoryBytes: Int64 = 1 << 30
    /// Estimated floating-point operations of one run. Default: 2e12.
    package var maxFLOPs: Double = 2e12
    /// Optimizer steps of one training run (`train.steps`). Default: 100,000.
    package var maxTrainSteps: Int = 100_000

    package init() {}
}

/// Everything `initlab serve` can be told, built once in the executable from flags and environment variables
/// (flags win) and passed down. Defaults are what an unconfigured `initlab serve` uses.
package struct ServiceConfiguration: Sendable {
    /// Default: 127.0.0.1. Any other address requires `token`.
    package var host: String = "127.0.0.1"
    /// Default: 8080. 0 picks a free port (tests).
    package var port: Int = 8080
    /// A SQLite path or a `postgres://` URL (`database`). Default: ./initlab.sqlite in the working folder.
    package var databasePath: String = "initlab.sqlite"
    /// Most PostgreSQL connections of this process. Default: 10.
    package var databaseConnections: Int = 10
    /// Worker threads running experiments. Default: 1 (one experiment already uses every core); 0 for an
    /// API-only node.
    package var workers: Int = 1
    /// Claim leases and their heartbeat. Default: 30 s, renewed every 5 s.
    package var lease = LeaseSettings()
    /// Queued jobs accepted before POST answers 503 with Retry-After. Default: 100.
    package var queueCapacity: Int = 100
    package var budget = ExperimentBudget()
    /// Largest request body; larger is 413 before it is read. Default: 64 KiB (a spec is well under 1 KiB).
    package var maxBodyBytes: Int = 64 * 1024
    /// How long finished jobs and their results are kept. Default: 7 days.
    package var retention: Duration = .seconds(7 * 24 * 3600)
    /// How often the pruning task runs. Default: 1 hour.
    package var pruneInterval: Duration = .seconds(3600)
    /// Origins allowed by CORS (exact match, or "*"). Default: none.
    package var corsOrigins: [String] = []
    /// Bearer token that every mutating request must carry. Default: none (only allowed on loopback).
    package var token: String? = nil
    /// Wall-clock limit of one run attempt; exceeded → failed with error "time limit". Default: 1 hour.
    package var jobTimeout: Duration = .seconds(3600)
    /// Runs a job may start before a crash-interrupted job is failed instead of re-queued. Default: 3.
    package var maxAttempts: Int = 3
    /// Longest long-poll (`?wait=`) in seconds. Default: 60.
    package var maxWaitSeconds: Int = 60
    /// Minimum interval between progress writes of one job. Default: 250 ms (≤ 4 writes/s).
    package var progressWriteInterval: Duration = .milliseconds(250)
    /// Dataset cache folder, shared with `initlab fetch` and `initlab run`. Default: ./.initlab-cache.
    package var cacheDirectory: String = ".initlab-cache"
    /// Mirrors for `POST /v1/datasets/{name}/fetch`: `NAME=URL-or-folder` for one dataset, a bare URL or folder
    /// for every dataset. Empty: each dataset's INITLAB_*_MIRROR variable, else its default mirrors.
    package var datasetMirrors: [String] = []
    /// Silence on an event stream after which a heartbeat comment is sent. Default: 15 s (under common proxy idle
    /// timeouts).
    package var sseHeartbeat: Duration = .seconds(15)
    /// Least severe log message written. Default: info.
    package var logLevel: Logger.Level = .info

    package init() {}

    /// Idempotency keys are kept at least 24 h, and as long as the jobs they point at.
    package var idempotencyRetention: Duration { max(retention, .seconds(24 * 3600)) }

    /// Where the jobs live, from `databasePath`.
    package var database: DatabaseLocation { DatabaseLocation(databasePath) }

    /// True for 127.0.0.0/8, ::1 and "localhost".
    package var bindsLoopbackOnly: Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Checks each setting's limits and the combination of settings; the message names the flag and its
    /// environment variable.
    package func validate() throws(ConfigurationError) {
        typealias S = ConfigurationSetting
        func fail(_ message: String) throws(ConfigurationError) { throw ConfigurationError(message: message) }
        func require(_ ok: Bool, _ setting: Setting<some SettingValue>, _ limit: String, _ value: Any) throws(ConfigurationError) {
            if !ok { try fail("--\(setting.flag) (\(setting.environment)) must be \(limit), got \(value)") }
        }
        if !bindsLoopbackOnly && (token ?? "").isEmpty {
            try fail(
                "binding \(host) (not loopback) requires a bearer token: pass --token or set INITLAB_TOKEN")
        }
        if let token, !token.isEmpty {
            try require(token.count >= 16, S.token, "at least 16 characters", "\(token.count)")
        }
        try require((0...65535).contains(port), S.port, "0...65535", port)
        try require((0...64).contains(workers), S.workers, "0...64", workers)
        try require((2...1000).contains(databaseConnections), S.databaseConnections, "2...1000", databaseConnections)
        try require(lease.duration >= .seconds(1), S.leaseDuration, "at least 1s", lease.duration)
        try require(
            lease.heartbeat >= .milliseconds(10) && lease.heartbeat * 2 <= lease.duration, S.heartbeatInterval,
            "10ms or more and at most half of --lease-duration (\(lease.duration))", lease.heartbeat)
        try require(queueCapacity >= 1, S.queueSize, "at least 1", queueCapacity)
        try require(maxAttempts >= 1, S.maxAttempts, "at least 1", maxAttempts)
        try require(maxBodyBytes >= 1024, S.maxBody, "at least 1024 bytes", maxBodyBytes)
        try require(budget.maxDepth >= 1, S.maxDepth, "at least 1", budget.maxDepth)
        try require(budget.maxWidth >= 1, S.maxWidth, "at least 1", budget.maxWidth)
        try require(budget.maxBatch >= 1, S.maxBatch, "at least 1", budget.maxBatch)
        try require(budget.maxMemoryBytes >= 1, S.maxMemory, "positive", budget.maxMemoryBytes)
        try require(budget.maxFLOPs > 0, S.maxFLOPs, "positive", budget.maxFLOPs)
        try require(budget.maxTrainSteps >= 1, S.maxSteps, "at least 1", budget.maxTrainSteps)
        try require(maxWaitSeconds >= 0, S.maxWait, "at least 0", maxWaitSeconds)
        try require(jobTimeout > .zero, S.jobTimeout, "positive", jobTimeout)
        try require(retention > .zero, S.retention, "positive", retention)
        try require(pruneInterval > .zero, S.pruneInterval, "positive", pruneInterval)
        try require(
            (Duration.milliseconds(10)...Duration.seconds(600)).contains(sseHeartbeat), S.sseHeartbeat, "10ms...10m",
            sseHeartbeat)
        try require(!databasePath.isEmpty, S.database, "a path", "''")
        try require(!cacheDirectory.isEmpty, S.cacheDir, "a folder", "''")
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

/// Where the service keeps its jobs: `--database` is a SQLite file path (one node), or a `postgres://` /
/// `postgresql://` URL (a database shared by API and worker nodes).
package enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(url: String)

    package init(_ text: String) {
        let lower = text.lowercased()
        self = lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") ? .postgres(url: text) : .sqlite(path: text)
    }

    /// For logs: the path, or the URL without its password.
    package var redacted: String {
        switch self {
        case .sqlite(let path): return path
        case .postgres(let url):
            guard var components = URLComponents(string: url), components.password != nil else { return url }
            components.password = "***"
            return components.string ?? "postgres://…"
        }
    }
}

/// A configuration that cannot start; `message` names the setting.
package struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}

extension Duration {
    /// Seconds as a Double.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
