import Foundation
import InitCore
import InitLabContract
import TestSupport
import Testing

@testable import InitLabService

/// The renderers read the compute core's real encoding, not only hand-built fixtures: run the lesson's
/// comparison (Xavier vs Kaiming with ReLU) on a small net, encode as the service stores it, then draw.
@Suite(.offCooperativePool) struct RealResultRenderTests {
    func run(_ initName: String, depth: Int = 12) throws -> (Data, ChartResult) {
        let spec = ExperimentSpec(
            depth: depth, width: 64, batch: 32, seed: 3, initializer: InitScheme(name: initName),
            activation: ActivationSpec(name: "relu"), histogramBins: 16)
        let result = try ExperimentRunner().run(spec)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(result)
        return (data, try ChartResult.decode(data))
    }

    @Test func lessonPictureFromRealRuns() throws {
        let (_, xavier) = try run("xavier_normal")
        let (kaimingData, kaiming) = try run("kaiming_normal")
        #expect(xavier.layers.count == 12 && kaiming.layers.count == 12)
        #expect(kaiming.spec.initializer.name == "kaiming_normal")
        // The science: with ReLU, Xavier's activations fade layer by layer, Kaiming's hold (±50% over 12 layers
        // at width 64, batch 32: sampling noise is far below that).
        let xStd = xavier.layers.compactMap(\.forward.activation.std)
        let kStd = kaiming.layers.compactMap(\.forward.activation.std)
        #expect((xStd.last ?? 1) < (xStd.first ?? 0) * 0.2)
        #expect((kStd.last ?? 0) > (kStd.first ?? 1) * 0.5 && (kStd.last ?? 0) < (kStd.first ?? 0) * 2)

        let svg = SVGChart.render(
            [SVGChart.Run(label: "xavier", result: xavier), SVGChart.Run(label: "kaiming", result: kaiming)], options: ChartOptions())
        let doc = ParsedXML.parse(svg)
        #expect(doc.error == nil)
        #expect(doc.all("path").filter { $0.attributes["data-kind"] == "measured" }.count == 2)
        #expect(doc.all("path").filter { $0.attributes["data-kind"] == "theory" }.count == 2)
        let backward = ParsedXML.parse(SVGChart.render([SVGChart.Run(label: "kaiming", result: kaiming)], options: ChartOptions(pass: .backward)))
        #expect(backward.all("path").first { $0.attributes["data-kind"] == "measured" }?.attributes["d"]?.filter { $0 == "L" }.count == 11)
        // Theory and measurement agree for Kaiming + ReLU within a factor of 2 at every layer: at width 64 the
        // measured std random-walks by ~9% per layer (the squared norm of a 64-wide layer has relative std
        // √(2/64)), ~30% over 12 layers; the fixed seed makes the check deterministic.
        for layer in kaiming.layers {
            if let measured = layer.forward.activation.std, let predicted = layer.theory?.predictedActivationStd {
                #expect(measured / predicted > 0.5 && measured / predicted < 2, "layer \(layer.index): \(measured) vs \(predicted)")
            }
        }

        // CSV against the real JSON: every activation std equal to the stored number.
        let rows = CSVExportTests.parse(CSVExport.render(kaiming))
        let column = try #require(rows[0].firstIndex(of: "activation_std"))
        let raw = try JSONDecoder().decode(TestJSON.self, from: kaimingData)
        let stored = (raw["layers"]?.array ?? []).map { $0["forward"]?["activation"]?["std"]?.number }
        #expect(rows.dropFirst().map { Double($0[column]) } == stored)

        let heat = ParsedXML.parse(SVGChart.render([SVGChart.Run(label: "kaiming", result: kaiming)], options: ChartOptions(metric: .histogram, pass: .backward)))
        #expect(heat.error == nil)
        #expect(heat.all("g").filter { $0.attributes["data-layer"] != nil }.count == 12)
    }

    @Test func overflowShowsAsGapsAndMarker() throws {
        // N(0,1) weights with no scaling: the std grows ~√width per layer and overflows float32.
        let spec = ExperimentSpec(
            depth: 40, width: 256, batch: 16, seed: 1, backward: false, initializer: InitScheme(name: "normal"),
            activation: ActivationSpec(name: "identity"), histogramBins: 8)
        let data = try JSONEncoder().encode(try ExperimentRunner().run(spec))
        let result = try ChartResult.decode(data)
        let series = result.measuredSeries(ChartOptions(), label: "normal", colorIndex: 0)
        let first = try #require(series.firstNonfiniteLayer)
        #expect(first > 5 && first < 40)
        #expect(result.summary.firstNonfiniteLayer == first)
        let doc = ParsedXML.parse(SVGChart.render([SVGChart.Run(label: "normal", result: result)], options: ChartOptions()))
        #expect(doc.all("text").contains { $0.text == "inf/NaN from layer \(first)" })
        #expect(Sparkline.render(result.layers.map(\.forward.activation.std)).contains("!"))
    }
}
