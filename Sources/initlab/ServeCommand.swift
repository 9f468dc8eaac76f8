import ArgumentParser
import Foundation
import InitLabService
import Logging
import ServiceLifecycle

/// `initlab serve`: the HTTP API. Every option comes from the settings table and has an INITLAB_* environment
/// variable; a flag wins.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the experiment API (jobs in SQLite or PostgreSQL, experiments on worker threads).",
        discussion: """
            Binds 127.0.0.1:8080 by default. Binding any other address requires a bearer token (--token or \
            INITLAB_TOKEN), which every POST must then carry. Every option can be set by the environment variable \
            shown in its help; a flag given on the command line wins. SIGTERM or SIGINT shuts down gracefully: \
            no new job starts, requests in progress finish (up to 5 s), running jobs go back to the queue. \
            With a postgres:// --database, any number of `serve` nodes (--workers 0 for the API alone) and \
            `initlab worker` processes share the queue.
            """)

    @OptionGroup var options: ServeOptions

    func run() async throws {
        let configuration = try options.configuration(environment: ProcessInfo.processInfo.environment)
        let node = try NodeAssembly(configuration, label: "initlab.serve")
        let (logger, backend, service) = (node.logger, node.backend, node.service)
        // Dashboard, charts, CSV, live events and sweeps on the same router.
        var visualization = VisualizationConfiguration()
        visualization.heartbeat = configuration.sseHeartbeat
        let server = InitLabServer(service: service, sweeps: backend.sweeps, visualization: visualization, logger: logger)
        let api = NodeService {
            try await backend.prepare()
            let boundPort = try server.start()
            logger.notice(
                "initlab serving",
                metadata: [
                    "address": "http://\(configuration.host):\(boundPort)", "database": "\(configuration.database.redacted)",
                    "workers": "\(configuration.workers)", "datasets": "\(configuration.cacheDirectory)",
                    "auth": "\(configuration.token == nil ? "off" : "bearer")",
                ])
            // Print the port on stdout so scripts that pass --port 0 can find it.
            FileHandle.standardOutput.write(Data("listening on \(configuration.host):\(boundPort)\n".utf8))
            try await server.run()
        }

        // The database's services first (PostgreSQL's client), so they stop last; then the server (HTTP and
        // workers), which runs until SIGTERM or SIGINT, then shuts down gracefully (`InitLabServer.shutdown`).
        let group = ServiceGroup(
            services: backend.services + [api], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}

/// What every node (`serve`, `worker`) assembles the same way: logging at the configured level, the stores
/// `--database` names (a SQLite file, or a PostgreSQL URL shared with other nodes), one dataset registry (the
/// dataset routes and the engine's input provider: datasets load once per process; over PostgreSQL, a dataset
/// one node fetched reaches the others through the database), and the experiment service
/// with the real engine.
struct NodeAssembly {
    let logger: Logger
    let backend: StoreBackend
    let service: ExperimentService

    init(_ configuration: ServiceConfiguration, label: String) throws {
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        logger = Logger(label: label)
        backend = try StoreBackend.open(configuration, logger: logger)
        let datasets = DatasetRegistry(configuration: configuration, share: backend.datasetShare, logger: logger)
        service = ExperimentService(
            configuration: configuration, store: backend.jobs,
            engine: InitCoreEngine(
                budget: configuration.budget, inputProvider: datasets.inputProvider,
                trainingData: datasets.trainingDataProvider),
            datasets: datasets, logger: logger)
    }
}

/// A service whose `run` is a closure: the steps of one node (migrate, start, serve until shut down).
struct NodeService: Service {
    let body: @Sendable () async throws -> Void

    init(_ body: @escaping @Sendable () async throws -> Void) { self.body = body }

    func run() async throws { try await body() }
}
