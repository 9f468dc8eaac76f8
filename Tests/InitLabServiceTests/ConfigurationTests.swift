import Foundation
import Logging
import TestSupport
import Testing

@testable import InitLabService

@Suite(.offCooperativePool) struct ConfigurationTests {
    @Test func defaultsAreLoopbackWithoutToken() throws {
        let configuration = try ConfigurationSetting.resolve(flags: [:], environment: [:])
        #expect(configuration.host == "127.0.0.1" && configuration.port == 8080 && configuration.token == nil)
        #expect(configuration.databasePath == "initlab.sqlite" && configuration.workers == 1)
        #expect(configuration.retention == .seconds(7 * 86400) && configuration.maxAttempts == 3)
    }

    @Test func environmentAppliesAndFlagsWin() throws {
        let configuration = try ConfigurationSetting.resolve(
            flags: ["port": ["9000"], "cors-origin": ["https://a.example", "https://b.example"]],
            environment: [
                "INITLAB_PORT": "7000", "INITLAB_WORKERS": "2", "INITLAB_MAX_MEMORY": "512MiB",
                "INITLAB_RETENTION": "12h", "INITLAB_CORS_ORIGINS": "https://c.example", "INITLAB_JOB_TIMEOUT": "90s",
            ])
        #expect(configuration.port == 9000, "flag wins over INITLAB_PORT")
        #expect(configuration.workers == 2 && configuration.budget.maxMemoryBytes == 512 << 20)
        #expect(configuration.retention == .seconds(12 * 3600) && configuration.jobTimeout == .seconds(90))
        #expect(configuration.corsOrigins == ["https://a.example", "https://b.example"])
        #expect(configuration.idempotencyRetention == .seconds(24 * 3600), "keys are kept at least 24 h")
    }

    @Test func nonLoopbackRequiresAToken() throws {
        #expect(throws: ConfigurationError.self) {
            try ConfigurationSetting.resolve(flags: ["host": ["0.0.0.0"]], environment: [:])
        }
        let configuration = try ConfigurationSetting.resolve(
            flags: ["host": ["0.0.0.0"]], environment: ["INITLAB_TOKEN": "a-long-enough-token-123"])
        #expect(configuration.token == "a-long-enough-token-123")
        #expect(throws: ConfigurationError.self) {
            try ConfigurationSetting.resolve(flags: ["host": ["0.0.0.0"], "token": ["short"]], environment: [:])
        }
    }

    @Test(arguments: [
        ("port", "eighty"), ("workers", "-1"), ("heartbeat-interval", "20s"), ("database-connections", "1"), ("max-memory", "lots"), ("retention", "-1d"), ("queue-size", "0"),
        ("max-flops", "inf"), ("job-timeout", "soon"), ("sse-heartbeat", "5ms"), ("log-level", "loud"),
    ])
    func invalidValuesAreRefusedWithTheFlagName(flag: String, value: String) throws {
        let setting = try #require(ConfigurationSetting.all.first { $0.flag == flag })
        // The same message whether the text came as a flag or from the environment variable.
        for (flags, environment) in [([flag: [value]], [:]), ([:], [setting.environment: value])] as [(ConfigurationFlags, [String: String])] {
            do {
                _ = try ConfigurationSetting.resolve(flags: flags, environment: environment)
                Issue.record("\(flag)=\(value) should be refused")
            } catch {
                #expect(error.message.hasPrefix("--\(flag) (\(setting.environment)) must be "), "\(error.message)")
            }
        }
    }

    /// `--database` is a SQLite path or a PostgreSQL URL; `--workers 0` is an API-only node.
    @Test func databaseLocationAndAPIOnlyNodes() throws {
        #expect(try ConfigurationSetting.resolve(flags: [:], environment: [:]).database == .sqlite(path: "initlab.sqlite"))
        let url = "postgresql://initlab:secret@db.internal:5433/initlab"
        let shared = try ConfigurationSetting.resolve(flags: ["workers": ["0"]], environment: ["INITLAB_DATABASE": url])
        #expect(shared.database == .postgres(url: url) && shared.workers == 0)
        #expect(shared.database.redacted == "postgresql://initlab:***@db.internal:5433/initlab")
        #expect(shared.lease == LeaseSettings(duration: .seconds(30), heartbeat: .seconds(5)))
        let leased = try ConfigurationSetting.resolve(flags: ["lease-duration": ["2s"], "heartbeat-interval": ["500ms"]], environment: [:])
        #expect(leased.lease == LeaseSettings(duration: .seconds(2), heartbeat: .milliseconds(500)))
        #expect(throws: ConfigurationError.self) { try PostgresDatabase.clientConfiguration(url: "postgres://db/x") }
        #expect(throws: ConfigurationError.self) { try PostgresDatabase.clientConfiguration(url: "postgres://u@db/x?sslmode=maybe") }
        let parsed = try PostgresDatabase.clientConfiguration(url: "postgres://u%40x:p%2Fw@db:6543/jobs")
        #expect(parsed.username == "u@x" && parsed.password == "p/w" && parsed.host == "db" && parsed.port == 6543 && parsed.database == "jobs")
    }

    /// The message says what a value must look like, or the limit, and what was given.
    @Test func messagesNameTheLimit() {
        func message(_ flags: ConfigurationFlags, _ environment: [String: String] = [:]) -> String {
            do {
                _ = try ConfigurationSetting.resolve(flags: flags, environment: environment)
                return "accepted"
            } catch { return error.message }
        }
        #expect(message(["max-memory": ["lots"]]) == "--max-memory (INITLAB_MAX_MEMORY) must be a size like 65536, 64KiB, 512MiB or 1GiB, got 'lots'")
        #expect(message([:], ["INITLAB_JOB_TIMEOUT": " soon "]) == "--job-timeout (INITLAB_JOB_TIMEOUT) must be a duration like 90, 90s, 30m, 12h, 7d or 250ms, got 'soon'")
        var flags = ConfigurationFlags()
        flags.set(ConfigurationSetting.workers, 65)
        #expect(message(flags) == "--workers (INITLAB_WORKERS) must be 0...64, got 65")
        #expect(message(["max-body": ["512"]]) == "--max-body (INITLAB_MAX_BODY) must be at least 1024 bytes, got 512")
        #expect(message(["log-level": ["loud"]]) == "--log-level (INITLAB_LOG_LEVEL) must be one of trace, debug, info, notice, warning, error, critical, got 'loud'")
    }

    /// Typed values from the command line win over the environment, which wins over the defaults; the two
    /// variables that used to bypass the table (log level, SSE heartbeat) are in it.
    @Test func typedFlagsWinOverTheEnvironment() throws {
        typealias S = ConfigurationSetting
        var flags = ConfigurationFlags()
        flags.set(S.maxMemory, ByteSize(bytes: 2048))
        flags.set(S.retention, TimeSpan(.seconds(60)))
        flags.set(S.logLevel, Logger.Level.warning)
        flags.set(S.corsOrigin, ["https://a.example"])
        flags.set(S.port, nil)
        let environment = [
            "INITLAB_MAX_MEMORY": "1MiB", "INITLAB_RETENTION": "1d", "INITLAB_LOG_LEVEL": "debug", "INITLAB_PORT": "7000",
            "INITLAB_SSE_HEARTBEAT": "250ms", "INITLAB_CORS_ORIGINS": "https://b.example",
        ]
        let configuration = try ConfigurationSetting.resolve(flags: flags, environment: environment)
        #expect(configuration.budget.maxMemoryBytes == 2048 && configuration.retention == .seconds(60))
        #expect(configuration.logLevel == .warning && configuration.corsOrigins == ["https://a.example"])
        #expect(configuration.port == 7000 && configuration.sseHeartbeat == .milliseconds(250))
        let defaults = try ConfigurationSetting.resolve(flags: [:], environment: [:])
        #expect(defaults.logLevel == .info && defaults.sseHeartbeat == .seconds(15))
        #expect(flags.declared == ["max-memory", "retention", "log-level", "cors-origin", "port"])
    }

    @Test func sizesAndDurationsParse() {
        #expect(ByteSize(settingText: "64KiB")?.bytes == 65536)
        #expect(ByteSize(settingText: "1GiB")?.bytes == 1 << 30)
        #expect(ByteSize(settingText: "2MB")?.bytes == 2_000_000)
        #expect(ByteSize(settingText: "1000")?.bytes == 1000)
        #expect(ByteSize(settingText: "0") == nil)
        #expect(ByteSize(settingText: "9223372036854775807GiB") == nil)
        #expect(TimeSpan(settingText: "250ms")?.duration == .milliseconds(250))
        #expect(TimeSpan(settingText: "90")?.duration == .seconds(90))
        #expect(TimeSpan(settingText: "90s")?.duration == .seconds(90))
        #expect(TimeSpan(settingText: "30m")?.duration == .seconds(1800))
        #expect(TimeSpan(settingText: "7d")?.duration == .seconds(7 * 86400))
        #expect(TimeSpan(settingText: "x") == nil)
        #expect(TimeSpan(settingText: "-1d") == nil)
        #expect(TimeSpan(settingText: "nan") == nil)
    }

    /// docs/service.md lists every setting with its flag and environment variable.
    @Test func documentationListsEverySetting() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/service.md"), encoding: .utf8)
        for setting in ConfigurationSetting.all {
            #expect(doc.contains("| `--\(setting.flag)` | `\(setting.environment)` |"), "\(setting.flag)")
        }
    }
}
