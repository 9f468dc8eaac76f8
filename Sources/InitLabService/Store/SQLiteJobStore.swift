import Foundation
import GRDB

/// The embedded store: SQLite through GRDB's `DatabasePool` (WAL: readers never block the writer).
///
/// Times are stored as Unix seconds (REAL). The canonical spec and the result are stored as the exact bytes
/// the API echoes, so a replayed or re-read response is byte-identical.
public final class SQLiteJobStore: JobStore {
    private let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and migrates it.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "initlab.store"
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    private static var migrator: DatabaseMigrator {
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
        return migrator
    }

    private static let columns =
        "seq, id, status, spec, layers_done, layers_total, attempt, version, created_at, started_at, finished_at, error"

    private static func record(_ row: Row) -> JobRecord {
        let statusText: String = row["status"]
        let started: Double? = row["started_at"]
        let finished: Double? = row["finished_at"]
        return JobRecord(
            id: row["id"], sequence: row["seq"], status: JobStatus(rawValue: statusText) ?? .failed,
            spec: row["spec"], layersDone: row["layers_done"], layersTotal: row["layers_total"],
            attempt: row["attempt"], version: row["version"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            startedAt: started.map(Date.init(timeIntervalSince1970:)),
            finishedAt: finished.map(Date.init(timeIntervalSince1970:)), error: row["error"])
    }

    private static func fetchJob(_ db: Database, id: String) throws -> JobRecord? {
        try Row.fetchOne(db, sql: "SELECT \(columns) FROM jobs WHERE id = ?", arguments: [id]).map(record)
    }

    private static func idempotency(_ row: Row) -> IdempotencyRecord {
        IdempotencyRecord(
            key: row["key"], fingerprint: row["fingerprint"], jobID: row["job_id"],
            responseStatus: row["response_status"], responseBody: row["response_body"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]))
    }

    public func submit(
        _ job: NewJob, idempotency: (key: String, fingerprint: String)?, queueCapacity: Int,
        makeResponse: @Sendable (JobRecord) -> (status: Int, body: Data)
    ) throws -> SubmitOutcome {
        try pool.write { db in
            if let idempotency,
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM idempotency_keys WHERE key = ?", arguments: [idempotency.key])
            {
                let stored = Self.idempotency(row)
                return stored.fingerprint == idempotency.fingerprint ? .replay(stored) : .keyReused(stored)
            }
            let queued =
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs WHERE status = 'queued'") ?? 0
            if queued >= queueCapacity { return .queueFull(queued: queued, capacity: queueCapacity) }
            try db.execute(
                sql: """
                    INSERT INTO jobs (id, status, spec, layers_total, attempt, version, created_at)
                    VALUES (?, 'queued', ?, ?, 1, 1, ?)
                    """,
                arguments: [job.id, job.spec, job.layersTotal, job.createdAt.timeIntervalSince1970])
            guard let created = try Self.fetchJob(db, id: job.id) else {
                throw StoreError.inconsistent("inserted job not found")
            }
            if let idempotency {
                let response = makeResponse(created)
                try db.execute(
                    sql: """
                        INSERT INTO idempotency_keys (key, fingerprint, job_id, response_status, response_body, created_at)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        idempotency.key, idempotency.fingerprint, job.id, response.status, response.body,
                        job.createdAt.timeIntervalSince1970,
                    ])
            }
            return .created(created)
        }
    }

    public func job(id: String) throws -> JobRecord? {
        try pool.read { db in try Self.fetchJob(db, id: id) }
    }

    public func result(id: String) throws -> Data? {
        try pool.read { db in
            try Data.fetchOne(db, sql: "SELECT body FROM results WHERE job_id = ?", arguments: [id])
        }
    }

    public func list(status: JobStatus?, beforeSequence: Int64?, limit: Int) throws -> [JobRecord] {
        try pool.read { db in
            var clauses: [String] = []
            var arguments: StatementArguments = []
            if let status {
                clauses.append("status = ?")
                _ = arguments.append(contentsOf: [status.rawValue])
            }
            if let beforeSequence {
                clauses.append("seq < ?")
                _ = arguments.append(contentsOf: [beforeSequence])
            }
            _ = arguments.append(contentsOf: [limit])
            let filter = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
            return try Row.fetchAll(
                db, sql: "SELECT \(Self.columns) FROM jobs \(filter) ORDER BY seq DESC LIMIT ?",
                arguments: arguments
            ).map(Self.record)
        }
    }

    public func claimNext(now: Date) throws -> JobRecord? {
        try pool.write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT id, attempt FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1")
            else { return nil }
            let id: String = row["id"]
            let attempt: Int = row["attempt"]
            try db.execute(
                sql: """
                    UPDATE jobs SET status = 'running', started_at = ?, layers_done = 0, version = version + 1
                    WHERE id = ? AND status = 'queued' AND attempt = ?
                    """,
                arguments: [now.timeIntervalSince1970, id, attempt])
            guard db.changesCount == 1 else { return nil }
            return try Self.fetchJob(db, id: id)
        }
    }

    @discardableResult
    public func updateProgress(id: String, attempt: Int, layersDone: Int) throws -> Bool {
        try pool.write { db in
            try db.execute(
                sql: """
                    UPDATE jobs SET layers_done = ?, version = version + 1
                    WHERE id = ? AND status = 'running' AND attempt = ? AND layers_done <> ?
                    """,
                arguments: [layersDone, id, attempt, layersDone])
            return db.changesCount == 1
        }
    }

    @discardableResult
    public func finish(
        id: String, attempt: Int, status: JobStatus, error: String?, result: Data?, now: Date
    ) throws -> Bool {
        precondition(status.isTerminal, "finish needs a terminal status")
        return try pool.write { db in
            let progress = status == .succeeded ? "layers_done = layers_total," : ""
            try db.execute(
                sql: """
                    UPDATE jobs SET status = ?, error = ?, finished_at = ?, \(progress) version = version + 1
                    WHERE id = ? AND status = 'running' AND attempt = ?
                    """,
                arguments: [status.rawValue, error, now.timeIntervalSince1970, id, attempt])
            guard db.changesCount == 1 else { return false }
            if let result {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO results (job_id, body) VALUES (?, ?)", arguments: [id, result])
            }
            return true
        }
    }

    @discardableResult
    public func requeue(id: String, attempt: Int) throws -> Bool {
        try pool.write { db in
            try db.execute(
                sql: """
                    UPDATE jobs SET status = 'queued', started_at = NULL, layers_done = 0, version = version + 1
                    WHERE id = ? AND status = 'running' AND attempt = ?
                    """,
                arguments: [id, attempt])
            return db.changesCount == 1
        }
    }

    public func cancel(id: String, now: Date) throws -> CancelOutcome {
        try pool.write { db in
            guard let job = try Self.fetchJob(db, id: id) else { return .notFound }
            if job.status.isTerminal { return .alreadyTerminal(job) }
            try db.execute(
                sql: """
                    UPDATE jobs SET status = 'cancelled', finished_at = ?, version = version + 1
                    WHERE id = ? AND status = ? AND attempt = ?
                    """,
                arguments: [now.timeIntervalSince1970, id, job.status.rawValue, job.attempt])
            guard db.changesCount == 1, let updated = try Self.fetchJob(db, id: id) else {
                throw StoreError.inconsistent("cancel lost a race inside a write transaction")
            }
            return .cancelled(updated, wasRunning: job.status == .running)
        }
    }

    public func recoverInterruptedJobs(maxAttempts: Int, now: Date) throws -> RecoveryReport {
        try pool.write { db in
            var report = RecoveryReport()
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, attempt FROM jobs WHERE status = 'running' ORDER BY seq")
            for row in rows {
                let id: String = row["id"]
                let attempt: Int = row["attempt"]
                if attempt >= maxAttempts {
                    try db.execute(
                        sql: """
                            UPDATE jobs SET status = 'failed', finished_at = ?, version = version + 1,
                                error = ?
                            WHERE id = ? AND status = 'running' AND attempt = ?
                            """,
                        arguments: [
                            now.timeIntervalSince1970,
                            "interrupted \(attempt) times by a restart; gave up after \(maxAttempts) attempts",
                            id, attempt,
                        ])
                    report.failed.append(id)
                } else {
                    try db.execute(
                        sql: """
                            UPDATE jobs SET status = 'queued', attempt = attempt + 1, started_at = NULL,
                                layers_done = 0, version = version + 1
                            WHERE id = ? AND status = 'running' AND attempt = ?
                            """,
                        arguments: [id, attempt])
                    report.requeued.append(id)
                }
            }
            return report
        }
    }

    @discardableResult
    public func prune(finishedBefore cutoff: Date, keysBefore keyCutoff: Date) throws -> Int {
        try pool.write { db in
            try db.execute(
                sql: """
                    DELETE FROM jobs WHERE status IN ('succeeded','failed','cancelled') AND finished_at < ?
                    """,
                arguments: [cutoff.timeIntervalSince1970])
            let deleted = db.changesCount
            try db.execute(
                sql: "DELETE FROM idempotency_keys WHERE created_at < ?",
                arguments: [keyCutoff.timeIntervalSince1970])
            return deleted
        }
    }

    public func countsByStatus() throws -> [JobStatus: Int] {
        try pool.read { db in
            var counts: [JobStatus: Int] = [:]
            for status in JobStatus.allCases { counts[status] = 0 }
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status") {
                let text: String = row["status"]
                if let status = JobStatus(rawValue: text) { counts[status] = row["n"] }
            }
            return counts
        }
    }

    public func isHealthy() -> Bool {
        (try? pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }
}

/// A store failure that is not the client's fault; the API renders it as a 500 without details.
public enum StoreError: Error, Sendable {
    case inconsistent(String)
}
