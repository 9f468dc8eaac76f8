import Foundation
import Logging
import ServiceLifecycle

/// The stores `--database` names, opened once by the executable: the job store and the sweep store over one
/// database, the long-running services that database needs, and the step to run before anything is served.
///
/// SQLite: one `ServiceDatabase` (opened and migrated at once), no services. PostgreSQL: one
/// `PostgresDatabase`; its client's `run()` is a service (put it first in the service group, so it stops after
/// the API and the workers have written their last state), and `prepare` migrates once the client runs.
package struct StoreBackend: Sendable {
    package let jobs: any JobStore
    package let sweeps: any SweepStore
    /// The dataset files every node can read: PostgreSQL's; nil for SQLite (one host, one cache).
    package let datasetShare: (any DatasetShare)?
    package let services: [any Service]
    /// Migrations; run after `services` started, before `ExperimentService.start`.
    package let prepare: @Sendable () async throws -> Void

    package static func open(_ configuration: ServiceConfiguration, logger: Logger) throws -> StoreBackend {
        switch configuration.database {
        case .sqlite(let path):
            let database = try ServiceDatabase(path: path)
            return StoreBackend(
                jobs: SQLiteJobStore(database: database, lease: configuration.lease),
                sweeps: SQLiteSweepStore(database: database), datasetShare: nil, services: [], prepare: {})
        case .postgres(let url):
            let database = try PostgresDatabase(
                url: url, maxConnections: configuration.databaseConnections, logger: logger)
            return StoreBackend(
                jobs: PostgresJobStore(database: database, lease: configuration.lease),
                sweeps: PostgresSweepStore(database: database), datasetShare: PostgresDatasetShare(database: database),
                services: [database.client],
                prepare: { try await database.migrate() })
        }
    }
}
