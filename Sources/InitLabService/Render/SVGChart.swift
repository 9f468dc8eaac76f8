import Foundation

/// Renders experiment results as standalone SVG documents: a line chart (one measured line per run, the
/// theory's prediction dashed in the same colour) or a per-layer histogram heat map. Pure: results in,
/// string out. Sized by a `viewBox` so it scales; fonts stay readable at half size. Colours are the
/// Okabe–Ito palette (distinguishable with the common colour-vision deficiencies); the heat map uses viridis.
package enum SVGChart {
    /// A run to draw and the name its legend gives it.
    package struct Run: Sendable {
        package var label: String
        package var result: ChartResult
        package init(label: String, result: ChartResult) {
            self.label = label
            self.result = result
        }
    }

    /// Okabe–Ito, reordered so the first two (the usual comparison) contrast most.
    package static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999933"]

    static let width = 640.0
    static let plotTop = 44.0
    static let plotHeight = 300.0
    static let marginLeft = 72.0
    static let marginRight = 20.0

    /// Theory lines are drawn for at most this many runs; past it they would double the clutter.
    package static let maxRunsWithTheory = 4
    /// A line chart labels each layer with its shape (a cnn's) up to this many layers; the description lists
    /// them all.
    package static let maxShapeLabels = 12

    /// Renders `runs` with `options`. A histogram draws the first run only (a heat map cannot overlay).
    /// `title` replaces the default heading; `note` is appended to it (e.g. "5 of 6 finished").
    package static func render(_ runs: [Run], options: ChartOptions, title: String? = nil, note: String? = nil) -> String {
        if options.metric == .histogram, let first = runs.first {
            return renderHeatMap(first, pass: options.pass, title: title, note: note)
        }
        return renderLines(runs, options: options, title: title, note: note)
    }

    // MARK: Line chart

    static func renderLines(_ runs: [Run], options: ChartOptions, title: String?, note: String?) -> String {
        var series: [ChartSeries] = []
        let withTheory = runs.count <= maxRunsWithTheory
        let training = options.metric.isTraining
        for (i, run) in runs.enumerated() {
            if training {
                series += run.result.trainingSeries(options, label: run.label, colorIndex: i)
                continue
            }
            series.append(run.result.measuredSeries(options, label: run.label, colorIndex: i))
            if withTheory, let theory = run.result.theorySeries(options, label: run.label, colorIndex: i) {
                series.append(theory)
            }
        }
        let xMax = training
            ? series.flatMap { $0.points.map(\.layer) }.max() ?? 1
            : runs.map { $0.result.layers.last?.index ?? $0.result.layers.count }.max() ?? 1
        let xName = training ? "step" : "layer"
        let xScale = LinearScale(domain: (training ? 0 : 1, Double(max(xMax, 2))), range: (marginLeft, width - marginRight))
        let values = series.flatMap { $0.points.compactMap(\.value) }
        let yScale: any AxisScale =
            switch (options.scale, options.metric) {
            case (.log, _): LogScale(values: values, range: (plotTop + plotHeight, plotTop))
            case (.linear, .deadFraction), (.linear, .accuracy): LinearScale(domain: (-0.03, 1.03), range: (plotTop + plotHeight, plotTop))
            case (.linear, _): LinearScale(niceAround: values, range: (plotTop + plotHeight, plotTop))
            }

        // A cnn's layer shapes (the first run's) in a row under the layer axis, when they fit.
        let shapes = training ? [] : (runs.first?.result.layers ?? []).compactMap { l in l.shape.map { (index: l.index, shape: $0) } }
        let shapeRow = !shapes.isEmpty && shapes.count <= maxShapeLabels
        let legend = Legend(entries: series.map { ($0.label, $0.colorIndex, $0.kind) }, top: plotTop + plotHeight + (shapeRow ? 66 : 52))
        let theoryHidden = runs.count > maxRunsWithTheory && options.metric == .std
        let height = legend.bottom + (theoryHidden ? 20 : 8)
        let passName = options.pass == .forward ? "forward" : "backward"
        let quantity = options.pass == .forward ? "activations" : "activation gradients"
        let metricName =
            switch options.metric {
            case .std: "std"
            case .mean: "mean"
            case .deadFraction: "dead fraction"
            case .histogram: "histogram"
            case .loss: "loss"
            case .accuracy: "validation accuracy"
            }
        let defaultHeading =
            switch options.metric {
            case .loss: "Training loss per step, validation loss per evaluation (dashed)"
            case .accuracy: "Validation accuracy per evaluation"
            default: "Per-layer \(metricName) of the \(quantity) (\(passName))"
            }
        let heading = (title ?? defaultHeading) + (note.map { " — \($0)" } ?? "")
        var svg = SVGWriter(width: width, height: height, title: heading, description: describe(runs, options))
        svg.text(heading, x: marginLeft, y: 24, attributes: ["class": "title"])
        drawAxes(&svg, x: xScale, y: yScale, xTitle: xName, yTitle: "\(metricName) (\(options.scale == .log ? "log" : "linear") scale)",
                 xTitleBelow: shapeRow ? 52 : 38)
        if shapeRow {
            svg.open("g", ["class": "shapes"])
            for (index, shape) in shapes {
                guard let x = xScale.position(Double(index)) else { continue }
                svg.text(shape.compact, x: x, y: plotTop + plotHeight + 32, attributes: [
                    "class": "note", "text-anchor": "middle", "fill": "#57606a", "data-layer": String(index), "data-shape": shape.label,
                ])
            }
            svg.close("g")
        }

        svg.open("g", ["class": "series", "clip-path": "url(#plot)"])
        for s in series {
            let colour = palette[s.colorIndex % palette.count]
            var attributes = [
                "d": path(s, x: xScale, y: yScale), "stroke": colour, "fill": "none",
                "stroke-width": s.kind == .measured ? "2" : "1.5", "stroke-linejoin": "round",
                "data-series": s.label, "data-kind": s.kind.rawValue,
            ]
            if s.kind.isDashed { attributes["stroke-dasharray"] = "6 4" }
            svg.element("path", attributes)
            for point in isolated(s, y: yScale) {
                guard let value = point.value, let y = yScale.position(value) else { continue }
                svg.element("circle", ["cx": fmt(xScale.position(Double(point.layer)) ?? 0), "cy": fmt(y), "r": "2.5", "fill": colour])
            }
        }
        svg.close("g")

        // "inf/NaN from layer N" markers, one per run that overflowed.
        var markerRow = 0
        for s in series where s.kind == .measured {
            guard let layer = s.firstNonfiniteLayer, let x = xScale.position(Double(layer)) else { continue }
            let colour = palette[s.colorIndex % palette.count]
            svg.element("line", [
                "x1": fmt(x), "x2": fmt(x), "y1": fmt(plotTop), "y2": fmt(plotTop + plotHeight),
                "stroke": colour, "stroke-dasharray": "2 3", "data-nonfinite-from": String(layer),
            ])
            let anchorEnd = x > width - 180
            svg.text(
                "inf/NaN from \(xName) \(layer)", x: anchorEnd ? x - 4 : x + 4, y: plotTop + 14 + Double(markerRow) * 14,
                attributes: ["class": "note", "fill": colour, "text-anchor": anchorEnd ? "end" : "start"])
            markerRow += 1
        }
        legend.draw(&svg)
        if theoryHidden {
            svg.text("theory lines hidden for more than \(maxRunsWithTheory) runs", x: marginLeft, y: legend.bottom + 8, attributes: ["class": "note"])
        }
        return svg.finish()
    }

    static func describe(_ runs: [Run], _ options: ChartOptions) -> String {
        let names = runs.map { run in
            let shapes = run.result.layers.compactMap { l in l.shape.map { "\(l.index) \($0.label)" } }
            return "\(run.label): depth \(run.result.spec.depth), width \(run.result.spec.width)"
                + (shapes.isEmpty ? "" : " (layers: " + shapes.joined(separator: ", ") + ")")
        }
        return "metric=\(options.metric.rawValue), pass=\(options.pass.rawValue), scale=\(options.scale.rawValue); " + names.joined(separator: "; ")
    }

    /// An SVG path through the finite points, broken at gaps (`nil`, or non-positive on a log scale).
    static func path(_ series: ChartSeries, x: LinearScale, y: any AxisScale) -> String {
        var d = ""
        var penDown = false
        for point in series.points {
            guard let value = point.value, let py = y.position(value), let px = x.position(Double(point.layer)) else {
                penDown = false
                continue
            }
            d += (penDown ? "L" : "M") + fmt(px) + " " + fmt(py)
            penDown = true
        }
        return d.isEmpty ? "M0 0" : d
    }

    /// Points with no drawable neighbour on either side: a path draws nothing for them, so they get a dot.
    /// (Drawable: finite, and positive on a log scale.)
    static func isolated(_ series: ChartSeries, y: any AxisScale) -> [(layer: Int, value: Double?)] {
        let p = series.points
        let drawable = p.map { $0.value.flatMap { y.position($0) } != nil }
        return p.indices.filter { i in
            drawable[i] && (i == 0 || !drawable[i - 1]) && (i == p.count - 1 || !drawable[i + 1])
        }.map { p[$0] }
    }

    static func drawAxes(_ svg: inout SVGWriter, x: LinearScale, y: any AxisScale, xTitle: String, yTitle: String, xTitleBelow: Double = 38) {
        let bottom = plotTop + plotHeight
        svg.raw("<defs><clipPath id=\"plot\"><rect x=\"\(fmt(marginLeft - 3))\" y=\"\(fmt(plotTop - 3))\" width=\"\(fmt(width - marginLeft - marginRight + 6))\" height=\"\(fmt(plotHeight + 6))\"/></clipPath></defs>")
        svg.open("g", ["class": "axis y"])
        for tick in y.ticks() {
            guard let py = y.position(tick.value) else { continue }
            svg.element("line", ["x1": fmt(marginLeft), "x2": fmt(width - marginRight), "y1": fmt(py), "y2": fmt(py), "class": "grid"])
            svg.text(tick.label, x: marginLeft - 6, y: py + 4, attributes: ["text-anchor": "end"])
        }
        svg.close("g")
        svg.open("g", ["class": "axis x"])
        for tick in x.ticks() {
            guard let px = x.position(tick.value) else { continue }
            svg.element("line", ["x1": fmt(px), "x2": fmt(px), "y1": fmt(bottom), "y2": fmt(bottom + 5), "class": "tick"])
            svg.text(tick.label, x: px, y: bottom + 18, attributes: ["text-anchor": "middle"])
        }
        svg.close("g")
        svg.element("rect", ["x": fmt(marginLeft), "y": fmt(plotTop), "width": fmt(width - marginLeft - marginRight), "height": fmt(plotHeight), "class": "frame"])
        svg.text(xTitle, x: marginLeft + (width - marginLeft - marginRight) / 2, y: bottom + xTitleBelow, attributes: ["class": "axis-title", "text-anchor": "middle"])
        svg.text(yTitle, x: 0, y: 0, attributes: [
            "class": "axis-title", "text-anchor": "middle",
            "transform": "translate(16 \(fmt(plotTop + plotHeight / 2))) rotate(-90)",
        ])
    }

    // MARK: Heat map

    /// At most this many columns: deeper nets show every k-th layer (the description says which).
    package static let maxHeatMapColumns = 200

    static func renderHeatMap(_ run: Run, pass: ChartOptions.Pass, title: String?, note: String?) -> String {
        let layers = run.result.layers
        let stride = max(1, (layers.count + maxHeatMapColumns - 1) / maxHeatMapColumns)
        let shown = Swift.stride(from: 0, to: layers.count, by: stride).map { layers[$0] }
        let histograms = shown.map { run.result.stats(of: $0, pass: pass)?.histogram }
        let bins = histograms.compactMap { $0?.counts.count }.max() ?? 1
        let maxCount = histograms.compactMap { $0?.counts.max() }.max() ?? 0
        let passText = pass == .forward ? "activations (forward)" : "activation gradients (backward)"
        let heading = (title ?? "Histogram per layer of the \(passText): \(run.label)") + (note.map { " — \($0)" } ?? "")
        let plotWidth = width - marginLeft - marginRight - 60
        let height = plotTop + plotHeight + 56
        var description = "x = layer, y = histogram bin within each layer's own range [low, high], colour = log count"
        if stride > 1 { description += "; every \(stride)th layer shown" }
        var svg = SVGWriter(width: width, height: height, title: heading, description: description)
        svg.text(heading, x: marginLeft, y: 24, attributes: ["class": "title"])
        svg.element("rect", ["x": fmt(marginLeft), "y": fmt(plotTop), "width": fmt(plotWidth), "height": fmt(plotHeight), "fill": "#ffffff", "class": "frame"])
        let columnWidth = plotWidth / Double(max(shown.count, 1))
        let rowHeight = plotHeight / Double(bins)
        svg.open("g", ["class": "cells", "shape-rendering": "crispEdges", "data-series": run.label, "data-kind": "histogram"])
        for (column, layer) in shown.enumerated() {
            let x = marginLeft + Double(column) * columnWidth
            guard let histogram = histograms[column] else {
                svg.element("rect", ["x": fmt(x), "y": fmt(plotTop), "width": fmt(columnWidth), "height": fmt(plotHeight), "fill": "url(#hatch)", "data-layer": String(layer.index)])
                continue
            }
            let range = "[\(histogram.low.map(NumberText.short) ?? "NaN"), \(histogram.high.map(NumberText.short) ?? "NaN")]"
            svg.open("g", ["data-layer": String(layer.index)])
            let shape = layer.shape.map { " (\($0.label))" } ?? ""
            svg.raw("<title>layer \(layer.index)\(SVGWriter.escape(shape)): \(SVGWriter.escape(range))</title>")
            for (bin, count) in histogram.counts.enumerated() where count > 0 {
                let y = plotTop + plotHeight - Double(bin + 1) * rowHeight
                svg.element("rect", [
                    "x": fmt(x), "y": fmt(y), "width": fmt(columnWidth + 0.3), "height": fmt(rowHeight + 0.3),
                    "fill": Viridis.colour(count: count, max: maxCount),
                ])
            }
            svg.close("g")
        }
        svg.close("g")
        svg.raw("<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\"><path d=\"M0 6L6 0\" stroke=\"#bbbbbb\"/></pattern></defs>")
        // Axes: layer below, bin index left.
        let xScale = LinearScale(domain: (0.5, Double(shown.count) + 0.5), range: (marginLeft, marginLeft + plotWidth))
        svg.open("g", ["class": "axis x"])
        for tick in LinearScale(domain: (1, Double(max(layers.count, 2))), range: (0, 1)).ticks() {
            let column = (Double(Int(tick.value) - 1) / Double(stride)) + 1
            guard let px = xScale.position(column) else { continue }
            svg.element("line", ["x1": fmt(px), "x2": fmt(px), "y1": fmt(plotTop + plotHeight), "y2": fmt(plotTop + plotHeight + 5), "class": "tick"])
            svg.text(tick.label, x: px, y: plotTop + plotHeight + 18, attributes: ["text-anchor": "middle"])
        }
        svg.close("g")
        svg.open("g", ["class": "axis y"])
        for (label, fraction) in [("low", 0.0), ("mid", 0.5), ("high", 1.0)] {
            let y = plotTop + plotHeight - fraction * plotHeight
            svg.text(label, x: marginLeft - 6, y: y + 4, attributes: ["text-anchor": "end"])
        }
        svg.close("g")
        svg.text("layer", x: marginLeft + plotWidth / 2, y: plotTop + plotHeight + 38, attributes: ["class": "axis-title", "text-anchor": "middle"])
        svg.text("bin (\(bins) per layer)", x: 0, y: 0, attributes: [
            "class": "axis-title", "text-anchor": "middle", "transform": "translate(16 \(fmt(plotTop + plotHeight / 2))) rotate(-90)",
        ])
        // Colour bar: log count.
        let barX = marginLeft + plotWidth + 18
        svg.raw("<defs><linearGradient id=\"viridis\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">" + Viridis.stops.enumerated().map { i, c in
            "<stop offset=\"\(fmt(Double(i) / Double(Viridis.stops.count - 1)))\" stop-color=\"\(c)\"/>"
        }.joined() + "</linearGradient></defs>")
        svg.element("rect", ["x": fmt(barX), "y": fmt(plotTop), "width": "14", "height": fmt(plotHeight), "fill": "url(#viridis)", "class": "colorbar"])
        svg.text(String(max(maxCount, 1)), x: barX + 18, y: plotTop + 10, attributes: ["class": "note"])
        svg.text("1", x: barX + 18, y: plotTop + plotHeight, attributes: ["class": "note"])
        svg.text("count (log)", x: 0, y: 0, attributes: [
            "class": "note", "text-anchor": "middle", "transform": "translate(\(fmt(barX + 30)) \(fmt(plotTop + plotHeight / 2))) rotate(90)",
        ])
        return svg.finish()
    }
}

/// Viridis, sampled at nine stops; counts map through log(count)/log(max) so sparse bins stay visible.
enum Viridis {
    static let stops = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"]

    static func colour(count: Int, max: Int) -> String {
        let t = max > 1 ? log(Double(count)) / log(Double(max)) : 1
        return colour(at: Swift.min(Swift.max(t, 0), 1))
    }

    static func colour(at t: Double) -> String {
        let position = t * Double(stops.count - 1)
        let i = Swift.min(Int(position), stops.count - 2)
        let f = position - Double(i)
        let a = rgb(stops[i]), b = rgb(stops[i + 1])
        let mixed = (0..<3).map { Int((Double(a[$0]) * (1 - f) + Double(b[$0]) * f).rounded()) }
        return "#" + mixed.map { String(format: "%02x", $0) }.joined()
    }

    static func rgb(_ hex: String) -> [Int] {
        let digits = Array(hex.dropFirst())
        return stride(from: 0, to: 6, by: 2).map { Int(String(digits[$0..<$0 + 2]), radix: 16) ?? 0 }
    }
}

/// Fixed-point coordinates with at most two decimals: compact and byte-stable.
func fmt(_ value: Double) -> String {
    let rounded = (value * 100).rounded() / 100
    if rounded == rounded.rounded() { return String(Int(rounded)) }
    return String(format: "%.2f", rounded).replacingOccurrences(of: #"0$"#, with: "", options: .regularExpression)
}
