import Foundation
import Synchronization
import TestSupport
import Testing

@testable import InitLabService

/// A kind of `JobStore` under test: `makeStorage` gives fresh, empty storage; `Storage.open` opens a store on
/// it (again = a restart, or another node, over the same data).
struct JobStoreFactory: Sendable, CustomTestStringConvertible {
    final class Storage: Sendable {
        let openStore: @Sendable (LeaseSettings) throws -> any JobStore
        let openSweeps: @Sendable () throws -> any SweepStore
        let destroy: @Sendable () -> Void

        init(
            open: @escaping @Sendable (LeaseSettings) throws -> any JobStore,
            openSweeps: @escaping @Sendable () throws -> any SweepStore, destroy: @escaping @Sendable () -> Void
        ) {
            self.openStore = open
            self.openSweeps = openSweeps
            self.destroy = destroy
        }

        /// A store with the default lease (30 s).
        func open() throws -> any JobStore { try openStore(LeaseSettings()) }

        func open(_ lease: LeaseSettings) throws -> any JobStore { try openStore(lease) }
    }

    let name: String
    let makeStorage: @Sendable () throws -> Storage

    var testDescription: String { name }

    static let sqlite = JobStoreFactory(name: "SQLite") {
        let folder = try TempDatabase()
        return Storage(
            open: { lease in SQLiteJobStore(database: try ServiceDatabase(path: folder.path), lease: lease) },
            openSweeps: { SQLiteSweepStore(database: try ServiceDatabase(path: folder.path)) },
            destroy: { folder.cleanup() })
    }

    /// A fresh schema of `INITLAB_TEST_POSTGRES_URL`'s database per test; each `open` is another node (its own
    /// client and pool).
    static let postgres = JobStoreFactory(name: "PostgreSQL") {
        let schema = try PostgresTestSupport.Schema()
        return Storage(
            open: { lease in PostgresJobStore(database: try schema.open(), lease: lease) },
            openSweeps: { PostgresSweepStore(database: try schema.open()) },
            destroy: { schema.destroy() })
    }

    /// PostgreSQL only when `INITLAB_TEST_POSTGRES_URL` is set; otherwise `postgresStoreIsTested` is reported
    /// as skipped, with the reason.
    static let all: [JobStoreFactory] = PostgresTestSupport.url == nil ? [.sqlite] : [.sqlite, .postgres]
}

/// Says, as a skipped test with its reason, that the PostgreSQL cases of the conformance suite did not run.
@Suite struct PostgresAvailability {
    @Test(.enabled(if: PostgresTestSupport.url != nil, Comment(rawValue: PostgresTestSupport.skipReason)))
    func postgresStoreIsTested() {
        #expect(JobStoreFactory.all.contains { $0.name == "PostgreSQL" })
    }
}

/// The behaviour every `JobStore` must have, run against each store in `JobStoreFactory.all`. Off the
/// cooperative pool: the worker-side methods block their thread (PostgreSQL's bridge to async waits for a task
/// that needs the pool).
@Suite(.offCooperativePool) struct JobStoreConformanceTests {
    private static func newJob(layers: Int = 3, createdAt: Date = Date()) -> NewJob {
        NewJob(
            id: UUID().uuidString.lowercased(), spec: Data("{\"depth\":\(layers)}".utf8), layersTotal: layers,
            createdAt: createdAt)
    }

    private static func created(_ outcome: SubmitOutcome) throws -> JobRecord {
        guard case .created(let job) = outcome else { throw TestFailure("expected created, got \(outcome)") }
        return job
    }

    private static func submit(_ store: any JobStore, _ job: NewJob = newJob(), key: (String, String)? = nil, capacity: Int = 100)
        async throws -> JobRecord
    {
        try created(await store.submit(job, idempotency: key.map { (key: $0.0, fingerprint: $0.1) }, queueCapacity: capacity))
    }

    @Test(arguments: JobStoreFactory.all)
    func createdJobIsTheStoredJob(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let store = try storage.open()
        let new = Self.newJob(layers: 4, createdAt: Date(timeIntervalSince1970: 1_700_000_000.25))
        let job = try await Self.submit(store, new)
        #expect(job == JobRecord(created: new, sequence: job.sequence))
        let now = try await Self.submit(store)
        #expect(try await store.job(id: now.id) == now, "equal to a read, whatever the clock's precision")
        #expect(job.status == .queued && job.attempt == 1 && job.version == 1 && job.layersDone == 0)
        #expect(try await store.job(id: job.id) == job, "what submit returns is what a read returns")
        #expect(try await store.job(id: UUID().uuidString.lowercased()) == nil)
    }

    @Test(arguments: JobStoreFactory.all)
    func lifecycleIsGuardedByStatusAndAttempt(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let store = try storage.open()
        let job = try await Self.submit(store)

        let claimed = try #require(try store.claimNext(now: Date()))
        #expect(claimed.id == job.id && claimed.status == .running && claimed.startedAt != nil)
        #expect(claimed.version == 2)
        #expect(try store.claimNext(now: Date()) == nil)
        #expect(try store.isRunning(id: job.id, attempt: 1))
        #expect(try !store.isRunning(id: job.id, attempt: 2))

        #expect(try store.updateProgress(id: job.id, attempt: 1, layersDone: 2))
        #expect(try !store.updateProgress(id: job.id, attempt: 1, layersDone: 2), "an unchanged count writes nothing")
        #expect(try !store.updateProgress(id: job.id, attempt: 2, layersDone: 3), "stale attempt must not write")
        #expect(try !store.finish(id: job.id, attempt: 2, status: .succeeded, error: nil, result: Data("{}".utf8), now: Date()))
        #expect(try store.finish(id: job.id, attempt: 1, status: .succeeded, error: nil, result: Data("{\"r\":1}".utf8), now: Date()))
        #expect(try !store.finish(id: job.id, attempt: 1, status: .failed, error: "late", result: nil, now: Date()),
            "terminal states never change")
        #expect(try !store.isRunning(id: job.id, attempt: 1))

        let done = try #require(try await store.job(id: job.id))
        #expect(done.status == .succeeded && done.layersDone == 3 && done.error == nil && done.finishedAt != nil)
        #expect(done.version == 4)
        #expect(try await store.result(id: job.id) == Data("{\"r\":1}".utf8))
        #expect(try await store.cancel(id: job.id, now: Date()) == .alreadyTerminal(done))
    }

    @Test(arguments: JobStoreFactory.all)
    func failedRunKeepsItsErrorAndNoResult(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let store = try storage.open()
        let job = try await Self.submit(store)
        _ = try store.claimNext(now: Date())
        #expect(try store.finish(id: job.id, attempt: 1, status: .failed, error: "boom", result: nil, now: Date()))
        let failed = try #require(try await store.job(id: job.id))
        #expect(failed.status == .failed && failed.error == "boom" && failed.layersDone == 0)
        #expect(try await store.result(id: job.id) == nil)
    }

    /// The cancel is durable: a worker that claimed the job before the cancel learns it from the store.
    @Test(arguments: JobStoreFactory.all)
    func cancelIsDurableForQueuedAndRunningJobs(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let store = try storage.open()
        let a = try await Self.submit(store)
        let b = try await Self.submit(store)
        #expect(try store.claimNext(now: Date())?.id == a.id, "oldest first")
        guard case .cancelled(let ca, true) = try await store.cancel(id: a.id, now: Date()) else {
            Issue.record("running job should cancel")
            return
        }
        #expect(ca.status == .cancelled && ca.finishedAt != nil && ca.version == 3)
        #expect(try !store.isRunning(id: a.id, attempt: 1), "the worker's check sees the cancel")
        #expect(try !store.updateProgress(id: a.id, attempt: 1, layersDone: 1))
        guard case .cancelled(let cb, false) = try await store.cancel(id: b.id, now: Date()) else {
            Issue.record("queued job should cancel")
            return
        }
        #expect(cb.status == .cancelled)
        #expect(try store.claimNext(now: Date()) == nil, "a cancelled queued job is never claimed")
        #expect(try !store.finish(id: a.id, attempt: 1, status: .succeeded, error: nil, result: Data(), now: Date()))
        #expect(try await store.result(id: a.id) == nil)
        #expect(try await store.cancel(id: UUID().uuidString.lowercased(), now: Date()) == .notFound)
        // Durable: another store over the same storage (a restart) sees it too.
        let reopened = try storage.open()
        #expect(try await reopened.job(id: a.id)?.status == .cancelled)
        #expect(try !reopened.isRunning(id: a.id, attempt: 1))
    }

    @Test(arguments: JobStoreFactory.all)
    func requeueKeepsTheAttempt(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let store = try storage.open()
        let job = try await Self.submit(store)
        _ = try store.claimNext(now: Date())
        try store.updateProgress(id: job.id, attempt: 1, layersDone: 2)
        #expect(try store.requeue(id: job.id, attempt: 1))
        #expect(try !store.requeue(id: job.id, attempt: 1), "only a running attempt goes back")
        let queued = try #require(try await store.job(id: job.id))
        #expect(queued.status == .queued && queued.attempt == 1 && queued.layersDone == 0 && queued.startedAt == nil)
        #expect(try store.claimNext(now: Date())?.attempt == 1)
    }

    /// A restart recovers a job its crash left running. A shared store cannot tell a dead node's job from a live
    /// one's, so it waits for the lease to expire: the "crashed" claims here hold a 200 ms lease.
    @Test(arguments: JobStoreFactory.all)
    func recoveryRequeuesThenFailsAfterMaxAttempts(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let lease = LeaseSettings(duration: .milliseconds(200), heartbeat: .milliseconds(50))
        var store = try storage.open(lease)
        let job = try await Self.submit(store)
        let waiting = try await Self.submit(store)
        for attempt in 1...3 {
            let claimed = try #require(try store.claimNext(now: Date()))
            #expect(claimed.id == job.id && claimed.attempt == attempt)
            try await Task.sleep(for: .milliseconds(300))
            store = try storage.open(lease)  // "restart"
            let report = try store.recoverInterruptedJobs(maxAttempts: 3, now: Date())
            if attempt < 3 {
                #expect(report == RecoveryReport(requeued: [job.id]))
                #expect(try await store.job(id: job.id)?.attempt == attempt + 1)
            } else {
                #expect(report == RecoveryReport(failed: [job.id]))
            }
        }
        let failed = try #require(try await store.job(id: job.id))
        #expect(failed.status == .failed)
        // The reason names what happened: a restart (one process), or a lease no one renewed (shared store).
        #expect(
            failed.error
                == (store.isShared
                    ? "lease expired 3 times (the worker stopped renewing it); gave up after 3 attempts"
                    : "interrupted 3 times by a restart; gave up after 3 attempts"))
        #expect(try await store.job(id: waiting.id)?.status == .queued, "queued jobs stay queued")
    }

    /// A heartbeat renews the lease of the running attempt only; a lease left to expire is reaped (attempt + 1),
    /// the stale attempt's writes are refused, and after `maxAttempts` the job fails with the reason.
    @Test(arguments: JobStoreFactory.all)
    func expiredLeasesAreReapedAndFenced(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let store = try storage.open(LeaseSettings(duration: .milliseconds(300), heartbeat: .milliseconds(50)))
        let job = try await Self.submit(store)
        _ = try #require(try store.claimNext(now: Date()))
        #expect(try store.heartbeat(id: job.id, attempt: 1, now: Date()))
        #expect(try !store.heartbeat(id: job.id, attempt: 2, now: Date()), "not the running attempt")
        #expect(try store.requeueExpiredLeases(maxAttempts: 2, now: Date()) == RecoveryReport(), "the lease is still valid")

        try await Task.sleep(for: .milliseconds(450))
        #expect(try store.requeueExpiredLeases(maxAttempts: 2, now: Date()) == RecoveryReport(requeued: [job.id]))
        let requeued = try #require(try await store.job(id: job.id))
        #expect(requeued.status == .queued && requeued.attempt == 2 && requeued.startedAt == nil && requeued.layersDone == 0)
        #expect(try !store.heartbeat(id: job.id, attempt: 1, now: Date()), "the stale worker learns it lost the job")
        #expect(try !store.updateProgress(id: job.id, attempt: 1, layersDone: 1))
        #expect(try !store.finish(id: job.id, attempt: 1, status: .succeeded, error: nil, result: Data("{}".utf8), now: Date()))

        #expect(try store.claimNext(now: Date())?.attempt == 2)
        try await Task.sleep(for: .milliseconds(450))
        #expect(try store.requeueExpiredLeases(maxAttempts: 2, now: Date()) == RecoveryReport(failed: [job.id]))
        let failed = try #require(try await store.job(id: job.id))
        #expect(failed.status == .failed && failed.finishedAt != nil)
        #expect(failed.error == "lease expired 2 times (the worker stopped renewing it); gave up after 2 attempts")
        #expect(try await store.result(id: job.id) == nil)
    }

    /// Heartbeats keep a job past its lease duration; the reaper leaves it alone.
    @Test(arguments: JobStoreFactory.all)
    func heartbeatsKeepALeaseAlive(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let store = try storage.open(LeaseSettings(duration: .milliseconds(400), heartbeat: .milliseconds(100)))
        let job = try await Self.submit(store)
        _ = try store.claimNext(now: Date())
        for _ in 0..<5 {
            try await Task.sleep(for: .milliseconds(150))
            #expect(try store.heartbeat(id: job.id, attempt: 1, now: Date()))
            #expect(try store.requeueExpiredLeases(maxAttempts: 3, now: Date()) == RecoveryReport())
        }
        #expect(try store.isRunning(id: job.id, attempt: 1))
    }

    /// Workers on several threads and stores (nodes) claiming at once never get the same job, and get them all.
    @Test(arguments: JobStoreFactory.all)
    func concurrentClaimsNeverShareAJob(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let nodes = [try storage.open(), try storage.open()]
        var submitted: Set<String> = []
        for _ in 0..<24 { submitted.insert(try await Self.submit(nodes[0]).id) }
        let claimed = Mutex<[String]>([])
        let failures = Mutex<[String]>([])
        let done = DispatchGroup()
        for worker in 0..<4 {
            done.enter()
            let node = nodes[worker % 2]
            Thread {
                defer { done.leave() }
                do {
                    while let job = try node.claimNext(now: Date()) { claimed.withLock { $0.append(job.id) } }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }.start()
        }
        done.wait()
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        let ids = claimed.withLock { $0 }
        #expect(ids.count == 24 && Set(ids) == submitted, "each job claimed exactly once")
    }

    /// Requests with one idempotency key racing on several nodes create one job; every other gets the replay.
    @Test(arguments: JobStoreFactory.all)
    func racingIdempotencyKeysCreateOneJob(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let nodes = [try storage.open(), try storage.open()]
        let outcomes = try await withThrowingTaskGroup(of: SubmitOutcome.self) { group in
            for index in 0..<8 {
                group.addTask {
                    try await nodes[index % 2].submit(Self.newJob(), idempotency: ("race", "fp"), queueCapacity: 100)
                }
            }
            var outcomes: [SubmitOutcome] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        var created: [JobRecord] = []
        var replayed: [JobRecord] = []
        for outcome in outcomes {
            switch outcome {
            case .created(let job): created.append(job)
            case .replayed(let job): replayed.append(job)
            default: Issue.record("unexpected \(outcome)")
            }
        }
        #expect(created.count == 1 && replayed.count == 7)
        #expect(replayed.allSatisfy { $0 == created.first }, "every replay is the created job")
        #expect(try await nodes[1].list(status: nil, beforeSequence: nil, limit: 10).count == 1)
    }

    /// Sweeps are kept by the same database as the jobs, readable from any node.
    @Test(arguments: JobStoreFactory.all)
    func sweepsRoundTrip(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let sweep = SweepRecord(
            id: UUID().uuidString.lowercased(), createdAt: Date(timeIntervalSince1970: 1_700_000_000.5),
            request: Data(#"{"base":{},"vary":{"init":["he"]}}"#.utf8),
            members: [SweepRecord.Member(experimentID: UUID().uuidString.lowercased(), label: "init=he", values: .object(["init": .string("he")]))])
        try await storage.openSweeps().insert(sweep)
        #expect(try await storage.openSweeps().sweep(id: sweep.id) == sweep)
        #expect(try await storage.openSweeps().sweep(id: UUID().uuidString.lowercased()) == nil)
    }

    /// A large result is stored compressed (PostgreSQL) and read back byte-identical.
    @Test(arguments: JobStoreFactory.all)
    func largeResultsReadBackByteIdentical(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let store = try storage.open()
        let job = try await Self.submit(store)
        _ = try store.claimNext(now: Date())
        var generator = SystemRandomNumberGenerator()
        let layers = (0..<4000).map { _ in "{\"mean\":\(Double.random(in: -1...1, using: &generator))}" }
        let result = Data(("{\"layers\":[" + layers.joined(separator: ",") + "]}").utf8)
        #expect(try store.finish(id: job.id, attempt: 1, status: .succeeded, error: nil, result: result, now: Date()))
        #expect(try await store.result(id: job.id) == result)
    }

    @Test(arguments: JobStoreFactory.all)
    func queueCapacityIsCheckedInTheInsertTransaction(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let store = try storage.open()
        _ = try await Self.submit(store, capacity: 2)
        _ = try await Self.submit(store, capacity: 2)
        #expect(try await store.submit(Self.newJob(), idempotency: ("k", "f"), queueCapacity: 2) == .queueFull(queued: 2, capacity: 2))
        let counts = try await store.countsByStatus()
        #expect(counts == [.queued: 2, .running: 0, .succeeded: 0, .failed: 0, .cancelled: 0], "a refused submission stores nothing")
        // The refused key was not stored: it creates a job once there is room.
        _ = try store.claimNext(now: Date())
        _ = try await Self.submit(store, key: ("k", "f"), capacity: 2)
    }

    /// Submissions racing from several nodes (stores) never overshoot the capacity: 30 at once against room
    /// for 10 create exactly 10 jobs, and the other 20 are refused.
    @Test(arguments: JobStoreFactory.all)
    func racingSubmissionsRespectTheCapacity(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let nodes = try (0..<3).map { _ in try storage.open() }
        let outcomes = try await withThrowingTaskGroup(of: SubmitOutcome.self) { group in
            for i in 0..<30 {
                let node = nodes[i % nodes.count]
                group.addTask { try await node.submit(Self.newJob(), idempotency: nil, queueCapacity: 10) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let created = outcomes.filter { if case .created = $0 { true } else { false } }.count
        let refused = outcomes.filter { if case .queueFull = $0 { true } else { false } }.count
        #expect(created == 10 && refused == 20, "created \(created), refused \(refused)")
        #expect(try await nodes[0].countsByStatus()[.queued] == 10)
    }

    /// The store keeps key → job (and fingerprint) and answers a replay with the job as it was created, however
    /// far it has got since, so the API renders the replay exactly as the first answer.
    @Test(arguments: JobStoreFactory.all)
    func idempotencyKeyReplaysTheCreatedJob(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let store = try storage.open()
        let first = try await Self.submit(store, key: ("k1", "f1"))
        #expect(try await store.submit(Self.newJob(), idempotency: ("k1", "f1"), queueCapacity: 10) == .replayed(first))
        _ = try store.claimNext(now: Date())
        try store.updateProgress(id: first.id, attempt: 1, layersDone: 1)
        try store.finish(id: first.id, attempt: 1, status: .succeeded, error: nil, result: Data("{}".utf8), now: Date())
        #expect(try await store.job(id: first.id)?.version == 4)
        #expect(try await store.submit(Self.newJob(), idempotency: ("k1", "f1"), queueCapacity: 10) == .replayed(first),
            "the creation-time state, not the current one")
        guard case .keyReused(let stored) = try await store.submit(Self.newJob(), idempotency: ("k1", "f2"), queueCapacity: 10) else {
            Issue.record("same key, other fingerprint must be refused")
            return
        }
        #expect(stored.key == "k1" && stored.fingerprint == "f1" && stored.jobID == first.id)
        // A replay or a refusal stores nothing.
        #expect(try await store.list(status: nil, beforeSequence: nil, limit: 10).map(\.id) == [first.id])
    }

    @Test(arguments: JobStoreFactory.all)
    func listPagesNewestFirst(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let store = try storage.open()
        var ids: [String] = []
        for _ in 0..<7 { ids.append(try await Self.submit(store).id) }
        let page1 = try await store.list(status: nil, beforeSequence: nil, limit: 3)
        #expect(page1.map(\.id) == Array(ids.reversed().prefix(3)))
        let page2 = try await store.list(status: nil, beforeSequence: page1.last?.sequence, limit: 3)
        #expect(page2.map(\.id) == Array(ids.reversed().dropFirst(3).prefix(3)))
        #expect(try await store.list(status: .running, beforeSequence: nil, limit: 10).isEmpty)
        _ = try store.claimNext(now: Date())
        #expect(try await store.list(status: .running, beforeSequence: nil, limit: 10).map(\.id) == [ids[0]])
        #expect(try await store.list(status: .queued, beforeSequence: nil, limit: 10).count == 6)
    }

    @Test(arguments: JobStoreFactory.all)
    func sequencesAreNeverReusedAfterPruning(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let store = try storage.open()
        let newest = try await Self.submit(store)
        _ = try store.claimNext(now: Date())
        try store.finish(id: newest.id, attempt: 1, status: .succeeded, error: nil, result: nil, now: Date(timeIntervalSince1970: 0))
        #expect(try await store.prune(finishedBefore: Date(), keysBefore: Date()) == 1)
        let next = try await Self.submit(store)
        #expect(next.sequence > newest.sequence, "page tokens name sequences; a reused one would skip or repeat jobs")
    }

    @Test(arguments: JobStoreFactory.all)
    func pruneDeletesOldFinishedJobsButKeepsWhatAKeyNames(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let store = try storage.open()
        let keyed = try await Self.submit(store, key: ("key", "fp"))
        let old = try await Self.submit(store)
        let pending = try await Self.submit(store)
        let past = Date().addingTimeInterval(-10 * 86400)
        for job in [keyed, old] {
            #expect(try store.claimNext(now: past)?.id == job.id)
            try store.finish(id: job.id, attempt: 1, status: .succeeded, error: nil, result: Data("{}".utf8), now: past)
        }
        let dayAgo = Date().addingTimeInterval(-86400)
        #expect(try await store.prune(finishedBefore: dayAgo, keysBefore: dayAgo) == 1)
        #expect(try await store.job(id: old.id) == nil)
        #expect(try await store.result(id: old.id) == nil, "the result goes with its job")
        #expect(try await store.job(id: pending.id) != nil, "unfinished jobs are never pruned")
        // The key is younger than its cutoff: it and the job it names stay, so its replay still answers.
        #expect(try await store.job(id: keyed.id)?.status == .succeeded)
        #expect(try await store.submit(Self.newJob(), idempotency: ("key", "fp"), queueCapacity: 10) == .replayed(keyed))
        // Once the key is past its own cutoff, both go.
        #expect(try await store.prune(finishedBefore: dayAgo, keysBefore: Date().addingTimeInterval(1)) == 1)
        #expect(try await store.job(id: keyed.id) == nil)
        #expect(try await Self.submit(store, key: ("key", "fp")).id != keyed.id, "an expired key is free again")
    }

    @Test(arguments: JobStoreFactory.all)
    func countsAndHealth(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let store = try storage.open()
        #expect(await store.isHealthy())
        #expect(try await store.countsByStatus() == [.queued: 0, .running: 0, .succeeded: 0, .failed: 0, .cancelled: 0])
        let a = try await Self.submit(store)
        let b = try await Self.submit(store)
        _ = try await Self.submit(store)
        _ = try store.claimNext(now: Date())
        _ = try await store.cancel(id: b.id, now: Date())
        #expect(try await store.countsByStatus() == [.queued: 1, .running: 1, .succeeded: 0, .failed: 0, .cancelled: 1])
        try store.finish(id: a.id, attempt: 1, status: .failed, error: "x", result: nil, now: Date())
        #expect(try await store.countsByStatus() == [.queued: 1, .running: 0, .succeeded: 0, .failed: 1, .cancelled: 1])
    }

    /// A shared secret is created once, by whichever node asks first (here several at once), and every node over
    /// the store reads the same 32 bytes, again after a restart; another name is another secret.
    @Test(arguments: JobStoreFactory.all)
    func sharedSecretsAreTheSameOnEveryNode(_ factory: JobStoreFactory) async throws {
        let storage = try factory.makeStorage()
        defer { storage.destroy() }
        let nodes = try (0..<3).map { _ in try storage.open() }
        let secrets = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for node in nodes { group.addTask { try await node.sharedSecret(named: "page-token") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(secrets.count == 3 && Set(secrets).count == 1)
        #expect(secrets[0].count == 32 && Set(secrets[0]).count > 4)
        #expect(try await storage.open().sharedSecret(named: "page-token") == secrets[0])
        let other = try await nodes[0].sharedSecret(named: "other")
        #expect(other.count == 32 && other != secrets[0])
    }
}
