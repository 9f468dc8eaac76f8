import Foundation

/// Every `initlab serve` setting: its flag, its environment variable and how a text value applies. The serve
/// command, the environment lookup and the documentation table all read this one list, so they cannot drift.
public struct ConfigurationSetting: Sendable {
    /// The long flag without dashes, e.g. "queue-size".
    public var flag: String
    /// The environment variable, e.g. "INITLAB_QUEUE_SIZE".
    public var environment: String
    public var summary: String
    /// The default as documented.
    public var defaultText: String
    /// Repeatable flags collect several values; their environment variable is comma-separated.
    public var repeatable: Bool = false
    let apply: @Sendable (inout ServiceConfiguration, [String]) throws(ConfigurationError) -> Void

    public static let all: [ConfigurationSetting] = [
        text("host", "INITLAB_HOST", "Address to bind; anything but loopback requires a token", "127.0.0.1") { $0.host = $1 },
        integer("port", "INITLAB_PORT", "TCP port (0 picks a free one)", "8080") { $0.port = $1 },
        text("database", "INITLAB_DATABASE", "SQLite database path (WAL files beside it)", "./initlab.sqlite") { $0.databasePath = $1 },
        integer("workers", "INITLAB_WORKERS", "Experiments run at once (each uses every core)", "1") { $0.workers = $1 },
        integer("queue-size", "INITLAB_QUEUE_SIZE", "Queued jobs accepted before POST answers 503", "100") { $0.queueCapacity = $1 },
        integer("max-depth", "INITLAB_MAX_DEPTH", "Largest depth a spec may ask for", "10000") { $0.budget.maxDepth = $1 },
        integer("max-width", "INITLAB_MAX_WIDTH", "Largest width (and input width)", "4096") { $0.budget.maxWidth = $1 },
        integer("max-batch", "INITLAB_MAX_BATCH", "Largest batch", "4096") { $0.budget.maxBatch = $1 },
        bytes("max-memory", "INITLAB_MAX_MEMORY", "Memory budget of one experiment (estimate), e.g. 1GiB", "1GiB") { $0.budget.maxMemoryBytes = $1 },
        number("max-flops", "INITLAB_MAX_FLOPS", "Compute budget of one experiment (estimated FLOPs)", "2e12") { $0.budget.maxFLOPs = $1 },
        bytes("max-body", "INITLAB_MAX_BODY", "Largest request body (413 above), e.g. 64KiB", "64KiB") { $0.maxBodyBytes = Int(clamping: $1) },
        duration("retention", "INITLAB_RETENTION", "How long finished jobs and results are kept, e.g. 7d", "7d") { $0.retention = $1 },
        duration("prune-interval", "INITLAB_PRUNE_INTERVAL", "How often expired jobs are pruned", "1h") { $0.pruneInterval = $1 },
        ConfigurationSetting(
            flag: "cors-origin", environment: "INITLAB_CORS_ORIGINS",
            summary: "Origin allowed by CORS (repeatable; env: comma-separated; * for any)", defaultText: "none",
            repeatable: true
        ) { configuration, values throws(ConfigurationError) in
            configuration.corsOrigins = values.flatMap { $0.split(separator: ",") }
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        },
        text("token", "INITLAB_TOKEN", "Bearer token required on POST (≥ 16 characters)", "none") { $0.token = $1.isEmpty ? nil : $1 },
        duration("job-timeout", "INITLAB_JOB_TIMEOUT", "Wall-clock limit of one run; then failed with \"time limit\"", "1h") { $0.jobTimeout = $1 },
        integer("max-attempts", "INITLAB_MAX_ATTEMPTS", "Runs before a crash-interrupted job is failed", "3") { $0.maxAttempts = $1 },
        integer("max-wait", "INITLAB_MAX_WAIT", "Longest long-poll ?wait= in seconds", "60") { $0.maxWaitSeconds = $1 },
        text("cache-dir", "INITLAB_CACHE_DIR", "Dataset cache folder (shared with `initlab fetch` and `initlab run`)", "./.initlab-cache") {
            $0.cacheDirectory = $1.isEmpty ? ".initlab-cache" : $1
        },
        ConfigurationSetting(
            flag: "dataset-mirror", environment: "INITLAB_DATASET_MIRRORS",
            summary: "Mirror for dataset fetches: `NAME=URL-or-folder` for one dataset, a bare URL or folder for all (repeatable; env: comma-separated)",
            defaultText: "each dataset's defaults", repeatable: true
        ) { configuration, values throws(ConfigurationError) in
            configuration.datasetMirrors = values.flatMap { $0.split(separator: ",") }
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        },
    ]

    /// Builds the configuration: defaults, then environment variables, then flags (flags win).
    public static func resolve(flags: [String: [String]], environment: [String: String]) throws(ConfigurationError)
        -> ServiceConfiguration
    {
        var configuration = ServiceConfiguration()
        for setting in all {
            if let values = flags[setting.flag], !values.isEmpty {
                try setting.apply(&configuration, values)
            } else if let value = environment[setting.environment] {
                try setting.apply(&configuration, [value])
            }
        }
        try configuration.validate()
        return configuration
    }

    // MARK: - Value kinds

    private static func text(
        _ flag: String, _ env: String, _ summary: String, _ defaultText: String,
        _ set: @escaping @Sendable (inout ServiceConfiguration, String) -> Void
    ) -> ConfigurationSetting {
        ConfigurationSetting(flag: flag, environment: env, summary: summary, defaultText: defaultText) {
            configuration, values throws(ConfigurationError) in
            set(&configuration, values.last ?? "")
        }
    }

    private static func integer(
        _ flag: String, _ env: String, _ summary: String, _ defaultText: String,
        _ set: @escaping @Sendable (inout ServiceConfiguration, Int) -> Void
    ) -> ConfigurationSetting {
        parsed(flag, env, summary, defaultText, expected: "an integer", { Int($0) }, set)
    }

    private static func number(
        _ flag: String, _ env: String, _ summary: String, _ defaultText: String,
        _ set: @escaping @Sendable (inout ServiceConfiguration, Double) -> Void
    ) -> ConfigurationSetting {
        parsed(flag, env, summary, defaultText, expected: "a number", { Double($0).flatMap { $0.isFinite ? $0 : nil } }, set)
    }

    private static func bytes(
        _ flag: String, _ env: String, _ summary: String, _ defaultText: String,
        _ set: @escaping @Sendable (inout ServiceConfiguration, Int64) -> Void
    ) -> ConfigurationSetting {
        parsed(flag, env, summary, defaultText, expected: "a size like 65536, 64KiB, 512MiB or 1GiB", parseBytes, set)
    }

    private static func duration(
        _ flag: String, _ env: String, _ summary: String, _ defaultText: String,
        _ set: @escaping @Sendable (inout ServiceConfiguration, Duration) -> Void
    ) -> ConfigurationSetting {
        parsed(flag, env, summary, defaultText, expected: "a duration like 90, 90s, 30m, 12h or 7d", parseDuration, set)
    }

    /// A setting whose last value, trimmed, must parse; otherwise "--flag (ENV) must be <expected>, got '…'".
    private static func parsed<Value>(
        _ flag: String, _ env: String, _ summary: String, _ defaultText: String, expected: String,
        _ parse: @escaping @Sendable (String) -> Value?,
        _ set: @escaping @Sendable (inout ServiceConfiguration, Value) -> Void
    ) -> ConfigurationSetting {
        ConfigurationSetting(flag: flag, environment: env, summary: summary, defaultText: defaultText) {
            configuration, values throws(ConfigurationError) in
            let text = (values.last ?? "").trimmingCharacters(in: .whitespaces)
            guard let value = parse(text) else {
                throw ConfigurationError(message: "--\(flag) (\(env)) must be \(expected), got '\(text)'")
            }
            set(&configuration, value)
        }
    }

    /// `123`, `64KiB`, `512MiB`, `1GiB` (also KB/MB/GB as powers of 1000).
    static func parseBytes(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000),
            ("GB", 1_000_000_000), ("B", 1),
        ]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Int64(text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), value > 0
            else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: scale)
            return overflow ? nil : product
        }
        guard let value = Int64(text), value > 0 else { return nil }
        return value
    }

    /// `90` (seconds), `90s`, `30m`, `12h`, `7d`, `250ms`.
    static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            if suffix == "s", number.hasSuffix("m") { continue }
            guard let value = Double(number), value > 0, value.isFinite, value * scale < 1e10 else { return nil }
            return .milliseconds(Int64((value * scale * 1000).rounded()))
        }
        guard let value = Double(text), value > 0, value < 1e10 else { return nil }
        return .milliseconds(Int64((value * 1000).rounded()))
    }

    /// The Markdown table of settings for docs/service.md.
    public static var markdownTable: String {
        var out = "| Flag | Environment | Default | Meaning |\n| --- | --- | --- | --- |\n"
        for setting in all {
            out += "| `--\(setting.flag)` | `\(setting.environment)` | \(setting.defaultText) | \(setting.summary) |\n"
        }
        return out
    }
}
