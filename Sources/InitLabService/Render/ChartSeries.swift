/// The numbers one chart line is drawn from: one optional value per layer (`nil` = non-finite or absent).
package struct ChartSeries: Sendable, Equatable {
    package enum Kind: String, Sendable {
        case measured, theory
        /// A training run's validation curve (dashed, as theory).
        case validation

        var isDashed: Bool { self != .measured }
    }

    package var label: String
    package var kind: Kind
    /// Index into the palette: a run's measured and theory lines share a colour.
    package var colorIndex: Int
    /// `(layer index, value)`; layer indices are 1-based as in the contract. For training curves the x is the
    /// step: the updates made before the measurement (`train_loss[k]` at k, an evaluation at its `step`).
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
                case .histogram, .loss, .accuracy: nil
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

extension ChartResult {
    /// A training run's curves for `loss` (the training loss of every step, and the validation loss of every
    /// evaluation, dashed) or `accuracy` (the validation accuracy); empty for an init-time result. A non-finite
    /// training loss marks "inf/NaN from step N".
    package func trainingSeries(_ options: ChartOptions, label: String, colorIndex: Int) -> [ChartSeries] {
        guard let training else { return [] }
        let finite: (Double?) -> Double? = { $0.flatMap { $0.isFinite ? $0 : nil } }
        switch options.metric {
        case .loss:
            let steps = training.trainLoss.enumerated().map { (layer: $0.offset, value: finite($0.element)) }
            let firstNonfinite = training.trainLoss.firstIndex { $0.map { !$0.isFinite } ?? true }
            return [
                ChartSeries(label: label + " (training)", kind: .measured, colorIndex: colorIndex, points: steps, firstNonfiniteLayer: firstNonfinite),
                ChartSeries(label: label + " (validation)", kind: .validation, colorIndex: colorIndex,
                            points: training.evals.map { (layer: $0.step, value: finite($0.loss)) }),
            ]
        case .accuracy:
            return [ChartSeries(label: label, kind: .measured, colorIndex: colorIndex,
                                points: training.evals.map { (layer: $0.step, value: finite($0.accuracy)) })]
        default:
            return []
        }
    }
}
