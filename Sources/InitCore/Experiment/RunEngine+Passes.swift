#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The buffers the two passes share. The forward pass leaves a_L in `aPrev`, the checkpoints (or every
/// pre-activation, when `storeAll`) in place, and the weight cache filled; the backward pass starts from there.
struct PassBuffers {
    /// Whether every pre-activation fits (one backward segment): no checkpoints, no recomputation.
    let storeAll: Bool
    let w: FloatBuffer
    let bias: FloatBuffer
    var aPrev: FloatBuffer
    var aCur: FloatBuffer
    /// The current residual block's input.
    let blockInput: FloatBuffer
    /// The forward pass's pre-activation when not stored.
    let hTemp: FloatBuffer
    /// One backward segment's pre-activations.
    let hStore: FloatBuffer
    /// a at every segment start but the first.
    let checkpoints: [FloatBuffer]
    /// A residual net's block input at every segment start but the first (a segment may start inside a block).
    let blockCheckpoints: [FloatBuffer]
    /// One segment's weight matrices (`plan.cacheWeights`).
    let cache: [FloatBuffer]
}

extension RunEngine {
    /// The whole run in three steps: the forward pass (with LSUV's calibration of each layer as it goes), then
    /// the backward pass, then the summary.
    func run(progress: (ExperimentProgress) -> Void, isCancelled: () -> Bool) throws(ExperimentError) -> ExperimentResult {
        // Input moments for the theory.
        let moments = rawMoments(input.pointer, count: B * n0)
        let inputStats = measuredStats(input.prefix(B * n0), rows: B, cols: n0, bins: 1, dead: .nonPositiveColumns)
        var theory = MeanField(activation: activation, inputMean: moments.mean, inputMeanSquare: moments.meanSquare)

        let layers: [LayerResult]
        if spec.architecture.convStack != nil {
            layers = try convNetPasses(theory: &theory, progress: progress, isCancelled: isCancelled)
        } else {
            var buffers = makeBuffers()
            var dense = try forwardPass(&buffers, theory: &theory, progress: progress, isCancelled: isCancelled)
            if spec.backward {
                try backwardPass(&dense, &buffers, theory: theory, progress: progress, isCancelled: isCancelled)
            }
            layers = dense
        }
        let summary = summarize(layers, inputStd: inputStats.std)
        let source: String
        switch spec.loss {
        case .none: source = "unit_gaussian"
        case .mse: source = "mse"
        case .crossEntropy: source = "cross_entropy"
        }
        var conventions = Conventions(weights: spec.weights.rawValue, gradientSource: source)
        if spec.architecture.convStack != nil {
            conventions.weightLayout = "conv (out, kh, kw, in), dense (out, in)"
            conventions.fanIn = "in_channels·kh·kw (conv), in_features (dense)"
        }
        return ExperimentResult(spec: spec, conventions: conventions, layers: layers, summary: summary)
    }

    /// `stats.compute`, timed as statistics when the run is profiled.
    func measuredStats(_ x: UnsafeBufferPointer<Float>, rows: Int, cols: Int, bins: Int, dead: DeadRule) -> Stats {
        timed(.statistics) { stats.compute(x, rows: rows, cols: cols, bins: bins, dead: dead) }
    }

    var layersTotal: Int { spec.backward ? 2 * depth : depth }

    func makeBuffers() -> PassBuffers {
        let maxW = max(n, n0)
        let act = B * n
        let storeAll = spec.backward && plan.segment >= depth
        let seg = plan.segment
        let aPrev = FloatBuffer(B * maxW)
        aPrev.pointer.update(from: input.pointer, count: B * n0)
        let blockInput = spec.architecture.isResidual ? FloatBuffer(act) : FloatBuffer(0)
        if spec.startsBlock(after: 0) { blockInput.copy(from: input, count: act) }
        let checkpointCount = (spec.backward && !storeAll) ? (depth - 1) / seg : 0
        let residual = spec.architecture.isResidual
        return PassBuffers(
            storeAll: storeAll, w: FloatBuffer(n * maxW), bias: FloatBuffer(n), aPrev: aPrev, aCur: FloatBuffer(B * maxW),
            blockInput: blockInput, hTemp: storeAll ? FloatBuffer(0) : FloatBuffer(act),
            hStore: spec.backward ? FloatBuffer(seg * act) : FloatBuffer(0),
            checkpoints: (0..<checkpointCount).map { _ in FloatBuffer(act) },
            blockCheckpoints: (0..<(residual ? checkpointCount : 0)).map { _ in FloatBuffer(act) },
            cache: plan.cacheWeights ? (0..<seg).map { _ in FloatBuffer(n * maxW) } : [])
    }

    // MARK: Forward

    /// Layers 1…depth: h_l, LSUV's calibration when the initializer is lsuv, a_l, their statistics and the
    /// theory's prediction; keeps checkpoints for the backward pass. Leaves a_L in `buffers.aPrev`.
    func forwardPass(
        _ buffers: inout PassBuffers, theory: inout MeanField, progress: (ExperimentProgress) -> Void, isCancelled: () -> Bool
    ) throws(ExperimentError) -> [LayerResult] {
        let act = B * n
        let seg = plan.segment
        let bins = spec.histogramBins
        let storeAll = buffers.storeAll
        let lsuv = spec.initializer.name == "lsuv"
        var layers: [LayerResult] = []
        layers.reserveCapacity(depth)
        for l in 1...depth {
            if isCancelled() { throw .cancelled }
            let h = storeAll ? buffers.hStore.pointer + (l - 1) * act : buffers.hTemp.pointer
            let wl = storeAll && plan.cacheWeights ? buffers.cache[l - 1] : buffers.w
            drawWeights(l, into: wl)
            let skip: UnsafePointer<Float>? = spec.architecture.isResidual ? UnsafePointer(buffers.blockInput.pointer) : nil
            linear(l, a: buffers.aPrev.pointer, w: wl, bias: buffers.bias, skip: skip, h: h)
            let lsuvIterations = lsuv ? calibrateLSUV(l, a: buffers.aPrev.pointer, w: wl, bias: buffers.bias, skip: skip, h: h) : nil
            let pre = measuredStats(UnsafeBufferPointer(start: h, count: act), rows: B, cols: n, bins: bins, dead: .nonPositiveColumns)
            applyActivation(h, buffers.aCur.pointer, count: act)
            let post = measuredStats(buffers.aCur.prefix(act), rows: B, cols: n, bins: bins, dead: .nonPositiveColumns)
            let p = layerParameters(l)
            parameters.append(p)
            let t = theory.step(p)
            let result = LayerResult(index: l, fanIn: fanIn(l), fanOut: n, forward: ForwardStats(preactivation: pre, activation: post),
                                     backward: nil, theory: t, lsuvIterations: lsuvIterations)
            layers.append(result)
            if spec.startsBlock(after: l) { buffers.blockInput.copy(from: buffers.aCur, count: act) }
            if spec.backward && !storeAll && l % seg == 0 && l < depth {
                buffers.checkpoints[l / seg - 1].copy(from: buffers.aCur, count: act)
                if spec.architecture.isResidual { buffers.blockCheckpoints[l / seg - 1].copy(from: buffers.blockInput, count: act) }
            }
            swap(&buffers.aPrev, &buffers.aCur)
            progress(ExperimentProgress(layersDone: l, layersTotal: layersTotal, phase: "forward", layer: result))
        }
        return layers
    }

    // MARK: LSUV

    /// Mishkin & Matas' calibration of layer `l` on the actual batch: while |std(h) − 1| ≥ tol (and at most
    /// max_iterations times), W ← W / std(h) and h is recomputed. The factors are kept (`lsuvFactors`) so a
    /// re-drawn W_l is rescaled the same way. Returns the number of rescalings.
    func calibrateLSUV(
        _ l: Int, a: UnsafePointer<Float>, w: FloatBuffer, bias: FloatBuffer, skip: UnsafePointer<Float>?,
        h: UnsafeMutablePointer<Float>
    ) -> Int {
        calibrate(l, h: h, count: B * n, weights: w.pointer, weightCount: n * fanIn(l)) {
            linear(l, a: a, w: w, bias: bias, skip: skip, h: h)
        }
    }

    /// LSUV's loop for layer `l`, whatever its kind: `recompute` rebuilds h (`count` values) from the rescaled
    /// weights (`weightCount` values).
    func calibrate(
        _ l: Int, h: UnsafePointer<Float>, count: Int, weights: UnsafeMutablePointer<Float>, weightCount: Int, recompute: () -> Void
    ) -> Int {
        let tol = spec.initializer.number("tol", default: 0.1)
        let maxIterations = Int(spec.initializer.number("max_iterations", default: 10))
        var iterations = 0
        while iterations < maxIterations {
            let s = std(h, count: count)
            guard s.isFinite, s > 0, abs(s - 1) >= tol else { break }
            let f = Float(1 / s)
            lsuvFactors[l].append(f)
            scale(weights, count: weightCount, by: f)
            recompute()
            iterations += 1
        }
        return iterations
    }

    // MARK: Backward

    /// From ∂L/∂a_L down to layer 1, one segment at a time from the last: recompute the segment's
    /// pre-activations from its checkpoint (unless all are stored), then walk back through it, measuring
    /// ∂L/∂a_l and ∂L/∂W_l. Fills each layer's `backward` and the theory's gradient prediction.
    func backwardPass(
        _ layers: inout [LayerResult], _ buffers: inout PassBuffers, theory: MeanField,
        progress: (ExperimentProgress) -> Void, isCancelled: () -> Bool
    ) throws(ExperimentError) {
        let maxW = max(n, n0)
        let act = B * n
        let seg = plan.segment
        let bins = spec.histogramBins
        let storeAll = buffers.storeAll
        let hStore = buffers.hStore, blockInput = buffers.blockInput, w = buffers.w, bias = buffers.bias
        let cache = buffers.cache
        var delta = FloatBuffer(act)
        var deltaNext = FloatBuffer(B * maxW)
        let outputMeanSquare = outputGradient(aL: buffers.aPrev.pointer, into: delta)
        let gradStd = theory.backward(parameters, outputGradMeanSquare: outputMeanSquare)
        for i in 0..<depth { layers[i].theory.predictedActivationGradStd = gradStd[i] }
        let dW = FloatBuffer(n * maxW)
        let aTemp = FloatBuffer(B * maxW)
        let pending = spec.architecture.isResidual ? FloatBuffer(act) : FloatBuffer(0)
        var pendingIndex = -1
        var done = depth
        let segmentStarts = Array(stride(from: 0, to: depth, by: seg))
        for c in segmentStarts.reversed() {
            let e = min(depth, c + seg)
            let aStart: FloatBuffer = c == 0 ? input : (storeAll ? input : buffers.checkpoints[c / seg - 1])
            if !storeAll {
                // Recompute the segment's pre-activations from its checkpoint, exactly as the forward pass did.
                buffers.aPrev.pointer.update(from: aStart.pointer, count: B * fanIn(c + 1))
                if spec.architecture.isResidual {
                    if c > 0 {
                        blockInput.copy(from: buffers.blockCheckpoints[c / seg - 1], count: act)
                    } else if spec.startsBlock(after: 0) {
                        blockInput.copy(from: input, count: act)
                    }
                }
                for l in (c + 1)...e {
                    let wl = plan.cacheWeights ? cache[l - c - 1] : w
                    drawWeights(l, into: wl)
                    let h = hStore.pointer + (l - c - 1) * act
                    linear(l, a: buffers.aPrev.pointer, w: wl, bias: bias, skip: spec.architecture.isResidual ? UnsafePointer(blockInput.pointer) : nil, h: h)
                    applyActivation(h, buffers.aPrev.pointer, count: act)
                    if spec.startsBlock(after: l) { blockInput.copy(from: buffers.aPrev, count: act) }
                }
            }
            for l in stride(from: e, through: c + 1, by: -1) {
                if isCancelled() { throw .cancelled }
                let fi = fanIn(l)
                let gradStats = measuredStats(delta.prefix(act), rows: B, cols: n, bins: bins, dead: .zeroColumns)
                let deltaCopy = gradientSink == nil ? [] : Array(delta.prefix(act))
                let h = hStore.pointer + (l - c - 1) * act
                multiplyActivationDerivative(h, delta.pointer, count: act)  // delta is now ∂L/∂h_l
                // a_{l−1}
                let aIn: UnsafePointer<Float>
                if l - 1 == c {
                    aIn = UnsafePointer(aStart.pointer)
                } else {
                    applyActivation(hStore.pointer + (l - c - 2) * act, aTemp.pointer, count: act)
                    aIn = UnsafePointer(aTemp.pointer)
                }
                gemm(.tn, m: n, n: fi, k: B, a: delta.pointer, b: aIn, c: dW.pointer)
                let wStats = measuredStats(dW.prefix(n * fi), rows: n, cols: fi, bins: bins, dead: .zeroRows)
                gradientSink?(l, deltaCopy, Array(dW.prefix(n * fi)))
                if isBlockEnd(l) && l - m > 0 {
                    pending.copy(from: delta, count: act)
                    pendingIndex = l - m
                }
                if l > 1 {
                    let wl: FloatBuffer
                    if plan.cacheWeights {
                        wl = cache[l - c - 1]
                    } else {
                        drawWeights(l, into: w)
                        wl = w
                    }
                    gemm(.nn, m: B, n: fi, k: n, a: delta.pointer, b: wl.pointer, c: deltaNext.pointer)
                    if pendingIndex == l - 1 {
                        for i in 0..<act { deltaNext.pointer[i] += pending.pointer[i] }
                        pendingIndex = -1
                    }
                    swap(&delta, &deltaNext)
                }
                layers[l - 1].backward = BackwardStats(activationGrad: gradStats, weightGrad: wStats)
                done += 1
                progress(ExperimentProgress(layersDone: done, layersTotal: layersTotal, phase: "backward", layer: layers[l - 1]))
            }
        }
    }

    /// Fills ∂L/∂a_L and returns its mean square (the theory's starting point: 1 for the unit Gaussian).
    func outputGradient(aL: UnsafePointer<Float>, into delta: FloatBuffer) -> Double {
        let act = B * n
        let d = delta.pointer
        switch spec.loss {
        case .none:
            timed(.random) {
                RandomFill.normal(
                    Philox(seed: spec.seed, stream: RandomStream.outputGradient), delta.mutablePrefix(act), mean: 0, std: 1,
                    threads: matmul.threads)
            }
            return 1
        case .mse:
            // L = mean((a − y)²) over all B·n elements ⇒ ∂L/∂a = 2(a − y)/(B·n).
            if let labels {
                d.update(repeating: 0, count: act)
                for r in 0..<B { d[r * n + labels[r]] = 1 }
            } else {
                timed(.random) {
                    RandomFill.normal(
                        Philox(seed: spec.seed, stream: RandomStream.targets), delta.mutablePrefix(act), mean: 0, std: 1,
                        threads: matmul.threads)
                }
            }
            let k = Float(2.0 / Double(act))
            for i in 0..<act { d[i] = k * (aL[i] - d[i]) }
        case .crossEntropy:
            // L = mean over the batch of −log softmax(a)[label] ⇒ ∂L/∂a = (softmax(a) − onehot)/B.
            for r in 0..<B {
                let row = aL + r * n
                var mx = -Double.infinity
                for j in 0..<n { mx = max(mx, Double(row[j])) }
                var z = 0.0
                for j in 0..<n { z += exp(Double(row[j]) - mx) }
                for j in 0..<n {
                    let p = exp(Double(row[j]) - mx) / z
                    let y = (labels?[r] ?? -1) == j ? 1.0 : 0.0
                    d[r * n + j] = Float((p - y) / Double(B))
                }
            }
        }
        var s = 0.0
        for i in 0..<act { s += Double(d[i]) * Double(d[i]) }
        return s / Double(act)
    }

    func summarize(_ layers: [LayerResult], inputStd: Double) -> ExperimentSummary {
        let vanishedThreshold = Double(Float.leastNormalMagnitude)
        let firstNonfinite = layers.first { $0.forward.preactivation.nonfiniteFraction > 0 || $0.forward.activation.nonfiniteFraction > 0 }?.index
        let firstVanished = layers.first {
            let a = $0.forward.activation
            return a.zeroFraction == 1 || (a.count > 1 && a.nonfiniteFraction < 1 && a.std < vanishedThreshold)
        }?.index
        let stop = min(firstNonfinite ?? Int.max, firstVanished ?? Int.max)
        let lastGood = min(layers.count, stop - 1)
        var forwardGrowth = Double.nan
        if lastGood >= 1, inputStd > 0 {
            forwardGrowth = exp((log(layers[lastGood - 1].forward.activation.std) - log(inputStd)) / Double(lastGood))
        } else if stop == 1 {
            forwardGrowth = firstNonfinite == 1 ? .infinity : 0
        }
        let forwardVerdict: Verdict
        if firstNonfinite != nil {
            forwardVerdict = .exploding
        } else if firstVanished != nil {
            forwardVerdict = .vanishing
        } else {
            let ratio = (layers.last?.forward.activation.std ?? 0) / inputStd
            forwardVerdict = ratio > 10 ? .exploding : (ratio < 0.1 ? .vanishing : .stable)
        }

        var backwardGrowth: Double? = nil
        var backwardVerdict: Verdict? = nil
        if spec.backward, let top = layers.last?.backward?.activationGrad.std {
            // Walk down from the output until a gradient is non-finite or vanished.
            var verdict: Verdict? = nil
            var lowest = layers.count
            var lowestStd = top
            for layer in layers.reversed() {
                guard let b = layer.backward else { break }
                let g = b.activationGrad
                if g.nonfiniteFraction > 0 || b.weightGrad.nonfiniteFraction > 0 { verdict = .exploding; break }
                if g.zeroFraction == 1 || (g.count > 1 && g.std < vanishedThreshold) { verdict = .vanishing; break }
                lowest = layer.index
                lowestStd = g.std
            }
            let steps = layers.count - lowest
            backwardGrowth = steps > 0 ? exp((log(lowestStd) - log(top)) / Double(steps)) : (verdict == nil ? 1 : (verdict == .exploding ? .infinity : 0))
            if verdict == nil {
                let ratio = lowestStd / top
                verdict = ratio > 10 ? .exploding : (ratio < 0.1 ? .vanishing : .stable)
            }
            backwardVerdict = verdict
        }
        let typical = parameters.count > 1 ? parameters[1] : parameters[0]
        let v1 = layers.first.map { $0.theory.predictedPreactivationStd * $0.theory.predictedPreactivationStd } ?? 1
        let theory = MeanField.summary(activation, typical: LayerParameters(fanIn: typical.fanIn, fanOut: typical.fanOut, weightMean: 0,
                                                                            weightVariance: typical.weightVariance, biasMean: typical.biasMean,
                                                                            biasVariance: typical.biasVariance, skipFrom: nil), v1: v1)
        return ExperimentSummary(firstNonfiniteLayer: firstNonfinite, firstVanishedLayer: firstVanished, forwardGrowthFactor: forwardGrowth,
                                 backwardGrowthFactor: backwardGrowth, forwardVerdict: forwardVerdict, backwardVerdict: backwardVerdict,
                                 theory: theory)
    }
}
