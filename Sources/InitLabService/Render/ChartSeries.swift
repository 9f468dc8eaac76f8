/// The numbers one chart line is drawn from: one optional value per layer (`nil` = non-finite or absent).
package struct ChartSeries: Sendable, Equatable {
    package enum Kind: String, Sendable {
        case measured, theory
    }

    package var label: String
    package var kind: Kind
    /// Index into the palette: a run's measured and theory lines share a colour.
    package var colorIndex: Int
    /// `(layer index, value)`; layer indices are 1-based as in the contract.
    package var points: [(layer: Int, value: Double?)]
    /// The first layer whose tensor held inf/NaN, marked on the chart ("inf/NaN from layer N").
    package var firstNonfiniteLayer: Int?

    package init(label: String, kind: Kind, colorIndex: Int, points: [(layer: Int, value: Double?)], firstNonfiniteLayer: Int? = nil) {
        self.label = label
        self.kind = kind
        self.colorIndex = colorIndex
        self.points = points
        self.firstNonfiniteLayer = firstNonfiniteLayer
    }

    package static func == (a: ChartSeries, b: ChartSeries) -> Bool {
        a.label == b.label && a.kind == b.kind && a.colorIndex == b.colorIndex
            && a.firstNonfiniteLayer == b.firstNonfiniteLayer
            && a.points.map(\.layer) == b.points.map(\.layer) && a.points.map(\.value) == b.points.map(\.value)
    }
}

extension ChartResult {
    /// The tensor a pass is summarized by: the post-activation output forward, the activation gradient backward.
    package func stats(of layer: Layer, pass: ChartOptions.Pass) -> Stats? {
        switch pass {
        case .forward: layer.forward.activation
        case .backward: layer.backward?.activationGrad
        }
    }

    /// The measured line for a metric (not `histogram`), with its first non-finite layer.
    package func measuredSeries(_ options: ChartOptions, label: String, colorIndex: Int) -> ChartSeries {
        var firstNonfinite: Int?
        let points: [(layer: Int, value: Double?)] = layers.map { layer in
            let stats = self.stats(of: layer, pass: options.pass)
            let value: Double? =
                switch options.metric {
                case .std: stats?.std
                case .mean: stats?.mean
                case .deadFraction: stats?.deadFraction
                case .histogram: nil
                }
            if firstNonfinite == nil, let stats, (stats.nonfiniteFraction ?? 1) > 0 || (value == nil && options.metric != .histogram) {
                firstNonfinite = layer.index
            }
            return (layer.index, value.flatMap { $0.isFinite ? $0 : nil })
        }
        return ChartSeries(label: label, kind: .measured, colorIndex: colorIndex, points: points, firstNonfiniteLayer: firstNonfinite)
    }

    /// The mean-field prediction for `std` (post-activation forward, activation gradient backward); `nil` when
    /// the result carries no prediction for this pass or the metric has none.
    package func theorySeries(_ options: ChartOptions, label: String, colorIndex: Int) -> ChartSeries? {
        guard options.metric == .std else { return nil }
        let points: [(layer: Int, value: Double?)] = layers.map { layer in
            let value: Double? =
                switch options.pass {
                case .forward: layer.theory?.predictedActivationStd
                case .backward: layer.theory?.predictedActivationGradStd
                }
            return (layer.index, value.flatMap { $0.isFinite ? $0 : nil })
        }
        guard points.contains(where: { $0.value != nil }) else { return nil }
        return ChartSeries(label: label + " (theory)", kind: .theory, colorIndex: colorIndex, points: points)
    }
}
