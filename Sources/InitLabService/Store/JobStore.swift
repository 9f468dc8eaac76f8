import Foundation

/// What `JobStore.submit` did. The store returns values; the API renders them (one rendering for a first
/// answer and its replay).
package enum SubmitOutcome: Sendable, Equatable {
    /// A new job was committed (with its idempotency key, when one was given).
    case created(JobRecord)
    /// The key was seen before with the same fingerprint: the job it created, in its creation-time state.
    case replayed(JobRecord)
    /// The key was seen before with a different payload.
    case keyReused(IdempotencyRecord)
    /// The queue already holds `capacity` queued jobs.
    case queueFull(queued: Int, capacity: Int)
}

/// What a cancel request found.
package enum CancelOutcome: Sendable, Equatable {
    case notFound
    /// The job was queued or running and is now durably cancelled; a worker running it sees that at its next
    /// layer boundary (`JobStore.isRunning`) and stops.
    case cancelled(JobRecord, wasRunning: Bool)
    /// Already terminal: returned unchanged.
    case alreadyTerminal(JobRecord)
}

/// What start-up recovery did with jobs that a crash left `running`.
package struct RecoveryReport: Sendable, Equatable {
    package var requeued: [String] = []
    package var failed: [String] = []

    package init(requeued: [String] = [], failed: [String] = []) {
        self.requeued = requeued
        self.failed = failed
    }
}

/// Persistent jobs, results and idempotency keys: the one store protocol, implemented by `SQLiteJobStore` (one
/// process) and `PostgresJobStore` (shared by API and worker nodes on any host), both checked by the same
/// conformance suite, `JobStoreConformanceTests`.
///
/// Every transition is a guarded update (`… WHERE id = ? AND status = ? AND attempt = ?`), so a stale worker
/// can never overwrite a newer attempt or a terminal state. Neither the API nor the workers know which store
/// they use.
///
/// Two kinds of callers: request handlers and other async code use the `async` methods, which must never block
/// a cooperative thread; the worker threads (and start-up, before anything is served) use the synchronous
/// ones, which may block their own thread.
package protocol JobStore: Sendable {
    // MARK: From request handlers (async)

    /// Inserts the job and, when given, its idempotency key (key → job id and fingerprint) in one transaction,
    /// unless the queue is full or the key already exists.
    func submit(_ job: NewJob, idempotency: (key: String, fingerprint: String)?, queueCapacity: Int) async throws
        -> SubmitOutcome
    func job(id: String) async throws -> JobRecord?
    func result(id: String) async throws -> Data?
    /// Jobs newest first, optionally by status, strictly older than `beforeSequence`.
    func list(status: JobStatus?, beforeSequence: Int64?, limit: Int) async throws -> [JobRecord]
    /// Moves a queued or running job to `cancelled`, durably: a worker about to run it or running it sees it.
    func cancel(id: String, now: Date) async throws -> CancelOutcome
    /// Deletes terminal jobs finished before `cutoff` (with their results), except a job that an idempotency
    /// key still names (its replay needs it), and idempotency keys older than `keyCutoff`. Returns the number
    /// of jobs deleted.
    @discardableResult
    func prune(finishedBefore cutoff: Date, keysBefore keyCutoff: Date) async throws -> Int
    func countsByStatus() async throws -> [JobStatus: Int]
    /// The random secret `name` (32 bytes), created by whichever node asks first and the same for every node
    /// over this store, across restarts (page tokens are signed with one, so a token one API node issued works
    /// on another behind the same load balancer).
    func sharedSecret(named name: String) async throws -> [UInt8]
    /// True while the database answers a trivial query.
    func isHealthy() async -> Bool
    /// True when other processes share this store (PostgreSQL): a job left `running` may belong to a live worker
    /// elsewhere, so start-up must not re-queue it (the lease reaper does, once its lease expires), and a change
    /// may be made by another node (`watchChanges`, with polling as the fallback).
    var isShared: Bool { get }
    /// Calls `onChange` with a job's id whenever any node changes that job (submit, claim, progress, finish,
    /// cancel), until the task is cancelled; reconnects by itself. Returns at once for a store that only this
    /// process writes (its changes are announced in-process).
    func watchChanges(_ onChange: @escaping @Sendable (String) -> Void) async

    // MARK: From worker threads and start-up (synchronous)

    /// Moves the oldest queued job to running with a lease of the store's lease duration, owned by this
    /// process; nil when none is queued. Concurrent claims (threads or nodes) never get the same job.
    func claimNext(now: Date) throws -> JobRecord?
    /// Extends the lease of a running attempt by the lease duration; false when the attempt is no longer the
    /// running one (cancelled, finished, or re-queued after its lease expired), so its worker must stop.
    func heartbeat(id: String, attempt: Int, now: Date) throws -> Bool
    /// The reaper: running jobs whose lease expired (their worker died, hung, or lost the database) go back to
    /// the queue with attempt + 1, or fail with the reason once `maxAttempts` is used up. The stale worker's
    /// writes are then refused (they are fenced by the attempt number). A shared store compares leases with the
    /// database's clock, not `now`, so the hosts' clocks do not matter.
    func requeueExpiredLeases(maxAttempts: Int, now: Date) throws -> RecoveryReport
    /// True while `attempt` of the job is the running one; false once it was cancelled (or otherwise ended or
    /// re-queued). Workers ask between layers, so a cancel is never lost.
    func isRunning(id: String, attempt: Int) throws -> Bool
    /// Records progress of a running attempt; false when the job is no longer that running attempt.
    @discardableResult
    func updateProgress(id: String, attempt: Int, layersDone: Int) throws -> Bool
    /// Ends a running attempt: the terminal status, the error and the result in one transaction.
    @discardableResult
    func finish(id: String, attempt: Int, status: JobStatus, error: String?, result: Data?, now: Date) throws -> Bool
    /// Puts a running attempt back in the queue (graceful shutdown), keeping its attempt number.
    @discardableResult
    func requeue(id: String, attempt: Int) throws -> Bool
    /// Start-up of a store only this process writes (`isShared` false): every job left running was interrupted
    /// by a crash and is re-queued with attempt + 1, or failed once `maxAttempts` is used up. A shared store
    /// re-queues only jobs whose lease expired (`requeueExpiredLeases`).
    func recoverInterruptedJobs(maxAttempts: Int, now: Date) throws -> RecoveryReport
}

extension JobStore {
    package var isShared: Bool { false }
    package func watchChanges(_ onChange: @escaping @Sendable (String) -> Void) async {}
}

/// How long a claim holds a job without a heartbeat, and how often a running job's worker renews it.
package struct LeaseSettings: Sendable, Equatable {
    /// Default: 30 s. A worker that stops heartbeating (killed, paused, cut off) loses its job after this long.
    package var duration: Duration = .seconds(30)
    /// Default: 5 s. Well under `duration`, so a few lost heartbeats do not lose the lease.
    package var heartbeat: Duration = .seconds(5)

    package init(duration: Duration = .seconds(30), heartbeat: Duration = .seconds(5)) {
        self.duration = duration
        self.heartbeat = heartbeat
    }

    /// Who holds a lease: "host/pid", recorded in `jobs.worker` for operators.
    package static let owner: String = {
        "\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)"
    }()
}

/// A store failure that is not the client's fault; the API renders it as a 500 without details.
package enum StoreError: Error, Sendable {
    case inconsistent(String)
}

/// The database cannot be reached right now (down, restarting, unreachable, or slower than the store's
/// deadline). Nothing was acknowledged; the API answers 503 with `Retry-After` (`Problem.swift`), and the store
/// reconnects by itself when the database is back.
/// 32 random bytes from the system's generator: a new shared secret (`JobStore.sharedSecret`).
func newSecret() -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
}

package struct StoreUnavailable: Error, Sendable, CustomStringConvertible {
    package var reason: String

    package init(_ reason: String) { self.reason = reason }

    package var description: String { "store unavailable: \(reason)" }
}
