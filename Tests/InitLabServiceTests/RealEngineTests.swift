import Foundation
import InitCore
import InitLabContract
import TestSupport
import Testing

@testable import InitLabService

/// Tiny real experiments through the service (depth ≤ 5, width ≤ 16 keeps them in milliseconds).
@Suite(.offCooperativePool) struct RealEngineTests {
    static let spec = """
        {"depth": 4, "width": 16, "batch": 8, "seed": 7, "init": "kaiming_normal", "activation": "relu"}
        """

    @Test func reRunOfTheSameSpecIsByteIdenticalAndMatchesTheRunner() async throws {
        let s = try EndToEndTests.Running(engine: InitCoreEngine(budget: ExperimentBudget()))
        var results: [Data] = []
        for _ in 0..<2 {
            let created = try await s.client.post("/v1/experiments", json: Self.spec)
            #expect(created.status == 202)
            let id = try #require(created.json["id"] as? String)
            #expect((created.json["progress"] as? [String: Any])?["layers_total"] as? Int == 8, "forward + backward")
            #expect(await s.waitForStatus(id, "succeeded"))
            let job = try await s.client.get("/v1/experiments/\(id)").json
            #expect((job["progress"] as? [String: Any])?["layers_done"] as? Int == 8)
            let result = try await s.client.get("/v1/experiments/\(id)/result")
            #expect(result.status == 200)
            results.append(result.body)
        }
        #expect(results[0] == results[1], "same spec and seed, byte-identical result")
        let direct = try ExperimentRunner().run(
            try ExperimentSpec.decodeValidated(from: Data(Self.spec.utf8))
        ).encodedJSON()
        #expect(Data(direct) == results[0], "the service adds nothing to the runner's bytes")
        let layers = (jsonObject(results[0])["layers"] as? [Any]) ?? []
        #expect(layers.count == 4)
        await s.stop()
    }

    @Test func datasetSpecWithoutLoaderFailsWithAMessage() async throws {
        // The dataset is cached (so the POST is accepted), but this engine has no input provider.
        let cache = try FashionFixture.cacheDirectory()
        let s = try EndToEndTests.Running(engine: InitCoreEngine(budget: ExperimentBudget())) { $0.cacheDirectory = cache }
        let created = try await s.client.post(
            "/v1/experiments",
            json: "{\"depth\": 2, \"width\": 16, \"batch\": 4, \"init\": \"kaiming_normal\", \"activation\": \"relu\", \"input\": {\"dataset\": \"fashion-mnist\", \"split\": \"test\", \"sample_seed\": 0}}")
        #expect(created.status == 202)
        let id = try #require(created.json["id"] as? String)
        #expect(await s.waitForStatus(id, "failed"))
        #expect((try await s.client.get("/v1/experiments/\(id)").json["error"] as? String)?.contains("dataset") == true)
        await s.stop()
    }

    @Test func budgetLimitsComeFromTheConfiguration() throws {
        var budget = ExperimentBudget()
        budget.maxDepth = 10
        let engine = InitCoreEngine(budget: budget)
        // The message names the configured limit (10), not the default (10000).
        #expect(throws: SpecProblems([FieldProblem(pointer: "/depth", detail: "must be an integer 1 ... 10, got 11")])) {
            try engine.prepare(bytes: Data("{\"depth\": 11, \"width\": 4, \"batch\": 2, \"init\": \"kaiming_normal\", \"activation\": \"relu\"}".utf8))
        }
        #expect(throws: SpecProblems([FieldProblem(pointer: "/depth", detail: "must be an integer 1 ... 10")])) {
            try engine.prepare(bytes: Data("{\"depth\": \"deep\", \"width\": 4, \"batch\": 2, \"init\": \"kaiming_normal\", \"activation\": \"relu\"}".utf8))
        }
        let prepared = try engine.prepare(bytes: Data("{\"depth\": 10, \"width\": 4, \"batch\": 2, \"init\": \"kaiming_normal\", \"activation\": \"relu\", \"backward\": false}".utf8))
        #expect(prepared.layersTotal == 10)
    }
}
