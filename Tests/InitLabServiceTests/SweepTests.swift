import Foundation
import HTTPServer
import TestSupport
import Testing
import InitLabContract

@testable import InitLabService

@Suite(.offCooperativePool) struct SweepTests {
    func post(_ harness: VizHarness, _ body: String) async -> RoutedReply {
        await harness.server.handle(.post("/v1/sweeps", json: body))
    }

    /// Seeds above 2⁵³ reach the experiments exactly (they went through a Double and lost their last digits).
    @Test func sweepSeedsKeepAll64Bits() async throws {
        let harness = try VizHarness()
        defer { Task { await harness.stop() } }
        let seeds: [UInt64] = [9_007_199_254_740_993, 18_446_744_073_709_551_615]
        let body = #"{"base": {"depth": 2, "width": 4, "batch": 2, "init": "kaiming_normal", "activation": "relu"}, "vary": {"seed": [9007199254740993, 18446744073709551615]}}"#
        let created = await post(harness, body)
        #expect(created.status == 201, "\(String(decoding: created.body, as: UTF8.self))")
        let sweep = try JSONParser().parse(created.body)
        let experiments = try #require(sweep["experiments"]?.array)
        #expect(experiments.compactMap { $0["label"]?.string } == seeds.map { "seed=\($0)" })
        for (experiment, seed) in zip(experiments, seeds) {
            let id = try #require(experiment["id"]?.string)
            let job = try JSONParser().parse(await harness.get("/v1/experiments/\(id)").body)
            #expect(job["spec"]?["seed"] == .number(seed > UInt64(Int64.max) ? .uint(seed) : .int(Int64(seed))))
            #expect(experiment["values"]?["seed"]?.numberValue?.exactUInt64 == seed)
        }
    }

    @Test func sweepRunsEveryCombinationAndOverlaysThem() async throws {
        let harness = try VizHarness()
        defer { Task { await harness.stop() } }
        let body = #"{"base": {"depth": 8, "width": 16, "batch": 8, "histogram_bins": 8, "init": "kaiming_normal", "activation": "relu"}, "vary": {"init": ["xavier_normal", "kaiming_normal"], "seed": [1, 2]}}"#
        let created = await post(harness, body)
        #expect(created.status == 201, "\(String(decoding: created.body, as: UTF8.self))")
        let location = try #require(created.header("Location"))
        let id = String(location.dropFirst("/v1/sweeps/".count))
        let sweep = jsonObject(created.body)
        let experiments = try #require(sweep["experiments"] as? [[String: Any]])
        // Cartesian product, first key slowest.
        #expect(experiments.compactMap { $0["label"] as? String } == [
            "init=xavier_normal, seed=1", "init=xavier_normal, seed=2", "init=kaiming_normal, seed=1", "init=kaiming_normal, seed=2",
        ])
        for experiment in experiments {
            #expect(await harness.waitUntilTerminal(try #require(experiment["id"] as? String)) == "succeeded")
        }
        let status = await harness.get("/v1/sweeps/\(id)")
        #expect(status.status == 200 && status.header("ETag") != nil)
        let done = jsonObject(status.body)
        #expect(done["status"] as? String == "done")
        #expect((done["counts"] as? [String: Any])?["succeeded"] as? Int == 4)
        let summaries = (done["experiments"] as? [[String: Any]])?.compactMap { $0["summary"] as? [String: Any] }
        #expect(summaries?.count == 4)
        // Each member is a real experiment with the combination's canonical spec.
        let firstID = try #require(experiments.first?["id"] as? String)
        let job = jsonObject(await harness.server.handle(.get("/v1/experiments/\(firstID)")).body)
        #expect(((job["spec"] as? [String: Any])?["init"] as? [String: Any])?["name"] as? String == "xavier_normal")
        #expect((job["spec"] as? [String: Any])?["seed"] as? Int == 1)

        let plot = await harness.get("/v1/sweeps/\(id)/plot.svg", query: [("metric", "std")])
        #expect(plot.status == 200)
        let doc = ParsedXML.parse(String(decoding: plot.body, as: UTF8.self))
        #expect(doc.error == nil)
        #expect(doc.all("path").filter { $0.attributes["data-kind"] == "measured" }.compactMap { $0.attributes["data-series"] } == experiments.compactMap { $0["label"] as? String })
        #expect(await harness.get("/v1/sweeps/\(id)/plot.svg", query: [("metric", "histogram")]).status == 400)

        // Durable: a new store on the same file still knows the sweep.
        let reopened = try TestStores(path: harness.database.path).sweeps
        #expect(try await reopened.sweep(id: id)?.members.count == 4)
    }

    @Test func invalidSweepsAreRejectedWholeWithPointers() async throws {
        let harness = try VizHarness()
        defer { Task { await harness.stop() } }
        let base = #""depth": 8, "width": 16, "batch": 8, "init": "kaiming_normal", "activation": "relu""#
        let cases: [(String, Int, [String])] = [
            (#"{"base": {\#(base)}, "vary": {"init": ["xavier_normal", "kaiming_normal", "no_such_init"]}}"#, 422, ["/vary/init/2"]),
            (#"{"base": {\#(base)}, "vary": {"width": [16, 0]}}"#, 422, ["/vary/width/1"]),
            (#"{"base": {\#(base), "histogram_bins": 0}, "vary": {"seed": [1, 2]}}"#, 422, ["/base/histogram_bins"]),
            (#"{"base": {\#(base)}, "vary": {"color": ["red"]}}"#, 422, ["/vary/color"]),
            (#"{"base": {\#(base)}, "vary": {"seed": []}}"#, 422, ["/vary/seed"]),
            (#"{"base": {\#(base)}, "vary": {"seed": [1,2,3,4,5,6,7,8,9], "width": [8,9,10,11,12,13,14,15]}}"#, 422, ["/vary"]),
            (#"{"base": {\#(base)}}"#, 422, ["/vary"]),
            (#"{"vary": {"seed": [1]}, "extra": 1}"#, 422, ["/base", "/extra"]),
            (#"{"base": "#, 400, []),
        ]
        for (body, status, pointers) in cases {
            let response = await post(harness, body)
            #expect(response.status == status, "\(body) → \(String(decoding: response.body, as: UTF8.self))")
            let got = (jsonObject(response.body)["errors"] as? [[String: Any]])?.compactMap { $0["pointer"] as? String } ?? []
            // Every expected pointer is named (the spec validator may add derived ones, e.g. input_width for width).
            #expect(Set(pointers).isSubset(of: Set(got)) && (pointers.isEmpty == got.isEmpty), "\(body): \(got)")
        }
        // Nothing was queued by any of them.
        let list = jsonObject(await harness.server.handle(.get("/v1/experiments")).body)
        #expect((list["experiments"] as? [Any])?.isEmpty == true)
    }

    @Test func computeBudgetAndQueueRoomAreCheckedBeforeQueuing() async throws {
        var visualization = VisualizationConfiguration()
        visualization.maxSweepFLOPs = 1e6
        let harness = try VizHarness(visualization: visualization) { $0.queueCapacity = 3 }
        defer { Task { await harness.stop() } }
        let big = await post(harness, #"{"base": {"depth": 50, "width": 256, "batch": 64, "init": "kaiming_normal", "activation": "relu"}, "vary": {"seed": [1, 2]}}"#)
        #expect(big.status == 422)
        #expect(((jsonObject(big.body)["errors"] as? [[String: Any]])?.first?["detail"] as? String)?.contains("budget") == true)
        let many = await post(harness, #"{"base": {"depth": 2, "width": 2, "batch": 2, "init": "kaiming_normal", "activation": "relu"}, "vary": {"seed": [1, 2, 3, 4]}}"#)
        #expect(many.status == 503 && many.header("Retry-After") != nil)
        let list = jsonObject(await harness.server.handle(.get("/v1/experiments")).body)
        #expect((list["experiments"] as? [Any])?.isEmpty == true)
        #expect(await harness.get("/v1/sweeps/\(UUID().uuidString.lowercased())").status == 404)
        let wrongType = await harness.server.handle(HTTPRequest.make("POST", "/v1/sweeps", headers: [("Content-Type", "text/plain")], body: Data("{}".utf8)))
        #expect(wrongType.status == 415)
    }
}
