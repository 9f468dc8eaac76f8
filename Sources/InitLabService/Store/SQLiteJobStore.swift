import Foundation
import GRDB

/// The embedded store: the job tables of the service's one SQLite database (`ServiceDatabase`).
///
/// Rows are record types (`JobRecord`, `IdempotencyRecord`, `StoredResult`) read and written by column name
/// through GRDB's query interface, except the two reads behind every poll (`job(id:)`, `result(id:)`), which use
/// cached SQL statements. Times are Unix seconds (REAL). The canonical spec and the result are stored
/// as the exact bytes the API echoes, so a replayed or re-read response is byte-identical. The async methods
/// use `ServiceDatabase.read` and GRDB's async `write`, which wait without holding a cooperative thread.
package final class SQLiteJobStore: JobStore {
    private let database: ServiceDatabase
    private var pool: DatabasePool { database.pool }
    private let lease: LeaseSettings

    /// `lease`: how long a claim lasts without a heartbeat (one process: only a hung worker thread loses one).
    package init(database: ServiceDatabase, lease: LeaseSettings = LeaseSettings()) {
        self.database = database
        self.lease = lease
    }

    // MARK: From request handlers

    package func submit(
        _ job: NewJob, idempotency: (key: String, fingerprint: String)?, queueCapacity: Int
    ) async throws -> SubmitOutcome {
        let key = idempotency?.key
        let fingerprint = idempotency?.fingerprint
        return try await pool.write { db in
            if let key, let stored = try IdempotencyRecord.fetchOne(db, key: key) {
                guard stored.fingerprint == fingerprint else { return .keyReused(stored) }
                guard let original = try JobRecord.filter(JobRecord.Columns.id == stored.jobID).fetchOne(db) else {
                    throw StoreError.inconsistent("idempotency key \(stored.key) names a missing job")
                }
                return .replayed(original.creationState)
            }
            let queued = try JobRecord.filter(JobRecord.Columns.status == JobStatus.queued).fetchCount(db)
            if queued >= queueCapacity { return .queueFull(queued: queued, capacity: queueCapacity) }
            // AUTOINCREMENT's high-water mark: never reused, even after the newest jobs are pruned.
            let last = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'jobs'") ?? 0
            try JobRecord(created: job, sequence: last + 1).insert(db)
            if let key, let fingerprint {
                try IdempotencyRecord(key: key, fingerprint: fingerprint, jobID: job.id, createdAt: job.createdAt)
                    .insert(db)
            }
            // Read back: the value as stored (times at the column's precision), equal to any later read.
            guard let created = try JobRecord.filter(JobRecord.Columns.id == job.id).fetchOne(db) else {
                throw StoreError.inconsistent("inserted job not found")
            }
            return .created(created)
        }
    }

    // The two reads behind every poll use cached statements, prepared once per reader connection: a
    // query-interface request is compiled, authorized and region-analysed again on every call, which was the
    // largest CPU cost of `GET /v1/experiments/{id}` in a perf profile of the service under wrk.
    package func job(id: String) async throws -> JobRecord? {
        try await database.read { db in
            try JobRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM jobs WHERE id = ?"), arguments: [id])
        }
    }

    package func result(id: String) async throws -> Data? {
        try await database.read { db in
            try Data.fetchOne(db.cachedStatement(sql: "SELECT body FROM results WHERE job_id = ?"), arguments: [id])
        }
    }

    package func list(status: JobStatus?, beforeSequence: Int64?, limit: Int) async throws -> [JobRecord] {
        try await database.read { db in
            var request = JobRecord.all()
            if let status { request = request.filter(JobRecord.Columns.status == status) }
            if let beforeSequence { request = request.filter(JobRecord.Columns.sequence < beforeSequence) }
            return try request.order(JobRecord.Columns.sequence.desc).limit(limit).fetchAll(db)
        }
    }

    package func cancel(id: String, now: Date) async throws -> CancelOutcome {
        try await pool.write { db in
            let byID = JobRecord.filter(JobRecord.Columns.id == id)
            guard let job = try byID.fetchOne(db) else { return .notFound }
            if job.status.isTerminal { return .alreadyTerminal(job) }
            let changed = try byID.filter(
                JobRecord.Columns.status == job.status && JobRecord.Columns.attempt == job.attempt
            ).updateAll(
                db, JobRecord.Columns.status.set(to: JobStatus.cancelled),
                JobRecord.Columns.finishedAt.set(to: now.timeIntervalSince1970), JobRecord.Columns.version += 1)
            guard changed == 1, let updated = try byID.fetchOne(db) else {
                throw StoreError.inconsistent("cancel lost a race inside a write transaction")
            }
            return .cancelled(updated, wasRunning: job.status == .running)
        }
    }

    @discardableResult
    package func prune(finishedBefore cutoff: Date, keysBefore keyCutoff: Date) async throws -> Int {
        try await pool.write { db in
            try IdempotencyRecord.filter(IdempotencyRecord.Columns.createdAt < keyCutoff.timeIntervalSince1970)
                .deleteAll(db)
            let named = IdempotencyRecord.select(IdempotencyRecord.Columns.jobID)
            return try JobRecord.filter(
                [JobStatus.succeeded, .failed, .cancelled].contains(JobRecord.Columns.status)
                    && JobRecord.Columns.finishedAt < cutoff.timeIntervalSince1970
                    && !named.contains(JobRecord.Columns.id)
            ).deleteAll(db)
        }
    }

    package func countsByStatus() async throws -> [JobStatus: Int] {
        let rows = try await database.read { db in
            try Row.fetchAll(
                db, JobRecord.select(JobRecord.Columns.status, count(JobRecord.Columns.id)).group(JobRecord.Columns.status))
                .map { (status: $0[0] as String, count: $0[1] as Int) }
        }
        var counts: [JobStatus: Int] = [:]
        for status in JobStatus.allCases { counts[status] = 0 }
        for row in rows { if let status = JobStatus(rawValue: row.status) { counts[status] = row.count } }
        return counts
    }

    package func sharedSecret(named name: String) async throws -> [UInt8] {
        let fresh = Data(newSecret())
        let stored = try await pool.write { db -> Data? in
            try db.execute(sql: "INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", arguments: [name, fresh])
            return try Data.fetchOne(db, sql: "SELECT value FROM secrets WHERE name = ?", arguments: [name])
        }
        guard let stored, stored.count == 32 else { throw StoreError.inconsistent("secret \(name) is missing or not 32 bytes") }
        return [UInt8](stored)
    }

    package func isHealthy() async -> Bool {
        (try? await database.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }

    // MARK: From worker threads and start-up

    package func claimNext(now: Date) throws -> JobRecord? {
        try pool.write { db -> JobRecord? in
            let queued = JobRecord.filter(JobRecord.Columns.status == JobStatus.queued)
            guard let next = try queued.order(JobRecord.Columns.sequence).fetchOne(db) else { return nil }
            let changed = try queued.filter(JobRecord.Columns.id == next.id && JobRecord.Columns.attempt == next.attempt)
                .updateAll(
                    db, JobRecord.Columns.status.set(to: JobStatus.running),
                    JobRecord.Columns.startedAt.set(to: now.timeIntervalSince1970), JobRecord.Columns.layersDone.set(to: 0),
                    JobRecord.Columns.version += 1, Self.leaseExpiresAt.set(to: leaseEnd(from: now)),
                    Self.worker.set(to: LeaseSettings.owner))
            guard changed == 1 else { return nil }
            return try JobRecord.filter(JobRecord.Columns.id == next.id).fetchOne(db)
        }
    }

    package func heartbeat(id: String, attempt: Int, now: Date) throws -> Bool {
        try pool.write { db in
            try Self.runningAttempt(id: id, attempt: attempt).updateAll(db, Self.leaseExpiresAt.set(to: leaseEnd(from: now))) == 1
        }
    }

    package func requeueExpiredLeases(maxAttempts: Int, now: Date) throws -> RecoveryReport {
        try pool.write { db in
            let expired = try JobRecord.filter(
                JobRecord.Columns.status == JobStatus.running && Self.leaseExpiresAt < now.timeIntervalSince1970
            ).order(JobRecord.Columns.sequence).fetchAll(db)
            return try Self.retryOrFail(expired, maxAttempts: maxAttempts, now: now, db: db) { attempts in
                "lease expired \(attempts) times (the worker stopped renewing it); gave up after \(maxAttempts) attempts"
            }
        }
    }

    private func leaseEnd(from now: Date) -> Double { now.timeIntervalSince1970 + lease.duration.seconds }

    package func isRunning(id: String, attempt: Int) throws -> Bool {
        try pool.read { db in
            try Self.runningAttempt(id: id, attempt: attempt).fetchCount(db) == 1
        }
    }

    @discardableResult
    package func updateProgress(id: String, attempt: Int, layersDone: Int) throws -> Bool {
        try pool.write { db in
            try Self.runningAttempt(id: id, attempt: attempt).filter(JobRecord.Columns.layersDone != layersDone)
                .updateAll(db, JobRecord.Columns.layersDone.set(to: layersDone), JobRecord.Columns.version += 1) == 1
        }
    }

    @discardableResult
    package func finish(
        id: String, attempt: Int, status: JobStatus, error: String?, result: Data?, now: Date
    ) throws -> Bool {
        precondition(status.isTerminal, "finish needs a terminal status")
        return try pool.write { db in
            var assignments = [
                JobRecord.Columns.status.set(to: status), JobRecord.Columns.error.set(to: error),
                JobRecord.Columns.finishedAt.set(to: now.timeIntervalSince1970), JobRecord.Columns.version += 1,
            ]
            if status == .succeeded { assignments.append(JobRecord.Columns.layersDone.set(to: JobRecord.Columns.layersTotal)) }
            guard try Self.runningAttempt(id: id, attempt: attempt).updateAll(db, assignments) == 1 else { return false }
            if let result { try StoredResult(jobID: id, body: result).save(db) }
            return true
        }
    }

    @discardableResult
    package func requeue(id: String, attempt: Int) throws -> Bool {
        try pool.write { db in
            try Self.runningAttempt(id: id, attempt: attempt).updateAll(
                db, JobRecord.Columns.status.set(to: JobStatus.queued), JobRecord.Columns.startedAt.set(to: nil),
                JobRecord.Columns.layersDone.set(to: 0), JobRecord.Columns.version += 1) == 1
        }
    }

    package func recoverInterruptedJobs(maxAttempts: Int, now: Date) throws -> RecoveryReport {
        try pool.write { db in
            let running = try JobRecord.filter(JobRecord.Columns.status == JobStatus.running)
                .order(JobRecord.Columns.sequence).fetchAll(db)
            return try Self.retryOrFail(running, maxAttempts: maxAttempts, now: now, db: db) { attempts in
                "interrupted \(attempts) times by a restart; gave up after \(maxAttempts) attempts"
            }
        }
    }

    /// Start-up recovery and the lease reaper: each interrupted attempt is re-queued with attempt + 1, or failed
    /// with `reason(attempts)` once `maxAttempts` is used up.
    private static func retryOrFail(
        _ jobs: [JobRecord], maxAttempts: Int, now: Date, db: Database, reason: (Int) -> String
    ) throws -> RecoveryReport {
        var report = RecoveryReport()
        for job in jobs {
            let attempt = runningAttempt(id: job.id, attempt: job.attempt)
            if job.attempt >= maxAttempts {
                try attempt.updateAll(
                    db, JobRecord.Columns.status.set(to: JobStatus.failed),
                    JobRecord.Columns.finishedAt.set(to: now.timeIntervalSince1970),
                    JobRecord.Columns.error.set(to: reason(job.attempt)), JobRecord.Columns.version += 1,
                    leaseExpiresAt.set(to: nil))
                report.failed.append(job.id)
            } else {
                try attempt.updateAll(
                    db, JobRecord.Columns.status.set(to: JobStatus.queued), JobRecord.Columns.attempt += 1,
                    JobRecord.Columns.startedAt.set(to: nil), JobRecord.Columns.layersDone.set(to: 0),
                    JobRecord.Columns.version += 1, leaseExpiresAt.set(to: nil))
                report.requeued.append(job.id)
            }
        }
        return report
    }

    /// Lease columns (migration `v3-leases`); not part of `JobRecord`, which is what the API shows.
    private static let leaseExpiresAt = Column("lease_expires_at")
    private static let worker = Column("worker")

    /// The guard of every worker transition: this attempt of the job, still running.
    private static func runningAttempt(id: String, attempt: Int) -> QueryInterfaceRequest<JobRecord> {
        JobRecord.filter(
            JobRecord.Columns.id == id && JobRecord.Columns.status == JobStatus.running
                && JobRecord.Columns.attempt == attempt)
    }
}

// MARK: - Records

extension JobStatus: DatabaseValueConvertible {}

/// A row of `jobs`, by column name (`JobRecord.CodingKeys`); dates are Unix seconds.
extension JobRecord: FetchableRecord, PersistableRecord {
    package static let databaseTableName = "jobs"

    package enum Columns {
        static let sequence = Column(CodingKeys.sequence)
        static let id = Column(CodingKeys.id)
        static let status = Column(CodingKeys.status)
        static let layersDone = Column(CodingKeys.layersDone)
        static let layersTotal = Column(CodingKeys.layersTotal)
        static let attempt = Column(CodingKeys.attempt)
        static let version = Column(CodingKeys.version)
        static let startedAt = Column(CodingKeys.startedAt)
        static let finishedAt = Column(CodingKeys.finishedAt)
        static let error = Column(CodingKeys.error)
    }

    /// Reads the row column by column with GRDB's throwing decoders instead of the Decodable path (a keyed decoder
    /// over the row, which GRDB's documentation advises against on hot paths): `GET /v1/experiments/{id}` reads one
    /// row per request.
    package init(row: Row) throws {
        func date(_ column: CodingKeys) throws -> Date? {
            try row.decode(Double?.self, forColumn: column.rawValue).map(Date.init(timeIntervalSince1970:))
        }
        self.init(
            id: try row.decode(forColumn: CodingKeys.id.rawValue), sequence: try row.decode(forColumn: CodingKeys.sequence.rawValue),
            status: try row.decode(forColumn: CodingKeys.status.rawValue), spec: try row.decode(forColumn: CodingKeys.spec.rawValue),
            layersDone: try row.decode(forColumn: CodingKeys.layersDone.rawValue),
            layersTotal: try row.decode(forColumn: CodingKeys.layersTotal.rawValue),
            attempt: try row.decode(forColumn: CodingKeys.attempt.rawValue), version: try row.decode(forColumn: CodingKeys.version.rawValue),
            createdAt: Date(timeIntervalSince1970: try row.decode(forColumn: CodingKeys.createdAt.rawValue)),
            startedAt: try date(.startedAt), finishedAt: try date(.finishedAt), error: try row.decode(forColumn: CodingKeys.error.rawValue))
    }

    package static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy {
        .timeIntervalSince1970
    }

    package static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy {
        .timeIntervalSince1970
    }
}

/// A row of `idempotency_keys` (primary key `key`).
extension IdempotencyRecord: FetchableRecord, PersistableRecord {
    package static let databaseTableName = "idempotency_keys"

    package enum Columns {
        static let jobID = Column(CodingKeys.jobID)
        static let createdAt = Column(CodingKeys.createdAt)
    }

    package static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy {
        .timeIntervalSince1970
    }

    package static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy {
        .timeIntervalSince1970
    }
}

/// A row of `results`: the result JSON of a succeeded job (primary key `job_id`; deleted with its job).
private struct StoredResult: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "results"
    var jobID: String
    var body: Data

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id"
        case body
    }
}
