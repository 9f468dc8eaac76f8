import InitCore

extension ValidatedSpec {
    /// The `train` block's ranges and its rules against the rest of the spec. A training run draws its examples
    /// from `train.dataset` and trains with softmax cross-entropy over 10 classes, so `input` must stay gaussian
    /// and `loss` none (both are left out of its canonical form); every layer trains its own matrix, so
    /// `weights` must be per_layer; the spec's `batch` is the one training batch, so `train.batch` may only
    /// repeat it. Messages name the limit (built from `limits`) and the value given.
    static func validateTrain(_ t: TrainSpec, of draft: ExperimentSpec, limits: ExperimentLimits, errors: inout [FieldProblem]) {
        func problem(_ pointer: String, _ detail: String) { errors.append(FieldProblem(pointer: pointer, detail: detail)) }
        func number(_ x: Double, _ pointer: String, _ text: String, _ ok: (Double) -> Bool) {
            if !(x.isFinite && ok(x)) { problem(pointer, "must be \(text), got \(formatNumber(x))") }
        }
        let p = "/train"
        if draft.input != .gaussian {
            problem("/input", "must be gaussian (or absent) for a training run: its examples come from train.dataset")
        }
        if draft.loss != .none {
            problem("/loss", "must be none (or absent) for a training run: it trains with softmax cross-entropy over \(TrainSpec.classes) classes")
        }
        if draft.weights == .shared {
            problem("/weights", "must be per_layer for a training run (every layer trains its own matrix)")
        }
        if t.batch != draft.batch {
            problem(p + "/batch", "must equal batch (\(draft.batch)), the training batch (omit it to use batch), got \(t.batch)")
        }
        if t.dataset.needsDownload && draft.batch > ExperimentLimits.trainSplitImages {
            problem("/batch", "must be at most \(ExperimentLimits.trainSplitImages) (the training images of \(t.dataset.rawValue)), got \(draft.batch)")
        }
        let stepsValid = t.steps >= 1 && t.steps <= limits.maxTrainSteps
        if !stepsValid { problem(p + "/steps", "must be \(limits.stepsText), got \(t.steps)") }
        if stepsValid {
            let every = ExperimentLimits.integer(1, t.steps)
            if t.evalEvery < 1 || t.evalEvery > t.steps { problem(p + "/eval_every", "must be \(every) (steps), got \(t.evalEvery)") }
            if t.statsEvery < 1 || t.statsEvery > t.steps { problem(p + "/stats_every", "must be \(every) (steps), got \(t.statsEvery)") }
        }
        let size = t.validationSize ?? ExperimentLimits.maxValidationSize
        if size < 1 || size > ExperimentLimits.maxValidationSize {
            problem(p + "/validation_size", "must be \(ExperimentLimits.integer(1, ExperimentLimits.maxValidationSize)) (the test images), got \(size)")
        }
        if t.targets.count > ExperimentLimits.maxTargets {
            problem(p + "/targets", "must hold at most \(ExperimentLimits.maxTargets) accuracies, got \(t.targets.count)")
        }
        for (i, target) in t.targets.enumerated() {
            number(target, p + "/targets/\(i)", ExperimentLimits.accuracyText) { $0 > 0 && $0 <= 1 }
        }

        let o = p + "/optimizer", opt = t.optimizer, lr = t.schedule.lr
        number(lr, o + "/lr", ExperimentLimits.positiveText) { $0 > 0 }
        number(opt.weightDecay, o + "/weight_decay", ExperimentLimits.nonNegativeText) { $0 >= 0 }
        if let clip = opt.gradientClip { number(clip, o + "/grad_clip", ExperimentLimits.positiveText + " (or null: no clipping)") { $0 > 0 } }
        switch opt.kind {
        case .sgd:
            number(opt.momentum, o + "/momentum", ExperimentLimits.fractionText) { $0 >= 0 && $0 < 1 }
            if opt.nesterov && !(opt.momentum > 0) {
                problem(o + "/nesterov", "must be false when momentum is 0 (Nesterov momentum needs momentum > 0)")
            }
        case .adam, .adamw:
            number(opt.beta1, o + "/beta1", ExperimentLimits.fractionText) { $0 >= 0 && $0 < 1 }
            number(opt.beta2, o + "/beta2", ExperimentLimits.fractionText) { $0 >= 0 && $0 < 1 }
            number(opt.epsilon, o + "/eps", ExperimentLimits.positiveText) { $0 > 0 }
        }

        let s = p + "/schedule", warmup = t.schedule.warmupSteps
        if stepsValid, warmup < 0 || warmup > t.steps {
            problem(s + "/warmup_steps", "must be \(ExperimentLimits.integer(0, t.steps)) (steps), got \(warmup)")
        }
        switch t.schedule.kind {
        case .constant: break
        case .step(let every, let gamma):
            if stepsValid, every < 1 || every > t.steps {
                problem(s + "/step_size", "must be \(ExperimentLimits.integer(1, t.steps)) (steps), got \(every)")
            }
            number(gamma, s + "/gamma", ExperimentLimits.accuracyText) { $0 > 0 && $0 <= 1 }
        case .cosine(let minimum):
            number(minimum, s + "/min_lr", "a number 0 ... lr (\(formatNumber(lr)))") { $0 >= 0 && $0 <= lr }
        case .oneCycle(let pctStart, let div, let finalDiv):
            number(pctStart, s + "/pct_start", ExperimentLimits.openFractionText) { $0 > 0 && $0 < 1 }
            number(div, s + "/div", ExperimentLimits.divisorText) { $0 >= 1 }
            number(finalDiv, s + "/final_div", ExperimentLimits.divisorText) { $0 >= 1 }
        }
    }
}
