import TestSupport
import Testing
@testable import InitCore

#if canImport(Glibc)
import Glibc
#endif

@Suite("Training: gradients, optimizers, schedules, determinism", .offCooperativePool)
struct TrainingTests {
    static func trainSpec(steps: Int = 20, batch: Int = 8, optimizer: OptimizerSpec = OptimizerSpec(kind: .sgd),
                          lr: Double = 0.05, evalEvery: Int = 10, statsEvery: Int = 10, validationSize: Int = 200) -> TrainSpec {
        TrainSpec(dataset: .teacher, steps: steps, batch: batch, optimizer: optimizer, schedule: LearningRateSchedule(lr: lr),
                  evalEvery: evalEvery, statsEvery: statsEvery, validationSize: validationSize, seed: 7)
    }

    static func spec(depth: Int, width: Int, inputWidth: Int, activation: String, architecture: Architecture = .mlp,
                     initializer: String = "kaiming_normal", biasInit: InitScheme = InitScheme(name: "zeros"), train: TrainSpec) -> ExperimentSpec {
        ExperimentSpec(depth: depth, width: width, batch: train.batch, inputWidth: inputWidth, seed: 3,
                       initializer: InitScheme(name: initializer), activation: ActivationSpec(name: activation),
                       biasInit: biasInit, architecture: architecture, train: train)
    }

    /// Every weight and bias gradient of the whole network (hidden layers, classifier, cross-entropy) against
    /// central finite differences of the loss, for the MLP and for residual blocks (with and without a dense stem,
    /// and with Fixup's trained scalars), with smooth activations (tanh, gelu) and with ReLU (whose kink no
    /// perturbed pre-activation may cross; the seed keeps them away).
    @Test(arguments: [
        ("tanh", Architecture.mlp, 4, 4, "kaiming_normal"), ("relu", Architecture.mlp, 4, 4, "kaiming_normal"),
        ("tanh", Architecture.residual(blockSize: 2), 5, 4, "kaiming_normal"),
        ("gelu", Architecture.residual(blockSize: 2), 5, 4, "kaiming_normal"),
        // input_width 4 ≠ width 5: layer 1 is a stem, then two blocks of two.
        ("tanh", Architecture.residual(blockSize: 2), 4, 5, "kaiming_normal"),
        ("tanh", Architecture.residual(blockSize: 2), 4, 5, "fixup"),
        ("gelu", Architecture.residual(blockSize: 2), 5, 4, "fixup"),
    ])
    func gradientsMatchFiniteDifferences(_ activation: String, _ architecture: Architecture, _ inputWidth: Int, _ depth: Int,
                                         _ initializer: String) throws {
        let t = Self.trainSpec(batch: 3)
        let spec = Self.spec(depth: depth, width: 5, inputWidth: inputWidth, activation: activation, architecture: architecture,
                             initializer: initializer, biasInit: InitScheme(name: "normal", params: ["std": .number(0.1)]), train: t)
        let engine = try TrainEngine(spec: spec, data: nil, matmul: Matmul(threads: 1))
        engine.loadBatch(step: 0)
        _ = try engine.initialize(isCancelled: { false })
        if let fixup = engine.fixup {
            // Away from Fixup's start (zero branches, α = γ = 0, s = 1), so that every scalar's gradient is tested.
            for (k, layer) in engine.layers.enumerated() {
                for i in 0..<(layer.rows * layer.cols) where layer.w.pointer[i] == 0 {
                    layer.w.pointer[i] = Float(((k * 31 + i * 17) % 13) - 6) * 0.05
                }
            }
            for i in 0..<fixup.values.count { fixup.values.pointer[i] += Float((i % 5) - 2) * 0.1 }
        }
        func loss() -> Double {
            engine.forward(rows: engine.B, input: engine.x.pointer, hs: engine.h, as: engine.a, logits: engine.logits.pointer)
            return engine.crossEntropy(rows: engine.B, logits: engine.logits.pointer, labels: engine.labels, gradient: true)
        }
        /// Which pre-activations are positive: a finite difference across ReLU's kink measures nothing.
        func signs() -> [Bool] {
            activation == "relu" ? engine.h.flatMap { buffer in (0..<(engine.B * engine.n)).map { buffer.pointer[$0] > 0 } } : []
        }
        _ = loss()
        let baseline = signs()
        engine.backward()
        var tensors = engine.layers.enumerated().flatMap { index, layer in
            [("layer \(index + 1) W", layer.w, layer.dW, layer.rows * layer.cols), ("layer \(index + 1) b", layer.b, layer.db, layer.rows)]
        }
        if let fixup = engine.fixup { tensors.append(("fixup scalars", fixup.values, fixup.grads, fixup.values.count)) }
        let (checked, acrossKink) = expectFiniteDifferences(tensors, baseline: baseline, loss: loss, regime: signs)
        // Fixup: α and γ on each of the layers in blocks, s on each block's end, α before the classifier.
        let blockLayers = depth - spec.stemLayers
        let scalars = initializer == "fixup" ? 2 * blockLayers + blockLayers / 2 + 1 : 0
        #expect(checked == (5 * inputWidth + 5) + (depth - 1) * (5 * 5 + 5) + (10 * 5 + 10) + scalars)
        #expect(acrossKink * 20 <= checked, "\(acrossKink) of \(checked) perturbations crossed ReLU's kink")
    }

    /// A residual net with a stem evaluates the same with per-layer buffers (a training step's forward) as with
    /// the evaluation's buffers reused in turn: the memory-bounded path computes the same logits.
    @Test func reusedBuffersGiveTheSameLogits() throws {
        let t = Self.trainSpec(batch: 4)
        let spec = Self.spec(depth: 7, width: 6, inputWidth: 9, activation: "relu", architecture: .residual(blockSize: 2),
                             initializer: "fixup", train: t)
        let engine = try TrainEngine(spec: spec, data: nil, matmul: Matmul(threads: 1))
        engine.loadBatch(step: 0)
        _ = try engine.initialize(isCancelled: { false })
        for layer in engine.layers { for i in 0..<(layer.rows * layer.cols) { layer.w.pointer[i] += Float(i % 7 - 3) * 0.03 } }
        engine.forward(rows: engine.B, input: engine.x.pointer, hs: engine.h, as: engine.a, logits: engine.logits.pointer)
        let full = Array(engine.logits.prefix(engine.B * 10))
        let ring = FloatBuffer(engine.B * 10)
        engine.forward(rows: engine.B, input: engine.x.pointer, hs: [FloatBuffer(engine.B * 6)],
                       as: [FloatBuffer(engine.B * 6), FloatBuffer(engine.B * 6)], logits: ring.pointer, skipCopy: FloatBuffer(engine.B * 6))
        #expect(Array(ring.prefix(engine.B * 10)) == full)
        #expect(full.contains { $0 != 0 })
    }

    /// One tensor through the optimizers' rules against values computed by hand from PyTorch's formulas.
    @Test func optimizerStepsMatchHandComputedValues() throws {
        func run(_ o: OptimizerSpec, lr: Double, steps: [[Float]], w0: [Float]) throws -> [Float] {
            let n = w0.count
            let w = FloatBuffer(n), g = FloatBuffer(n), s1 = FloatBuffer(n), s2 = FloatBuffer(n)
            for i in 0..<n { w.pointer[i] = w0[i] }
            for (k, grad) in steps.enumerated() {
                for i in 0..<n { g.pointer[i] = grad[i] }
                OptimizerStep(o, lr: lr, step: k + 1).apply(w: w.pointer, g: g.pointer, s1: s1.pointer, s2: s2.pointer, count: n)
            }
            return Array(w.prefix(n))
        }
        func close(_ a: [Float], _ b: [Double]) -> Bool { zip(a, b).allSatisfy { abs(Double($0) - $1) <= 1e-6 * max(1, abs($1)) } }
        let w0: [Float] = [1.0, -2.0]
        let grads: [[Float]] = [[0.5, -1.0], [0.25, 2.0]]

        // Plain SGD with L2 weight decay 0.1, lr 0.1: w ← w − 0.1·(g + 0.1·w), twice.
        // Step 1: [1 − 0.1·0.6, −2 − 0.1·(−1.2)] = [0.94, −1.88]; step 2: [0.94 − 0.1·(0.25 + 0.094), −1.88 − 0.1·(2 − 0.188)]
        #expect(close(try run(OptimizerSpec(kind: .sgd, weightDecay: 0.1), lr: 0.1, steps: grads, w0: w0), [0.9056, -2.0612]))

        // Momentum 0.9: v1 = g1, w1 = w0 − 0.1·g1 = [0.95, −1.9]; v2 = 0.9·v1 + g2 = [0.7, 1.1], w2 = [0.88, −2.01].
        #expect(close(try run(OptimizerSpec(kind: .sgd, momentum: 0.9), lr: 0.1, steps: grads, w0: w0), [0.88, -2.01]))

        // Nesterov: d = g + 0.9·v. Step 1: v1 = g1, d1 = 1.9·g1 = [0.95, −1.9], w1 = [0.905, −1.81];
        // step 2: v2 = [0.7, 1.1], d2 = g2 + 0.9·v2 = [0.88, 2.99], w2 = [0.817, −2.109].
        #expect(close(try run(OptimizerSpec(kind: .sgd, momentum: 0.9, nesterov: true), lr: 0.1, steps: grads, w0: w0), [0.817, -2.109]))

        // Adam (β 0.9, 0.999, ε 1e-8), lr 0.01, bias-corrected.
        func adam(decoupled: Bool, wd: Double) -> [Double] {
            var w = w0.map(Double.init), m = [0.0, 0.0], v = [0.0, 0.0]
            for (k, g) in grads.enumerated() {
                let t = Double(k + 1)
                for i in 0..<2 {
                    var d = Double(g[i])
                    if decoupled { w[i] *= 1 - 0.01 * wd } else { d += wd * w[i] }
                    m[i] = 0.9 * m[i] + 0.1 * d
                    v[i] = 0.999 * v[i] + 0.001 * d * d
                    let mHat = m[i] / (1 - pow(0.9, t)), vHat = v[i] / (1 - pow(0.999, t))
                    w[i] -= 0.01 * mHat / (vHat.squareRoot() + 1e-8)
                }
            }
            return w
        }
        // Step 1 moves every weight by exactly lr against its gradient's sign (m̂/√v̂ = ±1).
        #expect(close(try run(OptimizerSpec(kind: .adam), lr: 0.01, steps: [grads[0]], w0: w0), [0.99, -1.99]))
        #expect(close(try run(OptimizerSpec(kind: .adam), lr: 0.01, steps: grads, w0: w0), adam(decoupled: false, wd: 0)))
        #expect(close(try run(OptimizerSpec(kind: .adam, weightDecay: 0.5), lr: 0.01, steps: grads, w0: w0), adam(decoupled: false, wd: 0.5)))
        #expect(close(try run(OptimizerSpec(kind: .adamw, weightDecay: 0.5), lr: 0.01, steps: grads, w0: w0), adam(decoupled: true, wd: 0.5)))
    }

    /// Gradient clipping scales every gradient by clip / (norm + 1e-6) when the global norm exceeds clip.
    @Test func clippingScalesTheGlobalNorm() throws {
        let t = Self.trainSpec(batch: 4, optimizer: OptimizerSpec(kind: .sgd, gradientClip: 0.01))
        let engine = try TrainEngine(spec: Self.spec(depth: 2, width: 6, inputWidth: 6, activation: "tanh", train: t), data: nil, matmul: Matmul(threads: 1))
        engine.loadBatch(step: 0)
        _ = try engine.initialize(isCancelled: { false })
        engine.forward(rows: 4, input: engine.x.pointer, hs: engine.h, as: engine.a, logits: engine.logits.pointer)
        _ = engine.crossEntropy(rows: 4, logits: engine.logits.pointer, labels: engine.labels, gradient: true)
        engine.backward()
        func globalNorm() -> Double {
            engine.layers.reduce(0.0) { $0 + TrainEngine.sumOfSquares($1.dW.pointer, count: $1.rows * $1.cols) + TrainEngine.sumOfSquares($1.db.pointer, count: $1.rows) }.squareRoot()
        }
        let before = globalNorm()
        #expect(before > 0.01)
        let norms = engine.clipGradients()
        let after = globalNorm()
        #expect(abs(after - 0.01 * before / (before + 1e-6)) <= 1e-6)
        let weightNorms = engine.layers.map { TrainEngine.sumOfSquares($0.dW.pointer, count: $0.rows * $0.cols).squareRoot() }
        #expect(zip(norms, weightNorms).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, $1) })
    }

    /// Learning rates against their formulas (PyTorch's StepLR and CosineAnnealingLR, fastai's fit_one_cycle).
    @Test func schedulesFollowTheirFormulas() {
        let constant = LearningRateSchedule(lr: 0.1)
        #expect((0..<5).map { constant.rate(step: $0, of: 5) } == [0.1, 0.1, 0.1, 0.1, 0.1])

        let step = LearningRateSchedule(lr: 1, kind: .step(every: 3, gamma: 0.5))
        #expect((0..<7).map { step.rate(step: $0, of: 7) } == [1, 1, 1, 0.5, 0.5, 0.5, 0.25])

        let warm = LearningRateSchedule(lr: 0.4, kind: .constant, warmupSteps: 4)
        #expect((0..<6).map { warm.rate(step: $0, of: 6) } == [0.1, 0.2, 0.30000000000000004, 0.4, 0.4, 0.4])

        let cosine = LearningRateSchedule(lr: 1, kind: .cosine(minimum: 0.1))
        for t in 0...10 {
            let expected = 0.1 + 0.9 * (1 + cos(Double.pi * Double(t) / 10)) / 2
            #expect(abs(cosine.rate(step: t, of: 10) - expected) < 1e-12)
        }
        #expect(cosine.rate(step: 0, of: 10) == 1 && abs(cosine.rate(step: 5, of: 10) - 0.55) < 1e-12)

        // fit_one_cycle(lr_max 1, pct_start 0.25, div 25, div_final 1e5) over 100 steps: 25 steps up from 0.04,
        // then down to 4e-7, both halves cosine.
        let cycle = LearningRateSchedule(lr: 1, kind: .oneCycle(pctStart: 0.25, div: 25, finalDiv: 1e5))
        func sched(_ start: Double, _ end: Double, _ pos: Double) -> Double { start + (1 + cos(Double.pi * (1 - pos))) * (end - start) / 2 }
        #expect(abs(cycle.rate(step: 0, of: 100) - 0.04) < 1e-12)
        #expect(abs(cycle.rate(step: 25, of: 100) - 1) < 1e-12)
        for t in [5, 12, 24] { #expect(abs(cycle.rate(step: t, of: 100) - sched(0.04, 1, Double(t) / 25)) < 1e-12) }
        for t in [30, 60, 99] { #expect(abs(cycle.rate(step: t, of: 100) - sched(1, 4e-7, Double(t - 25) / 75)) < 1e-12) }
    }

    /// The same spec gives the same result, bit for bit, on one thread and on several.
    @Test func resultsDoNotDependOnTheThreadCount() throws {
        let t = TrainSpec(dataset: .teacher, steps: 12, batch: 32, optimizer: OptimizerSpec(kind: .adam),
                          schedule: LearningRateSchedule(lr: 0.003, kind: .cosine(minimum: 0)), evalEvery: 4, statsEvery: 5, validationSize: 300, seed: 1)
        let spec = Self.spec(depth: 4, width: 96, inputWidth: 64, activation: "relu", architecture: .residual(blockSize: 2), train: t)
        var wide = spec
        wide.inputWidth = 96
        let one = try Trainer(matmul: Matmul(threads: 1)).run(wide, data: nil)
        let two = try Trainer(matmul: Matmul(threads: 2)).run(wide, data: nil)
        let four = try Trainer(matmul: Matmul(threads: 4)).run(wide, data: nil)
        #expect(one == two && two == four)
        #expect(one.training?.trainLoss.count == 12)
        // A plain MLP too. At two threads the backward runs each layer's weight- and input-gradient products
        // side by side, one thread each (both nets here; Fixup layers take the sequential path).
        let mlp = Self.spec(depth: 4, width: 96, inputWidth: 96, activation: "relu", train: t)
        let mlpOne = try Trainer(matmul: Matmul(threads: 1)).run(mlp, data: nil)
        let mlpTwo = try Trainer(matmul: Matmul(threads: 2)).run(mlp, data: nil)
        let mlpFour = try Trainer(matmul: Matmul(threads: 4)).run(mlp, data: nil)
        #expect(mlpOne == mlpTwo && mlpTwo == mlpFour)
    }

    /// The optimizer's step run inside the backward pass (`backwardAndUpdate`, on every step without a snapshot
    /// or clipping; at two threads in chunks inside the products' rounds) gives the bits of the separate pass
    /// after it, on 1 to 3 threads: for plain SGD, SGD with Nesterov momentum and weight decay, AdamW and Adam, on
    /// an MLP whose first layer differs from the rest, on Fixup residual blocks, and with a batch of 272, whose
    /// input-gradient products are too tall to share a round (the side items then run before them). Plain SGD
    /// with a batch of at most 256 and no Fixup takes its step in the weight-gradient kernels (`kernelStep`; here on
    /// an MLP, and with weight decay on residual blocks, whose skips add to δ), and with 272 it does not.
    @Test(arguments: [
        (OptimizerSpec(kind: .sgd), Architecture.mlp, "kaiming_normal", 16, 192, true),
        (OptimizerSpec(kind: .sgd, weightDecay: 1e-2), Architecture.residual(blockSize: 2), "kaiming_normal", 16, 192, true),
        (OptimizerSpec(kind: .sgd), Architecture.mlp, "kaiming_normal", 272, 40, false),
        (OptimizerSpec(kind: .sgd, momentum: 0.9, nesterov: true, weightDecay: 1e-3), Architecture.mlp, "kaiming_normal", 16, 192, false),
        (OptimizerSpec(kind: .adamw, weightDecay: 0.01), Architecture.residual(blockSize: 2), "fixup", 16, 192, false),
        (OptimizerSpec(kind: .adam), Architecture.mlp, "kaiming_normal", 272, 40, false),
    ])
    func theUpdateInsideTheBackwardChangesNoBit(_ optimizer: OptimizerSpec, _ architecture: Architecture, _ initializer: String,
                                                 _ batch: Int, _ width: Int, _ inKernels: Bool) throws {
        let t = TrainSpec(dataset: .teacher, steps: 8, batch: batch, optimizer: optimizer, schedule: LearningRateSchedule(lr: 0.01),
                          evalEvery: 4, statsEvery: 5, validationSize: 100, seed: 5)
        // Width 192: layers of 36,864 weights, which the update splits into two chunks on two threads or more.
        let spec = Self.spec(depth: 5, width: width, inputWidth: architecture == .mlp ? 80 : width, activation: "relu",
                             architecture: architecture, initializer: initializer, train: t)
        for threads in 1...3 {
            func run(fused: Bool) throws -> (ExperimentResult, [[Float]]) {
                let engine = try TrainEngine(spec: spec, data: nil, matmul: Matmul(threads: threads))
                engine.fusesUpdate = fused
                #expect(engine.kernelStep == inKernels)
                let result = try engine.run(progress: { _ in }, isCancelled: { false })
                let weights = engine.layers.map {
                    Array(UnsafeBufferPointer(start: $0.w.pointer, count: $0.rows * $0.cols)) + Array(UnsafeBufferPointer(start: $0.b.pointer, count: $0.rows))
                }
                return (result, weights)
            }
            let (fused, fusedWeights) = try run(fused: true)
            let (separate, separateWeights) = try run(fused: false)
            #expect(fused == separate, "threads \(threads)")
            #expect(fusedWeights == separateWeights, "threads \(threads)")
        }
    }

    /// The run's shape: losses and rates per step, evaluations and snapshots where they are due, cancellation
    /// between steps, a learnable teacher task learned.
    @Test func aTeacherRunLearnsAndReportsWhatWasAsked() throws {
        let t = TrainSpec(dataset: .teacher, steps: 150, batch: 32, optimizer: OptimizerSpec(kind: .sgd, momentum: 0.9),
                          schedule: LearningRateSchedule(lr: 0.05), evalEvery: 50, statsEvery: 60, validationSize: 500, seed: 2)
        let spec = Self.spec(depth: 2, width: 32, inputWidth: 16, activation: "relu", train: t)
        let steps = StepLog()
        let result = try Trainer(matmul: Matmul(threads: 2)).run(spec, data: nil, progress: { steps.append($0.step) })
        let training = try #require(result.training)
        #expect(training.trainLoss.count == 150 && training.learningRate == Array(repeating: 0.05, count: 150))
        #expect(training.evals.map(\.step) == [50, 100, 150])
        #expect(training.snapshots.map(\.step) == [0, 60, 120, 149])
        #expect(training.snapshots[0].layers.map(\.index) == [1, 2, 3])
        #expect(training.snapshots[0].layers.allSatisfy { $0.weightStdDrift == 1 })
        #expect(training.snapshots[0].layers.allSatisfy { $0.updateRatio > 0 && $0.weightGradNorm > 0 })
        #expect(steps.values == Array(1...150))
        #expect(result.layers.count == 2 && result.summary.forwardVerdict == .stable)
        #expect(training.summary.verdict == .learns && training.summary.finalAccuracy > 0.6, "\(training.summary.explanation)")
        let first = training.trainLoss.prefix(10).reduce(0, +), last = training.trainLoss.suffix(10).reduce(0, +)
        #expect(last < 0.5 * first, "mean loss of the first 10 steps \(first / 10), of the last 10 \(last / 10)")

        let cancelAfter = StepLog()
        #expect(throws: ExperimentError.cancelled) {
            _ = try Trainer().run(spec, data: nil, progress: { cancelAfter.append($0.step) }, isCancelled: { cancelAfter.values.count >= 3 })
        }
        #expect(cancelAfter.values == [1, 2, 3])
    }

    /// N(0, 1) weights at depth 20 blow the loss up: the run stops at the first non-finite loss and says so; ×0.01
    /// weights leave the loss at ln 10: stuck at chance.
    @Test func divergenceAndChanceAreNamed() throws {
        let t = TrainSpec(dataset: .teacher, steps: 60, batch: 32, optimizer: OptimizerSpec(kind: .sgd),
                          schedule: LearningRateSchedule(lr: 0.05), evalEvery: 20, statsEvery: 20, validationSize: 200, seed: 4)
        var exploding = Self.spec(depth: 20, width: 64, inputWidth: 64, activation: "relu", initializer: "normal", train: t)
        exploding.initializer = InitScheme(name: "normal", params: ["std": .number(1)])
        let diverged = try #require(try Trainer().run(exploding, data: nil).training)
        #expect(diverged.summary.verdict == .diverged)
        let at = try #require(diverged.summary.divergedAtStep)
        #expect(diverged.steps == at && diverged.trainLoss.count == at && !diverged.trainLoss[at - 1].isFinite)
        #expect(diverged.summary.explanation.hasPrefix("diverged at step \(at)"))

        var tiny = exploding
        tiny.initializer = InitScheme(name: "scaled_normal", params: ["factor": .number(0.01)])
        let stuck = try #require(try Trainer().run(tiny, data: nil).training)
        #expect(stuck.summary.verdict == .stuckAtChance && stuck.summary.stuckAtChance)
        #expect(stuck.trainLoss.allSatisfy { abs($0 - log(10)) < 0.05 })
        #expect(stuck.summary.explanation.contains("vanishing"))

        // N(0, 1) at depth 2 gives a finite loss far above ln 10; a learning rate of 1e-7 cannot bring it down:
        // worse than a uniform guess, "not learning" (not "learns").
        var shallow = Self.spec(depth: 2, width: 64, inputWidth: 64, activation: "relu", train: t)
        shallow.initializer = InitScheme(name: "normal", params: ["std": .number(1)])
        shallow.train?.schedule = LearningRateSchedule(lr: 1e-7)
        let slow = try #require(try Trainer().run(shallow, data: nil).training)
        #expect(slow.trainLoss.allSatisfy { $0.isFinite && $0 > 1.5 * log(10) })
        #expect(slow.summary.verdict == .notLearning && !slow.summary.stuckAtChance)
        #expect(slow.summary.explanation.hasPrefix("not learning: the training loss over the last"))
    }

    final class StepLog: @unchecked Sendable {
        private let lock = NSLockLike()
        private var steps: [Int] = []
        func append(_ s: Int) { lock.run { steps.append(s) } }
        var values: [Int] { lock.run { steps } }
    }
}

/// A tiny mutex for test bookkeeping (InitCore's tests do not import Foundation).
final class NSLockLike: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func run<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}

/// Every element of each tensor (name, values, analytic gradient, count) perturbed by ±ε: the central difference
/// of `loss` against the analytic gradient, within 2e-4 + 2 % of it. A perturbation that changes `regime` (which
/// side of ReLU's kink each pre-activation is on, which value each max-pooling window picks) measures another
/// function: it is skipped and counted. Returns the perturbations made and those skipped.
func expectFiniteDifferences<Regime: Equatable>(
    _ tensors: [(String, FloatBuffer, FloatBuffer, Int)], baseline: Regime, eps: Float = 1e-2, loss: () -> Double,
    regime: () -> Regime, sourceLocation: SourceLocation = #_sourceLocation
) -> (checked: Int, skipped: Int) {
    var checked = 0, skipped = 0
    for (name, values, grads, count) in tensors {
        let analytic = Array(grads.prefix(count))
        for i in 0..<count {
            let original = values.pointer[i]
            values.pointer[i] = original + eps
            let up = loss()
            let upRegime = regime()
            values.pointer[i] = original - eps
            let down = loss()
            let downRegime = regime()
            values.pointer[i] = original
            checked += 1
            if upRegime != baseline || downRegime != baseline {
                skipped += 1
                continue
            }
            let numeric = (up - down) / (2 * Double(eps))
            let g = Double(analytic[i])
            #expect(abs(numeric - g) <= 2e-4 + 2e-2 * abs(g), "\(name) element \(i): numeric \(numeric), analytic \(g)",
                    sourceLocation: sourceLocation)
        }
    }
    return (checked, skipped)
}
