import Foundation
import InitCore
import InitLabContract
import Synchronization
import TestSupport
import Testing

@testable import InitLabService

/// The real engine, held at progress boundary `holdAt` (a layer step, or a training step) until `release()`
/// (checking cancellation while held), so a test sees a run mid-way for as long as it needs.
final class HeldRealEngine: ExperimentEngine {
    let real: InitCoreEngine
    let holdAt: Int
    private let open = Atomic<Bool>(false)

    init(real: InitCoreEngine = InitCoreEngine(budget: ExperimentBudget()), holdAt: Int) {
        self.real = real
        self.holdAt = holdAt
    }

    func release() { open.store(true, ordering: .relaxed) }

    func prepare(_ body: JSONValue) throws(SpecProblems) -> PreparedSpec { try real.prepare(body) }
    func schemeCatalogJSON() -> Data { real.schemeCatalogJSON() }

    func run(
        canonicalSpec: Data, progress: @escaping @Sendable (EngineProgress) -> Void, isCancelled: @escaping @Sendable () -> Bool
    ) throws(RunFailure) -> Data {
        try real.run(
            canonicalSpec: canonicalSpec,
            progress: { [self] report in
                progress(report)
                while report.done >= holdAt, !open.load(ordering: .relaxed), !isCancelled() { usleep(2_000) }
            }, isCancelled: isCancelled)
    }
}

func numbered(_ collector: Collector) -> [(id: Int, event: String, data: String)] {
    parseSSE(collector.text.withLock { $0 }).compactMap { e in e.id.flatMap(Int.init).map { ($0, e.event, e.data) } }
}

@Suite(.offCooperativePool) struct LiveLayerEventTests {
    /// Forward-only run held after layer 5 of 8: layers 1…5 arrive while it runs, identical to the result's
    /// layer objects; after release the rest and `done` follow with no id twice.
    @Test func layersStreamWhileRunning() async throws {
        let harness = try HeldHarness(holdAt: 5, writeEveryProgress: false)
        defer { Task { await harness.stop() } }
        let id = try await harness.submit(spec(depth: 8, backward: false))
        let collector = Collector()
        let task = try await harness.follow(id, into: collector)

        let live = await eventually { numbered(collector).filter { $0.event == "layer" }.count >= 5 }
        #expect(live, "layer events while running: \(collector.text.withLock { $0 })")
        #expect(await harness.status(id) == "running")
        #expect(!numbered(collector).contains { $0.event == "done" })
        #expect(numbered(collector).filter { $0.event == "layer" }.map(\.id) == Array(9...13))
        #expect(harness.service.workers.liveLayers.count == 1)

        harness.engine.release()
        await task.value
        let events = numbered(collector)
        let ids = events.map(\.id)
        #expect(ids == ids.sorted() && Set(ids).count == ids.count, "ids strictly increase: \(ids)")
        #expect(events.filter { $0.event == "layer" }.map(\.id) == Array(9...16))
        #expect(events.last?.event == "done" && events.last?.id == 17)
        #expect(harness.service.workers.liveLayers.count == 0, "the buffer is dropped once the result is stored")

        // The live layer objects are the result's (forward-only run: nothing changes after the forward pass).
        let result = try JSONParser().parse(await harness.server.handle(.get("/v1/experiments/\(id)/result")).body)
        let stored = (result["layers"]?.array ?? []).map(\.serializedString)
        let streamed = try events.filter { $0.event == "layer" }.map { try JSONParser().parse(Data($0.data.utf8)).serializedString }
        #expect(streamed == stored)
    }

    /// Backward run (depth 6, 12 steps) held after its forward pass: a client disconnects after live layer 3,
    /// resumes with its Last-Event-ID and gets layers 4…6 then `done`, across the live → stored transition,
    /// with no duplicate and no gap.
    @Test func resumeMidRunWithoutDuplicates() async throws {
        let harness = try HeldHarness(holdAt: 6, writeEveryProgress: false)
        defer { Task { await harness.stop() } }
        let id = try await harness.submit(spec(depth: 6, backward: true))
        let first = Collector()
        let task = try await harness.follow(id, into: first)
        #expect(await eventually { numbered(first).filter { $0.event == "layer" }.count >= 6 })
        task.cancel()
        await task.value
        #expect(await harness.status(id) == "running")
        let firstLayers = numbered(first).filter { $0.event == "layer" }
        #expect(firstLayers.map(\.id) == Array(13...18))
        // Forward-pass reports: backward statistics not yet known.
        #expect(firstLayers.allSatisfy { $0.data.contains(#""backward":null"#) })

        // Resume after layer 3 (id 15) while still running: 16, 17, 18 live, then done after release.
        let second = Collector()
        let resumed = try await harness.follow(id, lastEventID: 15, into: second)
        #expect(await eventually { numbered(second).filter { $0.event == "layer" }.count >= 3 })
        #expect(!numbered(second).contains { $0.event == "done" })
        harness.engine.release()
        await resumed.value
        let events = numbered(second)
        #expect(events.map(\.id) == [16, 17, 18, 19], "\(events.map { ($0.id, $0.event) })")
        #expect(events.map(\.event) == ["layer", "layer", "layer", "done"])
        #expect(parseSSE(second.text.withLock { $0 }).contains { $0.event == "progress" && $0.id == nil })

        // Resuming from a progress id mid-run replays every layer (none was received after it), once.
        let third = Collector()
        try await harness.follow(id, lastEventID: 7, into: third).value
        #expect(numbered(third).map(\.id) == [12, 13, 14, 15, 16, 17, 18, 19])
    }
}
