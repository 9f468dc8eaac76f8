import Foundation
import Logging
import PostgresNIO

/// The shared store: the job tables of the service's PostgreSQL database (`PostgresDatabase`), used by every
/// API node and every worker process at once. It behaves as `SQLiteJobStore` does (one conformance suite), and
/// adds what many processes need:
///
/// - a claim is one statement (`UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1)`), so concurrent
///   workers never wait on or take the same job;
/// - a claim holds a lease on the database's clock, renewed by `heartbeat`; `requeueExpiredLeases` (run by every
///   node) re-queues or fails the jobs of workers that stopped renewing;
/// - every change announces the job's id with `pg_notify('initlab_jobs', id)` in the same statement or
///   transaction, so the notification is sent exactly when the change commits; `watchChanges` listens;
/// - an idempotency key is inserted with `ON CONFLICT DO NOTHING` in the job's transaction: two nodes racing on
///   one key create one job, the other gets the replay.
///
/// Results are `bytea`, gzip-compressed above `ResultEncoding.compressionThreshold`.
package final class PostgresJobStore: JobStore {
    private let database: PostgresDatabase
    private let lease: LeaseSettings
    private var logger: Logger { database.logger }

    package init(database: PostgresDatabase, lease: LeaseSettings = LeaseSettings()) {
        self.database = database
        self.lease = lease
    }

    package var isShared: Bool { true }

    /// The columns of `JobRecord`, in the order `record(_:)` decodes them.
    private static let columns = "seq, id, status, spec, layers_done, layers_total, attempt, version, created_at, started_at, finished_at, error"
    /// `pg_notify` as a last column (after `columns`, not decoded): the notification goes with the statement.
    private static let notifyColumn = ", pg_notify('\(PostgresDatabase.channel)', id) IS NULL"

    private static func record(_ row: PostgresRow) throws -> JobRecord {
        let (sequence, id, status, spec, done, total, attempt, version, created, started, finished, error) = try row.decode(
            (Int64, String, String, Data, Int, Int, Int, Int, Double, Double?, Double?, String?).self)
        guard let status = JobStatus(rawValue: status) else { throw StoreError.inconsistent("job \(id) has status '\(status)'") }
        return JobRecord(
            id: id, sequence: sequence, status: status, spec: spec, layersDone: done, layersTotal: total, attempt: attempt,
            version: version, createdAt: Date(timeIntervalSince1970: created), startedAt: started.map(Date.init(timeIntervalSince1970:)),
            finishedAt: finished.map(Date.init(timeIntervalSince1970:)), error: error)
    }

    private static func records(_ rows: PostgresRowSequence) async throws -> [JobRecord] {
        var records: [JobRecord] = []
        for try await row in rows { records.append(try record(row)) }
        return records
    }

    private static func count(_ rows: PostgresRowSequence) async throws -> Int {
        var total = 0
        for try await _ in rows { total += 1 }
        return total
    }

    // MARK: From request handlers

    /// Any fixed number: the advisory lock that serializes submissions (capacity check and insert) across nodes.
    static let submitLock: Int64 = 0x1A17_1AB0_5B17

    package func submit(
        _ job: NewJob, idempotency: (key: String, fingerprint: String)?, queueCapacity: Int
    ) async throws -> SubmitOutcome {
        let key = idempotency?.key
        let fingerprint = idempotency?.fingerprint
        let logger = self.logger
        return try await database.transaction { db -> SubmitOutcome in
            if let key, let stored = try await Self.idempotencyRecord(key, db, logger) {
                return try await Self.replay(stored, fingerprint: fingerprint, db, logger)
            }
            // The capacity is exact across nodes: a transaction-level advisory lock serializes the count and the
            // insert of every submission (held until this transaction commits; replays above do not take it).
            _ = try await db.query("SELECT pg_advisory_xact_lock(\(Self.submitLock))", logger: logger)
            var queued = 0
            for try await value in try await db.query("SELECT count(*) FROM jobs WHERE status = 'queued'", logger: logger)
                .decode(Int.self)
            { queued = value }
            if queued >= queueCapacity { return .queueFull(queued: queued, capacity: queueCapacity) }
            if let key, let fingerprint {
                let inserted = try await Self.count(
                    db.query(
                        """
                        INSERT INTO idempotency_keys (key, fingerprint, job_id, created_at)
                        VALUES (\(key), \(fingerprint), \(job.id), \(job.createdAt.timeIntervalSince1970))
                        ON CONFLICT (key) DO NOTHING RETURNING key
                        """, logger: logger))
                if inserted == 0 {
                    // Another node committed this key while we waited on its row: its job is the answer.
                    guard let stored = try await Self.idempotencyRecord(key, db, logger) else {
                        throw StoreError.inconsistent("idempotency key \(key) conflicted but is gone")
                    }
                    return try await Self.replay(stored, fingerprint: fingerprint, db, logger)
                }
            }
            let rows = try await db.query(
                """
                INSERT INTO jobs (id, status, spec, layers_done, layers_total, attempt, version, created_at)
                VALUES (\(job.id), 'queued', \(job.spec), 0, \(job.layersTotal), 1, 1, \(job.createdAt.timeIntervalSince1970))
                RETURNING \(unescaped: Self.columns)\(unescaped: Self.notifyColumn)
                """, logger: logger)
            guard let created = try await Self.records(rows).first else { throw StoreError.inconsistent("inserted job not returned") }
            return .created(created)
        }
    }

    private static func idempotencyRecord(_ key: String, _ db: PostgresConnection, _ logger: Logger) async throws
        -> IdempotencyRecord?
    {
        let rows = try await db.query(
            "SELECT key, fingerprint, job_id, created_at FROM idempotency_keys WHERE key = \(key)", logger: logger)
        for try await (key, fingerprint, jobID, created) in rows.decode((String, String, String, Double).self) {
            return IdempotencyRecord(key: key, fingerprint: fingerprint, jobID: jobID, createdAt: Date(timeIntervalSince1970: created))
        }
        return nil
    }

    private static func replay(_ stored: IdempotencyRecord, fingerprint: String?, _ db: PostgresConnection, _ logger: Logger)
        async throws -> SubmitOutcome
    {
        guard stored.fingerprint == fingerprint else { return .keyReused(stored) }
        let rows = try await db.query("SELECT \(unescaped: columns) FROM jobs WHERE id = \(stored.jobID)", logger: logger)
        guard let original = try await records(rows).first else {
            throw StoreError.inconsistent("idempotency key \(stored.key) names a missing job")
        }
        return .replayed(original.creationState)
    }

    package func job(id: String) async throws -> JobRecord? {
        try await database.perform { client in
            try await Self.records(
                client.query("SELECT \(unescaped: Self.columns) FROM jobs WHERE id = \(id)", logger: self.logger)).first
        }
    }

    package func result(id: String) async throws -> Data? {
        try await database.perform { client in
            let rows = try await client.query("SELECT encoding, body FROM results WHERE job_id = \(id)", logger: self.logger)
            for try await (encoding, body) in rows.decode((String, Data).self) {
                return try ResultEncoding.decode(body, encoding: encoding)
            }
            return nil
        }
    }

    package func list(status: JobStatus?, beforeSequence: Int64?, limit: Int) async throws -> [JobRecord] {
        try await database.perform { client in
            try await Self.records(
                client.query(
                    """
                    SELECT \(unescaped: Self.columns) FROM jobs
                    WHERE (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue))
                      AND (\(beforeSequence)::bigint IS NULL OR seq < \(beforeSequence))
                    ORDER BY seq DESC LIMIT \(limit)
                    """, logger: self.logger))
        }
    }

    package func cancel(id: String, now: Date) async throws -> CancelOutcome {
        try await database.transaction { db -> CancelOutcome in
            let rows = try await db.query(
                "SELECT \(unescaped: Self.columns) FROM jobs WHERE id = \(id) FOR UPDATE", logger: self.logger)
            guard let job = try await Self.records(rows).first else { return .notFound }
            if job.status.isTerminal { return .alreadyTerminal(job) }
            let updated = try await Self.records(
                db.query(
                    """
                    UPDATE jobs SET status = 'cancelled', finished_at = \(now.timeIntervalSince1970), version = version + 1,
                        lease_expires_at = NULL
                    WHERE id = \(id) AND status = \(job.status.rawValue) AND attempt = \(job.attempt)
                    RETURNING \(unescaped: Self.columns)\(unescaped: Self.notifyColumn)
                    """, logger: self.logger))
            guard let cancelled = updated.first else { throw StoreError.inconsistent("cancel lost a race inside a locked row") }
            return .cancelled(cancelled, wasRunning: job.status == .running)
        }
    }

    @discardableResult
    package func prune(finishedBefore cutoff: Date, keysBefore keyCutoff: Date) async throws -> Int {
        try await database.transaction { db in
            try await db.query(
                "DELETE FROM idempotency_keys WHERE created_at < \(keyCutoff.timeIntervalSince1970)", logger: self.logger)
            return try await Self.count(
                db.query(
                    """
                    DELETE FROM jobs
                    WHERE status IN ('succeeded','failed','cancelled') AND finished_at < \(cutoff.timeIntervalSince1970)
                      AND NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.job_id = jobs.id)
                    RETURNING id
                    """, logger: self.logger))
        }
    }

    package func countsByStatus() async throws -> [JobStatus: Int] {
        let rows = try await database.perform { client in
            var rows: [(String, Int)] = []
            for try await row in try await client.query("SELECT status, count(*) FROM jobs GROUP BY status", logger: self.logger)
                .decode((String, Int).self)
            {
                rows.append(row)
            }
            return rows
        }
        var counts: [JobStatus: Int] = [:]
        for status in JobStatus.allCases { counts[status] = 0 }
        for (status, count) in rows { if let status = JobStatus(rawValue: status) { counts[status] = count } }
        return counts
    }

    package func sharedSecret(named name: String) async throws -> [UInt8] {
        let fresh = Data(newSecret())
        // A node that loses the insert race to another node's uncommitted insert waits for it, and then its
        // statement's snapshot (taken before that commit) does not see the row: the second try does.
        for _ in 0..<3 {
            if let stored = try await storedSecret(name, fresh: fresh) {
                guard stored.count == 32 else { throw StoreError.inconsistent("secret \(name) is not 32 bytes") }
                return [UInt8](stored)
            }
        }
        throw StoreError.inconsistent("secret \(name) could not be stored")
    }

    private func storedSecret(_ name: String, fresh: Data) async throws -> Data? {
        try await database.perform { client -> Data? in
            // The insert and the read in one statement: whichever node inserts first, every node reads its row.
            let rows = try await client.query(
                """
                WITH inserted AS (
                    INSERT INTO secrets (name, value) VALUES (\(name), \(fresh)) ON CONFLICT (name) DO NOTHING RETURNING value)
                SELECT value FROM inserted UNION ALL SELECT value FROM secrets WHERE name = \(name) LIMIT 1
                """, logger: self.logger)
            for try await value in rows.decode(Data.self) { return value }
            return nil
        }
    }

    package func isHealthy() async -> Bool { await database.isHealthy() }

    package func watchChanges(_ onChange: @escaping @Sendable (String) -> Void) async {
        await database.listen(onChange)
    }

    // MARK: From worker threads and start-up (blocking their own thread; see `PostgresDatabase.blocking`)

    package func claimNext(now: Date) throws -> JobRecord? {
        let seconds = lease.duration.seconds
        return try database.blocking {
            try await self.database.perform { client in
                try await Self.records(
                    client.query(
                        """
                        UPDATE jobs SET status = 'running', started_at = \(now.timeIntervalSince1970), layers_done = 0,
                            version = version + 1, worker = \(LeaseSettings.owner),
                            lease_expires_at = now() + make_interval(secs => \(seconds))
                        WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY seq FOR UPDATE SKIP LOCKED LIMIT 1)
                        RETURNING \(unescaped: Self.columns)\(unescaped: Self.notifyColumn)
                        """, logger: self.logger)
                ).first
            }
        }
    }

    package func heartbeat(id: String, attempt: Int, now: Date) throws -> Bool {
        let seconds = lease.duration.seconds
        return try update(
            """
            UPDATE jobs SET lease_expires_at = now() + make_interval(secs => \(seconds))
            WHERE id = \(id) AND status = 'running' AND attempt = \(attempt) RETURNING id
            """)
    }

    package func requeueExpiredLeases(maxAttempts: Int, now: Date) throws -> RecoveryReport {
        try retryOrFail(
            where: "status = 'running' AND lease_expires_at < now()", maxAttempts: maxAttempts, now: now,
            reason: "lease expired ' || attempt || ' times (the worker stopped renewing it); gave up after \(maxAttempts) attempts")
    }

    package func isRunning(id: String, attempt: Int) throws -> Bool {
        try update("SELECT id FROM jobs WHERE id = \(id) AND status = 'running' AND attempt = \(attempt)")
    }

    @discardableResult
    package func updateProgress(id: String, attempt: Int, layersDone: Int) throws -> Bool {
        try update(
            """
            UPDATE jobs SET layers_done = \(layersDone), version = version + 1
            WHERE id = \(id) AND status = 'running' AND attempt = \(attempt) AND layers_done <> \(layersDone)
            RETURNING id\(unescaped: Self.notifyColumn)
            """)
    }

    @discardableResult
    package func finish(id: String, attempt: Int, status: JobStatus, error: String?, result: Data?, now: Date) throws -> Bool {
        precondition(status.isTerminal, "finish needs a terminal status")
        let stored = try result.map { try ResultEncoding.encode($0) }
        return try database.blocking {
            try await self.database.transaction { db -> Bool in
                let changed = try await Self.count(
                    db.query(
                        """
                        UPDATE jobs SET status = \(status.rawValue), error = \(error), finished_at = \(now.timeIntervalSince1970),
                            version = version + 1, lease_expires_at = NULL,
                            layers_done = CASE WHEN \(status.rawValue) = 'succeeded' THEN layers_total ELSE layers_done END
                        WHERE id = \(id) AND status = 'running' AND attempt = \(attempt)
                        RETURNING id\(unescaped: Self.notifyColumn)
                        """, logger: self.logger))
                guard changed == 1 else { return false }
                if let stored {
                    try await db.query(
                        """
                        INSERT INTO results (job_id, encoding, body) VALUES (\(id), \(stored.encoding), \(stored.body))
                        ON CONFLICT (job_id) DO UPDATE SET encoding = excluded.encoding, body = excluded.body
                        """, logger: self.logger)
                }
                return true
            }
        }
    }

    @discardableResult
    package func requeue(id: String, attempt: Int) throws -> Bool {
        try update(
            """
            UPDATE jobs SET status = 'queued', started_at = NULL, layers_done = 0, version = version + 1,
                lease_expires_at = NULL
            WHERE id = \(id) AND status = 'running' AND attempt = \(attempt)
            RETURNING id\(unescaped: Self.notifyColumn)
            """)
    }

    /// On a shared store a job left running may belong to a live worker on another host: only expired leases
    /// are taken back (the same as the reaper).
    package func recoverInterruptedJobs(maxAttempts: Int, now: Date) throws -> RecoveryReport {
        try requeueExpiredLeases(maxAttempts: maxAttempts, now: now)
    }

    /// One guarded statement from a worker thread: true when it returned a row.
    private func update(_ query: PostgresQuery) throws -> Bool {
        try database.blocking {
            try await self.database.perform { client in try await Self.count(client.query(query, logger: self.logger)) == 1 }
        }
    }

    /// Re-queues (attempt + 1) or fails (`reason`, an SQL string body where `attempt` may be spliced in) every
    /// running job matching `condition`, in one transaction; rows another node is handling are skipped.
    private func retryOrFail(where condition: String, maxAttempts: Int, now: Date, reason: String) throws -> RecoveryReport {
        try database.blocking {
            try await self.database.transaction { db -> RecoveryReport in
                var report = RecoveryReport()
                let failed = try await db.query(
                    """
                    UPDATE jobs SET status = 'failed', finished_at = \(now.timeIntervalSince1970), version = version + 1,
                        lease_expires_at = NULL, error = \(unescaped: "'" + reason + "'")
                    WHERE id IN (SELECT id FROM jobs WHERE \(unescaped: condition) AND attempt >= \(maxAttempts)
                                 FOR UPDATE SKIP LOCKED)
                    RETURNING id, seq\(unescaped: Self.notifyColumn)
                    """, logger: self.logger)
                var failedRows: [(String, Int64)] = []
                for try await row in failed.decode((String, Int64).self) { failedRows.append(row) }
                let requeued = try await db.query(
                    """
                    UPDATE jobs SET status = 'queued', attempt = attempt + 1, started_at = NULL, layers_done = 0,
                        version = version + 1, lease_expires_at = NULL
                    WHERE id IN (SELECT id FROM jobs WHERE \(unescaped: condition) AND attempt < \(maxAttempts)
                                 FOR UPDATE SKIP LOCKED)
                    RETURNING id, seq\(unescaped: Self.notifyColumn)
                    """, logger: self.logger)
                var requeuedRows: [(String, Int64)] = []
                for try await row in requeued.decode((String, Int64).self) { requeuedRows.append(row) }
                report.failed = failedRows.sorted { $0.1 < $1.1 }.map(\.0)
                report.requeued = requeuedRows.sorted { $0.1 < $1.1 }.map(\.0)
                return report
            }
        }
    }
}
