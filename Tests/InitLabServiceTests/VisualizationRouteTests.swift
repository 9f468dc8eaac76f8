import Foundation
import TestSupport
import Testing

@testable import InitLabService

@Suite(.offCooperativePool) struct VisualizationRouteTests {
    @Test func plotCSVAndDashboardOfAFinishedExperiment() async throws {
        let harness = try VizHarness()
        defer { Task { await harness.stop() } }
        let id = try await harness.submit(spec(init: "xavier_normal", depth: 12))
        #expect(await harness.waitUntilTerminal(id) == "succeeded")

        let svg = await harness.get("/v1/experiments/\(id)/plot.svg", query: [("metric", "std"), ("pass", "backward"), ("scale", "log")])
        #expect(svg.status == 200)
        #expect(svg.header("Content-Type")?.hasPrefix("image/svg+xml") == true)
        let doc = ParsedXML.parse(String(decoding: svg.body, as: UTF8.self))
        #expect(doc.error == nil)
        #expect(doc.all("path").filter { $0.attributes["data-kind"] == "measured" }.map { $0.attributes["data-series"] } == ["xavier_normal · relu"])
        #expect(doc.all("path").contains { $0.attributes["data-kind"] == "theory" })

        // Cacheable: the same ETag again is a 304 without a body.
        let tag = try #require(svg.header("ETag"))
        let again = await harness.get("/v1/experiments/\(id)/plot.svg", query: [("metric", "std"), ("pass", "backward"), ("scale", "log")], headers: [("If-None-Match", tag)])
        #expect(again.status == 304 && again.body.isEmpty)
        let heat = await harness.get("/v1/experiments/\(id)/plot.svg", query: [("metric", "histogram")])
        #expect(heat.status == 200 && heat.header("ETag") != tag)
        #expect(ParsedXML.parse(String(decoding: heat.body, as: UTF8.self)).all("g").filter { $0.attributes["data-layer"] != nil }.count == 12)

        // CSV: one row per layer, numbers equal to the stored JSON result.
        let csv = await harness.get("/v1/experiments/\(id)/result.csv")
        #expect(csv.status == 200)
        #expect(csv.header("Content-Type")?.hasPrefix("text/csv") == true)
        #expect(csv.header("Content-Disposition")?.contains("experiment-\(id).csv") == true)
        let rows = CSVExportTests.parse(String(decoding: csv.body, as: UTF8.self))
        #expect(rows.count == 13)
        let result = try ChartResult.decode(await harness.server.handle(.get("/v1/experiments/\(id)/result")).body)
        let column = try #require(rows[0].firstIndex(of: "activation_std"))
        #expect(rows.dropFirst().map { Double($0[column]) } == result.layers.map(\.forward.activation.std))

        // The page and its assets.
        let page = await harness.get("/", query: [("runs", id), ("metric", "std")])
        #expect(page.status == 200 && page.header("Content-Type")?.hasPrefix("text/html") == true)
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(html.contains("/dashboard/app.js") && html.contains("/dashboard/app.css"))
        #expect(await harness.get("/dashboard/app.js").header("Content-Type") == "text/javascript; charset=utf-8")
        #expect(await harness.get("/dashboard/app.css").header("Content-Type") == "text/css; charset=utf-8")
        // What is served is the files in Resources/dashboard/, byte for byte.
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/InitLabService/Resources/dashboard")
        let indexFile = try Data(contentsOf: folder.appendingPathComponent("index.html"))
        #expect(page.body == indexFile)
        for name in ["app.js", "app.css"] {
            let served = await harness.get("/dashboard/\(name)")
            let file = try Data(contentsOf: folder.appendingPathComponent(name))
            #expect(served.status == 200 && served.body == file, "\(name)")
        }
    }

    @Test func userInputIsValidated() async throws {
        let harness = try VizHarness()
        defer { Task { await harness.stop() } }
        let id = try await harness.submit(spec(depth: 3))
        #expect(await harness.waitUntilTerminal(id) == "succeeded")
        let cases: [([(String, String)], String)] = [
            ([("metric", "variance")], "metric"), ([("pass", "up")], "pass"), ([("scale", "cubic")], "scale"),
            ([("colour", "red")], "colour"),
        ]
        for (query, parameter) in cases {
            let response = await harness.get("/v1/experiments/\(id)/plot.svg", query: query)
            #expect(response.status == 400, "\(query)")
            #expect(response.header("Content-Type") == "application/problem+json")
            let problem = jsonObject(response.body)
            #expect((problem["detail"] as? String)?.contains(parameter) == true)
            #expect((problem["detail"] as? String)?.contains("allowed") == true)
        }
        #expect(await harness.get("/v1/experiments/\(id)/result.csv", query: [("x", "1")]).status == 400)
        #expect(await harness.get("/", query: [("evil", "1")]).status == 400)
        #expect(await harness.get("/v1/experiments/not-an-id/plot.svg").status == 404)
        #expect(await harness.get("/v1/experiments/\(UUID().uuidString.lowercased())/result.csv").status == 404)
        let post = await harness.server.handle(.post("/v1/experiments/\(id)/plot.svg", json: "{}"))
        #expect(post.status == 405 && post.header("Allow") == "GET, HEAD, OPTIONS")
    }

    @Test func unfinishedExperimentIsAConflict() async throws {
        let harness = try VizHarness(layerDelay: .milliseconds(200))
        defer { Task { await harness.stop() } }
        let id = try await harness.submit(spec(depth: 20))
        let response = await harness.get("/v1/experiments/\(id)/plot.svg")
        #expect(response.status == 409)
        #expect(response.header("Retry-After") != nil)
        #expect((jsonObject(response.body)["detail"] as? String)?.contains("events") == true)
        _ = await harness.server.handle(.post("/v1/experiments/\(id)/cancel", json: ""))
    }
}

@Suite(.offCooperativePool) struct DashboardQueryTests {
    @Test func shareableStateIsValidated() async throws {
        let harness = try VizHarness()
        defer { Task { await harness.stop() } }
        let id = UUID().uuidString.lowercased()
        let good: [(String, String)] = [
            ("runs", "\(id),\(id)"), ("metric", "dead_fraction"), ("pass", "backward"), ("scale", "linear"),
            ("heatmap", id), ("sweep", id), ("selftest", "1"), ("loss", "linear"), ("layer", "20"), ("lesson", "quick"),
        ]
        #expect(await harness.get("/", query: good).status == 200)
        let bad: [([(String, String)], String)] = [
            ([("runs", "")], "runs"), ([("runs", "\(id),nope")], "runs"), ([("runs", id.uppercased())], "runs"),
            ([("sweep", "")], "sweep"), ([("heatmap", "x")], "heatmap"), ([("metric", "var")], "metric"),
            ([("selftest", "yes")], "selftest"), ([("runs", id), ("runs", id)], "runs"), ([("theme", "dark")], "theme"),
            ([("loss", "log2")], "loss"), ([("layer", "0")], "layer"), ([("layer", "x")], "layer"), ([("lesson", "full")], "lesson"),
        ]
        for (query, parameter) in bad {
            let response = await harness.get("/", query: query)
            #expect(response.status == 400, "\(query)")
            let detail = jsonObject(response.body)["detail"] as? String ?? ""
            #expect(detail.contains(parameter), "\(detail)")
        }
        let many = Array(repeating: id, count: DashboardQuery.maxRuns + 1).joined(separator: ",")
        #expect(await harness.get("/", query: [("runs", many)]).status == 400)
    }
}
