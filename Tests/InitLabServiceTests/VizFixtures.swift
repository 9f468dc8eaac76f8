import Foundation
@testable import InitLabService

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Hand-built result JSON in the contract's shape (see contract/EXPERIMENT_CONTRACT.md), so the renderers are
/// tested against the wire format itself.
enum VizFixture {
    /// A result whose forward activation std follows `forwardStd` (nil = non-finite), backward gradient std
    /// follows `backwardStd` (nil array = backward off), with theory lines from `theoryStd`.
    static func resultJSON(
        initName: String = "kaiming_normal", activation: String = "relu", width: Int = 64,
        forwardStd: [Double?], backwardStd: [Double?]? = nil, theoryStd: [Double?]? = nil, bins: Int = 8
    ) -> String {
        func num(_ v: Double?) -> String { v.map { "\($0)" } ?? "null" }
        func stats(std: Double?, mean: Double?, dead: Double, nonfinite: Double, seed: Int) -> String {
            let counts = (0..<bins).map { b in String((b * 7 + seed * 3) % 11 == 0 ? 0 : (b + 1) * (seed + 2) * 5) }
            let low = std.map { -3 * $0 }
            let high = std.map { 3 * $0 }
            return """
                {"count": \(width * 16), "mean": \(num(mean)), "std": \(num(std)), "min": \(num(low)), "max": \(num(high)),
                 "mean_abs": \(num(std.map { $0 * 0.8 })), "zero_fraction": \(dead), "dead_fraction": \(dead),
                 "nonfinite_fraction": \(nonfinite), "p1": \(num(low.map { $0 * 0.8 })), "p50": \(num(mean)), "p99": \(num(high.map { $0 * 0.8 })),
                 "histogram": {"low": \(num(low)), "high": \(num(high)), "counts": [\(counts.joined(separator: ","))]}}
                """
        }
        var layers: [String] = []
        var firstNonfinite: String = "null"
        for (i, std) in forwardStd.enumerated() {
            let nonfinite = std == nil ? 1.0 : 0.0
            if std == nil, firstNonfinite == "null" { firstNonfinite = String(i + 1) }
            let mean = std.map { $0 * 0.4 }
            let forward = """
                {"preactivation": \(stats(std: std.map { $0 * 1.7 }, mean: 0.001 * Double(i), dead: 0, nonfinite: nonfinite, seed: i)),
                 "activation": \(stats(std: std, mean: mean, dead: 0.5 + 0.001 * Double(i), nonfinite: nonfinite, seed: i + 1))}
                """
            var backward = "null"
            if let backwardStd {
                let g = backwardStd[i]
                backward = """
                    {"activation_grad": \(stats(std: g, mean: 0, dead: 0, nonfinite: g == nil ? 1 : 0, seed: i + 2)),
                     "weight_grad": \(stats(std: g.map { $0 * 0.1 }, mean: 0, dead: 0, nonfinite: g == nil ? 1 : 0, seed: i + 3))}
                    """
            }
            let theory = theoryStd?[i]
            layers.append("""
                {"index": \(i + 1), "fan_in": \(width), "fan_out": \(width), "forward": \(forward), "backward": \(backward),
                 "theory": {"q": \(num(theory.map { $0 * $0 * 2.9 })), "predicted_preactivation_std": \(num(theory.map { $0 * 1.7 })),
                            "predicted_activation_std": \(num(theory)), "predicted_activation_grad_std": \(backwardStd == nil ? "null" : num(theory))},
                 "lsuv_iterations": null}
                """)
        }
        return """
            {"spec": {"depth": \(forwardStd.count), "width": \(width), "batch": 16, "input_width": \(width), "seed": 7, "backward": \(backwardStd != nil),
                      "init": {"name": "\(initName)", "mode": "fan_in", "nonlinearity": "relu", "a": 0},
                      "activation": {"name": "\(activation)"}, "bias_init": {"name": "zeros"}, "weights": "per_layer",
                      "architecture": {"name": "mlp"}, "histogram_bins": \(bins), "input": "gaussian", "loss": "none"},
             "conventions": {"weight_layout": "(out, in)", "fan_in": "in_features", "layer_index": "1-based",
                             "stats_dtype": "float64 accumulation over float32 values", "weights": "per_layer", "gradient_source": "unit_gaussian"},
             "layers": [\(layers.joined(separator: ",\n"))],
             "summary": {"first_nonfinite_layer": \(firstNonfinite), "first_vanished_layer": null, "forward_growth_factor": 1.01,
                         "backward_growth_factor": null, "forward_verdict": "stable", "backward_verdict": null,
                         "theory": {"chi1": 1.0, "regime": "critical", "depth_scale": null, "fixed_point_q": 1.0}}}
            """
    }

    static func result(
        initName: String = "kaiming_normal", activation: String = "relu", forwardStd: [Double?],
        backwardStd: [Double?]? = nil, theoryStd: [Double?]? = nil, bins: Int = 8
    ) throws -> ChartResult {
        try ChartResult.decode(Data(resultJSON(initName: initName, activation: activation, forwardStd: forwardStd, backwardStd: backwardStd, theoryStd: theoryStd, bins: bins).utf8))
    }

    /// Geometric sequence: start × ratio^i.
    static func geometric(_ count: Int, start: Double, ratio: Double) -> [Double?] {
        (0..<count).map { start * pow(ratio, Double($0)) }
    }
}

/// A parsed XML document: every element with its attributes and direct text, in document order.
final class ParsedXML: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
        var text: String
    }

    private(set) var elements: [Element] = []
    private var stack: [Int] = []
    private(set) var error: Error?

    static func parse(_ text: String) -> ParsedXML {
        let document = ParsedXML()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = document
        if !parser.parse() { document.error = parser.parserError ?? CocoaError(.coderReadCorrupt) }
        return document
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        elements.append(Element(name: elementName, attributes: attributeDict, text: ""))
        stack.append(elements.count - 1)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        _ = stack.popLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let top = stack.last { elements[top].text += string }
    }

    func all(_ name: String) -> [Element] { elements.filter { $0.name == name } }
}
