import Foundation

/// A job's lifecycle state. `succeeded`, `failed` and `cancelled` are terminal: once there, a job never changes.
public enum JobStatus: String, Sendable, CaseIterable, Codable {
    case queued, running, succeeded, failed, cancelled

    public var isTerminal: Bool {
        switch self {
        case .queued, .running: false
        case .succeeded, .failed, .cancelled: true
        }
    }
}

/// One stored job, as the store returns it.
public struct JobRecord: Sendable, Equatable {
    public var id: String
    /// Insertion order; the list endpoint pages on it.
    public var sequence: Int64
    public var status: JobStatus
    /// The canonical spec JSON (sorted keys), exactly as fingerprinted and echoed.
    public var spec: Data
    public var layersDone: Int
    public var layersTotal: Int
    /// 1 for the first run; each re-queue after a crash adds one.
    public var attempt: Int
    /// Bumped by every change; the ETag is derived from it.
    public var version: Int
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var error: String?
}

extension JobRecord {
    /// The job as it was when the store created it (queued, first attempt, first version, no progress): what
    /// an idempotent replay answers, so that it is byte for byte the first response.
    public var asCreated: JobRecord {
        JobRecord(
            id: id, sequence: sequence, status: .queued, spec: spec, layersDone: 0, layersTotal: layersTotal,
            attempt: 1, version: 1, createdAt: createdAt, startedAt: nil, finishedAt: nil, error: nil)
    }
}

/// A job to insert, already validated and canonicalized.
public struct NewJob: Sendable {
    public var id: String
    public var spec: Data
    public var layersTotal: Int
    public var createdAt: Date

    public init(id: String, spec: Data, layersTotal: Int, createdAt: Date) {
        self.id = id
        self.spec = spec
        self.layersTotal = layersTotal
        self.createdAt = createdAt
    }
}

/// An `Idempotency-Key` stored with its request fingerprint and the first response it produced.
public struct IdempotencyRecord: Sendable, Equatable {
    public var key: String
    public var fingerprint: String
    public var jobID: String
    public var responseStatus: Int
    public var responseBody: Data
    public var createdAt: Date
}

/// What `JobStore.submit` did.
public enum SubmitOutcome: Sendable, Equatable {
    /// A new job was committed (with its idempotency key, when one was given).
    case created(JobRecord)
    /// The key was seen before with the same fingerprint: replay this response.
    case replay(IdempotencyRecord)
    /// The key was seen before with a different payload.
    case keyReused(IdempotencyRecord)
    /// The queue already holds `capacity` queued jobs.
    case queueFull(queued: Int, capacity: Int)
}

/// What a cancel request found.
public enum CancelOutcome: Sendable, Equatable {
    case notFound
    /// The job was queued or running and is now cancelled (a running one stops at its next layer boundary).
    case cancelled(JobRecord, wasRunning: Bool)
    /// Already terminal: returned unchanged.
    case alreadyTerminal(JobRecord)
}

/// What start-up recovery did with jobs that a crash left `running`.
public struct RecoveryReport: Sendable, Equatable {
    public var requeued: [String] = []
    public var failed: [String] = []
}

/// Persistent jobs, results and idempotency keys.
///
/// Every transition is a guarded update (`… WHERE id = ? AND status = ? AND attempt = ?`), so a stale worker
/// can never overwrite a newer attempt or a terminal state. The protocol is the seam for a PostgreSQL store
/// (`SELECT … FOR UPDATE SKIP LOCKED` with leases in `claimNext`); neither the API nor the workers know which
/// store they use.
public protocol JobStore: Sendable {
    /// Inserts the job and, when given, its idempotency key in one transaction, unless the queue is full or the
    /// key already exists. `makeResponse` renders the first response from the created job, so the stored
    /// replay is byte-identical to what the client got.
    func submit(
        _ job: NewJob, idempotency: (key: String, fingerprint: String)?, queueCapacity: Int,
        makeResponse: @Sendable (JobRecord) -> (status: Int, body: Data)
    ) throws -> SubmitOutcome
    func job(id: String) throws -> JobRecord?
    func result(id: String) throws -> Data?
    /// Jobs newest first, optionally by status, strictly older than `beforeSequence`.
    func list(status: JobStatus?, beforeSequence: Int64?, limit: Int) throws -> [JobRecord]
    /// Moves the oldest queued job to running; nil when none is queued.
    func claimNext(now: Date) throws -> JobRecord?
    /// Records progress of a running attempt; false when the job is no longer that running attempt.
    @discardableResult
    func updateProgress(id: String, attempt: Int, layersDone: Int) throws -> Bool
    /// Ends a running attempt: the terminal status, the error and the result in one transaction.
    @discardableResult
    func finish(id: String, attempt: Int, status: JobStatus, error: String?, result: Data?, now: Date) throws -> Bool
    /// Puts a running attempt back in the queue (graceful shutdown), keeping its attempt number.
    @discardableResult
    func requeue(id: String, attempt: Int) throws -> Bool
    func cancel(id: String, now: Date) throws -> CancelOutcome
    /// Start-up: jobs left running are re-queued with attempt + 1, or failed once `maxAttempts` is used up.
    func recoverInterruptedJobs(maxAttempts: Int, now: Date) throws -> RecoveryReport
    /// Deletes terminal jobs finished before `cutoff` (with their results) and idempotency keys older than
    /// `keyCutoff`. Returns the number of jobs deleted.
    @discardableResult
    func prune(finishedBefore cutoff: Date, keysBefore keyCutoff: Date) throws -> Int
    func countsByStatus() throws -> [JobStatus: Int]
    /// True while the database answers a trivial query.
    func isHealthy() -> Bool
}
