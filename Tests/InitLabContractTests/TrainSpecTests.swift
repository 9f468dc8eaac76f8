import Foundation
import InitCore
import InitLabContract
import TestSupport
import Testing

@Suite("Training spec: decoding, defaults, validation, canonical form", .offCooperativePool)
struct TrainSpecTests {
    /// A valid init-time spec; `train` (a JSON object's text) is added when given, and `extra` top-level members.
    static func body(train: String?, extra: String = "") -> String {
        var text = #"{"depth": 2, "width": 16, "batch": 16, "init": "kaiming_normal", "activation": "relu""#
        if let train { text += #", "train": \#(train)"# }
        if !extra.isEmpty { text += ", " + extra }
        return text + "}"
    }

    func decode(_ json: String, limits: ExperimentLimits = .default) throws(SpecProblems) -> ExperimentSpec {
        try ExperimentSpec.decodeValidated(from: Data(json.utf8), limits: limits)
    }

    func errors(_ json: String, limits: ExperimentLimits = .default) -> [FieldProblem] {
        do {
            _ = try decode(json, limits: limits)
            return []
        } catch {
            return error.errors
        }
    }

    static func canonical(_ spec: ExperimentSpec) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(spec), as: UTF8.self)
    }

    // MARK: Defaults and the canonical form

    @Test func defaults() throws {
        let spec = try decode(Self.body(train: #"{"dataset": "teacher", "steps": 40}"#))
        let t = try #require(spec.train)
        #expect(t == TrainSpec(
            dataset: .teacher, steps: 40, batch: 16, optimizer: OptimizerSpec(kind: .sgd),
            schedule: LearningRateSchedule(lr: 0.001), evalEvery: 2, statsEvery: 2, validationSize: 10_000, seed: 0,
            targets: [0.5, 0.8]))
        #expect(spec.inputWidth == 16 && spec.input == .gaussian && spec.loss == LossKind.none)
        // Fewer than 20 steps: every step.
        #expect(try decode(Self.body(train: #"{"dataset": "teacher", "steps": 7}"#)).train?.evalEvery == 1)
        // AdamW's weight decay defaults to PyTorch's 0.01, Adam's to 0; nulls are the defaults.
        let adamw = try decode(Self.body(train: #"{"dataset": "teacher", "steps": 40, "optimizer": "adamw", "schedule": null, "seed": null}"#))
        #expect(adamw.train?.optimizer == OptimizerSpec(kind: .adamw, weightDecay: 0.01))
        #expect(adamw.train?.schedule == LearningRateSchedule(lr: 0.001))
        let adam = try decode(Self.body(train: #"{"dataset": "teacher", "steps": 40, "optimizer": {"name": "adam", "lr": 0.01}}"#))
        #expect(adam.train?.optimizer == OptimizerSpec(kind: .adam) && adam.train?.schedule.lr == 0.01)
    }

    @Test func canonicalFormOfADefaultedTrainSpec() throws {
        let spec = try decode(Self.body(train: #"{"dataset": "teacher", "steps": 30}"#))
        #expect(try Self.canonical(spec) == #"{"activation":{"name":"relu"},"architecture":{"name":"mlp"},"backward":true,"batch":16,"bias_init":{"name":"zeros"},"depth":2,"histogram_bins":50,"init":{"a":0,"mode":"fan_in","name":"kaiming_normal","nonlinearity":"leaky_relu"},"input_width":16,"seed":0,"train":{"batch":16,"dataset":"teacher","eval_every":1,"optimizer":{"grad_clip":null,"lr":0.001,"momentum":0,"name":"sgd","nesterov":false,"weight_decay":0},"schedule":{"name":"constant","warmup_steps":0},"seed":0,"stats_every":1,"steps":30,"targets":[0.5,0.8],"validation_size":10000},"weights":"per_layer","width":16}"#)
    }

    /// Without `train` (or with `"train": null`) the canonical bytes are today's, key for key.
    @Test func initTimeSpecCanonicalFormIsUnchanged() throws {
        let expected = #"{"activation":{"name":"relu"},"architecture":{"name":"mlp"},"backward":true,"batch":8,"bias_init":{"name":"zeros"},"depth":4,"histogram_bins":50,"init":{"a":0,"mode":"fan_in","name":"kaiming_normal","nonlinearity":"leaky_relu"},"input":"gaussian","input_width":16,"loss":"none","seed":0,"weights":"per_layer","width":16}"#
        for json in [
            #"{"depth": 4, "width": 16, "batch": 8, "init": "kaiming_normal", "activation": "relu"}"#,
            #"{"depth": 4, "width": 16, "batch": 8, "init": "kaiming_normal", "activation": "relu", "train": null}"#,
        ] {
            let spec = try decode(json)
            #expect(spec.train == nil)
            #expect(try Self.canonical(spec) == expected)
        }
    }

    @Test(arguments: [
        #"{"dataset": "fashion-mnist", "steps": 300, "batch": 64, "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": true, "weight_decay": 5e-4, "grad_clip": 1.5}, "schedule": {"name": "one_cycle", "pct_start": 0.3, "div": 10, "final_div": 1e4}, "eval_every": 50, "stats_every": 25, "validation_size": 2000, "seed": 18446744073709551615, "targets": [0.25, 0.5, 0.75]}"#,
        #"{"dataset": "mnist", "steps": 100, "optimizer": {"name": "adamw", "lr": 3e-4, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0}, "schedule": {"name": "cosine", "min_lr": 1e-5, "warmup_steps": 10}, "targets": []}"#,
        #"{"dataset": "teacher", "steps": 90, "optimizer": "adam", "schedule": {"name": "step", "step_size": 30, "gamma": 0.5, "warmup_steps": 5}}"#,
    ])
    func canonicalFormRoundTrips(train: String) throws {
        let spec = try decode(Self.body(train: train).replacingOccurrences(of: #""batch": 16"#, with: #""batch": 64"#))
        let data = Data(try Self.canonical(spec).utf8)
        let again = try ExperimentSpec.decodeValidated(from: data)
        #expect(again == spec)
        #expect(try Self.canonical(again) == String(decoding: data, as: UTF8.self))
        // A stored spec reads back without validation to the same value.
        #expect(try ValidatedSpec(trustedCanonicalJSON: data).spec == spec)
        #expect(ProgressUnit(canonicalSpec: data) == .steps)
    }

    @Test func roundTripKeepsEveryField() throws {
        let spec = try decode(Self.body(train: #"{"dataset": "fashion-mnist", "steps": 300, "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": true, "grad_clip": 1.5}, "schedule": {"name": "one_cycle", "pct_start": 0.3}, "validation_size": 2000, "seed": 7, "targets": [0.25]}"#))
        let t = try #require(spec.train)
        #expect(t.optimizer == OptimizerSpec(kind: .sgd, momentum: 0.9, nesterov: true, gradientClip: 1.5))
        #expect(t.schedule == LearningRateSchedule(lr: 0.05, kind: .oneCycle(pctStart: 0.3, div: 25, finalDiv: 1e5)))
        #expect(t.evalEvery == 15 && t.statsEvery == 15 && t.validationSize == 2000 && t.seed == 7 && t.targets == [0.25])
        // Fashion-MNIST's images are the input: 784 features, filled in.
        #expect(spec.inputWidth == 784)
        let text = try Self.canonical(spec)
        #expect(text.contains(#""input_width":784"#) && !text.contains(#""input""#) && !text.contains(#""loss""#))
        #expect(text.contains(#""schedule":{"div":25,"final_div":100000,"name":"one_cycle","pct_start":0.3}"#))
        #expect(ProgressUnit(canonicalSpec: Data(text.utf8)) == .steps)
    }

    @Test func numbersAreCanonical() throws {
        let a = try decode(Self.body(train: #"{"dataset": "teacher", "steps": 30.0, "optimizer": {"name": "sgd", "lr": 0.1, "weight_decay": -0.0}}"#))
        let b = try decode(Self.body(train: #"{"dataset": "teacher", "steps": 3e1, "optimizer": {"name": "sgd", "lr": 1e-1, "weight_decay": 0}}"#))
        #expect(try Self.canonical(a) == Self.canonical(b))
    }

    @Test func initTimeSpecsCountLayers() throws {
        let spec = try decode(#"{"depth": 4, "width": 16, "batch": 8, "init": "kaiming_normal", "activation": "relu"}"#)
        #expect(ProgressUnit(canonicalSpec: Data(try Self.canonical(spec).utf8)) == .layers)
        // The split "train" of a dataset input is a value, not the train block.
        let dataset = try decode(#"{"depth": 4, "width": 16, "batch": 8, "init": "kaiming_normal", "activation": "relu", "input": {"dataset": "mnist", "split": "train"}}"#)
        #expect(ProgressUnit(canonicalSpec: Data(try Self.canonical(dataset).utf8)) == .layers)
    }

    // MARK: Every problem, with its pointer and the limit

    static let teacher = #""dataset": "teacher", "steps": 30"#

    @Test(arguments: [
        (#"{"dataset": "teacher", "steps": 0}"#, "/train/steps", "must be an integer 1 ... 100000, got 0"),
        (#"{"dataset": "teacher", "steps": 100001}"#, "/train/steps", "must be an integer 1 ... 100000, got 100001"),
        (#"{"dataset": "teacher", "steps": "many"}"#, "/train/steps", "must be an integer 1 ... 100000"),
        (#"{"dataset": "teacher"}"#, "/train/steps", "is required: an integer 1 ... 100000"),
        (#"{"steps": 30}"#, "/train/dataset", "is required: one of mnist, fashion-mnist, teacher"),
        (#"{"dataset": "cifar", "steps": 30}"#, "/train/dataset", "must be one of mnist, fashion-mnist, teacher"),
        (#"{\#(teacher), "batch": 8}"#, "/train/batch", "must equal batch (16), the training batch (omit it to use batch), got 8"),
        (#"{\#(teacher), "eval_every": 31}"#, "/train/eval_every", "must be an integer 1 ... 30 (steps), got 31"),
        (#"{\#(teacher), "stats_every": 0}"#, "/train/stats_every", "must be an integer 1 ... 30 (steps), got 0"),
        (#"{\#(teacher), "validation_size": 10001}"#, "/train/validation_size", "must be an integer 1 ... 10000 (the test images), got 10001"),
        (#"{\#(teacher), "validation_size": 0}"#, "/train/validation_size", "must be an integer 1 ... 10000 (the test images), got 0"),
        (#"{\#(teacher), "seed": -1}"#, "/train/seed", "must be an integer 0 ... 18446744073709551615"),
        (#"{\#(teacher), "targets": [0.5, 1.5]}"#, "/train/targets/1", "must be a number 0 < x ≤ 1, got 1.5"),
        (#"{\#(teacher), "targets": [0]}"#, "/train/targets/0", "must be a number 0 < x ≤ 1, got 0"),
        (#"{\#(teacher), "targets": [0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1]}"#, "/train/targets", "must hold at most 16 accuracies, got 17"),
        (#"{\#(teacher), "targets": 0.5}"#, "/train/targets", "must be an array of at most 16 accuracies, each a number 0 < x ≤ 1"),
        (#"{\#(teacher), "colour": "red"}"#, "/train/colour", "unknown key; allowed keys: batch, dataset, eval_every, optimizer, schedule, seed, stats_every, steps, targets, validation_size"),
        (#"{\#(teacher), "optimizer": {"name": "sgd", "lr": 0}}"#, "/train/optimizer/lr", "must be a finite number > 0, got 0"),
        (#"{\#(teacher), "optimizer": {"name": "adam", "lr": -1}}"#, "/train/optimizer/lr", "must be a finite number > 0, got -1"),
        (#"{\#(teacher), "optimizer": {"name": "sgd", "lr": "fast"}}"#, "/train/optimizer/lr", "must be a finite number > 0"),
        (#"{\#(teacher), "optimizer": {"name": "sgd", "momentum": 1}}"#, "/train/optimizer/momentum", "must be a number 0 ≤ x < 1, got 1"),
        (#"{\#(teacher), "optimizer": {"name": "sgd", "nesterov": true}}"#, "/train/optimizer/nesterov", "must be false when momentum is 0 (Nesterov momentum needs momentum > 0)"),
        (#"{\#(teacher), "optimizer": {"name": "sgd", "nesterov": 1}}"#, "/train/optimizer/nesterov", "must be true or false"),
        (#"{\#(teacher), "optimizer": {"name": "sgd", "weight_decay": -0.1}}"#, "/train/optimizer/weight_decay", "must be a finite number ≥ 0, got -0.1"),
        (#"{\#(teacher), "optimizer": {"name": "sgd", "grad_clip": 0}}"#, "/train/optimizer/grad_clip", "must be a finite number > 0 (or null: no clipping), got 0"),
        (#"{\#(teacher), "optimizer": {"name": "adam", "beta1": -0.5}}"#, "/train/optimizer/beta1", "must be a number 0 ≤ x < 1, got -0.5"),
        (#"{\#(teacher), "optimizer": {"name": "adamw", "beta2": 1}}"#, "/train/optimizer/beta2", "must be a number 0 ≤ x < 1, got 1"),
        (#"{\#(teacher), "optimizer": {"name": "adam", "eps": 0}}"#, "/train/optimizer/eps", "must be a finite number > 0, got 0"),
        (#"{\#(teacher), "optimizer": {"name": "adam", "momentum": 0.9}}"#, "/train/optimizer/momentum", "unknown key; allowed keys of adam: beta1, beta2, eps, grad_clip, lr, name, weight_decay"),
        (#"{\#(teacher), "optimizer": {"name": "sgd", "beta1": 0.9}}"#, "/train/optimizer/beta1", "unknown key; allowed keys of sgd: grad_clip, lr, momentum, name, nesterov, weight_decay"),
        (#"{\#(teacher), "optimizer": "rmsprop"}"#, "/train/optimizer", "must be one of sgd, adam, adamw"),
        (#"{\#(teacher), "optimizer": {"lr": 0.1}}"#, "/train/optimizer/name", "is required: one of sgd, adam, adamw"),
        (#"{\#(teacher), "optimizer": 3}"#, "/train/optimizer", #"must be an optimizer name (sgd, adam, adamw) or an object {"name": ..., "lr": ..., ...}"#),
        (#"{\#(teacher), "schedule": {"name": "constant", "warmup_steps": 31}}"#, "/train/schedule/warmup_steps", "must be an integer 0 ... 30 (steps), got 31"),
        (#"{\#(teacher), "schedule": {"name": "step", "step_size": 0}}"#, "/train/schedule/step_size", "must be an integer 1 ... 30 (steps), got 0"),
        (#"{\#(teacher), "schedule": {"name": "step"}}"#, "/train/schedule/step_size", "is required: an integer 1 ... steps"),
        (#"{\#(teacher), "schedule": "step"}"#, "/train/schedule", #"step needs step_size: {"name": "step", "step_size": 1 ... steps, "gamma": 0.1}"#),
        (#"{\#(teacher), "schedule": {"name": "step", "step_size": 10, "gamma": 0}}"#, "/train/schedule/gamma", "must be a number 0 < x ≤ 1, got 0"),
        (#"{\#(teacher), "optimizer": {"name": "sgd", "lr": 0.05}, "schedule": {"name": "cosine", "min_lr": 0.1}}"#, "/train/schedule/min_lr", "must be a number 0 ... lr (0.05), got 0.1"),
        (#"{\#(teacher), "schedule": {"name": "one_cycle", "pct_start": 1}}"#, "/train/schedule/pct_start", "must be a number 0 < x < 1, got 1"),
        (#"{\#(teacher), "schedule": {"name": "one_cycle", "div": 0.5}}"#, "/train/schedule/div", "must be a finite number ≥ 1, got 0.5"),
        (#"{\#(teacher), "schedule": {"name": "one_cycle", "final_div": 0}}"#, "/train/schedule/final_div", "must be a finite number ≥ 1, got 0"),
        (#"{\#(teacher), "schedule": {"name": "one_cycle", "warmup_steps": 5}}"#, "/train/schedule/warmup_steps", "unknown key; allowed keys of one_cycle: div, final_div, name, pct_start"),
        (#"{\#(teacher), "schedule": "linear"}"#, "/train/schedule", "must be one of constant, step, cosine, one_cycle"),
        (#"[1]"#, "/train", #"must be an object {"dataset": mnist, fashion-mnist, teacher, "steps": an integer 1 ... 100000, ...}"#),
    ])
    func trainFieldProblems(train: String, pointer: String, detail: String) {
        let found = errors(Self.body(train: train))
        #expect(found == [FieldProblem(pointer: pointer, detail: detail)], "got \(found)")
    }

    /// Rules between `train` and the rest of the spec.
    @Test(arguments: [
        (#""input": {"dataset": "mnist"}"#, "/input", "must be gaussian (or absent) for a training run: its examples come from train.dataset"),
        (#""loss": "mse""#, "/loss", "must be none (or absent) for a training run: it trains with softmax cross-entropy over 10 classes"),
        (#""loss": "cross_entropy""#, "/loss", "must be none (or absent) for a training run: it trains with softmax cross-entropy over 10 classes"),
        (#""weights": "shared""#, "/weights", "must be per_layer for a training run (every layer trains its own matrix)"),
    ])
    func crossFieldProblems(extra: String, pointer: String, detail: String) {
        let found = errors(Self.body(train: #"{"dataset": "teacher", "steps": 30}"#, extra: extra))
        #expect(found == [FieldProblem(pointer: pointer, detail: detail)], "got \(found)")
    }

    @Test func datasetImagesAre784Features() throws {
        let found = errors(Self.body(train: #"{"dataset": "fashion-mnist", "steps": 30}"#, extra: #""input_width": 100"#))
        #expect(found == [FieldProblem(pointer: "/input_width", detail: "must be 784 (28×28 pixels) for train.dataset fashion-mnist, got 100")])
        #expect(try decode(Self.body(train: #"{"dataset": "mnist", "steps": 30}"#, extra: #""input_width": 784"#)).inputWidth == 784)
        // The teacher task's input width is the spec's (default width).
        #expect(try decode(Self.body(train: #"{"dataset": "teacher", "steps": 30}"#, extra: #""input_width": 40"#)).inputWidth == 40)
        // A residual net on 784 pixels with width 16: layer 1 is a dense stem and blocks of 2 follow it, so depth − 1
        // must be a multiple of the block size (depth 2 is not: one layer after the stem).
        let residual = errors(Self.body(train: #"{"dataset": "mnist", "steps": 30}"#, extra: #""architecture": "residual""#))
        #expect(residual == [FieldProblem(pointer: "/architecture/block_size", detail: "must divide depth − 1 (1: layer 1 is a dense stem from input_width 784 to width 16, and complete blocks follow it), got 2")])
        let stem = try decode(#"{"depth": 5, "width": 16, "batch": 16, "init": "fixup", "activation": "relu", "architecture": "residual", "train": {"dataset": "mnist", "steps": 30}}"#)
        #expect(stem.stemLayers == 1 && stem.residualBlocks == 2 && stem.isBlockEnd(3) && stem.isBlockEnd(5) && !stem.isBlockEnd(4))
    }

    /// The steps limit comes from the configured limits, and so does its message.
    @Test func stepsLimitIsConfigured() {
        let limits = ExperimentLimits(maxTrainSteps: 500)
        let found = errors(Self.body(train: #"{"dataset": "teacher", "steps": 600}"#), limits: limits)
        #expect(found == [FieldProblem(pointer: "/train/steps", detail: "must be an integer 1 ... 500, got 600")])
    }

    @Test func everyProblemIsReportedTogether() {
        let found = errors(Self.body(
            train: #"{"dataset": "teacher", "steps": 30, "eval_every": 0, "optimizer": {"name": "sgd", "lr": 0, "momentum": 2}, "schedule": {"name": "cosine", "warmup_steps": 40}}"#,
            extra: #""loss": "mse""#))
        #expect(Set(found.map(\.pointer)) == [
            "/loss", "/train/eval_every", "/train/optimizer/lr", "/train/optimizer/momentum", "/train/schedule/warmup_steps",
        ])
    }

    /// The budget includes the training: the data, the optimizer state and the steps.
    @Test func trainingCountsAgainstTheBudget() {
        let found = errors(#"{"depth": 20, "width": 1024, "batch": 1024, "init": "kaiming_normal", "activation": "relu", "train": {"dataset": "fashion-mnist", "steps": 100000}}"#)
        #expect(found.contains { $0.pointer == "" && $0.detail.contains("exceed the compute budget 2e+12") }, "got \(found)")
        let small = ExperimentLimits(maxMemoryBytes: 64 << 20)
        let memory = errors(Self.body(train: #"{"dataset": "mnist", "steps": 10}"#), limits: small)
        #expect(memory.count == 1 && memory[0].pointer == "" && memory[0].detail.contains("exceeds the memory budget 64.0 MiB"), "got \(memory)")
    }
}
