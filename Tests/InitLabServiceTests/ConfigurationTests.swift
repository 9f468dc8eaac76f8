import Foundation
import Testing

@testable import InitLabService

@Suite struct ConfigurationTests {
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
        ("port", "eighty"), ("workers", "0"), ("max-memory", "lots"), ("retention", "-1d"), ("queue-size", "0"),
        ("max-flops", "inf"), ("job-timeout", "soon"),
    ])
    func invalidValuesAreRefusedWithTheFlagName(flag: String, value: String) {
        do {
            _ = try ConfigurationSetting.resolve(flags: [flag: [value]], environment: [:])
            Issue.record("\(flag)=\(value) should be refused")
        } catch {
            #expect(error.message.contains(flag.replacingOccurrences(of: "-", with: " ")) || error.message.contains(flag))
        }
    }

    @Test func sizesAndDurationsParse() {
        #expect(ConfigurationSetting.parseBytes("64KiB") == 65536)
        #expect(ConfigurationSetting.parseBytes("1GiB") == 1 << 30)
        #expect(ConfigurationSetting.parseBytes("1000") == 1000)
        #expect(ConfigurationSetting.parseBytes("0") == nil)
        #expect(ConfigurationSetting.parseDuration("250ms") == .milliseconds(250))
        #expect(ConfigurationSetting.parseDuration("30m") == .seconds(1800))
        #expect(ConfigurationSetting.parseDuration("7d") == .seconds(7 * 86400))
        #expect(ConfigurationSetting.parseDuration("x") == nil)
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
