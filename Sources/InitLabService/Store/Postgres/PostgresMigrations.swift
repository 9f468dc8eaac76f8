import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL schema, as numbered migrations recorded in `schema_migrations (version, name, applied_at)`.
///
/// Append-only, like the SQLite migrator's list (`ServiceDatabase`), and the same tables and columns, so one
/// record type reads both. Differences: times that only the API shows stay Unix seconds (`double precision`,
/// as in SQLite, so a record reads back bit-identical), but a lease ends at a `timestamptz` of the database's
/// clock (hosts' clocks may differ); results carry their `encoding` (`identity`, or `gzip` when large).
extension PostgresDatabase {
    struct Migration: Sendable {
        var version: Int
        var name: String
        /// One statement per element (the extended protocol runs one statement per query).
        var statements: [String]
    }

    static let migrations: [Migration] = [
        Migration(
            version: 1, name: "jobs",
            statements: [
                """
                CREATE TABLE jobs (
                    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    id text NOT NULL UNIQUE,
                    status text NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled')),
                    spec bytea NOT NULL,
                    layers_done bigint NOT NULL DEFAULT 0,
                    layers_total bigint NOT NULL,
                    attempt bigint NOT NULL DEFAULT 1,
                    version bigint NOT NULL DEFAULT 1,
                    created_at double precision NOT NULL,
                    started_at double precision,
                    finished_at double precision,
                    error text,
                    worker text,
                    lease_expires_at timestamptz
                )
                """,
                "CREATE INDEX jobs_queue ON jobs (seq) WHERE status = 'queued'",
                "CREATE INDEX jobs_by_status ON jobs (status, seq)",
                "CREATE INDEX jobs_by_finish ON jobs (finished_at) WHERE finished_at IS NOT NULL",
                "CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE status = 'running'",
                """
                CREATE TABLE results (
                    job_id text PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
                    encoding text NOT NULL CHECK (encoding IN ('identity','gzip')),
                    body bytea NOT NULL
                )
                """,
                """
                CREATE TABLE idempotency_keys (
                    key text PRIMARY KEY,
                    fingerprint text NOT NULL,
                    job_id text NOT NULL,
                    created_at double precision NOT NULL
                )
                """,
                "CREATE INDEX idempotency_by_age ON idempotency_keys (created_at)",
                "CREATE INDEX idempotency_by_job ON idempotency_keys (job_id)",
            ]),
        Migration(
            version: 2, name: "sweeps",
            statements: [
                """
                CREATE TABLE sweeps (
                    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    id text NOT NULL UNIQUE,
                    created_at double precision NOT NULL,
                    request bytea NOT NULL,
                    members bytea NOT NULL
                )
                """
            ]),
        // Secrets every node shares (`JobStore.sharedSecret`): the page-token key.
        Migration(
            version: 3, name: "secrets",
            statements: ["CREATE TABLE secrets (name text PRIMARY KEY, value bytea NOT NULL)"]),
        // Datasets one node fetched, for the nodes on other hosts (`PostgresDatasetShare`).
        Migration(
            version: 4, name: "dataset_files",
            statements: [
                "CREATE TABLE dataset_files (dataset text NOT NULL, file text NOT NULL, body bytea NOT NULL, PRIMARY KEY (dataset, file))"
            ]),
    ]

    /// Any fixed number: the advisory lock that serializes migrations across nodes starting together.
    static let migrationLock: Int64 = 0x1A17_1AB0_0013

    /// Applies the migrations not applied yet, in one transaction under a transaction-level advisory lock: two
    /// nodes starting together run them once (the second waits, then finds them applied). Retries for up to
    /// `patience` while the database is unreachable (a node may start before the database).
    package func migrate(patience: Duration = .seconds(60)) async throws {
        let clock = ContinuousClock()
        let giveUp = clock.now.advanced(by: patience)
        while true {
            do {
                try await applyMigrations()
                return
            } catch let error where Self.classify(error) is StoreUnavailable && clock.now < giveUp {
                logger.warning("database not reachable yet; retrying migrations", metadata: ["error": "\(error)"])
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// The versions recorded in `schema_migrations`, ascending.
    package func appliedMigrations() async throws -> [Int] {
        try await perform { client in
            var versions: [Int] = []
            let rows = try await client.query("SELECT version FROM schema_migrations ORDER BY version", logger: self.logger)
            for try await version in rows.decode(Int.self) { versions.append(version) }
            return versions
        }
    }

    private func applyMigrations() async throws {
        let logger = self.logger
        try await client.withConnection { connection in
            try await connection.withTransaction(logger: logger) { transaction in
                try await transaction.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
                try await transaction.query(
                    """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                    """, logger: logger)
                var applied: Set<Int> = []
                for try await version in try await transaction.query("SELECT version FROM schema_migrations", logger: logger)
                    .decode(Int.self)
                {
                    applied.insert(version)
                }
                for migration in Self.migrations where !applied.contains(migration.version) {
                    for statement in migration.statements {
                        try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await transaction.query(
                        "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                        logger: logger)
                    logger.notice("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                }
            }
        }
    }
}
