import ArgumentParser
import Dispatch
import Foundation
import HTTPServer
import InitLabService
import Logging

/// `initlab serve`: the HTTP API. Every flag has an INITLAB_* environment variable; flags win.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the experiment API (jobs in SQLite, experiments on worker threads).",
        discussion: """
            Binds 127.0.0.1:8080 by default. Binding any other address requires a bearer token (--token or \
            INITLAB_TOKEN), which every POST must then carry. Every flag can be set by the environment variable \
            shown in its help; a flag given on the command line wins.
            """)

    @Option(help: "Address to bind (INITLAB_HOST). Default: 127.0.0.1.") var host: String?
    @Option(help: "TCP port, 0 = any free port (INITLAB_PORT). Default: 8080.") var port: String?
    @Option(help: "SQLite database path (INITLAB_DATABASE). Default: ./initlab.sqlite.") var database: String?
    @Option(help: "Worker threads (INITLAB_WORKERS). Default: 1.") var workers: String?
    @Option(name: .customLong("queue-size"), help: "Queued jobs before 503 (INITLAB_QUEUE_SIZE). Default: 100.")
    var queueSize: String?
    @Option(name: .customLong("max-depth"), help: "Largest depth (INITLAB_MAX_DEPTH). Default: 10000.") var maxDepth: String?
    @Option(name: .customLong("max-width"), help: "Largest width (INITLAB_MAX_WIDTH). Default: 4096.") var maxWidth: String?
    @Option(name: .customLong("max-batch"), help: "Largest batch (INITLAB_MAX_BATCH). Default: 4096.") var maxBatch: String?
    @Option(name: .customLong("max-memory"), help: "Memory budget per experiment (INITLAB_MAX_MEMORY). Default: 1GiB.")
    var maxMemory: String?
    @Option(name: .customLong("max-flops"), help: "Compute budget per experiment (INITLAB_MAX_FLOPS). Default: 2e12.")
    var maxFLOPs: String?
    @Option(name: .customLong("max-body"), help: "Largest request body (INITLAB_MAX_BODY). Default: 64KiB.")
    var maxBody: String?
    @Option(help: "Keep finished jobs this long (INITLAB_RETENTION). Default: 7d.") var retention: String?
    @Option(name: .customLong("prune-interval"), help: "Pruning period (INITLAB_PRUNE_INTERVAL). Default: 1h.")
    var pruneInterval: String?
    @Option(name: .customLong("cors-origin"), help: "CORS origin, repeatable (INITLAB_CORS_ORIGINS, comma-separated).")
    var corsOrigin: [String] = []
    @Option(help: "Bearer token for POST requests (INITLAB_TOKEN).") var token: String?
    @Option(name: .customLong("job-timeout"), help: "Time limit of one run (INITLAB_JOB_TIMEOUT). Default: 1h.")
    var jobTimeout: String?
    @Option(name: .customLong("max-attempts"), help: "Runs before an interrupted job fails (INITLAB_MAX_ATTEMPTS). Default: 3.")
    var maxAttempts: String?
    @Option(name: .customLong("max-wait"), help: "Longest long-poll in seconds (INITLAB_MAX_WAIT). Default: 60.")
    var maxWait: String?
    @Option(name: .customLong("cache-dir"), help: "Dataset cache folder (INITLAB_CACHE_DIR). Default: ./.initlab-cache.")
    var cacheDir: String?
    @Option(
        name: .customLong("dataset-mirror"),
        help: "Dataset mirror, NAME=URL-or-folder or a bare URL/folder for all, repeatable (INITLAB_DATASET_MIRRORS, comma-separated).")
    var datasetMirror: [String] = []
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error (INITLAB_LOG_LEVEL). Default: info.")
    var logLevel: String?

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        var flags: [String: [String]] = [:]
        let given: [(String, String?)] = [
            ("host", host), ("port", port), ("database", database), ("workers", workers), ("queue-size", queueSize),
            ("max-depth", maxDepth), ("max-width", maxWidth), ("max-batch", maxBatch), ("max-memory", maxMemory),
            ("max-flops", maxFLOPs), ("max-body", maxBody), ("retention", retention),
            ("prune-interval", pruneInterval), ("token", token), ("job-timeout", jobTimeout),
            ("max-attempts", maxAttempts), ("max-wait", maxWait), ("cache-dir", cacheDir),
        ]
        for (flag, value) in given { if let value { flags[flag] = [value] } }
        if !corsOrigin.isEmpty { flags["cors-origin"] = corsOrigin }
        if !datasetMirror.isEmpty { flags["dataset-mirror"] = datasetMirror }

        let configuration: ServiceConfiguration
        do {
            configuration = try ConfigurationSetting.resolve(flags: flags, environment: environment)
        } catch {
            throw ValidationError(error.message)
        }
        let levelText = logLevel ?? environment["INITLAB_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelText) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "initlab.serve")

        // One database (one pool, one migrator) for the jobs and the sweeps.
        let database = try ServiceDatabase(path: configuration.databasePath)
        let store = SQLiteJobStore(database: database)
        // One registry for the dataset routes and the engine's input provider: datasets load once per process.
        let datasets = DatasetRegistry(configuration: configuration, logger: logger)
        let service = ExperimentService(
            configuration: configuration, store: store,
            engine: InitCoreEngine(budget: configuration.budget, inputProvider: datasets.inputProvider),
            datasets: datasets, logger: logger)
        // Dashboard, charts, CSV, live events and sweeps on the same router.
        var visualization = VisualizationConfiguration()
        if let raw = environment["INITLAB_SSE_HEARTBEAT_MS"] {
            guard let milliseconds = Int(raw), (10...600_000).contains(milliseconds) else {
                throw ValidationError("INITLAB_SSE_HEARTBEAT_MS must be an integer 10...600000 (milliseconds)")
            }
            visualization.heartbeat = .milliseconds(milliseconds)
        }
        let server = InitLabServer(
            service: service, sweeps: SQLiteSweepStore(database: database),
            visualization: visualization, logger: logger)
        let boundPort = try server.start()
        logger.notice(
            "initlab serving",
            metadata: [
                "address": "http://\(configuration.host):\(boundPort)", "database": "\(configuration.databasePath)",
                "workers": "\(configuration.workers)", "datasets": "\(configuration.cacheDirectory)", "auth": "\(configuration.token == nil ? "off" : "bearer")",
            ])
        // Print the port on stdout so scripts that pass --port 0 can find it.
        FileHandle.standardOutput.write(Data("listening on \(configuration.host):\(boundPort)\n".utf8))

        let stopped = DispatchSemaphore(value: 0)
        Task.detached {
            let signal = await HTTPServer.waitForSignal()
            logger.notice("signal received, shutting down", metadata: ["signal": "\(signal)"])
            await server.shutdown()
            stopped.signal()
        }
        stopped.wait()
    }
}
