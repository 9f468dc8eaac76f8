/// One run's state and buffers (see `ExperimentRunner` for the scheme). Not shared across threads.
final class RunEngine {
    let spec: ExperimentSpec
    let matmul: Matmul
    let stats: StatsComputer
    let activation: Activation
    let initializer: WeightInitializer
    let plan: ExecutionPlan
    let B: Int, n: Int, n0: Int, depth: Int, m: Int
    let input: FloatBuffer
    let labels: [Int]?
    /// LSUV: the factors applied to each layer's orthonormal start, in order (replayed when re-drawn).
    var lsuvFactors: [[Float]]
    var shared: [FloatBuffer] = []
    var parameters: [LayerParameters] = []
    /// Test hook: receives (layer, ∂L/∂a_l, ∂L/∂W_l) in the backward pass.
    var gradientSink: ((Int, [Float], [Float]) -> Void)? = nil
    /// Set by `ExperimentRunner.run(_:input:profile:…)`: the run's time by phase (`initlab bench experiment`).
    var profile: PhaseProfile? = nil

    init(
        spec: ExperimentSpec, matmul: Matmul, input batch: InputBatch?, plan: ExecutionPlan? = nil, profile: PhaseProfile? = nil
    ) throws(ExperimentError) {
        self.spec = spec
        self.profile = profile
        self.matmul = matmul
        stats = StatsComputer(threads: matmul.threads)
        B = spec.batch
        n = spec.width
        n0 = spec.resolvedInputWidth
        depth = spec.depth
        m = spec.architecture.blockSize
        self.plan = plan ?? ExecutionPlan(spec: spec)
        guard let act = Activation(spec.activation) else {
            throw .unsupported("unknown activation \(spec.activation.name)")
        }
        activation = act
        initializer = WeightInitializer(spec.initializer, depth: spec.depth, blockSize: spec.architecture.blockSize, stem: spec.stemLayers)
        lsuvFactors = Array(repeating: [], count: spec.depth + 1)
        let inputBuffer = FloatBuffer(spec.batch * spec.resolvedInputWidth)
        let inputCount = inputBuffer.count
        input = inputBuffer
        if spec.input.isDataset {
            guard let batch else { throw .missingInput("spec.input is a dataset: pass its batch as `input`") }
            guard batch.x.rows == B, batch.x.cols == n0 else {
                throw .missingInput("input batch is \(batch.x.rows)×\(batch.x.cols), expected \(B)×\(n0) (batch × input_width)")
            }
            batch.x.storage.withUnsafeBufferPointer { src in
                if let s = src.baseAddress { inputBuffer.pointer.update(from: s, count: inputCount) }
            }
            if spec.loss != .none {
                guard let l = batch.labels, l.count == B else { throw .missingInput("loss \(spec.loss.rawValue) needs \(B) labels") }
                guard l.allSatisfy({ $0 >= 0 && $0 < spec.width }) else {
                    throw .missingInput("labels must be in 0 ..< width (\(spec.width))")
                }
            }
            labels = batch.labels
        } else {
            let threads = matmul.threads
            let fill = { RandomFill.normal(Philox(seed: spec.seed, stream: RandomStream.input), inputBuffer.buffer, mean: 0, std: 1, threads: threads) }
            if let profile { profile.measure(.random, fill) } else { fill() }
            labels = nil
        }
    }

    func fanIn(_ l: Int) -> Int { l == 1 ? n0 : n }
    func isBlockEnd(_ l: Int) -> Bool { spec.isBlockEnd(l) }

    // MARK: Weights and biases

    /// W_l (n × fanIn) into `w`.
    func drawWeights(_ l: Int, into w: FloatBuffer) {
        timed(.random) { drawWeightsUntimed(l, into: w) }
    }

    private func drawWeightsUntimed(_ l: Int, into w: FloatBuffer) {
        let fi = fanIn(l), count = n * fi
        if spec.weights == .shared {
            let which = (n0 != n && l > 1) ? 2 : 1
            let stream = which
            let slot = which - 1
            while shared.count <= slot { shared.append(FloatBuffer(0)) }
            if shared[slot].count != count {
                let buf = FloatBuffer(count)
                initializer.distribution(layer: stream, fanIn: fi, fanOut: n)
                    .fill(buf.buffer, rows: n, cols: fi, philox: Philox(seed: spec.seed, stream: RandomStream.weights(stream)), threads: matmul.threads)
                shared[slot] = buf
            }
            w.pointer.update(from: shared[slot].pointer, count: count)
            return
        }
        initializer.distribution(layer: l, fanIn: fi, fanOut: n)
            .fill(w.mutablePrefix(count), rows: n, cols: fi, philox: Philox(seed: spec.seed, stream: RandomStream.weights(l)), threads: matmul.threads)
        for f in lsuvFactors[l] { scale(w.pointer, count: count, by: f) }
    }

    func scale(_ p: UnsafeMutablePointer<Float>, count: Int, by f: Float) {
        for i in 0..<count { p[i] *= f }
    }

    /// Layer l's bias distribution: schemes that depend on a fan (torch_default) use the layer's own fan_in, as
    /// PyTorch's `nn.Linear` does.
    func biasDistribution(_ l: Int) -> WeightDistribution {
        WeightInitializer.biasDistribution(spec.biasInit, fanIn: fanIn(l))
    }

    /// b_l (n) into `b`; false when the bias is identically zero.
    func drawBias(_ l: Int, into b: FloatBuffer) -> Bool {
        let biasDistribution = biasDistribution(l)
        if case .constant(let c) = biasDistribution, c == 0 { return false }
        timed(.random) {
            biasDistribution.fill(b.mutablePrefix(n), rows: 1, cols: n, philox: Philox(seed: spec.seed, stream: RandomStream.bias(l)), threads: 1)
        }
        return true
    }

    /// h = a·Wᵀ + b (+ skip), the same operations in the forward pass and in recomputation.
    func linear(_ l: Int, a: UnsafePointer<Float>, w: FloatBuffer, bias: FloatBuffer, skip: UnsafePointer<Float>?, h: UnsafeMutablePointer<Float>) {
        let fi = fanIn(l)
        gemm(.nt, m: B, n: n, k: fi, a: a, b: w.pointer, c: h)
        if drawBias(l, into: bias) {
            let bp = bias.pointer
            for r in 0..<B {
                let row = h + r * n
                for j in 0..<n { row[j] += bp[j] }
            }
        }
        if let skip, isBlockEnd(l) {
            for i in 0..<(B * n) { h[i] += skip[i] }
        }
    }

    func layerParameters(_ l: Int) -> LayerParameters {
        let fi = fanIn(l)
        var variance: Double
        var mean: Double
        if spec.weights == .shared {
            let which = (n0 != n && l > 1) ? 2 : 1
            let d = initializer.distribution(layer: which, fanIn: fi, fanOut: n)
            variance = d.variance(rows: n, cols: fi)
            mean = d.mean(rows: n, cols: fi)
        } else {
            let d = initializer.distribution(layer: l, fanIn: fi, fanOut: n)
            variance = d.variance(rows: n, cols: fi)
            mean = d.mean(rows: n, cols: fi)
            let s = lsuvFactors[l].reduce(1.0) { $0 * Double($1) }
            variance *= s * s
            mean *= s
        }
        let biasDistribution = biasDistribution(l)
        return LayerParameters(fanIn: fi, fanOut: n, weightMean: mean, weightVariance: variance,
                               biasMean: biasDistribution.mean(rows: 1, cols: n), biasVariance: biasDistribution.variance(rows: 1, cols: n),
                               skipFrom: isBlockEnd(l) ? l - m : nil)
    }

    /// a = φ(h) on the engine's threads (up to four chunks per thread, of ≥ 16 Ki elements, handed out
    /// dynamically; an elementwise result does not depend on the split).
    func applyActivation(_ h: UnsafePointer<Float>, _ a: UnsafeMutablePointer<Float>, count: Int) {
        timed(.activation) {
            elementwise(count, threads: matmul.threads) { start, length in activation.apply(h + start, a + start, count: length) }
        }
    }

    /// g *= φ′(h) on the engine's threads.
    func multiplyActivationDerivative(_ h: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, count: Int) {
        timed(.activation) {
            elementwise(count, threads: matmul.threads) { start, length in activation.multiplyDerivative(h + start, g + start, count: length) }
        }
    }

    /// Population std in double (LSUV's criterion).
    func std(_ p: UnsafePointer<Float>, count: Int) -> Double { populationStd(p, count: count) }
}

/// Mean and mean square of `count` floats, accumulated in double in order (the theory's starting moments).
func rawMoments(_ p: UnsafePointer<Float>, count: Int) -> (mean: Double, meanSquare: Double) {
    var s1 = 0.0, s2 = 0.0
    for i in 0..<count { let x = Double(p[i]); s1 += x; s2 += x * x }
    let n = Double(max(1, count))
    return (s1 / n, s2 / n)
}

/// Population std of `count` floats, accumulated in double in order.
func populationStd(_ p: UnsafePointer<Float>, count: Int) -> Double {
    guard count > 0 else { return 0 }
    var s = 0.0, ss = 0.0
    for i in 0..<count { let x = Double(p[i]); s += x; ss += x * x }
    let mean = s / Double(count)
    return max(0, ss / Double(count) - mean * mean).squareRoot()
}
