import Foundation
import TestSupport
import Testing

@testable import InitLabService

/// Several nodes over one PostgreSQL schema, in one process: an API node without workers (`workers = 0`) and
/// a worker node, each its own `ExperimentService` with its own client, notifier and worker pool, as
/// `initlab serve --workers 0` and `initlab worker` build them. Needs `INITLAB_TEST_POSTGRES_URL`.
@Suite(.offCooperativePool, .enabled(if: PostgresTestSupport.url != nil, Comment(rawValue: PostgresTestSupport.skipReason)))
struct PostgresNodesTests {
    final class Nodes: Sendable {
        let schema: PostgresTestSupport.Schema
        let api: ExperimentService
        let apiServer: InitLabServer
        let worker: ExperimentService
        let engine: ScriptedEngine

        init(engine: ScriptedEngine = ScriptedEngine()) throws {
            schema = try PostgresTestSupport.Schema()
            self.engine = engine
            let apiDatabase = try schema.open()
            api = ExperimentService(
                configuration: testConfiguration { $0.workers = 0 }, store: PostgresJobStore(database: apiDatabase),
                engine: engine, logger: quietLogger())
            apiServer = InitLabServer(service: api, sweeps: PostgresSweepStore(database: apiDatabase), logger: quietLogger())
            worker = ExperimentService(
                configuration: testConfiguration(), store: PostgresJobStore(database: try schema.open()), engine: engine,
                logger: quietLogger())
            try api.start()
            try worker.start()
        }

        func stop() async {
            await api.shutdown()
            await worker.shutdown()
            schema.destroy()
        }

        func status(_ id: String) async -> String? {
            jsonObject(await apiServer.handle(.get("/v1/experiments/\(id)")).body)["status"] as? String
        }
    }

    /// Submitted on the API node, run by the worker node; a long-poll on the API node returns when the worker
    /// finishes (its NOTIFY pokes the API node's notifier), and the result is served there.
    @Test func jobSubmittedOnOneNodeRunsOnAnother() async throws {
        let nodes = try Nodes()
        let id = try #require(jsonObject(await nodes.apiServer.handle(.post("/v1/experiments", json: #"{"depth":3,"layer_ms":30}"#)).body)["id"] as? String)
        var status = ""
        let clock = ContinuousClock()
        let start = clock.now
        while status != "succeeded", clock.now - start < .seconds(10) {
            let reply = await nodes.apiServer.handle(.get("/v1/experiments/\(id)", query: [("wait", "5")]))
            status = jsonObject(reply.body)["status"] as? String ?? ""
        }
        #expect(status == "succeeded")
        let result = await nodes.apiServer.handle(.get("/v1/experiments/\(id)/result"))
        #expect(result.status == 200 && String(decoding: result.body, as: UTF8.self) == #"{"depth":3,"checksum":93}"#)
        #expect(await nodes.apiServer.handle(.get("/readyz")).status == 200, "an API-only node is ready")
        await nodes.stop()
    }

    /// A cancel on the API node stops the run on the worker node within a layer or so.
    @Test func cancelOnOneNodeStopsTheRunOnAnother() async throws {
        // Gated: the run waits in its first layer (checking for a cancel) until released, so "running" cannot be
        // missed however loaded the machine is.
        let nodes = try Nodes(engine: ScriptedEngine(gated: true))
        let id = try #require(jsonObject(await nodes.apiServer.handle(.post("/v1/experiments", json: #"{"depth":3}"#)).body)["id"] as? String)
        #expect(await eventually(timeout: .seconds(20)) { await nodes.status(id) == "running" })
        let cancel = await nodes.apiServer.handle(.post("/v1/experiments/\(id)/cancel", json: "{}"))
        #expect(cancel.status == 200)
        #expect(await eventually(timeout: .seconds(5)) { nodes.worker.workers.busyWorkers == 0 }, "the worker stopped")
        nodes.engine.release()
        #expect(nodes.engine.completedRuns.load(ordering: .relaxed) == 0)
        #expect(await nodes.status(id) == "cancelled")
        await nodes.stop()
    }

    /// A listing's next page may be asked of another API node behind the load balancer: the page token is
    /// signed with the store's shared key, so node B honours node A's token (and returns the next page).
    @Test func pageTokensWorkOnEveryNode() async throws {
        let nodes = try Nodes(engine: ScriptedEngine(gated: true))
        var ids: [String] = []
        for _ in 0..<3 {
            let reply = await nodes.apiServer.handle(.post("/v1/experiments", json: #"{"depth":2}"#))
            ids.append(try #require(jsonObject(reply.body)["id"] as? String))
        }
        let first = await nodes.apiServer.handle(.get("/v1/experiments", query: [("page_size", "1")]))
        let token = try #require(jsonObject(first.body)["next_page_token"] as? String)
        let otherNode = InitLabServer(service: nodes.worker, sweeps: PostgresSweepStore(database: try nodes.schema.open()), logger: quietLogger())
        let second = await otherNode.handle(.get("/v1/experiments", query: [("page_size", "1"), ("page_token", token)]))
        #expect(second.status == 200)
        let listed = (jsonObject(second.body)["experiments"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(listed == [ids[1]])
        nodes.engine.release()
        await nodes.stop()
    }
}
