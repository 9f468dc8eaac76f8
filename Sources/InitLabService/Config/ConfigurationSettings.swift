import Foundation
import Logging

/// Every `initlab serve` setting: its flag, its environment variable, its default, its kind of value and how it
/// applies. `initlab serve`'s options (`ServeOptions`), the environment lookup, `--help` and the documentation
/// table all come from this one list, so they cannot drift.
///
/// Precedence: a flag on the command line, else the environment variable, else the default. Text, from the
/// environment or from a test, goes through one parse-or-explain path (`Setting.parse`); the command line parses
/// with the same `SettingValue` initializers (`ExpressibleByArgument`, in the executable).
package struct ConfigurationSetting: Sendable {
    /// The long flag without dashes, e.g. "queue-size".
    package var flag: String
    /// The environment variable, e.g. "INITLAB_QUEUE_SIZE".
    package var environment: String
    package var summary: String
    /// The default as documented.
    package var defaultText: String
    /// Repeatable flags collect several values; their environment variable is comma-separated.
    package var repeatable: Bool
    /// What a value looks like ("a size like 65536, 64KiB, 512MiB or 1GiB").
    package var expected: String
    let resolve: @Sendable (inout ServiceConfiguration, ConfigurationFlags, [String: String]) throws(ConfigurationError) -> Void

    package static let host = Setting<String>(
        "host", "INITLAB_HOST", "Address to bind; anything but loopback requires a token", "127.0.0.1") { $0.host = $1 }
    package static let port = Setting<Int>(
        "port", "INITLAB_PORT", "TCP port (0 picks a free one; printed as `listening on HOST:PORT`)", "8080") { $0.port = $1 }
    package static let database = Setting<String>(
        "database", "INITLAB_DATABASE",
        "SQLite database path (WAL files beside it; one node), or a postgres:// URL shared by API and worker nodes (`postgres://user:password@host:5432/db`, `?sslmode=require` for TLS)",
        "./initlab.sqlite") { $0.databasePath = $1 }
    package static let databaseConnections = Setting<Int>(
        "database-connections", "INITLAB_DATABASE_CONNECTIONS",
        "Most PostgreSQL connections this process opens (one of them listens for job changes)", "10") {
            $0.databaseConnections = $1
        }
    package static let workers = Setting<Int>(
        "workers", "INITLAB_WORKERS", "Experiments run at once (each already uses every core); 0 serves the API alone", "1") {
            $0.workers = $1
        }
    package static let leaseDuration = Setting<TimeSpan>(
        "lease-duration", "INITLAB_LEASE_DURATION",
        "A running job whose worker stops renewing its lease this long is re-queued (attempt + 1) or failed after --max-attempts",
        "30s") { $0.lease.duration = $1.duration }
    package static let heartbeatInterval = Setting<TimeSpan>(
        "heartbeat-interval", "INITLAB_HEARTBEAT_INTERVAL",
        "How often a worker renews the lease of its running job, and how often expired leases are reaped (under --lease-duration)",
        "5s") { $0.lease.heartbeat = $1.duration }
    package static let queueSize = Setting<Int>(
        "queue-size", "INITLAB_QUEUE_SIZE", "Queued jobs accepted before POST answers 503", "100") { $0.queueCapacity = $1 }
    package static let maxDepth = Setting<Int>(
        "max-depth", "INITLAB_MAX_DEPTH", "Largest depth a spec may ask for", "10000") { $0.budget.maxDepth = $1 }
    package static let maxWidth = Setting<Int>(
        "max-width", "INITLAB_MAX_WIDTH", "Largest width (and input width)", "4096") { $0.budget.maxWidth = $1 }
    package static let maxBatch = Setting<Int>("max-batch", "INITLAB_MAX_BATCH", "Largest batch", "4096") { $0.budget.maxBatch = $1 }
    package static let maxMemory = Setting<ByteSize>(
        "max-memory", "INITLAB_MAX_MEMORY", "Memory budget of one experiment (estimate)", "1GiB") { $0.budget.maxMemoryBytes = $1.bytes }
    package static let maxFLOPs = Setting<Double>(
        "max-flops", "INITLAB_MAX_FLOPS", "Compute budget of one experiment (estimated FLOPs)", "2e12") { $0.budget.maxFLOPs = $1 }
    package static let maxSteps = Setting<Int>(
        "max-steps", "INITLAB_MAX_STEPS", "Most optimizer steps of a training run (train.steps)", "100000") { $0.budget.maxTrainSteps = $1 }
    package static let maxBody = Setting<ByteSize>(
        "max-body", "INITLAB_MAX_BODY", "Largest request body (413 above, before reading it)", "64KiB") {
            $0.maxBodyBytes = Int(clamping: $1.bytes)
        }
    package static let retention = Setting<TimeSpan>(
        "retention", "INITLAB_RETENTION", "How long finished jobs and results are kept (idempotency keys: at least 24 h)", "7d") {
            $0.retention = $1.duration
        }
    package static let pruneInterval = Setting<TimeSpan>(
        "prune-interval", "INITLAB_PRUNE_INTERVAL", "How often expired jobs are pruned", "1h") { $0.pruneInterval = $1.duration }
    package static let corsOrigin = Setting<String>(
        "cors-origin", "INITLAB_CORS_ORIGINS", "Origin allowed by CORS (repeatable; env comma-separated; `*` for any)", "none",
        repeatable: true
    ) { configuration, values in configuration.corsOrigins = commaSeparated(values) }
    package static let token = Setting<String>(
        "token", "INITLAB_TOKEN", "Bearer token required on every POST (≥ 16 characters)", "none") { $0.token = $1.isEmpty ? nil : $1 }
    package static let jobTimeout = Setting<TimeSpan>(
        "job-timeout", "INITLAB_JOB_TIMEOUT", "Wall-clock limit of one run; then failed with \"time limit\"", "1h") {
            $0.jobTimeout = $1.duration
        }
    package static let maxAttempts = Setting<Int>(
        "max-attempts", "INITLAB_MAX_ATTEMPTS", "Runs before a job interrupted by a crash or an expired lease is failed instead of re-queued", "3") {
            $0.maxAttempts = $1
        }
    package static let maxWait = Setting<Int>(
        "max-wait", "INITLAB_MAX_WAIT", "Longest long-poll `?wait=` in seconds", "60") { $0.maxWaitSeconds = $1 }
    package static let cacheDir = Setting<String>(
        "cache-dir", "INITLAB_CACHE_DIR",
        "Dataset cache folder, shared with `initlab fetch` and `initlab run` (the container uses /data/datasets)",
        "./.initlab-cache") { $0.cacheDirectory = $1.isEmpty ? ".initlab-cache" : $1 }
    package static let datasetMirror = Setting<String>(
        "dataset-mirror", "INITLAB_DATASET_MIRRORS",
        "Mirror for dataset fetches: `NAME=URL-or-folder` for one dataset, a bare URL or folder for all (repeatable; env comma-separated). Without it, `INITLAB_MNIST_MIRROR` / `INITLAB_FASHION_MNIST_MIRROR`, else the defaults (Fashion-MNIST: Debian's /usr/share/datasets/fashion-mnist first when installed)",
        "each dataset's defaults", repeatable: true
    ) { configuration, values in configuration.datasetMirrors = commaSeparated(values) }
    package static let sseHeartbeat = Setting<TimeSpan>(
        "sse-heartbeat", "INITLAB_SSE_HEARTBEAT", "Heartbeat comment on an idle event stream after this much silence (10ms...10m)",
        "15s") { $0.sseHeartbeat = $1.duration }
    package static let logLevel = Setting<Logger.Level>(
        "log-level", "INITLAB_LOG_LEVEL", "Least severe log message written to standard error", "info") { $0.logLevel = $1 }

    package static let all: [ConfigurationSetting] = [
        host.erased, port.erased, database.erased, databaseConnections.erased, workers.erased, leaseDuration.erased,
        heartbeatInterval.erased, queueSize.erased, maxDepth.erased, maxWidth.erased,
        maxBatch.erased, maxMemory.erased, maxFLOPs.erased, maxSteps.erased, maxBody.erased, retention.erased, pruneInterval.erased,
        corsOrigin.erased, token.erased, jobTimeout.erased, maxAttempts.erased, maxWait.erased, cacheDir.erased,
        datasetMirror.erased, sseHeartbeat.erased, logLevel.erased,
    ]

    /// Builds the configuration: defaults, then environment variables, then flags (flags win); then checks the
    /// combination. Every message names the flag and its environment variable.
    package static func resolve(flags: ConfigurationFlags, environment: [String: String]) throws(ConfigurationError)
        -> ServiceConfiguration
    {
        var configuration = ServiceConfiguration()
        for setting in all { try setting.resolve(&configuration, flags, environment) }
        try configuration.validate()
        return configuration
    }

    /// "--max-memory (INITLAB_MAX_MEMORY)": how messages name a setting.
    package var name: String { "--\(flag) (\(environment))" }

    /// The Markdown table of settings for docs/service.md.
    package static var markdownTable: String {
        var out = "| Flag | Environment | Default | Meaning |\n| --- | --- | --- | --- |\n"
        for setting in all {
            out += "| `--\(setting.flag)` | `\(setting.environment)` | \(setting.defaultText) | \(setting.summary) |\n"
        }
        return out
    }

    private static func commaSeparated(_ values: [String]) -> [String] {
        values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

/// One setting whose values are `Value`s (see `ConfigurationSetting` for the list).
package struct Setting<Value: SettingValue>: Sendable {
    package let flag: String
    package let environment: String
    package let summary: String
    package let defaultText: String
    package let repeatable: Bool
    /// Applies the values given (the last one, unless the setting is repeatable).
    let apply: @Sendable (inout ServiceConfiguration, [Value]) -> Void

    init(
        _ flag: String, _ environment: String, _ summary: String, _ defaultText: String, repeatable: Bool = false,
        apply: @escaping @Sendable (inout ServiceConfiguration, [Value]) -> Void
    ) {
        self.flag = flag
        self.environment = environment
        self.summary = summary
        self.defaultText = defaultText
        self.repeatable = repeatable
        self.apply = apply
    }

    init(
        _ flag: String, _ environment: String, _ summary: String, _ defaultText: String,
        set: @escaping @Sendable (inout ServiceConfiguration, Value) -> Void
    ) {
        self.init(flag, environment, summary, defaultText) { configuration, values in
            if let last = values.last { set(&configuration, last) }
        }
    }

    /// The `--help` text: the summary, what a value looks like, the environment variable and the default.
    package var help: String {
        "\(summary). \(Value.expected.prefix(1).uppercased() + Value.expected.dropFirst())"
            + "\(repeatable ? " (repeatable)" : ""). Env: \(environment). Default: \(defaultText)."
    }

    /// The one parse-or-explain path for text:
    /// "--max-memory (INITLAB_MAX_MEMORY) must be a size like 65536, 64KiB, 512MiB or 1GiB, got 'lots'".
    package func parse(_ text: String) throws(ConfigurationError) -> Value {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let value = Value(settingText: trimmed) else {
            throw ConfigurationError(message: "--\(flag) (\(environment)) must be \(Value.expected), got '\(trimmed)'")
        }
        return value
    }

    package var erased: ConfigurationSetting {
        ConfigurationSetting(
            flag: flag, environment: environment, summary: summary, defaultText: defaultText, repeatable: repeatable,
            expected: Value.expected
        ) { configuration, flags, variables throws(ConfigurationError) in
            if let given = flags.given[flag] {
                switch given {
                case .values(let values):
                    guard let values = values as? [Value] else {
                        throw ConfigurationError(message: "--\(flag) (\(environment)) was given a value of the wrong type")
                    }
                    apply(&configuration, values)
                case .text(let texts):
                    var values: [Value] = []
                    for text in texts { values.append(try parse(text)) }
                    apply(&configuration, values)
                }
            } else if let text = variables[environment] {
                apply(&configuration, [try parse(text)])
            }
        }
    }
}

/// The settings given on the command line: values already parsed by the command-line parser (`set`), or text
/// (tests: `["port": ["9000"]]`), which goes through `Setting.parse` like an environment variable.
package struct ConfigurationFlags: Sendable, ExpressibleByDictionaryLiteral {
    enum Given: Sendable {
        case values(any Sendable)
        case text([String])
    }

    var given: [String: Given] = [:]
    /// The flags `set` was called for, given or not (`initlab serve` checks that it covers the whole table).
    package private(set) var declared: Set<String> = []

    package init() {}

    package init(dictionaryLiteral elements: (String, [String])...) {
        for (flag, texts) in elements where !texts.isEmpty { given[flag] = .text(texts) }
    }

    /// A single-valued flag; nil means "not given".
    package mutating func set<Value>(_ setting: Setting<Value>, _ value: Value?) {
        declared.insert(setting.flag)
        if let value { given[setting.flag] = .values([value]) }
    }

    /// A repeatable flag; empty means "not given".
    package mutating func set<Value>(_ setting: Setting<Value>, _ values: [Value]) {
        declared.insert(setting.flag)
        if !values.isEmpty { given[setting.flag] = .values(values) }
    }
}

// MARK: - Kinds of values

/// A kind of value a setting takes from text: a command-line flag or an environment variable.
package protocol SettingValue: Sendable {
    /// Nil when `text` (trimmed) is not a value of this kind.
    init?(settingText text: String)
    /// What a value must look like, for `--help` and messages: "a size like 65536, 64KiB, 512MiB or 1GiB".
    static var expected: String { get }
}

extension Int: SettingValue {
    package init?(settingText text: String) { self.init(text) }
    package static var expected: String { "an integer" }
}

extension Double: SettingValue {
    package init?(settingText text: String) {
        guard let value = Double(text), value.isFinite else { return nil }
        self = value
    }
    package static var expected: String { "a number" }
}

extension String: SettingValue {
    package init?(settingText text: String) { self = text }
    package static var expected: String { "text" }
}

extension Logger.Level: SettingValue {
    package init?(settingText text: String) { self.init(rawValue: text) }
    package static var expected: String { "one of " + allCases.map(\.rawValue).joined(separator: ", ") }
}

/// A size in bytes: `65536`, `64KiB`, `512MiB`, `1GiB` (also KB, MB, GB as powers of 1000). Positive.
package struct ByteSize: SettingValue, Equatable {
    package var bytes: Int64

    package init(bytes: Int64) { self.bytes = bytes }

    package init?(settingText text: String) {
        let units: [(String, Int64)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000),
            ("GB", 1_000_000_000), ("B", 1),
        ]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Int64(text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), value > 0
            else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: scale)
            if overflow { return nil }
            bytes = product
            return
        }
        guard let value = Int64(text), value > 0 else { return nil }
        bytes = value
    }

    package static var expected: String { "a size like 65536, 64KiB, 512MiB or 1GiB" }
}

/// A duration: `90` (seconds), `90s`, `30m`, `12h`, `7d`, `250ms`. Positive, below 1e10 s.
package struct TimeSpan: SettingValue, Equatable {
    package var duration: Duration

    package init(_ duration: Duration) { self.duration = duration }

    package init?(settingText text: String) {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        var number = Substring(text)
        var scale = 1.0
        for (suffix, unitScale) in units where text.hasSuffix(suffix) {
            if suffix == "s", text.dropLast().hasSuffix("m") { continue }
            number = text.dropLast(suffix.count)
            scale = unitScale
            break
        }
        guard let value = Double(number), value > 0, value.isFinite, value * scale < 1e10 else { return nil }
        duration = .milliseconds(Int64((value * scale * 1000).rounded()))
    }

    package static var expected: String { "a duration like 90, 90s, 30m, 12h, 7d or 250ms" }
}
