/// Builds an SVG document as text with escaped attributes and sorted attribute order (byte-stable output).
struct SVGWriter {
    private var body = ""

    init(width: Double, height: Double, title: String, description: String) {
        body = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(fmt(width)) \(fmt(height))\" width=\"\(fmt(width))\" height=\"\(fmt(height))\" role=\"img\" aria-labelledby=\"chart-title chart-desc\" font-family=\"system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif\" font-size=\"12\">"
        body += "<title id=\"chart-title\">\(SVGWriter.escape(title))</title><desc id=\"chart-desc\">\(SVGWriter.escape(description))</desc>"
        body += "<style>text{fill:#1f2328}.title{font-size:15px;font-weight:600}.axis-title{font-size:13px;fill:#3d444d}.note{font-size:11px}.grid{stroke:#d8dee4;stroke-width:1}.tick{stroke:#57606a}.frame{fill:none;stroke:#8c959f}</style>"
        body += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>"
    }

    mutating func raw(_ text: String) { body += text }

    mutating func open(_ name: String, _ attributes: [String: String]) {
        body += "<\(name)\(SVGWriter.render(attributes))>"
    }

    mutating func close(_ name: String) { body += "</\(name)>" }

    mutating func element(_ name: String, _ attributes: [String: String]) {
        body += "<\(name)\(SVGWriter.render(attributes))/>"
    }

    mutating func text(_ content: String, x: Double, y: Double, attributes: [String: String] = [:]) {
        var all = attributes
        if all["transform"] == nil {
            all["x"] = fmt(x)
            all["y"] = fmt(y)
        }
        body += "<text\(SVGWriter.render(all))>\(SVGWriter.escape(content))</text>"
    }

    func finish() -> String { body + "</svg>\n" }

    static func render(_ attributes: [String: String]) -> String {
        attributes.sorted { $0.key < $1.key }.map { " \($0.key)=\"\(escape($0.value))\"" }.joined()
    }

    /// XML-escapes text and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}

/// The legend under the plot: a line sample (dashed for theory) and the label, laid out in two columns.
struct Legend {
    var entries: [(label: String, colorIndex: Int, kind: ChartSeries.Kind)]
    var top: Double
    static let rowHeight = 18.0
    static let columns = 2

    var rows: Int { (entries.count + Legend.columns - 1) / Legend.columns }
    var bottom: Double { top + Double(rows) * Legend.rowHeight }

    func draw(_ svg: inout SVGWriter) {
        svg.open("g", ["class": "legend"])
        let columnWidth = (SVGChart.width - SVGChart.marginLeft - SVGChart.marginRight) / Double(Legend.columns)
        for (i, entry) in entries.enumerated() {
            let x = SVGChart.marginLeft + Double(i % Legend.columns) * columnWidth
            let y = top + Double(i / Legend.columns) * Legend.rowHeight
            let colour = SVGChart.palette[entry.colorIndex % SVGChart.palette.count]
            var line = ["x1": fmt(x), "x2": fmt(x + 28), "y1": fmt(y - 4), "y2": fmt(y - 4), "stroke": colour, "stroke-width": entry.kind == .measured ? "2.5" : "1.5"]
            if entry.kind.isDashed { line["stroke-dasharray"] = "6 4" }
            svg.element("line", line)
            let maxCharacters = 44
            let label = entry.label.count > maxCharacters ? String(entry.label.prefix(maxCharacters - 1)) + "…" : entry.label
            svg.text(label, x: x + 34, y: y, attributes: ["data-legend": entry.label])
        }
        svg.close("g")
    }
}
