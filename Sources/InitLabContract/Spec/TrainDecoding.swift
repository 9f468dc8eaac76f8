import InitCore

/// Reads a spec's `train` block (see `TrainSpec`): every key's type and shape, unknown keys, and the defaults.
/// Ranges and cross-field rules are `ValidatedSpec.validateTrain`'s. The wire form:
///
///     "train": {"dataset": "fashion-mnist", "steps": 300, "batch": 64,
///               "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": false,
///                             "weight_decay": 0, "grad_clip": null},
///               "schedule": {"name": "one_cycle", "pct_start": 0.25, "div": 25, "final_div": 100000},
///               "eval_every": 15, "stats_every": 15, "validation_size": 10000, "seed": 0, "targets": [0.5, 0.8]}
///
/// Required: `dataset` and `steps`. Defaults: `batch` the spec's `batch` (the one training batch); `optimizer`
/// sgd; `lr` 0.001 and Adam's β₁ 0.9, β₂ 0.999, eps 1e-8 (PyTorch's); `weight_decay` 0 (adamw: 0.01, PyTorch's);
/// `grad_clip` null (none); `schedule` constant, `warmup_steps` 0, step's `gamma` 0.1, cosine's `min_lr` 0,
/// one_cycle's `pct_start` 0.25, `div` 25, `final_div` 1e5 (fastai's `fit_one_cycle`); `eval_every` and
/// `stats_every` max(1, steps / 20); `validation_size` 10,000; `seed` 0; `targets` [0.5, 0.8]. A bare name is
/// accepted for `optimizer` and `schedule`. null is the default, as at the top level.
extension SpecDecoder {
    static let trainKeys = [
        "batch", "dataset", "eval_every", "optimizer", "schedule", "seed", "stats_every", "steps", "targets", "validation_size",
    ]
    static let sgdKeys = ["grad_clip", "lr", "momentum", "name", "nesterov", "weight_decay"]
    static let adamKeys = ["beta1", "beta2", "eps", "grad_clip", "lr", "name", "weight_decay"]

    static func scheduleKeys(_ name: String) -> [String] {
        switch name {
        case "step": ["gamma", "name", "step_size", "warmup_steps"]
        case "cosine": ["min_lr", "name", "warmup_steps"]
        case "one_cycle": ["div", "final_div", "name", "pct_start"]
        default: ["name", "warmup_steps"]
        }
    }

    /// PyTorch's default learning rate (`torch.optim.SGD`, `Adam`, `AdamW`).
    static let defaultLR = 0.001
    /// Evaluations and snapshots a run makes by default: about 20.
    static func defaultEvery(steps: Int) -> Int { max(1, steps / 20) }

    mutating func train(_ value: JSONValue, specBatch: Int?) -> TrainSpec? {
        let p = "/train"
        guard case .object(let object) = value else {
            errors.append(FieldProblem(pointer: p, detail: "must be an object {\"dataset\": \(ExperimentLimits.datasetText), \"steps\": \(limits.stepsText), ...}"))
            return nil
        }
        let before = errors.count
        unknownKeys(object, Self.trainKeys, at: p)
        var dataset: TrainDataset?, steps: Int?, batch = specBatch, evalEvery: Int?, statsEvery: Int?, seed: UInt64 = 0
        var validationSize = ExperimentLimits.maxValidationSize, targets = [0.5, 0.8]
        var optimizer: (spec: OptimizerSpec, lr: Double)? = (OptimizerSpec(kind: .sgd), Self.defaultLR)
        var schedule: (kind: ScheduleKind, warmup: Int)? = (.constant, 0)
        if let v = member(object, "dataset", required: true, expected: "one of \(ExperimentLimits.datasetText)", at: p) {
            dataset = choice(v, p + "/dataset", TrainDataset.self)
        }
        if let v = member(object, "steps", required: true, expected: limits.stepsText, at: p) { steps = int(v, p + "/steps", limits.stepsText) }
        if let v = member(object, "batch", required: false, expected: "", at: p) { batch = int(v, p + "/batch", limits.batchText) }
        let everyText = "an integer 1 ... steps (\(steps.map(String.init) ?? "steps"))"
        if let v = member(object, "eval_every", required: false, expected: "", at: p) { evalEvery = int(v, p + "/eval_every", everyText) }
        if let v = member(object, "stats_every", required: false, expected: "", at: p) { statsEvery = int(v, p + "/stats_every", everyText) }
        if let v = member(object, "validation_size", required: false, expected: "", at: p) {
            validationSize = int(v, p + "/validation_size", ExperimentLimits.integer(1, ExperimentLimits.maxValidationSize)) ?? 0
        }
        if let v = member(object, "seed", required: false, expected: "", at: p) { seed = self.seed(v, p + "/seed") ?? 0 }
        if let v = member(object, "targets", required: false, expected: "", at: p) { targets = self.targets(v, p + "/targets") }
        if let v = member(object, "optimizer", required: false, expected: "", at: p) { optimizer = self.optimizer(v, p + "/optimizer") }
        if let v = member(object, "schedule", required: false, expected: "", at: p) { schedule = self.schedule(v, p + "/schedule") }
        guard errors.count == before, let dataset, let steps, let batch, let optimizer, let schedule else { return nil }
        return TrainSpec(
            dataset: dataset, steps: steps, batch: batch, optimizer: optimizer.spec,
            schedule: LearningRateSchedule(lr: optimizer.lr, kind: schedule.kind, warmupSteps: schedule.warmup),
            evalEvery: evalEvery ?? Self.defaultEvery(steps: steps), statsEvery: statsEvery ?? Self.defaultEvery(steps: steps),
            validationSize: validationSize, seed: seed, targets: targets)
    }

    mutating func unknownKeys(_ object: [String: JSONValue], _ allowed: [String], at pointer: String, owner: String = "") {
        for key in object.keys.sorted() where !allowed.contains(key) {
            errors.append(FieldProblem(pointer: pointer + "/" + JSONPointer.escape(key), detail: "unknown key; allowed keys\(owner): \(allowed.joined(separator: ", "))"))
        }
    }

    /// Any JSON number (JSON has no infinities); −0 is 0, as in scheme parameters.
    mutating func number(_ value: JSONValue, _ pointer: String, _ expected: String) -> Double? {
        if case .number(let n) = value { return n.double == 0 ? 0 : n.double }
        errors.append(FieldProblem(pointer: pointer, detail: "must be \(expected)"))
        return nil
    }

    mutating func bool(_ value: JSONValue, _ pointer: String) -> Bool? {
        if case .bool(let b) = value { return b }
        errors.append(FieldProblem(pointer: pointer, detail: "must be true or false"))
        return nil
    }

    mutating func targets(_ value: JSONValue, _ pointer: String) -> [Double] {
        guard case .array(let items) = value else {
            errors.append(FieldProblem(pointer: pointer, detail: "must be an array of at most \(ExperimentLimits.maxTargets) accuracies, each \(ExperimentLimits.accuracyText)"))
            return []
        }
        return items.enumerated().compactMap { i, item in number(item, pointer + "/\(i)", ExperimentLimits.accuracyText) }
    }

    /// A name, or `{"name": ..., params...}` with the optimizer's own keys; returns the optimizer and its lr.
    mutating func optimizer(_ value: JSONValue, _ p: String) -> (spec: OptimizerSpec, lr: Double)? {
        let names = ExperimentLimits.optimizerText
        let object: [String: JSONValue]
        switch value {
        case .string: object = ["name": value]
        case .object(let o): object = o
        default:
            errors.append(FieldProblem(pointer: p, detail: "must be an optimizer name (\(names)) or an object {\"name\": ..., \"lr\": ..., ...}"))
            return nil
        }
        let pointer = value.object == nil ? p : p + "/name"
        guard case .string(let name) = object["name"], let kind = OptimizerKind(rawValue: name) else {
            errors.append(FieldProblem(pointer: pointer, detail: object["name"] == nil ? "is required: one of \(names)" : "must be one of \(names)"))
            return nil
        }
        let before = errors.count
        unknownKeys(object, kind == .sgd ? Self.sgdKeys : Self.adamKeys, at: p, owner: " of \(name)")
        var spec = OptimizerSpec(kind: kind, weightDecay: kind == .adamw ? 0.01 : 0)
        var lr = Self.defaultLR
        func read(_ key: String) -> JSONValue? { member(object, key, required: false, expected: "", at: p) }
        if let v = read("lr") { lr = number(v, p + "/lr", ExperimentLimits.positiveText) ?? lr }
        if let v = read("weight_decay") { spec.weightDecay = number(v, p + "/weight_decay", ExperimentLimits.nonNegativeText) ?? 0 }
        if let v = read("grad_clip") { spec.gradientClip = number(v, p + "/grad_clip", ExperimentLimits.positiveText + " (or null: no clipping)") }
        if kind == .sgd {
            if let v = read("momentum") { spec.momentum = number(v, p + "/momentum", ExperimentLimits.fractionText) ?? 0 }
            if let v = read("nesterov") { spec.nesterov = bool(v, p + "/nesterov") ?? false }
        } else {
            if let v = read("beta1") { spec.beta1 = number(v, p + "/beta1", ExperimentLimits.fractionText) ?? 0 }
            if let v = read("beta2") { spec.beta2 = number(v, p + "/beta2", ExperimentLimits.fractionText) ?? 0 }
            if let v = read("eps") { spec.epsilon = number(v, p + "/eps", ExperimentLimits.positiveText) ?? 0 }
        }
        return errors.count == before ? (spec, lr) : nil
    }

    /// A name, or `{"name": ..., params...}` with the schedule's own keys; returns the kind and the warm-up.
    mutating func schedule(_ value: JSONValue, _ p: String) -> (kind: ScheduleKind, warmup: Int)? {
        let names = ExperimentLimits.scheduleNames.joined(separator: ", ")
        let object: [String: JSONValue]
        switch value {
        case .string: object = ["name": value]
        case .object(let o): object = o
        default:
            errors.append(FieldProblem(pointer: p, detail: "must be a schedule name (\(names)) or an object {\"name\": ..., ...}"))
            return nil
        }
        let bare = value.object == nil
        guard case .string(let name) = object["name"], ExperimentLimits.scheduleNames.contains(name) else {
            errors.append(FieldProblem(pointer: bare ? p : p + "/name", detail: object["name"] == nil ? "is required: one of \(names)" : "must be one of \(names)"))
            return nil
        }
        let before = errors.count
        unknownKeys(object, Self.scheduleKeys(name), at: p, owner: " of \(name)")
        func read(_ key: String) -> JSONValue? { member(object, key, required: false, expected: "", at: p) }
        var warmup = 0
        if let v = read("warmup_steps") { warmup = int(v, p + "/warmup_steps", "an integer 0 ... steps") ?? 0 }
        var kind = ScheduleKind.constant
        switch name {
        case "step":
            var gamma = 0.1
            if let v = read("gamma") { gamma = number(v, p + "/gamma", ExperimentLimits.accuracyText) ?? gamma }
            guard let v = object["step_size"], v != .null else {
                errors.append(FieldProblem(pointer: bare ? p : p + "/step_size", detail: bare
                    ? "step needs step_size: {\"name\": \"step\", \"step_size\": 1 ... steps, \"gamma\": 0.1}"
                    : "is required: an integer 1 ... steps"))
                return nil
            }
            kind = .step(every: int(v, p + "/step_size", "an integer 1 ... steps") ?? 1, gamma: gamma)
        case "cosine":
            var minimum = 0.0
            if let v = read("min_lr") { minimum = number(v, p + "/min_lr", "a number 0 ... lr") ?? 0 }
            kind = .cosine(minimum: minimum)
        case "one_cycle":
            var pctStart = 0.25, div = 25.0, finalDiv = 1e5
            if let v = read("pct_start") { pctStart = number(v, p + "/pct_start", ExperimentLimits.openFractionText) ?? pctStart }
            if let v = read("div") { div = number(v, p + "/div", ExperimentLimits.divisorText) ?? div }
            if let v = read("final_div") { finalDiv = number(v, p + "/final_div", ExperimentLimits.divisorText) ?? finalDiv }
            kind = .oneCycle(pctStart: pctStart, div: div, finalDiv: finalDiv)
        default: break
        }
        return errors.count == before ? (kind, warmup) : nil
    }
}
