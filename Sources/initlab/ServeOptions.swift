import ArgumentParser
import InitLabService
import Logging

/// `initlab serve`'s options: one per entry of the settings table (`ConfigurationSetting`), named, typed and
/// described by that entry. A flag given wins over its environment variable, which wins over the default
/// (`ConfigurationSetting.resolve`).
struct ServeOptions: ParsableArguments {
    typealias S = ConfigurationSetting

    @Option(name: .customLong(S.host.flag), help: optionHelp(S.host)) var host: String?
    @Option(name: .customLong(S.port.flag), help: optionHelp(S.port)) var port: Int?
    @Option(name: .customLong(S.database.flag), help: optionHelp(S.database, "path-or-url")) var database: String?
    @Option(name: .customLong(S.databaseConnections.flag), help: optionHelp(S.databaseConnections)) var databaseConnections: Int?
    @Option(name: .customLong(S.workers.flag), help: optionHelp(S.workers)) var workers: Int?
    @Option(name: .customLong(S.leaseDuration.flag), help: optionHelp(S.leaseDuration)) var leaseDuration: TimeSpan?
    @Option(name: .customLong(S.heartbeatInterval.flag), help: optionHelp(S.heartbeatInterval)) var heartbeatInterval: TimeSpan?
    @Option(name: .customLong(S.queueSize.flag), help: optionHelp(S.queueSize)) var queueSize: Int?
    @Option(name: .customLong(S.maxDepth.flag), help: optionHelp(S.maxDepth)) var maxDepth: Int?
    @Option(name: .customLong(S.maxWidth.flag), help: optionHelp(S.maxWidth)) var maxWidth: Int?
    @Option(name: .customLong(S.maxBatch.flag), help: optionHelp(S.maxBatch)) var maxBatch: Int?
    @Option(name: .customLong(S.maxMemory.flag), help: optionHelp(S.maxMemory)) var maxMemory: ByteSize?
    @Option(name: .customLong(S.maxFLOPs.flag), help: optionHelp(S.maxFLOPs)) var maxFLOPs: Double?
    @Option(name: .customLong(S.maxSteps.flag), help: optionHelp(S.maxSteps)) var maxSteps: Int?
    @Option(name: .customLong(S.maxBody.flag), help: optionHelp(S.maxBody)) var maxBody: ByteSize?
    @Option(name: .customLong(S.retention.flag), help: optionHelp(S.retention)) var retention: TimeSpan?
    @Option(name: .customLong(S.pruneInterval.flag), help: optionHelp(S.pruneInterval)) var pruneInterval: TimeSpan?
    @Option(name: .customLong(S.corsOrigin.flag), help: optionHelp(S.corsOrigin, "origin")) var corsOrigin: [String] = []
    @Option(name: .customLong(S.token.flag), help: optionHelp(S.token)) var token: String?
    @Option(name: .customLong(S.jobTimeout.flag), help: optionHelp(S.jobTimeout)) var jobTimeout: TimeSpan?
    @Option(name: .customLong(S.maxAttempts.flag), help: optionHelp(S.maxAttempts)) var maxAttempts: Int?
    @Option(name: .customLong(S.maxWait.flag), help: optionHelp(S.maxWait)) var maxWait: Int?
    @Option(name: .customLong(S.cacheDir.flag), help: optionHelp(S.cacheDir, "folder")) var cacheDir: String?
    @Option(name: .customLong(S.datasetMirror.flag), help: optionHelp(S.datasetMirror, "mirror")) var datasetMirror: [String] = []
    @Option(name: .customLong(S.sseHeartbeat.flag), help: optionHelp(S.sseHeartbeat)) var sseHeartbeat: TimeSpan?
    @Option(name: .customLong(S.logLevel.flag), help: optionHelp(S.logLevel)) var logLevel: Logger.Level?

    /// The flags given, by setting.
    var flags: ConfigurationFlags {
        var flags = ConfigurationFlags()
        flags.set(S.host, host)
        flags.set(S.port, port)
        flags.set(S.database, database)
        flags.set(S.databaseConnections, databaseConnections)
        flags.set(S.workers, workers)
        flags.set(S.leaseDuration, leaseDuration)
        flags.set(S.heartbeatInterval, heartbeatInterval)
        flags.set(S.queueSize, queueSize)
        flags.set(S.maxDepth, maxDepth)
        flags.set(S.maxWidth, maxWidth)
        flags.set(S.maxBatch, maxBatch)
        flags.set(S.maxMemory, maxMemory)
        flags.set(S.maxFLOPs, maxFLOPs)
        flags.set(S.maxSteps, maxSteps)
        flags.set(S.maxBody, maxBody)
        flags.set(S.retention, retention)
        flags.set(S.pruneInterval, pruneInterval)
        flags.set(S.corsOrigin, corsOrigin)
        flags.set(S.token, token)
        flags.set(S.jobTimeout, jobTimeout)
        flags.set(S.maxAttempts, maxAttempts)
        flags.set(S.maxWait, maxWait)
        flags.set(S.cacheDir, cacheDir)
        flags.set(S.datasetMirror, datasetMirror)
        flags.set(S.sseHeartbeat, sseHeartbeat)
        flags.set(S.logLevel, logLevel)
        return flags
    }

    /// The configuration: flags, else environment variables, else defaults; a bad value or combination is a
    /// usage error whose message names the flag, its environment variable and the limit.
    func configuration(environment: [String: String]) throws -> ServiceConfiguration {
        let flags = self.flags
        // Every entry of the table has its option above: a new entry without one fails every start, not silently.
        let missing = ConfigurationSetting.all.map(\.flag).filter { !flags.declared.contains($0) }
        guard missing.isEmpty else {
            throw ValidationError("no command-line option for " + missing.map { "--" + $0 }.joined(separator: ", "))
        }
        do {
            return try ConfigurationSetting.resolve(flags: flags, environment: environment)
        } catch {
            throw ValidationError(error.message)
        }
    }

}

/// An option's help: the table entry's summary, the form of a value, its environment variable and its default.
private func optionHelp<Value>(_ setting: Setting<Value>, _ valueName: String? = nil) -> ArgumentHelp {
    ArgumentHelp(setting.help, valueName: valueName ?? Value.valueName)
}

/// The command line parses with the table's own parsers (`SettingValue`), so a flag and its environment variable
/// accept exactly the same text.
extension SettingValue {
    /// The placeholder in `--help`.
    static var valueName: String {
        switch Self.self {
        case is ByteSize.Type: "size"
        case is TimeSpan.Type: "duration"
        case is Int.Type: "integer"
        case is Double.Type: "number"
        case is Logger.Level.Type: "level"
        default: "text"
        }
    }
}

extension ByteSize: ExpressibleByArgument {
    package init?(argument: String) { self.init(settingText: argument.trimmingCharacters(in: .whitespaces)) }
}

extension TimeSpan: ExpressibleByArgument {
    package init?(argument: String) { self.init(settingText: argument.trimmingCharacters(in: .whitespaces)) }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
