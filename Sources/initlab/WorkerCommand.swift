import ArgumentParser
import Foundation
import InitLabService
import Logging
import ServiceLifecycle

/// `initlab worker`: worker threads only, no HTTP server, on any host that reaches the PostgreSQL database. The
/// settings are `serve`'s (one table; the HTTP ones are unused here).
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run experiments from a shared PostgreSQL queue (no HTTP server).",
        discussion: """
            Claims queued jobs from the database that --database (INITLAB_DATABASE) names, a postgres:// URL, and \
            runs --workers of them at once. Holds each claim with a lease renewed every --heartbeat-interval; a \
            job whose worker stops renewing (killed, paused, cut off) goes back to the queue after \
            --lease-duration on whichever node reaps it first. SIGTERM or SIGINT shuts down gracefully: no new \
            job starts and running jobs stop at their next layer and go back to the queue.
            """)

    @OptionGroup var options: ServeOptions

    func run() async throws {
        let configuration = try options.configuration(environment: ProcessInfo.processInfo.environment)
        guard case .postgres = configuration.database else {
            throw ValidationError(
                "initlab worker needs a postgres:// --database (INITLAB_DATABASE) shared with the API nodes; with SQLite, `initlab serve` runs the workers")
        }
        guard configuration.workers >= 1 else { throw ValidationError("initlab worker needs --workers 1 or more") }
        let assembly = try NodeAssembly(configuration, label: "initlab.worker")
        let (logger, backend, service) = (assembly.logger, assembly.backend, assembly.service)
        let node = NodeService {
            try await backend.prepare()
            logger.notice(
                "initlab worker running",
                metadata: ["database": "\(configuration.database.redacted)", "workers": "\(configuration.workers)"])
            FileHandle.standardOutput.write(Data("worker ready\n".utf8))
            try await service.run()
        }
        let group = ServiceGroup(
            services: backend.services + [node], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
