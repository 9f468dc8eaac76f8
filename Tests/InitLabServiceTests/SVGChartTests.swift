import Foundation
import InitCore
import InitLabContract
import TestSupport
import Testing
@testable import InitLabService

@Suite(.offCooperativePool) struct SVGChartTests {
    /// The lesson's key picture: Xavier fades with ReLU (std halves per layer), Kaiming holds.
    func xavierVersusKaiming() throws -> [SVGChart.Run] {
        let xavier = try VizFixture.result(
            initName: "xavier_normal", forwardStd: VizFixture.geometric(20, start: 0.6, ratio: 0.7071),
            backwardStd: VizFixture.geometric(20, start: 0.5, ratio: 0.7071), theoryStd: VizFixture.geometric(20, start: 0.58, ratio: 0.7071))
        let kaiming = try VizFixture.result(
            initName: "kaiming_normal", forwardStd: VizFixture.geometric(20, start: 0.82, ratio: 1.0),
            backwardStd: VizFixture.geometric(20, start: 1, ratio: 1), theoryStd: VizFixture.geometric(20, start: 0.825, ratio: 1))
        return [SVGChart.Run(label: "xavier · relu", result: xavier), SVGChart.Run(label: "kaiming · relu", result: kaiming)]
    }

    /// A cnn's chart labels each layer with the shape it hands on, under the layer axis; the description lists
    /// every layer's kind and shape, and so does the heat map's tooltip per column.
    @Test func aConvNetsLayersCarryTheirShapes() throws {
        let spec = try ExperimentSpec.decodeValidated(from: Data(#"{"depth": 3, "width": 4, "batch": 2, "init": "kaiming_normal", "activation": "relu", "architecture": {"name": "cnn", "input_shape": [2, 9, 9], "conv": [{"channels": 3, "kernel": 3, "pool": "max"}, {"channels": 5, "kernel": 2}]}}"#.utf8))
        let result = try ChartResult.decode(Data(try ExperimentRunner(matmul: Matmul(threads: 1)).run(spec).encodedJSON()))
        let doc = ParsedXML.parse(SVGChart.render([SVGChart.Run(label: "cnn", result: result)], options: ChartOptions()))
        #expect(doc.error == nil)
        let labels = doc.all("text").filter { $0.attributes["data-shape"] != nil }
        #expect(labels.map(\.text) == ["3×3×3", "5×2×2", "4"])
        #expect(labels.map { $0.attributes["data-shape"] } == ["conv 3×7×7 → pool 3×3×3", "conv 5×2×2", "dense 4"])
        #expect(labels.map { $0.attributes["data-layer"] } == ["1", "2", "3"])
        #expect(doc.all("desc").first?.text.contains("(layers: 1 conv 3×7×7 → pool 3×3×3, 2 conv 5×2×2, 3 dense 4)") == true)
        let map = ParsedXML.parse(SVGChart.render([SVGChart.Run(label: "cnn", result: result)], options: ChartOptions(metric: .histogram)))
        #expect(map.all("title").map(\.text).contains { $0.hasPrefix("layer 1 (conv 3×7×7 → pool 3×3×3): [") })
        // Other architectures draw no shape row.
        let plain = ParsedXML.parse(SVGChart.render(try xavierVersusKaiming(), options: ChartOptions()))
        #expect(!plain.all("text").contains { $0.attributes["data-shape"] != nil })
    }

    @Test func lineChartIsValidXMLWithOneMeasuredAndOneTheoryPathPerRun() throws {
        let svg = SVGChart.render(try xavierVersusKaiming(), options: ChartOptions())
        let doc = ParsedXML.parse(svg)
        #expect(doc.error == nil)
        #expect(doc.elements.first?.name == "svg")
        #expect(doc.elements.first?.attributes["viewBox"]?.hasPrefix("0 0 640 ") == true)
        let paths = doc.all("path").filter { $0.attributes["data-series"] != nil }
        #expect(paths.filter { $0.attributes["data-kind"] == "measured" }.map { $0.attributes["data-series"] } == ["xavier · relu", "kaiming · relu"])
        let theory = paths.filter { $0.attributes["data-kind"] == "theory" }
        #expect(theory.count == 2)
        #expect(theory.allSatisfy { $0.attributes["stroke-dasharray"] != nil })
        // 20 points each: one move and 19 line segments.
        for path in paths {
            let d = path.attributes["d"] ?? ""
            #expect(d.filter { $0 == "M" }.count == 1)
            #expect(d.filter { $0 == "L" }.count == 19)
        }
        // Title, axis titles, tick labels and a legend naming every series.
        let texts = doc.all("text").map(\.text)
        #expect(texts.contains("layer"))
        #expect(texts.contains("std (log scale)"))
        #expect(texts.contains("1") && texts.contains("0.01"))
        let legend = doc.all("text").compactMap { $0.attributes["data-legend"] }
        #expect(legend == ["xavier · relu", "xavier · relu (theory)", "kaiming · relu", "kaiming · relu (theory)"])
        #expect(doc.all("title").first?.text.contains("std") == true)
    }

    @Test func logScalePlacesLargerValuesHigherAndSpansDecades() throws {
        let runs = try xavierVersusKaiming()
        let svg = SVGChart.render(runs, options: ChartOptions(metric: .std, pass: .forward, scale: .log))
        let doc = ParsedXML.parse(svg)
        let xavier = try #require(doc.all("path").first { $0.attributes["data-series"] == "xavier · relu" })
        let ys = coordinates(xavier.attributes["d"] ?? "").map(\.1)
        #expect(ys.count == 20)
        // The std shrinks each layer, so y (pointing down) grows, by equal steps on a log axis.
        let steps = zip(ys.dropFirst(), ys).map { $0 - $1 }
        #expect(steps.allSatisfy { $0 > 0 })
        let spread = (steps.max() ?? 0) - (steps.min() ?? 0)
        #expect(spread < 0.05, "equal ratios must be equal steps on a log axis (rounded to 0.01px)")
    }

    @Test func nonFiniteValuesBreakTheLineAndAreMarked() throws {
        var std = VizFixture.geometric(12, start: 1, ratio: 10)
        for i in 7..<12 { std[i] = nil }  // overflow from layer 8
        let exploding = try VizFixture.result(initName: "normal", activation: "linear", forwardStd: std)
        let svg = SVGChart.render([SVGChart.Run(label: "N(0,1)", result: exploding)], options: ChartOptions())
        let doc = ParsedXML.parse(svg)
        #expect(doc.error == nil)
        let path = try #require(doc.all("path").first { $0.attributes["data-series"] == "N(0,1)" })
        #expect((path.attributes["d"] ?? "").filter { $0 == "L" }.count == 6, "7 finite points, 6 segments")
        #expect(doc.all("line").contains { $0.attributes["data-nonfinite-from"] == "8" })
        #expect(doc.all("text").contains { $0.text == "inf/NaN from layer 8" })
        #expect(!svg.contains("nan") && !svg.contains("inf\""))
    }

    @Test func isolatedFinitePointGetsADot() throws {
        let result = try VizFixture.result(forwardStd: [1, nil, 2, nil, 3, 4])
        let doc = ParsedXML.parse(SVGChart.render([SVGChart.Run(label: "gappy", result: result)], options: ChartOptions(metric: .std, scale: .linear)))
        #expect(doc.all("circle").count == 2)  // layers 1 and 3; 5–6 form a segment
    }

    @Test func linearMetricsAndBackwardPass() throws {
        let runs = try xavierVersusKaiming()
        for metric in [ChartOptions.Metric.mean, .deadFraction] {
            let svg = SVGChart.render(runs, options: ChartOptions(metric: metric, pass: .forward))
            let doc = ParsedXML.parse(svg)
            #expect(doc.error == nil)
            #expect(doc.all("path").filter { $0.attributes["data-kind"] == "theory" }.isEmpty, "no theory for \(metric)")
            #expect(doc.all("path").filter { $0.attributes["data-kind"] == "measured" }.count == 2)
        }
        let backward = ParsedXML.parse(SVGChart.render(runs, options: ChartOptions(metric: .std, pass: .backward)))
        #expect(backward.all("path").filter { $0.attributes["data-kind"] != nil }.count == 4)
        #expect(backward.all("title").first?.text.contains("backward") == true)
    }

    @Test func backwardOffDrawsAnEmptyButValidChart() throws {
        let result = try VizFixture.result(forwardStd: VizFixture.geometric(5, start: 1, ratio: 1))
        let doc = ParsedXML.parse(SVGChart.render([SVGChart.Run(label: "fwd only", result: result)], options: ChartOptions(pass: .backward)))
        #expect(doc.error == nil)
        #expect(doc.all("path").first { $0.attributes["data-series"] == "fwd only" }?.attributes["d"] == "M0 0")
    }

    @Test func heatMapHasOneCellPerNonEmptyBinAndAColourBar() throws {
        let result = try VizFixture.result(forwardStd: VizFixture.geometric(6, start: 1, ratio: 0.5), bins: 8)
        let svg = SVGChart.render([SVGChart.Run(label: "relu", result: result)], options: ChartOptions(metric: .histogram))
        let doc = ParsedXML.parse(svg)
        #expect(doc.error == nil)
        let nonEmpty = result.layers.reduce(0) { $0 + ($1.forward.activation.histogram?.counts.filter { $0 > 0 }.count ?? 0) }
        let cells = doc.all("rect").filter { ($0.attributes["fill"] ?? "").hasPrefix("#") && $0.attributes["class"] == nil && $0.attributes["width"] != "100%" }
        #expect(cells.count == nonEmpty)
        #expect(doc.all("g").filter { $0.attributes["data-layer"] != nil }.count == 6)
        #expect(doc.all("rect").contains { $0.attributes["class"] == "colorbar" })
        #expect(doc.all("g").contains { $0.attributes["data-kind"] == "histogram" && $0.attributes["data-series"] == "relu" })
    }

    @Test func heatMapOfAVeryDeepNetIsCapped() throws {
        let result = try VizFixture.result(forwardStd: VizFixture.geometric(450, start: 1, ratio: 1), bins: 4)
        let doc = ParsedXML.parse(SVGChart.render([SVGChart.Run(label: "deep", result: result)], options: ChartOptions(metric: .histogram)))
        #expect(doc.all("g").filter { $0.attributes["data-layer"] != nil }.count == 150)  // every 3rd layer
        #expect(doc.all("desc").first?.text.contains("every 3th layer") == true)
    }

    @Test func labelsAreEscaped() throws {
        let result = try VizFixture.result(forwardStd: [1, 2])
        let svg = SVGChart.render([SVGChart.Run(label: "a<b & \"c\"", result: result)], options: ChartOptions())
        let doc = ParsedXML.parse(svg)
        #expect(doc.error == nil)
        #expect(doc.all("path").contains { $0.attributes["data-series"] == "a<b & \"c\"" })
    }

    @Test func renderingIsDeterministicAndTagged() throws {
        let runs = try xavierVersusKaiming()
        let a = SVGChart.render(runs, options: ChartOptions())
        let b = SVGChart.render(runs, options: ChartOptions())
        #expect(a == b)
        #expect(ContentTag.strong(Array(a.utf8)) == ContentTag.strong(Array(b.utf8)))
        let other = SVGChart.render(runs, options: ChartOptions(pass: .backward))
        #expect(ContentTag.strong(Array(a.utf8)) != ContentTag.strong(Array(other.utf8)))
        let tag = ContentTag.strong(Array(a.utf8))
        #expect(ContentTag.matches(ifNoneMatch: "\"x\", \(tag)", tag: tag))
        #expect(ContentTag.matches(ifNoneMatch: "W/\(tag)", tag: tag))
        #expect(ContentTag.matches(ifNoneMatch: "*", tag: tag))
        #expect(!ContentTag.matches(ifNoneMatch: "\"other\"", tag: tag))
    }

    @Test(arguments: [
        ([("metric", "variance")], "metric"),
        ([("pass", "sideways")], "pass"),
        ([("scale", "sqrt")], "scale"),
        ([("color", "red")], "color"),
        ([("pass", "forward"), ("pass", "backward")], "pass"),
    ])
    func badQueryParametersAreNamed(query: [(String, String)], parameter: String) {
        do {
            _ = try ChartOptions.parse(query: query.map { (name: $0.0, value: $0.1) })
            Issue.record("expected rejection of \(query)")
        } catch {
            #expect(error.parameter == parameter)
            #expect(error.detail.contains("allowed") || error.detail.contains("once"))
        }
    }

    @Test func logScaleOfASignedMetricLeavesGapsAtNonPositiveValues() throws {
        let result = try VizFixture.result(forwardStd: [1, 2, 3, 4])
        var options = try ChartOptions.parse(query: [("metric", "mean"), ("scale", "log")])
        #expect(options == ChartOptions(metric: .mean, pass: .forward, scale: .log))
        options.pass = .backward  // the fixture's backward is off: no values at all, still a valid chart
        #expect(ParsedXML.parse(SVGChart.render([SVGChart.Run(label: "r", result: result)], options: options)).error == nil)
        var layers = result.layers
        layers[1].forward.activation.mean = -0.5
        layers[2].forward.activation.mean = 0
        let signed = ChartResult(spec: result.spec, layers: layers, summary: result.summary)
        let doc = ParsedXML.parse(SVGChart.render([SVGChart.Run(label: "signed", result: signed)], options: ChartOptions(metric: .mean, scale: .log)))
        let d = try #require(doc.all("path").first { $0.attributes["data-series"] == "signed" }?.attributes["d"])
        #expect(d.filter { $0 == "M" }.count == 2 && d.filter { $0 == "L" }.count == 0, "layers 1 and 4 alone: \(d)")
        #expect(doc.all("circle").count == 2)
    }

    @Test func queryDefaults() throws {
        #expect(try ChartOptions.parse(query: []) == ChartOptions(metric: .std, pass: .forward, scale: .log))
        #expect(try ChartOptions.parse(query: [("metric", "dead_fraction")]).scale == .linear)
        #expect(try ChartOptions.parse(query: [("metric", "std"), ("scale", "linear"), ("pass", "backward")]) == ChartOptions(metric: .std, pass: .backward, scale: .linear))
        #expect(throws: ChartQueryError.self) { try ChartOptions.parse(query: [("metric", "histogram")], allowedMetrics: [.std, .mean]) }
    }

    private func coordinates(_ d: String) -> [(Double, Double)] {
        d.split(whereSeparator: { $0 == "M" || $0 == "L" }).compactMap { pair in
            let parts = pair.split(separator: " ").compactMap { Double($0) }
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }
    }
}
