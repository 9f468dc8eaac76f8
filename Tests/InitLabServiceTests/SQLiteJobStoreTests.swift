import Foundation
import Testing

@testable import InitLabService

@Suite struct SQLiteJobStoreTests {
    private func newJob(_ n: Int = 1, spec: String = "{\"depth\":3}") -> NewJob {
        NewJob(id: UUID().uuidString.lowercased(), spec: Data(spec.utf8), layersTotal: 3, createdAt: Date())
    }

    private func created(_ outcome: SubmitOutcome) throws -> JobRecord {
        guard case .created(let job) = outcome else { throw TestFailure("expected created, got \(outcome)") }
        return job
    }

    private let noResponse: @Sendable (JobRecord) -> (status: Int, body: Data) = { _ in (202, Data()) }

    @Test func lifecycleIsGuardedByStatusAndAttempt() throws {
        let db = try TempDatabase()
        defer { db.cleanup() }
        let store = try SQLiteJobStore(path: db.path)
        let job = try created(store.submit(newJob(), idempotency: nil, queueCapacity: 10, makeResponse: noResponse))
        #expect(job.status == .queued && job.attempt == 1 && job.version == 1)

        let claimed = try #require(try store.claimNext(now: Date()))
        #expect(claimed.id == job.id && claimed.status == .running && claimed.startedAt != nil)
        #expect(try store.claimNext(now: Date()) == nil)

        #expect(try store.updateProgress(id: job.id, attempt: 1, layersDone: 2))
        #expect(try !store.updateProgress(id: job.id, attempt: 2, layersDone: 3), "stale attempt must not write")
        #expect(try !store.finish(id: job.id, attempt: 2, status: .succeeded, error: nil, result: Data("{}".utf8), now: Date()))
        #expect(try store.finish(id: job.id, attempt: 1, status: .succeeded, error: nil, result: Data("{\"r\":1}".utf8), now: Date()))
        #expect(try !store.finish(id: job.id, attempt: 1, status: .failed, error: "late", result: nil, now: Date()),
            "terminal states never change")

        let done = try #require(try store.job(id: job.id))
        #expect(done.status == .succeeded && done.layersDone == 3 && done.error == nil && done.finishedAt != nil)
        #expect(try store.result(id: job.id) == Data("{\"r\":1}".utf8))
        if case .alreadyTerminal = try store.cancel(id: job.id, now: Date()) {} else {
            Issue.record("cancel of a terminal job must not change it")
        }
    }

    @Test func cancelQueuedAndRunning() throws {
        let db = try TempDatabase()
        defer { db.cleanup() }
        let store = try SQLiteJobStore(path: db.path)
        let a = try created(store.submit(newJob(), idempotency: nil, queueCapacity: 10, makeResponse: noResponse))
        let b = try created(store.submit(newJob(), idempotency: nil, queueCapacity: 10, makeResponse: noResponse))
        #expect(try store.claimNext(now: Date())?.id == a.id, "oldest first")
        guard case .cancelled(let ca, true) = try store.cancel(id: a.id, now: Date()) else {
            Issue.record("running job should cancel")
            return
        }
        #expect(ca.status == .cancelled)
        guard case .cancelled(let cb, false) = try store.cancel(id: b.id, now: Date()) else {
            Issue.record("queued job should cancel")
            return
        }
        #expect(cb.status == .cancelled)
        #expect(try !store.finish(id: a.id, attempt: 1, status: .succeeded, error: nil, result: Data(), now: Date()))
        #expect(try store.result(id: a.id) == nil)
        #expect(try store.cancel(id: UUID().uuidString.lowercased(), now: Date()) == .notFound)
    }

    @Test func recoveryRequeuesThenFailsAfterMaxAttempts() throws {
        let db = try TempDatabase()
        defer { db.cleanup() }
        var store = try SQLiteJobStore(path: db.path)
        let job = try created(store.submit(newJob(), idempotency: nil, queueCapacity: 10, makeResponse: noResponse))
        let waiting = try created(store.submit(newJob(), idempotency: nil, queueCapacity: 10, makeResponse: noResponse))
        for attempt in 1...3 {
            let claimed = try #require(try store.claimNext(now: Date()))
            #expect(claimed.id == job.id && claimed.attempt == attempt)
            store = try SQLiteJobStore(path: db.path)  // "restart"
            let report = try store.recoverInterruptedJobs(maxAttempts: 3, now: Date())
            if attempt < 3 {
                #expect(report.requeued == [job.id] && report.failed.isEmpty)
                #expect(try store.job(id: job.id)?.attempt == attempt + 1)
            } else {
                #expect(report.failed == [job.id])
            }
        }
        let failed = try #require(try store.job(id: job.id))
        #expect(failed.status == .failed && failed.error?.contains("3 attempts") == true)
        #expect(try store.job(id: waiting.id)?.status == .queued, "queued jobs stay queued")
    }

    @Test func queueCapacityAndIdempotencyInOneTransaction() throws {
        let db = try TempDatabase()
        defer { db.cleanup() }
        let store = try SQLiteJobStore(path: db.path)
        let respond: @Sendable (JobRecord) -> (status: Int, body: Data) = { (202, Data($0.id.utf8)) }
        let first = try created(store.submit(newJob(), idempotency: ("k1", "f1"), queueCapacity: 2, makeResponse: respond))
        guard case .replay(let replay) = try store.submit(newJob(), idempotency: ("k1", "f1"), queueCapacity: 2, makeResponse: respond) else {
            Issue.record("same key and fingerprint must replay")
            return
        }
        #expect(replay.jobID == first.id && replay.responseBody == Data(first.id.utf8) && replay.responseStatus == 202)
        guard case .keyReused = try store.submit(newJob(), idempotency: ("k1", "f2"), queueCapacity: 2, makeResponse: respond) else {
            Issue.record("same key, other fingerprint must be refused")
            return
        }
        _ = try created(store.submit(newJob(), idempotency: nil, queueCapacity: 2, makeResponse: respond))
        #expect(try store.submit(newJob(), idempotency: ("k2", "f"), queueCapacity: 2, makeResponse: respond) == .queueFull(queued: 2, capacity: 2))
        #expect(try store.countsByStatus()[.queued] == 2, "a refused submission stores nothing")
    }

    @Test func listPagesNewestFirst() throws {
        let db = try TempDatabase()
        defer { db.cleanup() }
        let store = try SQLiteJobStore(path: db.path)
        var ids: [String] = []
        for _ in 0..<7 { ids.append(try created(store.submit(newJob(), idempotency: nil, queueCapacity: 100, makeResponse: noResponse)).id) }
        let page1 = try store.list(status: nil, beforeSequence: nil, limit: 3)
        #expect(page1.map(\.id) == Array(ids.reversed().prefix(3)))
        let page2 = try store.list(status: nil, beforeSequence: page1.last?.sequence, limit: 3)
        #expect(page2.map(\.id) == Array(ids.reversed().dropFirst(3).prefix(3)))
        #expect(try store.list(status: .running, beforeSequence: nil, limit: 10).isEmpty)
    }

    @Test func pruneDeletesOldFinishedJobsAndTheirResults() throws {
        let db = try TempDatabase()
        defer { db.cleanup() }
        let store = try SQLiteJobStore(path: db.path)
        let old = try created(store.submit(newJob(), idempotency: ("key", "fp"), queueCapacity: 10, makeResponse: noResponse))
        let pending = try created(store.submit(newJob(), idempotency: nil, queueCapacity: 10, makeResponse: noResponse))
        _ = try store.claimNext(now: Date())
        let past = Date().addingTimeInterval(-10 * 86400)
        try store.finish(id: old.id, attempt: 1, status: .succeeded, error: nil, result: Data("{}".utf8), now: past)
        let deleted = try store.prune(finishedBefore: Date().addingTimeInterval(-86400), keysBefore: Date().addingTimeInterval(-86400))
        #expect(deleted == 1)
        #expect(try store.job(id: old.id) == nil && store.result(id: old.id) == nil)
        #expect(try store.job(id: pending.id) != nil, "unfinished jobs are never pruned")
        // The key is younger than its cutoff and survives the job.
        guard case .replay = try store.submit(newJob(), idempotency: ("key", "fp"), queueCapacity: 10, makeResponse: noResponse) else {
            Issue.record("idempotency key must outlive a pruned job until its own cutoff")
            return
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
