import Foundation
import GRDB

/// The service's one SQLite database: one `DatabasePool` (WAL: readers never block the writer) and one
/// `DatabaseMigrator` for every table the service keeps — jobs, results, idempotency keys and sweeps. The job
/// store and the sweep store are views over it (`SQLiteJobStore(database:)`, `SQLiteSweepStore(database:)`).
/// The dataset registry keeps its state in the cache folder, not here.
///
/// Migrations are append-only. `v1` and `viz-sweeps-v1` are the schemas that the job store and the sweep store
/// used to register with migrators of their own (same identifiers, same SQL), so a database written by an
/// older build opens unchanged and only the later migrations run.
package final class ServiceDatabase: Sendable {
    package let pool: DatabasePool
    package let path: String

    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    package init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "initlab.db"
        self.path = path
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    /// Where `read` runs GRDB's synchronous read: a concurrent queue of its own, off Swift's cooperative pool.
    /// libdispatch runs a concurrent queue on the global pool of its QoS (`userInitiated` here), which is as wide
    /// as the machine has cores and separate from the pool that runs the request handlers' tasks.
    private let readQueue = DispatchQueue(label: "initlab.db.read", qos: .userInitiated, attributes: .concurrent)

    /// An async read for request handlers: GRDB's synchronous `read` on `readQueue`, resumed with its value.
    ///
    /// Why not GRDB's async `read`: it hops from the caller to the pool's semaphore queue, then to the reader's
    /// queue, then back: three thread wake-ups per read. Here the caller's task suspends once; on `readQueue`
    /// the reader's semaphore and its serial queue are taken inline (a `sync` on an idle queue runs on the
    /// calling thread), so a read costs two wake-ups. It took `GET /v1/experiments/{id}` from 12k to 18–21k
    /// req/s at 64 connections (wrk, two cores; Benchmarks/RESULTS.md). About as many reads run at once as there
    /// are cores (the queue's width, below GRDB's `maximumReaderCount`); the others wait in `readQueue`, never on
    /// a thread of the cooperative pool. A read is not interrupted when its task is cancelled: the service's reads are
    /// single-row or single-page queries.
    package func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let pool = self.pool
        return try await withCheckedThrowingContinuation { continuation in
            readQueue.async { continuation.resume(with: Result { try pool.read(body) }) }
        }
    }

    /// The identifiers of the migrations applied to this database, in order (for tests and diagnostics).
    package func appliedMigrations() throws -> [String] {
        try pool.read { db in try Self.migrator.appliedMigrations(db) }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE jobs (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        status TEXT NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled')),
                        spec BLOB NOT NULL,
                        layers_done INTEGER NOT NULL DEFAULT 0,
                        layers_total INTEGER NOT NULL,
                        attempt INTEGER NOT NULL DEFAULT 1,
                        version INTEGER NOT NULL DEFAULT 1,
                        created_at REAL NOT NULL,
                        started_at REAL,
                        finished_at REAL,
                        error TEXT
                    );
                    CREATE INDEX jobs_by_status ON jobs (status, seq);
                    CREATE INDEX jobs_by_finish ON jobs (finished_at) WHERE finished_at IS NOT NULL;
                    CREATE TABLE results (
                        job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
                        body BLOB NOT NULL
                    );
                    CREATE TABLE idempotency_keys (
                        key TEXT PRIMARY KEY,
                        fingerprint TEXT NOT NULL,
                        job_id TEXT NOT NULL,
                        response_status INTEGER NOT NULL,
                        response_body BLOB NOT NULL,
                        created_at REAL NOT NULL
                    );
                    CREATE INDEX idempotency_by_age ON idempotency_keys (created_at);
                    """)
        }
        migrator.registerMigration("viz-sweeps-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE sweeps (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        created_at REAL NOT NULL,
                        request BLOB NOT NULL,
                        members BLOB NOT NULL
                    );
                    """)
        }
        // The store no longer renders responses: a key names the job it created (the API renders the replay
        // from that job, exactly as the first answer). Keys whose job is already gone could only ever answer
        // a 500, so they are dropped; from now on `prune` keeps a job while a key names it.
        migrator.registerMigration("v2-idempotency-names-job") { db in
            try db.execute(
                sql: """
                    CREATE TABLE idempotency_keys_v2 (
                        key TEXT PRIMARY KEY,
                        fingerprint TEXT NOT NULL,
                        job_id TEXT NOT NULL,
                        created_at REAL NOT NULL
                    );
                    INSERT INTO idempotency_keys_v2 (key, fingerprint, job_id, created_at)
                        SELECT key, fingerprint, job_id, created_at FROM idempotency_keys
                        WHERE job_id IN (SELECT id FROM jobs);
                    DROP TABLE idempotency_keys;
                    ALTER TABLE idempotency_keys_v2 RENAME TO idempotency_keys;
                    CREATE INDEX idempotency_by_age ON idempotency_keys (created_at);
                    CREATE INDEX idempotency_by_job ON idempotency_keys (job_id);
                    """)
        }
        // Leases (claims that expire without a heartbeat): when the running attempt's lease ends (Unix seconds)
        // and who holds it ("host/pid").
        migrator.registerMigration("v3-leases") { db in
            try db.execute(
                sql: """
                    ALTER TABLE jobs ADD COLUMN lease_expires_at REAL;
                    ALTER TABLE jobs ADD COLUMN worker TEXT;
                    """)
        }
        // Secrets every node over the database shares (`JobStore.sharedSecret`): the page-token key.
        migrator.registerMigration("v4-secrets") { db in
            try db.execute(sql: "CREATE TABLE secrets (name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL)")
        }
        return migrator
    }
}
