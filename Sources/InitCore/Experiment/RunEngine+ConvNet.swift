/// A cnn's two passes (`Architecture.cnn`): conv layers on the matmul core (im2col, `Conv2D`), each followed by
/// the activation and its optional pooling, then flatten and dense layers. Everything the backward pass needs
/// is kept (each layer's input and pre-activation, every kernel), so nothing is recomputed but the patches,
/// re-gathered from the stored input; the estimate (`ExperimentSpec.estimate`) counts all of it.
///
/// Per layer the same quantities as a dense net's are measured: conv statistics treat each position of each
/// image as a row and each channel as a column, so dead units are dead channels. The mean-field map runs with
/// fan_in = C·k² (σ_w² = C·k²·Var(W)); it ignores the zero padding at the borders, and after a pooled layer
/// it continues from the pooled output's measured moments (`MeanField.observe`). The backward prediction
/// uses each conv layer's fan_out as its input gradient sees it, out·k²/stride², and the pooling's factor.
/// Bias schemes that depend on a fan (torch_default) use each layer's own fan_in.
struct ConvNetBuffers {
    let geometry: ConvNetGeometry
    /// inputs[l − 1]: what layer l reads (NHWC for conv layers; batch × features for dense ones).
    let inputs: [FloatBuffer]
    /// pre[l − 1]: layer l's pre-activation.
    let pre: [FloatBuffer]
    /// weights[l − 1]: layer l's matrix (out × kh·kw·in, or out × in).
    let weights: [FloatBuffer]
    /// The last layer's activation a_L.
    let output: FloatBuffer
    /// A pooled layer's activation before pooling (forward), and a recomputed one (backward).
    let activation: FloatBuffer
    let patches: FloatBuffer
    let bias: FloatBuffer
}

extension RunEngine {
    var convGeometry: ConvNetGeometry { ConvNetGeometry(spec.architecture.convStack ?? ConvStack(layers: []), batch: B) }

    /// Values in layer l's pre-activation (and activation).
    func convNetOutputCount(_ l: Int, _ g: ConvNetGeometry) -> Int {
        let (rows, channels) = g.outputLayout(l, width: n)
        return rows * channels
    }

    func makeConvNetBuffers() -> ConvNetBuffers {
        let g = convGeometry
        let K = g.layers.count
        var inputs = [input]
        var pre: [FloatBuffer] = []
        var weights: [FloatBuffer] = []
        var maxPatches = 0, maxPooled = 0
        for l in 1...depth {
            let count = convNetOutputCount(l, g)
            pre.append(FloatBuffer(count))
            if l <= K {
                let layer = g.layers[l - 1]
                weights.append(FloatBuffer(layer.conv.weightCount))
                maxPatches = max(maxPatches, layer.conv.outPositions * layer.conv.patchSize)
                if layer.pool != nil { maxPooled = max(maxPooled, count) }
                if l < depth { inputs.append(FloatBuffer(B * layer.next.count)) }
            } else {
                weights.append(FloatBuffer(n * g.fanIn(l, width: n)))
                if l < depth { inputs.append(FloatBuffer(B * n)) }
            }
        }
        let maxChannels = max(n, g.layers.map(\.conv.outChannels).max() ?? 0)
        return ConvNetBuffers(
            geometry: g, inputs: inputs, pre: pre, weights: weights, output: FloatBuffer(B * n), activation: FloatBuffer(maxPooled),
            patches: FloatBuffer(maxPatches), bias: FloatBuffer(maxChannels))
    }

    /// Layer l's weight distribution.
    func convNetDistribution(_ l: Int, _ g: ConvNetGeometry) -> WeightDistribution {
        l <= g.layers.count
            ? initializer.convDistribution(layer: l, shape: g.layers[l - 1].conv)
            : initializer.distribution(layer: l, fanIn: g.fanIn(l, width: n), fanOut: n)
    }

    func convNetBiasDistribution(_ l: Int, _ g: ConvNetGeometry) -> WeightDistribution {
        WeightInitializer.biasDistribution(spec.biasInit, fanIn: g.fanIn(l, width: n))
    }

    /// W_l (channels × fan_in) into `w`, with the LSUV factors calibrated so far: the forward pass's draw, and
    /// the weights a training run starts from.
    func convNetDrawWeights(_ l: Int, _ g: ConvNetGeometry, into w: FloatBuffer) {
        let fi = g.fanIn(l, width: n), channels = g.outputLayout(l, width: n).channels
        timed(.random) {
            convNetDistribution(l, g).fill(
                w.mutablePrefix(channels * fi), rows: channels, cols: fi, philox: Philox(seed: spec.seed, stream: RandomStream.weights(l)),
                threads: matmul.threads)
            for f in lsuvFactors[l] { scale(w.pointer, count: channels * fi, by: f) }
        }
    }

    /// b_l (one per channel or unit) into `b`; false when the bias is identically zero (`b` untouched).
    func convNetDrawBias(_ l: Int, _ g: ConvNetGeometry, into b: FloatBuffer) -> Bool {
        let bias = convNetBiasDistribution(l, g)
        if case .constant(let c) = bias, c == 0 { return false }
        let channels = g.outputLayout(l, width: n).channels
        timed(.random) {
            bias.fill(b.mutablePrefix(channels), rows: 1, cols: channels, philox: Philox(seed: spec.seed, stream: RandomStream.bias(l)), threads: 1)
        }
        return true
    }

    /// h_l = conv(x, W_l) + b (conv) or x·W_lᵀ + b (dense).
    func convNetLinear(_ l: Int, _ buffers: ConvNetBuffers) {
        let g = buffers.geometry
        let x = buffers.inputs[l - 1].pointer, w = buffers.weights[l - 1].pointer, h = buffers.pre[l - 1].pointer
        let channels: Int, rows: Int
        if l <= g.layers.count {
            let conv = Conv2D(g.layers[l - 1].conv, matmul: matmul)
            timed(.matmul) { conv.im2col(x, into: buffers.patches.pointer) }
            gemm(.nt, m: conv.shape.outPositions, n: conv.shape.outChannels, k: conv.shape.patchSize, a: buffers.patches.pointer, b: w, c: h)
            channels = conv.shape.outChannels
            rows = conv.shape.outPositions
        } else {
            gemm(.nt, m: B, n: n, k: g.fanIn(l, width: n), a: x, b: w, c: h)
            channels = n
            rows = B
        }
        guard convNetDrawBias(l, g, into: buffers.bias) else { return }
        let b = buffers.bias.pointer
        for r in 0..<rows {
            let row = h + r * channels
            for j in 0..<channels { row[j] += b[j] }
        }
    }

    func convNetParameters(_ l: Int, _ g: ConvNetGeometry) -> LayerParameters {
        let fi = g.fanIn(l, width: n)
        let rows = g.outputLayout(l, width: n).channels
        let d = convNetDistribution(l, g)
        let s = lsuvFactors[l].reduce(1.0) { $0 * Double($1) }
        let bias = convNetBiasDistribution(l, g)
        var fanOut = n
        var poolFactor = 1.0
        if l <= g.layers.count {
            let c = g.layers[l - 1].conv
            fanOut = max(1, c.fanOut / max(1, c.strideH * c.strideW))
            if let p = g.layers[l - 1].pool {
                let k2 = Double(p.size * p.size)
                poolFactor = p.kind == .max ? 1 / k2 : 1 / (k2 * k2)
            }
        }
        return LayerParameters(
            fanIn: fi, fanOut: fanOut, weightMean: d.mean(rows: rows, cols: fi) * s, weightVariance: d.variance(rows: rows, cols: fi) * s * s,
            biasMean: bias.mean(rows: 1, cols: rows), biasVariance: bias.variance(rows: 1, cols: rows), skipFrom: nil,
            poolGradientFactor: poolFactor)
    }

    func convNetShape(_ l: Int, _ g: ConvNetGeometry) -> LayerShape {
        guard l <= g.layers.count else { return LayerShape(kind: .dense, output: [n]) }
        let layer = g.layers[l - 1]
        return LayerShape(kind: .conv, output: layer.output.array, pooled: layer.pooled?.array)
    }

    /// Both passes of a cnn; returns every layer's result (the backward fields filled when `spec.backward`).
    func convNetPasses(
        theory: inout MeanField, progress: (ExperimentProgress) -> Void, isCancelled: () -> Bool
    ) throws(ExperimentError) -> [LayerResult] {
        let buffers = makeConvNetBuffers()
        var layers = try convNetForward(buffers, theory: &theory, progress: progress, isCancelled: isCancelled)
        if spec.backward {
            try convNetBackward(&layers, buffers, theory: theory, progress: progress, isCancelled: isCancelled)
        }
        return layers
    }

    func convNetForward(
        _ buffers: ConvNetBuffers, theory: inout MeanField, progress: (ExperimentProgress) -> Void, isCancelled: () -> Bool
    ) throws(ExperimentError) -> [LayerResult] {
        let g = buffers.geometry, K = g.layers.count
        let bins = spec.histogramBins
        let lsuv = spec.initializer.name == "lsuv"
        var layers: [LayerResult] = []
        for l in 1...depth {
            if isCancelled() { throw .cancelled }
            let fi = g.fanIn(l, width: n)
            let (rows, channels) = g.outputLayout(l, width: n)
            let count = rows * channels
            let w = buffers.weights[l - 1]
            convNetDrawWeights(l, g, into: w)
            let h = buffers.pre[l - 1].pointer
            convNetLinear(l, buffers)
            var lsuvIterations: Int? = nil
            if lsuv {
                lsuvIterations = calibrate(l, h: h, count: count, weights: w.pointer, weightCount: w.count) { convNetLinear(l, buffers) }
            }
            let pre = measuredStats(UnsafeBufferPointer(start: h, count: count), rows: rows, cols: channels, bins: bins, dead: .nonPositiveColumns)
            let pool = l <= K ? g.layers[l - 1].pool : nil
            let a = pool != nil ? buffers.activation : (l < depth ? buffers.inputs[l] : buffers.output)
            applyActivation(h, a.pointer, count: count)
            let post = measuredStats(a.prefix(count), rows: rows, cols: channels, bins: bins, dead: .nonPositiveColumns)
            let perChannel: ChannelStats? = l <= K ? timed(.statistics) {
                ChannelStats(preactivation: ChannelMoments(h, rows: rows, channels: channels),
                             activation: ChannelMoments(a.pointer, rows: rows, channels: channels))
            } : nil
            let p = convNetParameters(l, g)
            parameters.append(p)
            let t = theory.step(p)
            if let pool, l < depth {
                let pooling = Pool2D(pooling: pool, input: g.layers[l - 1].output, batch: B, threads: matmul.threads)
                let next = buffers.inputs[l]
                timed(.activation) { pooling.forward(a.pointer, into: next.pointer) }
                let m = rawMoments(next.pointer, count: B * pooling.output.count)
                theory.observe(mean: m.mean, meanSquare: m.meanSquare)
            }
            let result = LayerResult(
                index: l, fanIn: fi, fanOut: l <= K ? g.layers[l - 1].conv.fanOut : n, forward: ForwardStats(preactivation: pre, activation: post),
                backward: nil, theory: t, lsuvIterations: lsuvIterations, shape: convNetShape(l, g), channels: perChannel)
            layers.append(result)
            progress(ExperimentProgress(layersDone: l, layersTotal: layersTotal, phase: "forward", layer: result))
        }
        return layers
    }

    func convNetBackward(
        _ layers: inout [LayerResult], _ buffers: ConvNetBuffers, theory: MeanField, progress: (ExperimentProgress) -> Void,
        isCancelled: () -> Bool
    ) throws(ExperimentError) {
        let g = buffers.geometry, K = g.layers.count
        let bins = spec.histogramBins
        let largest = g.largestGradient(width: n)
        var delta = FloatBuffer(largest), deltaNext = FloatBuffer(largest)
        let outputMeanSquare = outputGradient(aL: buffers.output.pointer, into: delta)
        let gradStd = theory.backward(parameters, outputGradMeanSquare: outputMeanSquare)
        for i in 0..<min(depth, gradStd.count) { layers[i].theory.predictedActivationGradStd = gradStd[i] }
        let patchGrad = FloatBuffer(buffers.patches.count)
        let dW = FloatBuffer(buffers.weights.map(\.count).max() ?? 0)
        var done = depth
        for l in stride(from: depth, through: 1, by: -1) {
            if isCancelled() { throw .cancelled }
            let fi = g.fanIn(l, width: n)
            let (rows, channels) = g.outputLayout(l, width: n)
            let count = rows * channels
            let gradStats = measuredStats(delta.prefix(count), rows: rows, cols: channels, bins: bins, dead: .zeroColumns)
            if l <= K {
                layers[l - 1].channels?.activationGrad = timed(.statistics) { ChannelMoments(delta.pointer, rows: rows, channels: channels) }
            }
            multiplyActivationDerivative(buffers.pre[l - 1].pointer, delta.pointer, count: count)  // ∂L/∂h_l
            let x = buffers.inputs[l - 1].pointer, w = buffers.weights[l - 1].pointer
            if l <= K {
                let conv = Conv2D(g.layers[l - 1].conv, matmul: matmul)
                timed(.matmul) { conv.im2col(x, into: buffers.patches.pointer) }
                gemm(.tn, m: channels, n: fi, k: rows, a: delta.pointer, b: buffers.patches.pointer, c: dW.pointer)
                if l > 1 {
                    gemm(.nn, m: rows, n: fi, k: channels, a: delta.pointer, b: w, c: patchGrad.pointer)
                    timed(.matmul) { conv.col2im(patchGrad.pointer, into: deltaNext.pointer) }
                }
            } else {
                gemm(.tn, m: n, n: fi, k: B, a: delta.pointer, b: x, c: dW.pointer)
                if l > 1 { gemm(.nn, m: B, n: fi, k: n, a: delta.pointer, b: w, c: deltaNext.pointer) }
            }
            let wStats = measuredStats(dW.prefix(channels * fi), rows: channels, cols: fi, bins: bins, dead: .zeroRows)
            if l > 1 {
                // deltaNext is ∂L/∂(what layer l read); through layer l − 1's pooling it becomes ∂L/∂a_{l−1}.
                if l - 1 <= K, let pool = g.layers[l - 2].pool {
                    let below = g.layers[l - 2]
                    let pooling = Pool2D(pooling: pool, input: below.output, batch: B, threads: matmul.threads)
                    applyActivation(buffers.pre[l - 2].pointer, buffers.activation.pointer, count: below.conv.outputCount)
                    timed(.activation) { pooling.backward(deltaNext.pointer, x: buffers.activation.pointer, into: delta.pointer) }
                } else {
                    swap(&delta, &deltaNext)
                }
            }
            layers[l - 1].backward = BackwardStats(activationGrad: gradStats, weightGrad: wStats)
            done += 1
            progress(ExperimentProgress(layersDone: done, layersTotal: layersTotal, phase: "backward", layer: layers[l - 1]))
        }
    }
}
