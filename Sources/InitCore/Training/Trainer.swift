#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The examples a training run reads: the training split and the validation split (MNIST's or Fashion-MNIST's
/// test images; the trainer uses the first `validationSize`). The teacher task makes its own.
public struct TrainingData: Sendable {
    public var train: LabeledExamples
    public var validation: LabeledExamples

    public init(train: LabeledExamples, validation: LabeledExamples) {
        self.train = train
        self.validation = validation
    }
}

/// Trains a spec's network (see `TrainSpec`) with mini-batch gradient descent on the matmul core, and measures
/// what the lesson is about: the training loss of every step, the validation loss and accuracy every
/// `evalEvery` steps, per-layer statistics every `statsEvery` steps, and a verdict that sits next to the
/// init-time analysis of the same network (the result's `layers` and `summary`, measured on the first batch).
///
/// Conventions: as the runner's (`ExperimentRunner`); the classifier is layer depth + 1, drawn from Philox stream
/// depth + 1 by the same initializer (Fixup: zeros, as in the paper), its bias by `bias_init`. The loss is the
/// mean softmax cross-entropy over the batch (PyTorch's `CrossEntropyLoss`). Every reduction runs in a fixed
/// order, and the matmul does not depend on the thread count, so results are bit-identical for any `threads`.
/// A run stops early when its loss becomes non-finite (the verdict is then "diverged at step N").
public struct Trainer: Sendable {
    public var matmul: Matmul

    /// Validation rows per forward pass during an evaluation.
    static let evalChunk = 1_000

    public init(matmul: Matmul = Matmul()) {
        self.matmul = matmul
    }

    /// Trains `spec` (its `train` must be set). `data` is required for MNIST and Fashion-MNIST, ignored for the
    /// teacher task. `progress` is called after every step, where `isCancelled` is checked too.
    public func run(
        _ spec: ExperimentSpec, data: TrainingData?,
        progress: @Sendable (TrainingProgress) -> Void = { _ in },
        isCancelled: @Sendable () -> Bool = { false }
    ) throws(ExperimentError) -> ExperimentResult {
        let engine = try TrainEngine(spec: spec, data: data, matmul: matmul)
        return try engine.run(progress: progress, isCancelled: isCancelled)
    }
}

/// One dense layer's trainable tensors and their optimizer state.
final class TrainableLayer {
    let rows: Int, cols: Int
    let w: FloatBuffer, b: FloatBuffer
    let dW: FloatBuffer, db: FloatBuffer
    /// Momentum (SGD) or first moment (Adam), and Adam's second moment; empty when unused.
    let wState1: FloatBuffer, bState1: FloatBuffer, wState2: FloatBuffer, bState2: FloatBuffer
    var initialStd = 0.0

    init(rows: Int, cols: Int, states: Int) {
        self.rows = rows
        self.cols = cols
        w = FloatBuffer(rows * cols)
        b = FloatBuffer(rows)
        dW = FloatBuffer(rows * cols)
        db = FloatBuffer(rows)
        wState1 = FloatBuffer(states >= 1 ? rows * cols : 0)
        bState1 = FloatBuffer(states >= 1 ? rows : 0)
        wState2 = FloatBuffer(states >= 2 ? rows * cols : 0)
        bState2 = FloatBuffer(states >= 2 ? rows : 0)
    }
}

/// Fixup's trained scalars (Zhang, Dauphin & Ma 2019, §3 and their reference code), for init fixup only: on
/// every layer of a residual block a bias before its matmul (α, from 0) and one before its activation (γ, from
/// 0; on a block's last layer, after the branch's multiplier and before the skip is added), a multiplier of
/// each branch (s, from 1) on the block's last layer, and a bias before the classifier. Packed in one vector so
/// the optimizer, clipping and the measurements treat them as one more tensor; they take a tenth of the
/// learning rate, as in the reference code's parameter groups.
final class FixupScalars {
    static let learningRateFactor = 0.1
    /// Index into `values` of each layer's (1 … depth + 1, at l − 1) α, γ and s; nil where the layer has none.
    let alpha: [Int?], gamma: [Int?], scale: [Int?]
    let values: FloatBuffer, grads: FloatBuffer, state1: FloatBuffer, state2: FloatBuffer
    /// Row sums of each layer's weights (W·1), for α's contribution (α·W·1) and gradient.
    let rowSums: [FloatBuffer]

    init(spec: ExperimentSpec, width: Int, states: Int) {
        var alpha: [Int?] = [], gamma: [Int?] = [], scale: [Int?] = []
        var initial: [Float] = []
        for l in 1...(spec.depth + 1) {
            let inBlock = l <= spec.depth && l > spec.stemLayers
            let head = l == spec.depth + 1
            alpha.append(inBlock || head ? initial.count : nil)
            if inBlock || head { initial.append(0) }
            gamma.append(inBlock ? initial.count : nil)
            if inBlock { initial.append(0) }
            scale.append(inBlock && spec.isBlockEnd(l) ? initial.count : nil)
            if inBlock && spec.isBlockEnd(l) { initial.append(1) }
        }
        self.alpha = alpha
        self.gamma = gamma
        self.scale = scale
        values = FloatBuffer(initial.count)
        for (i, v) in initial.enumerated() { values.pointer[i] = v }
        grads = FloatBuffer(initial.count)
        state1 = FloatBuffer(states >= 1 ? initial.count : 0)
        state2 = FloatBuffer(states >= 2 ? initial.count : 0)
        rowSums = (1...(spec.depth + 1)).map { l in FloatBuffer(l <= spec.depth ? width : TrainSpec.classes) }
    }

    func value(_ index: Int?, default d: Float) -> Float { index.map { values.pointer[$0] } ?? d }

    /// W·1 of a rows × cols matrix into `rowSums[l − 1]`, in order.
    func computeRowSums(_ l: Int, w: UnsafePointer<Float>, rows: Int, cols: Int) {
        let out = rowSums[l - 1].pointer
        for i in 0..<rows {
            var sum: Float = 0
            for j in 0..<cols { sum += w[i * cols + j] }
            out[i] = sum
        }
    }
}

/// A training run's state. Not shared across threads.
final class TrainEngine {
    let spec: ExperimentSpec
    let t: TrainSpec
    let matmul: Matmul
    let stats: StatsComputer
    let activation: Activation
    let B: Int, n: Int, n0: Int, depth: Int, m: Int
    let C = TrainSpec.classes
    let residual: Bool
    let layers: [TrainableLayer]
    /// Fixup's scalars (init fixup), else nil.
    let fixup: FixupScalars?
    /// Per hidden layer (0-based l − 1): the step's pre-activations and activations, batch × width.
    let h: [FloatBuffer], a: [FloatBuffer]
    let x: FloatBuffer
    var labels: [Int]
    let logits: FloatBuffer, probabilities: FloatBuffer
    var delta: FloatBuffer, deltaNext: FloatBuffer
    /// The layer above's δ in a dense backward pass, kept for one more round: with the update in the kernels
    /// (`kernelStep`), layer l + 1's weight gradient is computed, as its step, in layer l's round.
    var deltaAbove: FloatBuffer
    /// Plain SGD's step fused into the weight-gradient products (`Matmul.sgdStep`) on the steps whose update runs
    /// inside the backward pass: for SGD without momentum on a dense net without Fixup (whose scalars need
    /// the weight gradients), with a batch the kernels reduce in one slice.
    let kernelStep: Bool
    let pending: FloatBuffer
    let data: TrainingData?
    let validation: LabeledExamples
    /// The teacher task's n0 × 10 matrix.
    let teacher: FloatBuffer
    /// The current epoch's order of the training examples.
    var epochOrder: [Int] = []
    var epochLoaded = -1
    /// A cnn's conv stack and its training buffers (`Trainer+ConvNet`); nil for dense nets.
    let convNet: ConvTrainBuffers?
    /// Whether `backwardAndUpdate` may run the update inside the backward pass (tests turn it off to compare).
    var fusesUpdate = true

    init(spec: ExperimentSpec, data: TrainingData?, matmul: Matmul) throws(ExperimentError) {
        guard let t = spec.train else { throw .unsupported("spec.train is not set: nothing to train") }
        self.spec = spec
        self.t = t
        self.matmul = matmul
        stats = StatsComputer(threads: matmul.threads)
        guard let act = Activation(spec.activation) else { throw .unsupported("unknown activation \(spec.activation.name)") }
        activation = act
        B = t.batch
        n = spec.width
        depth = spec.depth
        m = spec.architecture.blockSize
        residual = spec.architecture.isResidual
        let states = switch t.optimizer.kind {
        case .sgd: t.optimizer.momentum > 0 ? 1 : 0
        case .adam, .adamw: 2
        }
        if t.dataset == .teacher {
            n0 = spec.resolvedInputWidth
            self.data = nil
            teacher = FloatBuffer(n0 * TrainSpec.classes)
            RandomFill.normal(Philox(seed: t.seed, stream: RandomStream.teacher), teacher.buffer, mean: 0, std: 1, threads: matmul.threads)
            let count = t.validationSize ?? TrainSpec.teacherValidationSize
            validation = TrainEngine.teacherExamples(count: count, features: n0, teacher: teacher, seed: t.seed,
                                                     stream: RandomStream.teacherValidation, matmul: matmul)
        } else {
            guard let data else { throw .missingInput("training on \(t.dataset.rawValue) needs its examples (TrainingData)") }
            guard data.train.count > 0, data.validation.count > 0, data.train.features == data.validation.features else {
                throw .missingInput("training data: empty split, or splits of different widths")
            }
            guard spec.inputWidth == nil || spec.inputWidth == data.train.features else {
                throw .missingInput("input_width \(spec.resolvedInputWidth) differs from the dataset's \(data.train.features) features")
            }
            n0 = data.train.features
            self.data = data
            teacher = FloatBuffer(0)
            let count = min(t.validationSize ?? data.validation.count, data.validation.count)
            validation = count == data.validation.count ? data.validation
                : LabeledExamples(count: count, features: n0, values: Array(data.validation.values[0..<(count * n0)]),
                                  labels: Array(data.validation.labels[0..<count]))
        }
        if residual && spec.resolvedInputWidth != n0 {
            throw .unsupported("input_width \(spec.resolvedInputWidth) differs from the data's \(n0) features, and the residual layout depends on it")
        }
        var layers: [TrainableLayer] = []
        var gradientSize = t.batch * max(spec.width, n0, TrainSpec.classes)
        if let stack = spec.architecture.convStack {
            guard stack.input.count == n0 else {
                throw .unsupported("architecture.input_shape \(stack.input) holds \(stack.input.count) values, the data's examples \(n0)")
            }
            let buffers = ConvTrainBuffers(stack: stack, depth: depth, width: n, batch: t.batch)
            for l in 1...depth {
                let (rows, cols) = buffers.weightShape(l)
                layers.append(TrainableLayer(rows: rows, cols: cols, states: states))
            }
            h = (1...depth).map { l in FloatBuffer(buffers.outputCount(l)) }
            a = (1...depth).map { l in FloatBuffer(buffers.outputCount(l)) }
            gradientSize = max(gradientSize, buffers.largestGradient)
            convNet = buffers
        } else {
            for l in 1...depth { layers.append(TrainableLayer(rows: n, cols: l == 1 ? n0 : n, states: states)) }
            h = (0..<depth).map { _ in FloatBuffer(t.batch * spec.width) }
            a = (0..<depth).map { _ in FloatBuffer(t.batch * spec.width) }
            convNet = nil
        }
        layers.append(TrainableLayer(rows: TrainSpec.classes, cols: n, states: states))
        self.layers = layers
        let fixupScalars = residual && spec.initializer.name == "fixup" ? FixupScalars(spec: spec, width: spec.width, states: states) : nil
        fixup = fixupScalars
        x = FloatBuffer(t.batch * n0)
        labels = Array(repeating: 0, count: t.batch)
        logits = FloatBuffer(t.batch * TrainSpec.classes)
        probabilities = FloatBuffer(t.batch * TrainSpec.classes)
        // ∂L/∂logits (batch × 10) lives here too, and a net may be narrower than its 10 classes.
        delta = FloatBuffer(gradientSize)
        deltaNext = FloatBuffer(gradientSize)
        deltaAbove = FloatBuffer(spec.architecture.convStack == nil ? gradientSize : 0)
        kernelStep = t.optimizer.kind == .sgd && t.optimizer.momentum == 0 && spec.architecture.convStack == nil
            && fixupScalars == nil && t.batch <= Matmul.sgdStepMaxReduction
        pending = FloatBuffer(residual ? t.batch * spec.width : 0)
    }

    func fanIn(_ l: Int) -> Int { l == 1 ? n0 : n }
    func isBlockEnd(_ l: Int) -> Bool { spec.isBlockEnd(l) }

    // MARK: The run

    func run(progress: (TrainingProgress) -> Void, isCancelled: () -> Bool) throws(ExperimentError) -> ExperimentResult {
        loadBatch(step: 0)
        let initResult = try initialize(isCancelled: isCancelled)
        var trainLoss: [Double] = [], rates: [Double] = [], evals: [EvalPoint] = [], snapshots: [TrainingSnapshot] = []
        trainLoss.reserveCapacity(t.steps)
        rates.reserveCapacity(t.steps)
        var divergedAt: Int? = nil
        var step = 0
        while step < t.steps {
            if isCancelled() { throw .cancelled }
            if step > 0 { loadBatch(step: step) }
            let lr = t.schedule.rate(step: step, of: t.steps)
            forward(rows: B, input: x.pointer, hs: h, as: a, logits: logits.pointer)
            let loss = crossEntropy(rows: B, logits: logits.pointer, labels: labels, gradient: true)
            trainLoss.append(loss)
            rates.append(lr)
            let snapshotDue = step % t.statsEvery == 0 || step == t.steps - 1
            var snapshot: TrainingSnapshot? = nil
            step += 1
            if !loss.isFinite {
                divergedAt = step
                let e = evaluate(step: step)
                evals.append(e)
                progress(TrainingProgress(step: step, steps: t.steps, trainLoss: loss, eval: e, snapshot: nil))
                break
            }
            let (gradNorms, layerForward, moved) = backwardAndUpdate(lr: lr, step: step, snapshot: snapshotDue)
            if snapshotDue {
                let s = TrainingSnapshot(step: step - 1, layers: (0...depth).map { i in
                    TrainingLayerStats(index: i + 1, forward: layerForward[i], weightGradNorm: gradNorms[i],
                                       updateRatio: moved[i].ratio, weightStd: moved[i].std,
                                       weightStdDrift: layers[i].initialStd > 0 ? moved[i].std / layers[i].initialStd : 1)
                })
                snapshots.append(s)
                snapshot = s
            }
            var eval: EvalPoint? = nil
            if step % t.evalEvery == 0 || step == t.steps {
                let e = evaluate(step: step)
                evals.append(e)
                eval = e
            }
            progress(TrainingProgress(step: step, steps: t.steps, trainLoss: loss, eval: eval, snapshot: snapshot))
        }
        let summary = summarize(trainLoss: trainLoss, evals: evals, divergedAt: divergedAt, initial: initResult.summary)
        let training = TrainingResult(steps: trainLoss.count, trainLoss: trainLoss, learningRate: rates, evals: evals,
                                      snapshots: snapshots, summary: summary)
        return ExperimentResult(spec: spec, conventions: initResult.conventions, layers: initResult.layers,
                                summary: initResult.summary, training: training)
    }

    // MARK: Initialization

    /// The init-time analysis of the hidden stack on the first batch (the runner's, unchanged: the same weights,
    /// LSUV calibrated on this batch, the unit-Gaussian backward pass and the theory), then the weights it drew
    /// become the trainable ones, and the classifier is drawn.
    func initialize(isCancelled: () -> Bool) throws(ExperimentError) -> ExperimentResult {
        var initSpec = spec
        initSpec.train = nil
        initSpec.batch = B
        initSpec.inputWidth = n0
        initSpec.input = .dataset(name: t.dataset.rawValue, split: "train", sampleSeed: t.seed)
        initSpec.loss = .none
        initSpec.backward = true
        let batch = InputBatch(x: Matrix(rows: B, cols: n0, storage: Array(UnsafeBufferPointer(start: x.pointer, count: B * n0))), labels: nil)
        let engine = try RunEngine(spec: initSpec, matmul: matmul, input: batch)
        let result = try engine.run(progress: { _ in }, isCancelled: isCancelled)
        if convNet != nil {
            let g = engine.convGeometry
            for l in 1...depth {
                engine.convNetDrawWeights(l, g, into: layers[l - 1].w)
                _ = engine.convNetDrawBias(l, g, into: layers[l - 1].b)
            }
        } else {
            for l in 1...depth {
                let layer = layers[l - 1]
                engine.drawWeights(l, into: layer.w)
                _ = engine.drawBias(l, into: layer.b)
            }
        }
        let head = layers[depth]
        let distribution: WeightDistribution = spec.initializer.name == "fixup"
            ? .constant(0)
            : engine.initializer.distribution(layer: depth + 1, fanIn: n, fanOut: C)
        distribution.fill(head.w.buffer, rows: C, cols: n, philox: Philox(seed: spec.seed, stream: RandomStream.weights(depth + 1)),
                          threads: matmul.threads)
        // The classifier's bias: fan_in = width (RunEngine's layer depth + 1).
        let headBias = engine.biasDistribution(depth + 1)
        if case .constant(let c) = headBias, c == 0 {} else {
            headBias.fill(head.b.buffer, rows: 1, cols: C, philox: Philox(seed: spec.seed, stream: RandomStream.bias(depth + 1)), threads: 1)
        }
        for layer in layers { layer.initialStd = Self.std(layer.w.pointer, count: layer.rows * layer.cols) }
        return result
    }

    // MARK: Data

    /// Step `step`'s mini-batch into `x` and `labels`: for a dataset, positions step·B … step·B + B − 1 of the
    /// concatenated shuffled epochs; for the teacher task, fresh examples from Philox stream (teacher batch, step).
    func loadBatch(step: Int) {
        guard let data else {
            let examples = Self.teacherExamples(count: B, features: n0, teacher: teacher, seed: t.seed,
                                                stream: RandomStream.teacherBatch(step), matmul: matmul)
            examples.values.withUnsafeBufferPointer { src in
                if let s = src.baseAddress { x.pointer.update(from: s, count: B * n0) }
            }
            labels = examples.labels.map(Int.init)
            return
        }
        let train = data.train
        for r in 0..<B {
            let position = step * B + r
            let epoch = position / train.count
            if epoch != epochLoaded {
                epochOrder = Self.permutation(train.count, seed: t.seed, stream: RandomStream.shuffle(epoch))
                epochLoaded = epoch
            }
            let index = epochOrder[position % train.count]
            train.values.withUnsafeBufferPointer { src in
                if let s = src.baseAddress { (x.pointer + r * n0).update(from: s + index * n0, count: n0) }
            }
            labels[r] = Int(train.labels[index])
        }
    }

    /// A Fisher–Yates shuffle of 0..<count driven by Philox(seed, stream): draw i takes word i of the stream, and
    /// j = ⌊word · (i + 1) / 2³²⌋.
    static func permutation(_ count: Int, seed: UInt64, stream: UInt64) -> [Int] {
        var order = Array(0..<count)
        let philox = Philox(seed: seed, stream: stream)
        var block = (UInt32(0), UInt32(0), UInt32(0), UInt32(0))
        var draw = 0
        for i in stride(from: count - 1, to: 0, by: -1) {
            if draw % 4 == 0 { block = philox.block(UInt64(draw / 4)) }
            let word: UInt32 = switch draw % 4 { case 0: block.0; case 1: block.1; case 2: block.2; default: block.3 }
            draw += 1
            let j = Int((UInt64(word) * UInt64(i + 1)) >> 32)
            order.swapAt(i, j)
        }
        return order
    }

    /// `count` teacher examples: x ~ N(0, 1) from Philox(seed, stream), label = argmax over the classes of x · T.
    static func teacherExamples(count: Int, features: Int, teacher: FloatBuffer, seed: UInt64, stream: UInt64, matmul: Matmul) -> LabeledExamples {
        let xs = FloatBuffer(count * features)
        RandomFill.normal(Philox(seed: seed, stream: stream), xs.buffer, mean: 0, std: 1, threads: matmul.threads)
        let scores = FloatBuffer(count * TrainSpec.classes)
        matmul.multiply(.nn, m: count, n: TrainSpec.classes, k: features, a: xs.pointer, b: teacher.pointer, c: scores.pointer)
        var labels = [UInt8](repeating: 0, count: count)
        for r in 0..<count { labels[r] = UInt8(argmax(scores.pointer + r * TrainSpec.classes, TrainSpec.classes)) }
        return LabeledExamples(count: count, features: features, values: Array(xs.buffer), labels: labels)
    }

    // MARK: Forward and loss

    /// The network on `rows` examples: hidden pre-activations and activations into `hs`/`as`, the logits. With
    /// one buffer per layer (a training step) every layer's values stay for the backward pass; with fewer (an
    /// evaluation) they are reused in turn, `hs[(l − 1) % hs.count]`, and a residual block's input is copied
    /// into `skipCopy` (which must then hold rows × width), so memory does not grow with depth.
    func forward(rows: Int, input: UnsafePointer<Float>, hs: [FloatBuffer], as acts: [FloatBuffer], logits: UnsafeMutablePointer<Float>,
                 skipCopy: FloatBuffer? = nil) {
        if let convNet {
            convNetForward(convNet, rows: rows, input: input, logits: logits)
            return
        }
        let count = rows * n
        let keepsAll = acts.count >= depth
        var aPrev = input
        var blockInput = input
        if fixup != nil {
            for l in 1...(depth + 1) { fixup?.computeRowSums(l, w: layers[l - 1].w.pointer, rows: layers[l - 1].rows, cols: layers[l - 1].cols) }
        }
        for l in 1...depth {
            let layer = layers[l - 1]
            let hl = hs[(l - 1) % hs.count].pointer
            let al = acts[(l - 1) % acts.count].pointer
            matmul.multiply(.nt, m: rows, n: n, k: fanIn(l), a: aPrev, b: layer.w.pointer, c: hl)
            // The bias, Fixup's scalars, the skip and the activation in one pass over h, in row chunks on the pool.
            let bias = UnsafePointer(layer.b.pointer)
            let shift = fixup.flatMap { fixup in
                // u = (a + α)·Wᵀ + b; then s·u + γ (block end) or u + γ.
                fixup.gamma[l - 1].map { gi in
                    (alpha: fixup.value(fixup.alpha[l - 1], default: 0), gamma: fixup.values.pointer[gi],
                     scale: fixup.value(fixup.scale[l - 1], default: 1), sums: UnsafePointer(fixup.rowSums[l - 1].pointer))
                }
            }
            let skip: UnsafePointer<Float>? = isBlockEnd(l) ? blockInput : nil
            let chunks = elementwiseChunks(count, threads: matmul.threads), width = n
            parallelFor(iterations: chunks, threads: matmul.threads) { [activation] c in
                let (first, length) = elementwiseChunk(c, of: chunks, count: rows)
                for r in first..<(first + length) {
                    let row = hl + r * width
                    for j in 0..<width { row[j] += bias[j] }
                    if let shift {
                        for j in 0..<width { row[j] = shift.scale * (row[j] + shift.alpha * shift.sums[j]) + shift.gamma }
                    }
                    if let skip {
                        let from = skip + r * width
                        for j in 0..<width { row[j] += from[j] }
                    }
                    activation.apply(row, al + r * width, count: width)
                }
            }
            aPrev = UnsafePointer(al)
            if spec.startsBlock(after: l) {
                if keepsAll {
                    blockInput = aPrev
                } else if let skipCopy {
                    skipCopy.copy(from: acts[(l - 1) % acts.count], count: count)
                    blockInput = UnsafePointer(skipCopy.pointer)
                }
            }
        }
        let head = layers[depth]
        matmul.multiply(.nt, m: rows, n: C, k: n, a: aPrev, b: head.w.pointer, c: logits)
        addBias(logits, rows: rows, cols: C, bias: head.b.pointer)
        if let fixup, let ai = fixup.alpha[depth] {
            let alpha = fixup.values.pointer[ai], sums = fixup.rowSums[depth].pointer
            for r in 0..<rows {
                for j in 0..<C { logits[r * C + j] += alpha * sums[j] }
            }
        }
    }

    func addBias(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>) {
        for r in 0..<rows {
            let row = p + r * cols
            for j in 0..<cols { row[j] += bias[j] }
        }
    }

    /// Mean softmax cross-entropy of the logits against `labels` (in double, row by row in order). With `gradient`,
    /// also ∂L/∂logits = (softmax − one-hot) / rows into `delta` and the probabilities into `probabilities`.
    func crossEntropy(rows: Int, logits z: UnsafePointer<Float>, labels: [Int], gradient: Bool) -> Double {
        var total = 0.0
        for r in 0..<rows {
            let row = z + r * C
            var mx = -Double.infinity
            for j in 0..<C { mx = max(mx, Double(row[j])) }
            var sum = 0.0
            for j in 0..<C { sum += exp(Double(row[j]) - mx) }
            let logSum = mx + log(sum)
            total += logSum - Double(row[labels[r]])
            if gradient {
                for j in 0..<C {
                    let p = exp(Double(row[j]) - logSum)
                    probabilities.pointer[r * C + j] = Float(p)
                    delta.pointer[r * C + j] = Float((p - (j == labels[r] ? 1 : 0)) / Double(rows))
                }
            }
        }
        return total / Double(rows)
    }

    // MARK: Backward

    /// The rest of a training step once its forward pass and loss are done: the backward pass, clipping and the
    /// optimizer's update (`step` is 1-based). With `snapshot`, also the gradient norms after clipping, the
    /// step's forward statistics and each layer's weight std and update ratio; otherwise those are empty.
    ///
    /// When nothing needs every gradient first (clipping's global norm) or the weights before the step (a
    /// snapshot's measurements), each layer's update runs inside the backward pass as soon as no product reads
    /// its weights any more (`backward(update:)`), while its weights and gradient may still be in cache, instead
    /// of in a pass of its own over every layer afterwards. The same operations on the same values: the same bits.
    func backwardAndUpdate(lr: Double, step: Int, snapshot: Bool)
        -> (gradNorms: [Double], forward: [ForwardStats], moved: [(std: Double, ratio: Double)])
    {
        let fused = fusesUpdate && !snapshot && t.optimizer.gradientClip == nil && convNet == nil
        backward(update: fused ? OptimizerStep(t.optimizer, lr: lr, step: step) : nil)
        let gradNorms = clipGradients(measure: snapshot)
        let layerForward = snapshot ? forwardStats() : []
        if fused {
            updateFixupScalars(lr: lr, step: step)
            return (gradNorms, layerForward, [])
        }
        return (gradNorms, layerForward, update(lr: lr, step: step, measure: snapshot))
    }

    /// Gradients of every weight and bias from ∂L/∂logits (in `delta`). With `update`, also the optimizer's step
    /// on every dense layer (not on Fixup's scalars; see `backwardAndUpdate`): layer l + 1's right after the
    /// products of layer l, the first that no longer read its weights (at two threads inside their round: the
    /// update's chunks handed out after the weight gradient), and layer 1's at the end. With `kernelStep` (plain
    /// SGD), that step of layer l + 1 is its weight-gradient product itself (`Matmul.sgdStep`), which then runs in
    /// layer l's round instead of its own, from δ_{l+1} kept in `deltaAbove`; the gradient is never stored.
    func backward(update: OptimizerStep? = nil) {
        if let convNet {
            convNetBackward(convNet)
            return
        }
        let inKernels = update != nil && kernelStep
        let head = layers[depth]
        if !inKernels {
            matmul.multiply(.tn, m: C, n: n, k: B, a: delta.pointer, b: a[depth - 1].pointer, c: head.dW.pointer)
            columnSums(delta.pointer, rows: B, cols: C, into: head.db.pointer)
            if let fixup { fixupGradients(fixup, layer: depth + 1, delta: delta.pointer, blockEnd: false) }
        }
        matmul.multiply(.nn, m: B, n: n, k: C, a: delta.pointer, b: head.w.pointer, c: deltaNext.pointer)
        rotateDeltas()  // delta = ∂L/∂a_L, deltaAbove = ∂L/∂logits
        var pendingIndex = -1
        for l in stride(from: depth, through: 1, by: -1) {
            let layer = layers[l - 1]
            let fi = fanIn(l)
            multiplyActivationDerivative(h[l - 1].pointer, delta.pointer, count: B * n)  // ∂L/∂h_l
            let aIn = layerInput(l - 1)
            if isBlockEnd(l) && l - m > 0 {
                // ∂L/∂h_l reaches the block's input a_{l−m} through the skip, before the branch's multiplier.
                pending.copy(from: delta, count: B * n)
                pendingIndex = l - m
            }
            let fixupLayer = fixup != nil && fixup?.gamma[l - 1] != nil
            if l > 1 && !fixupLayer && matmul.threads == 2 {
                // Two threads: the weight gradient and the input gradient are independent (both read δ; Fixup
                // would rescale δ in between). The weight gradient runs whole on one thread as the first side item
                // of the input gradient's round, the update of layer l + 1 (if any) in chunks after it, and both
                // threads share the input gradient's items: one pool round instead of three or more, no tail per
                // product, and the thread that finishes first takes what is left. Each product's bits do not
                // depend on its thread count, and the update's chunks are elementwise, so the result is the same.
                // With the step in the kernels, the side item is layer l + 1's weight gradient as its step.
                let d = UnsafePointer(delta.pointer)
                let dW = layer.dW.pointer, db = layer.db.pointer
                let (rows, width) = (B, n)
                let single = Matmul(threads: 1)
                let chunks = update == nil || inKernels ? 0 : elementwiseChunks(layers[l].rows * layers[l].cols, threads: matmul.threads)
                matmul.multiply(.nn, m: B, n: fi, k: n, a: d, b: layer.w.pointer, c: deltaNext.pointer, alongside: 1 + chunks) { i in
                    if i == 0 {
                        if let update, inKernels {
                            stepInKernels(l, update, matmul: single)
                        } else {
                            single.multiply(.tn, m: width, n: fi, k: rows, a: d, b: aIn, c: dW)
                            columnSums(d, rows: rows, cols: width, into: db)
                        }
                    } else if let update {
                        updateLayer(l, update, chunk: i - 1, of: chunks)
                    }
                }
            } else {
                if !inKernels {
                    matmul.multiply(.tn, m: n, n: fi, k: B, a: delta.pointer, b: aIn, c: layer.dW.pointer)
                    columnSums(delta.pointer, rows: B, cols: n, into: layer.db.pointer)
                    if let fixup, fixupLayer { fixupGradients(fixup, layer: l, delta: delta.pointer, blockEnd: isBlockEnd(l)) }
                }
                if l > 1 { matmul.multiply(.nn, m: B, n: fi, k: n, a: delta.pointer, b: layer.w.pointer, c: deltaNext.pointer) }
                if let update {
                    if inKernels { stepInKernels(l, update, matmul: matmul) } else { updateLayer(l, update) }
                }
            }
            if l > 1 {
                if l - 1 == pendingIndex {
                    for i in 0..<(B * n) { deltaNext.pointer[i] += pending.pointer[i] }
                    pendingIndex = -1
                }
            }
            rotateDeltas()
        }
        if let update {
            if inKernels { stepInKernels(0, update, matmul: matmul) } else { updateLayer(0, update) }
        }
    }

    /// After a layer's round: its δ becomes the one above (`deltaAbove`), the new gradient (`deltaNext`) the current
    /// one, and the buffer two rounds old the next output.
    func rotateDeltas() {
        (deltaAbove, delta, deltaNext) = (delta, deltaNext, deltaAbove)
    }

    /// The input of `layers[index]` (0-based): the batch for the first, else the activations below.
    func layerInput(_ index: Int) -> UnsafePointer<Float> {
        index == 0 ? UnsafePointer(x.pointer) : UnsafePointer(a[index - 1].pointer)
    }

    /// Plain SGD's step on `layers[index]` with its weight gradient computed in the kernels from δ of that layer
    /// (in `deltaAbove`: the round after its own) and its input, and the bias's from δ's column sums. The same
    /// bits as the gradient stored and then `updateLayer`.
    func stepInKernels(_ index: Int, _ update: OptimizerStep, matmul: Matmul) {
        let layer = layers[index]
        let d = UnsafePointer(deltaAbove.pointer)
        matmul.sgdStep(.tn, m: layer.rows, n: layer.cols, k: B, a: d, b: layerInput(index), w: layer.w.pointer, step: update.sgd)
        columnSums(d, rows: B, cols: layer.rows, into: layer.db.pointer)
        update.apply(w: layer.b.pointer, g: layer.db.pointer, s1: layer.bState1.pointer, s2: layer.bState2.pointer, count: layer.rows)
    }

    /// Fixup's scalars of layer `l`, given δ = ∂L/∂h_l in `delta` (B × rows), dW = δᵀ·a and db = Σ δ already
    /// computed from the unshifted input: with u = (a + α)·Wᵀ + b and h = s·u + γ (+ skip),
    /// ∂L/∂γ = Σ δ; ∂L/∂s = Σ δ ⊙ u = ⟨W, δᵀ(a + α)⟩ + Σ_i c_i b_i (c = Σ_rows δ); then with δ_u = s·δ:
    /// dW = s·(δᵀa + α·c·1ᵀ), db = s·c, ∂L/∂α = s·Σ_i c_i (W·1)_i; and δ is scaled by s in place, so the
    /// caller's δ·W is ∂L/∂a.
    func fixupGradients(_ fixup: FixupScalars, layer l: Int, delta: UnsafeMutablePointer<Float>, blockEnd: Bool) {
        let layer = layers[l - 1]
        let rows = layer.rows, cols = layer.cols
        let dW = layer.dW.pointer, db = layer.db.pointer, w = layer.w.pointer, bias = layer.b.pointer
        let sums = fixup.rowSums[l - 1].pointer
        let alpha = fixup.value(fixup.alpha[l - 1], default: 0)
        // db holds c = Σ_rows δ; dW holds δᵀ·a.
        var cSum = 0.0, cDotSums = 0.0, cDotBias = 0.0
        for i in 0..<rows {
            let c = db[i]
            cSum += Double(c)
            cDotSums += Double(c) * Double(sums[i])
            cDotBias += Double(c) * Double(bias[i])
            if alpha != 0 { for j in 0..<cols { dW[i * cols + j] += alpha * c } }
        }
        if let gi = fixup.gamma[l - 1] { fixup.grads.pointer[gi] = Float(cSum) }
        var scale: Float = 1
        if blockEnd, let si = fixup.scale[l - 1] {
            scale = fixup.values.pointer[si]
            var inner = 0.0
            for i in 0..<(rows * cols) { inner += Double(w[i]) * Double(dW[i]) }
            fixup.grads.pointer[si] = Float(inner + cDotBias)
            for i in 0..<(rows * cols) { dW[i] *= scale }
            for i in 0..<rows { db[i] *= scale }
            for i in 0..<(B * rows) { delta[i] *= scale }
        }
        if let ai = fixup.alpha[l - 1] { fixup.grads.pointer[ai] = Float(Double(scale) * cDotSums) }
    }

    func columnSums(_ p: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
        out.update(repeating: 0, count: cols)
        for r in 0..<rows {
            let row = p + r * cols
            for j in 0..<cols { out[j] += row[j] }
        }
    }

    /// Clips the global L2 norm of every gradient to `gradientClip` (as `clip_grad_norm_`: scaled by
    /// clip / (norm + 1e-6) when norm > clip). Returns each layer's weight-gradient norm after clipping when
    /// `measure` (a snapshot) or clipping asks for the norms; otherwise skips them (a pass over every gradient).
    func clipGradients(measure: Bool = true) -> [Double] {
        guard measure || t.optimizer.gradientClip != nil else { return [] }
        var squares: [Double] = []
        var total = 0.0
        for layer in layers {
            let sw = Self.sumOfSquares(layer.dW.pointer, count: layer.rows * layer.cols)
            squares.append(sw)
            total += sw + Self.sumOfSquares(layer.db.pointer, count: layer.rows)
        }
        if let fixup { total += Self.sumOfSquares(fixup.grads.pointer, count: fixup.grads.count) }
        var scale = 1.0
        if let clip = t.optimizer.gradientClip {
            let norm = total.squareRoot()
            if norm > clip {
                scale = clip / (norm + 1e-6)
                let f = Float(scale)
                for layer in layers {
                    for i in 0..<(layer.rows * layer.cols) { layer.dW.pointer[i] *= f }
                    for i in 0..<layer.rows { layer.db.pointer[i] *= f }
                }
                if let fixup { for i in 0..<fixup.grads.count { fixup.grads.pointer[i] *= f } }
            }
        }
        return squares.map { $0.squareRoot() * scale }
    }

    // MARK: Update

    /// One optimizer step (`step` is 1-based, for Adam's bias correction). With `measure`, returns each layer's
    /// weight std before the step and ‖ΔW‖/‖W‖ of the step.
    func update(lr: Double, step: Int, measure: Bool) -> [(std: Double, ratio: Double)] {
        let optimizerStep = OptimizerStep(t.optimizer, lr: lr, step: step)
        var measured: [(std: Double, ratio: Double)] = []
        for (index, layer) in layers.enumerated() {
            let count = layer.rows * layer.cols
            var before = 0.0, std = 0.0
            var old: [Float] = []
            if measure {
                before = Self.sumOfSquares(layer.w.pointer, count: count)
                std = Self.std(layer.w.pointer, count: count)
                old = Array(UnsafeBufferPointer(start: layer.w.pointer, count: count))
            }
            updateLayer(index, optimizerStep)
            if measure {
                var moved = 0.0
                for i in 0..<count { let d = Double(layer.w.pointer[i]) - Double(old[i]); moved += d * d }
                measured.append((std, before > 0 ? (moved / before).squareRoot() : 0))
            }
        }
        updateFixupScalars(lr: lr, step: step)
        return measured
    }

    /// The optimizer's step on `layers[index]` (weights and biases) on the engine's threads.
    func updateLayer(_ index: Int, _ update: OptimizerStep) {
        let chunks = elementwiseChunks(layers[index].rows * layers[index].cols, threads: matmul.threads)
        parallelFor(iterations: chunks, threads: matmul.threads) { c in updateLayer(index, update, chunk: c, of: chunks) }
    }

    /// Chunk `chunk` of `chunks` of that step (as `elementwise` splits): its share of the weights, and for chunk 0
    /// the biases too.
    func updateLayer(_ index: Int, _ update: OptimizerStep, chunk: Int, of chunks: Int) {
        let layer = layers[index]
        let (start, length) = elementwiseChunk(chunk, of: chunks, count: layer.rows * layer.cols)
        // An optimizer without state has empty state buffers, never read.
        let s1 = layer.wState1.count > 0 ? layer.wState1.pointer + start : layer.wState1.pointer
        let s2 = layer.wState2.count > 0 ? layer.wState2.pointer + start : layer.wState2.pointer
        update.apply(w: layer.w.pointer + start, g: layer.dW.pointer + start, s1: s1, s2: s2, count: length)
        if chunk == 0 {
            update.apply(w: layer.b.pointer, g: layer.db.pointer, s1: layer.bState1.pointer, s2: layer.bState2.pointer,
                         count: layer.rows)
        }
    }

    /// The optimizer's step on Fixup's scalars, at a tenth of the learning rate; nothing without Fixup.
    func updateFixupScalars(lr: Double, step: Int) {
        guard let fixup else { return }
        OptimizerStep(t.optimizer, lr: lr * FixupScalars.learningRateFactor, step: step)
            .apply(w: fixup.values.pointer, g: fixup.grads.pointer, s1: fixup.state1.pointer, s2: fixup.state2.pointer,
                   count: fixup.values.count)
    }

    // MARK: Measurements

    /// The step's forward statistics: every hidden layer (pre-activation, activation), then the classifier
    /// (logits, softmax probabilities).
    func forwardStats() -> [ForwardStats] {
        let bins = spec.histogramBins
        var out: [ForwardStats] = []
        for l in 0..<depth {
            // Rows × columns as the init-time statistics see them: a conv layer's positions × channels.
            let (rows, cols) = convNet?.outputLayout(l + 1) ?? (B, n)
            let pre = stats.compute(h[l].prefix(rows * cols), rows: rows, cols: cols, bins: bins, dead: .nonPositiveColumns)
            let post = stats.compute(a[l].prefix(rows * cols), rows: rows, cols: cols, bins: bins, dead: .nonPositiveColumns)
            out.append(ForwardStats(preactivation: pre, activation: post))
        }
        let z = stats.compute(logits.prefix(B * C), rows: B, cols: C, bins: bins, dead: .nonPositiveColumns)
        let p = stats.compute(probabilities.prefix(B * C), rows: B, cols: C, bins: bins, dead: .nonPositiveColumns)
        out.append(ForwardStats(preactivation: z, activation: p))
        return out
    }

    /// Validation loss and accuracy, in chunks of `Trainer.evalChunk` rows, in order.
    func evaluate(step: Int) -> EvalPoint {
        // A cnn evaluates in chunks of the training batch, in the training buffers (free once the step's update
        // is done; the next step's forward pass refills them).
        let chunk = min(convNet == nil ? Trainer.evalChunk : B, validation.count)
        // Dense: two activation buffers in turn and one for pre-activations (and a residual block's input):
        // memory independent of depth.
        let hs = convNet == nil ? [FloatBuffer(chunk * n)] : h
        let acts = convNet == nil ? (0..<min(2, depth)).map { _ in FloatBuffer(chunk * n) } : a
        let skipCopy = residual ? FloatBuffer(chunk * n) : nil
        let z = FloatBuffer(chunk * C)
        var lossSum = 0.0
        var correct = 0
        var start = 0
        while start < validation.count {
            let rows = min(chunk, validation.count - start)
            let chunkLabels = (start..<(start + rows)).map { Int(validation.labels[$0]) }
            validation.values.withUnsafeBufferPointer { values in
                if let base = values.baseAddress {
                    forward(rows: rows, input: base + start * n0, hs: hs, as: acts, logits: z.pointer, skipCopy: skipCopy)
                }
            }
            lossSum += crossEntropy(rows: rows, logits: z.pointer, labels: chunkLabels, gradient: false) * Double(rows)
            for r in 0..<rows where Self.argmax(z.pointer + r * C, C) == chunkLabels[r] { correct += 1 }
            start += rows
        }
        return EvalPoint(step: step, loss: lossSum / Double(validation.count), accuracy: Double(correct) / Double(validation.count))
    }

    /// The summary and the verdict, next to the init-time analysis.
    func summarize(trainLoss: [Double], evals: [EvalPoint], divergedAt: Int?, initial: ExperimentSummary) -> TrainingSummary {
        let chance = log(Double(C))
        let last = evals.last ?? EvalPoint(step: 0, loss: .nan, accuracy: 0)
        var best = EvalPoint(step: 0, loss: .nan, accuracy: -1)
        for e in evals where e.accuracy > best.accuracy { best = e }
        let targets = t.targets.map { target in TargetReached(accuracy: target, step: evals.first { $0.accuracy >= target }?.step) }
        let window = Array(trainLoss.suffix(Self.stuckWindow(trainLoss.count)))
        let meanLoss = window.reduce(0, +) / Double(max(1, window.count))
        let stuck = divergedAt == nil && !window.isEmpty && abs(meanLoss - chance) <= 0.01 * chance
        let verdict: TrainingVerdict =
            if divergedAt != nil { .diverged } else if stuck { .stuckAtChance } else if window.isEmpty || meanLoss > chance { .notLearning } else { .learns }
        let atInit = "at init the forward signal was \(initial.forwardVerdict.rawValue) (activation std ×\(Self.format(initial.forwardGrowthFactor)) over \(depth) layers"
            + (initial.backwardVerdict.map { "; gradients \($0.rawValue), ×\(Self.format(initial.backwardGrowthFactor ?? .nan))" } ?? "")
            + (initial.firstNonfiniteLayer.map { "; non-finite from layer \($0)" } ?? "")
            + (initial.firstVanishedLayer.map { "; vanished from layer \($0)" } ?? "") + ")"
        let explanation: String
        switch verdict {
        case .diverged:
            explanation = "diverged at step \(divergedAt ?? 0): the training loss became non-finite (step 1's loss: \(Self.format(trainLoss.first ?? .nan))); " + atInit
        case .stuckAtChance:
            explanation = "stuck at chance: the training loss over the last \(window.count) steps averaged \(Self.format(meanLoss)), within 1% of ln \(C) = \(Self.format(chance)); validation accuracy \(Self.format(last.accuracy)); " + atInit
        case .notLearning:
            explanation = "not learning: the training loss over the last \(window.count) steps averaged \(Self.format(meanLoss)), above ln \(C) = \(Self.format(chance)), the loss of a uniform guess; validation accuracy \(Self.format(last.accuracy)); " + atInit
        case .learns:
            explanation = "learns: validation accuracy \(Self.format(last.accuracy)) after \(last.step) steps (best \(Self.format(best.accuracy)) at step \(best.step)), training loss \(Self.format(trainLoss.first ?? .nan)) → \(Self.format(meanLoss)); " + atInit
        }
        return TrainingSummary(finalAccuracy: last.accuracy, finalLoss: last.loss, bestAccuracy: max(0, best.accuracy), bestStep: best.step,
                               stepsToTarget: targets, divergedAtStep: divergedAt, chanceLoss: chance, stuckAtChance: stuck,
                               verdict: verdict, explanation: explanation)
    }

    /// Steps whose mean training loss decides "stuck at chance": the last tenth of the run, at least 10 (or all).
    static func stuckWindow(_ steps: Int) -> Int { min(steps, max(10, steps / 10)) }

    static func format(_ x: Double) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
        if x != 0 && (abs(x) >= 1e5 || abs(x) < 1e-3) {
            let e = Int(floor(log10(abs(x))))
            let mantissa = (x / pow(10, Double(e)) * 100).rounded() / 100
            return "\(mantissa)e\(e)"
        }
        return "\((x * 1000).rounded() / 1000)"
    }

    // MARK: Elementwise helpers

    func applyActivation(_ h: UnsafePointer<Float>, _ a: UnsafeMutablePointer<Float>, count: Int) {
        elementwise(count, threads: matmul.threads) { start, length in activation.apply(h + start, a + start, count: length) }
    }

    func multiplyActivationDerivative(_ h: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, count: Int) {
        elementwise(count, threads: matmul.threads) { start, length in activation.multiplyDerivative(h + start, g + start, count: length) }
    }

    static func argmax(_ p: UnsafePointer<Float>, _ count: Int) -> Int {
        var best = 0
        for j in 1..<count where p[j] > p[best] { best = j }
        return best
    }

    static func sumOfSquares(_ p: UnsafePointer<Float>, count: Int) -> Double {
        var s = 0.0
        for i in 0..<count { let v = Double(p[i]); s += v * v }
        return s
    }

    static func std(_ p: UnsafePointer<Float>, count: Int) -> Double { populationStd(p, count: count) }
}

/// One optimizer step's constants and its rule on a tensor: PyTorch's (`torch.optim.SGD`, `Adam`, `AdamW`,
/// single-tensor forms) in Float with the hyper-parameters rounded to Float, as PyTorch computes on float32
/// parameters. The constants are computed once per step, however many chunks the rule then runs on.
struct OptimizerStep {
    let kind: OptimizerKind
    let rate: Float, wd: Float, mu: Float
    let momentum: Bool, nesterov: Bool
    let b1: Float, b2: Float, eps: Float, stepSize: Float, c2Root: Float, decay: Float

    /// Plain SGD's rule (no momentum), which the kernels can also apply to a gradient they compute.
    var sgd: MatmulSGDStep { MatmulSGDStep(rate: rate, weightDecay: wd) }

    /// `step` is 1-based (Adam's bias correction).
    init(_ o: OptimizerSpec, lr: Double, step: Int) {
        kind = o.kind
        rate = Float(lr)
        wd = Float(o.weightDecay)
        mu = Float(o.momentum)
        momentum = o.momentum != 0
        nesterov = o.nesterov
        b1 = Float(o.beta1)
        b2 = Float(o.beta2)
        eps = Float(o.epsilon)
        let c1 = Float(1 - pow(o.beta1, Double(step))), c2 = Float(1 - pow(o.beta2, Double(step)))
        stepSize = rate / c1
        c2Root = c2.squareRoot()
        decay = 1 - rate * wd
    }

    /// The step on `count` values of a tensor `w` with gradient `g` and state `s1` (momentum, first moment) and
    /// `s2` (second moment), which need only be valid where the optimizer has them.
    @inline(__always)
    func apply(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, s1: UnsafeMutablePointer<Float>,
               s2: UnsafeMutablePointer<Float>, count: Int) {
        switch kind {
        case .sgd:
            // One loop per case, the branches hoisted so that each vectorizes; the same Float operations in
            // the same order as the general form, so the same bits.
            if !momentum {
                sgd.apply(w: w, g: g, count: count)
            } else if nesterov {
                // PyTorch starts the buffer at the first gradient; from zeros, μ·0 + d is the same value.
                for i in 0..<count {
                    let d = g[i] + wd * w[i]
                    s1[i] = mu * s1[i] + d
                    w[i] -= rate * (d + mu * s1[i])
                }
            } else {
                for i in 0..<count {
                    s1[i] = mu * s1[i] + (g[i] + wd * w[i])
                    w[i] -= rate * s1[i]
                }
            }
        case .adam, .adamw:
            @inline(__always) func moments(_ i: Int, _ d: Float) {
                s1[i] = b1 * s1[i] + (1 - b1) * d
                s2[i] = b2 * s2[i] + (1 - b2) * d * d
                w[i] -= stepSize * s1[i] / (s2[i].squareRoot() / c2Root + eps)
            }
            if kind == .adamw {
                for i in 0..<count {
                    w[i] *= decay
                    moments(i, g[i])
                }
            } else {
                for i in 0..<count { moments(i, g[i] + wd * w[i]) }
            }
        }
    }
}

/// Times training steps alone, the figure `Benchmarks/bench_train.py` compares with PyTorch: forward, loss,
/// backward, clipping and the optimizer's update on one fixed mini-batch of the teacher task, with no evaluation
/// and no snapshot (what a framework's bare training loop does).
public enum TrainingBenchmark {
    /// Seconds per step over `steps` steps, after `warmup` untimed ones. `spec.train` must be set; its dataset is
    /// replaced by the teacher task (input width: the spec's).
    public static func secondsPerStep(_ spec: ExperimentSpec, steps: Int, warmup: Int = 5, matmul: Matmul) throws(ExperimentError) -> Double {
        guard var train = spec.train else { throw .unsupported("spec.train is not set: nothing to train") }
        train.dataset = .teacher
        train.validationSize = 1
        var teacherSpec = spec
        teacherSpec.train = train
        let engine = try TrainEngine(spec: teacherSpec, data: nil, matmul: matmul)
        engine.loadBatch(step: 0)
        _ = try engine.initialize(isCancelled: { false })
        func step(_ k: Int) {
            engine.forward(rows: engine.B, input: engine.x.pointer, hs: engine.h, as: engine.a, logits: engine.logits.pointer)
            _ = engine.crossEntropy(rows: engine.B, logits: engine.logits.pointer, labels: engine.labels, gradient: true)
            _ = engine.backwardAndUpdate(lr: train.schedule.rate(step: k, of: steps), step: k + 1, snapshot: false)
        }
        for k in 0..<warmup { step(k) }
        let clock = ContinuousClock()
        let elapsed = clock.measure { for k in 0..<steps { step(warmup + k) } }
        let (s, atto) = elapsed.components
        return (Double(s) + Double(atto) * 1e-18) / Double(max(1, steps))
    }
}
