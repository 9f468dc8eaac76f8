/// Exports a result as CSV (RFC 4180): a header row, then one row per layer with one column per statistic
/// (pre-activation, activation, activation gradient, weight gradient; theory; LSUV iterations; a cnn layer's
/// shape, e.g. `conv 8×24×24 → pool 8×12×12`). Lines end in
/// CRLF; a field holding a comma, a double quote, CR or LF is quoted with inner quotes doubled. A non-finite
/// statistic (JSON null) is an empty field; numbers use Swift's shortest round-trip form (`1e-05`, `0.5838`),
/// which spreadsheets and `Double(_:)` read back exactly.
package enum CSVExport {
    static let tensors = ["preactivation", "activation", "activation_grad", "weight_grad"]
    static let theoryColumns = [
        "theory_q", "theory_predicted_preactivation_std", "theory_predicted_activation_std",
        "theory_predicted_activation_grad_std",
    ]

    /// The header row's field names, in order.
    package static var header: [String] {
        ["layer", "fan_in", "fan_out"]
            + tensors.flatMap { tensor in ChartResult.Stats.columnNames.map { "\(tensor)_\($0)" } }
            + theoryColumns + ["lsuv_iterations", "shape"]
    }

    /// What a row is: a layer (the default), or a training run's step (`rows=steps`: step, training loss,
    /// learning rate, and the validation loss and accuracy on the steps that were evaluated). A row's step is
    /// the number of updates made before its measurements, as the result's `evals[].step` and
    /// `snapshots[].step`: `train_loss[k]` (the k-th mini-batch, before its update) is row k, and the last
    /// evaluation (after every update) has a row of its own with no training loss.
    package enum Rows: String, Sendable, CaseIterable {
        case layers, steps
    }

    package static let stepsHeader = ["step", "train_loss", "learning_rate", "validation_loss", "validation_accuracy"]

    package static func render(_ result: ChartResult, rows: Rows) -> String {
        switch rows {
        case .layers: return render(result)
        case .steps:
            var out = line(stepsHeader)
            guard let training = result.training else { return out }
            var evals: [Int: ChartResult.Training.Eval] = [:]
            for e in training.evals { evals[e.step] = e }
            let last = max(training.trainLoss.count - 1, training.evals.map(\.step).max() ?? 0)
            for step in 0...max(0, last) {
                let loss = step < training.trainLoss.count ? training.trainLoss[step] : nil
                let rate = step < training.learningRate.count ? training.learningRate[step] : nil
                guard loss != nil || rate != nil || evals[step] != nil else { continue }
                out += line([String(step), number(loss), number(rate), number(evals[step]?.loss), number(evals[step]?.accuracy)])
            }
            return out
        }
    }

    package static func render(_ result: ChartResult) -> String {
        var out = line(header)
        let missing = [Double?](repeating: nil, count: ChartResult.Stats.columnNames.count)
        for layer in result.layers {
            var fields = [String(layer.index), String(layer.fanIn), String(layer.fanOut)]
            let values =
                layer.forward.preactivation.columnValues + layer.forward.activation.columnValues
                + (layer.backward?.activationGrad.columnValues ?? missing) + (layer.backward?.weightGrad.columnValues ?? missing)
                + [layer.theory?.q, layer.theory?.predictedPreactivationStd, layer.theory?.predictedActivationStd, layer.theory?.predictedActivationGradStd]
            fields += values.map(number)
            fields.append(layer.lsuvIterations.map(String.init) ?? "")
            fields.append(layer.shape?.label ?? "")
            out += line(fields)
        }
        return out
    }

    static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func line(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\r\n"
    }

    /// One RFC 4180 field: quoted when it holds a comma, a double quote, CR or LF.
    package static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
