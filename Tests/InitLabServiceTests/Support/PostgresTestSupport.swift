import Foundation
import Logging
import Synchronization

@testable import InitLabService

/// The PostgreSQL the tests may use: `INITLAB_TEST_POSTGRES_URL` (scripts/test and .ci/run start a cluster and
/// set it). Unset, every PostgreSQL test is skipped with `skipReason`, never passed silently.
enum PostgresTestSupport {
    static let url: String? = ProcessInfo.processInfo.environment["INITLAB_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let skipReason =
        "INITLAB_TEST_POSTGRES_URL is unset, so the PostgreSQL store is not tested here (scripts/test, run as root, and .ci/run start a cluster and set it)"

    /// A fresh schema of the test database (`?search_path=`), dropped by `destroy`, and the databases opened on
    /// it, each with its client running (one per simulated node).
    final class Schema: Sendable {
        let name: String
        let baseURL: String
        private let clients = Mutex<[Task<Void, Never>]>([])

        init() throws {
            guard let url = PostgresTestSupport.url else { throw TestFailure(PostgresTestSupport.skipReason) }
            baseURL = url
            name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
            let admin = try open(schema: nil)
            try admin.blocking {
                _ = try await admin.perform { client in
                    try await client.query("CREATE SCHEMA \(unescaped: self.name)", logger: admin.logger)
                }
            }
        }

        /// A database on this schema, migrated, with its client running until `destroy`.
        func open(maxConnections: Int = 4) throws -> PostgresDatabase {
            let database = try open(schema: name, maxConnections: maxConnections)
            try database.blocking { try await database.migrate(patience: .zero) }
            return database
        }

        private func open(schema: String?, maxConnections: Int = 2) throws -> PostgresDatabase {
            var url = baseURL
            if let schema { url += (url.contains("?") ? "&" : "?") + "search_path=" + schema }
            let database = try PostgresDatabase(url: url, maxConnections: maxConnections, logger: quietLogger())
            let client = database.client
            clients.withLock { $0.append(Task { await client.run() }) }
            return database
        }

        func destroy() {
            if let admin = try? open(schema: nil) {
                _ = try? admin.blocking {
                    try await admin.perform { client in
                        _ = try await client.query("DROP SCHEMA IF EXISTS \(unescaped: self.name) CASCADE", logger: admin.logger)
                    }
                }
            }
            for task in clients.withLock({ $0 }) { task.cancel() }
        }
    }
}
