import Foundation
import HTTPServer
import TestSupport
import Testing

@testable import InitLabService

/// The hostile client's findings on cancellation and SIGTERM, through the real router and workers.
@Suite(.offCooperativePool) struct CancelAndShutdownTests {
    /// "A cancel sent right after submit can be lost": the worker claimed the job, the cancel landed before it
    /// registered the run, and the run went to the end. The cancel is now durable in the store and the worker
    /// checks it before the run and between layers, so each of 1,000 submit-then-cancel pairs ends cancelled,
    /// no cancelled run reaches its last layer, and the queue keeps moving.
    @Test func aCancelRightAfterSubmitIsNeverLost() async throws {
        let engine = ScriptedEngine()
        let h = try ServiceHarness(engine: engine) { $0.queueCapacity = 2000 }
        // 100 layers of 20 ms: a lost cancel would run ≥ 2 s and count as a completed run. (With 2 ms layers, a
        // cancel delayed 200 ms by the other suites running in the same process once arrived after a legitimate
        // success: that was the test's race, not the service's.)
        let spec = #"{"depth": 100, "layer_ms": 20}"#
        var ids: [String] = []
        for _ in 0..<1000 {
            let id = try await h.submitID(spec)
            let cancel = await h.server.handle(HTTPRequest.make("POST", "/v1/experiments/\(id)/cancel"))
            #expect(cancel.status == 200)
            #expect(jsonObject(cancel.body)["status"] as? String == "cancelled")
            ids.append(id)
        }
        // The queue does not stall: a job submitted after all of them runs to the end.
        let last = try await h.submitID(#"{"depth": 2}"#)
        #expect(await h.waitForStatus(last, "succeeded", timeout: .seconds(60)))
        #expect(engine.completedRuns.load(ordering: .relaxed) == 1, "only the last job ran to its end")
        var lost: [String] = []
        for id in ids where await h.status(id) != "cancelled" { lost.append(id) }
        #expect(lost.isEmpty, "\(lost.count) of 1000 cancels lost")
        #expect(h.service.workers.busyWorkers == 0)
        await h.stop()
    }

    /// A cancel that reaches a running job stops it at a layer boundary, well before its end.
    @Test func aRunningJobStopsSoonAfterItsCancel() async throws {
        let engine = ScriptedEngine()
        let h = try ServiceHarness(engine: engine)
        // 100 layers of 100 ms: ten seconds unless stopped.
        let id = try await h.submitID(#"{"depth": 100, "layer_ms": 100}"#)
        #expect(await h.waitForStatus(id, "running"))
        let clock = ContinuousClock()
        let start = clock.now
        #expect(await h.server.handle(HTTPRequest.make("POST", "/v1/experiments/\(id)/cancel")).status == 200)
        #expect(await eventually { h.service.workers.busyWorkers == 0 })
        #expect(clock.now - start < .seconds(2), "stopped within a layer or two of 100 ms, not after 10 s")
        #expect(engine.completedRuns.load(ordering: .relaxed) == 0)
        #expect(await h.status(id) == "cancelled")
        await h.stop()
    }

    /// "SIGTERM: during the grace period a worker started a queued job 2.5 s after the signal." The first step
    /// of the graceful shutdown (`InitLabServer.shutdown` → `ExperimentService.beginShutdown`) stops the workers
    /// from claiming: the running job may finish in the grace period, the queued one stays queued for the next
    /// start, and `/readyz` answers 503 from the signal on.
    @Test func afterTheSignalNoQueuedJobStarts() async throws {
        let engine = ScriptedEngine(gated: true)
        let h = try ServiceHarness(engine: engine)
        let running = try await h.submitID(#"{"depth": 3}"#)
        #expect(await h.waitForStatus(running, "running"))
        let queued = try await h.submitID(#"{"depth": 3}"#)
        #expect(await h.server.handle(.get("/readyz")).status == 200)

        h.service.beginShutdown()
        let draining = await h.server.handle(.get("/readyz"))
        #expect(draining.status == 503)
        #expect(jsonObject(draining.body)["detail"] as? String == "service stopping.")

        // The worker becomes free during the grace period: before the fix it claimed `queued` at once.
        engine.release()
        #expect(await h.waitForStatus(running, "succeeded"))
        await h.service.shutdown()  // every worker thread has exited: nothing can start any more
        #expect(engine.runs.load(ordering: .relaxed) == 1, "the queued job was never started")
        let job = await h.job(queued)
        #expect(job["status"] as? String == "queued" && job["started_at"] == nil && job["attempt"] as? Int == 1)
        await h.stop()
    }
}
