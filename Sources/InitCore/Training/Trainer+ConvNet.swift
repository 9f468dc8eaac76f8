/// A cnn's training buffers and shapes (see `Architecture.cnn`): the conv layers' geometry at the training
/// batch, each pooled layer's output (what the next layer reads), and the im2col scratch. Each layer's
/// pre-activation and activation live in the engine's `h` and `a`, sized per layer.
struct ConvTrainBuffers {
    let stack: ConvStack
    let depth: Int, width: Int, batch: Int
    let geometry: ConvNetGeometry
    /// pooled[l − 1]: layer l's pooled activation (batch × next.count), for pooled conv layers; else empty.
    let pooled: [FloatBuffer]
    /// The largest layer's patches (outPositions × patchSize), and their gradient.
    let patches: FloatBuffer, patchGrad: FloatBuffer

    init(stack: ConvStack, depth: Int, width: Int, batch: Int) {
        self.stack = stack
        self.depth = depth
        self.width = width
        self.batch = batch
        geometry = ConvNetGeometry(stack, batch: batch)
        pooled = geometry.layers.map { $0.pool != nil ? FloatBuffer(batch * $0.next.count) : FloatBuffer(0) }
        let largestPatches = geometry.layers.map { $0.conv.outPositions * $0.conv.patchSize }.max() ?? 0
        patches = FloatBuffer(largestPatches)
        patchGrad = FloatBuffer(largestPatches)
    }

    var convLayers: Int { geometry.layers.count }

    /// Layer l's weight matrix: channels × C·k² (conv), or units × features (dense).
    func weightShape(_ l: Int) -> (rows: Int, cols: Int) {
        (geometry.outputLayout(l, width: width).channels, geometry.fanIn(l, width: width))
    }

    /// Layer l's pre-activation at the training batch as rows (positions, or examples) × columns (channels, or
    /// units).
    func outputLayout(_ l: Int) -> (rows: Int, channels: Int) { geometry.outputLayout(l, width: width) }

    func outputCount(_ l: Int) -> Int {
        let (rows, cols) = outputLayout(l)
        return rows * cols
    }

    /// The largest gradient the backward pass holds.
    var largestGradient: Int { geometry.largestGradient(width: width) }
}

extension TrainEngine {
    /// What layer l reads when the batch is `input`: the input itself, the pooled output of layer l − 1, or
    /// its activation.
    func convNetInput(_ l: Int, _ buffers: ConvTrainBuffers, input: UnsafePointer<Float>) -> UnsafePointer<Float> {
        if l == 1 { return input }
        if l - 1 <= buffers.convLayers && buffers.geometry.layers[l - 2].pool != nil { return UnsafePointer(buffers.pooled[l - 2].pointer) }
        return UnsafePointer(a[l - 2].pointer)
    }

    /// The cnn on `rows` ≤ batch examples (NHWC images): conv layers by im2col on the matmul core, each followed by
    /// the activation and its pooling, then the dense layers and the classifier. Every layer's values stay in `h`,
    /// `a` and the pooled buffers for the backward pass.
    func convNetForward(_ buffers: ConvTrainBuffers, rows: Int, input: UnsafePointer<Float>, logits: UnsafeMutablePointer<Float>) {
        let g = rows == buffers.batch ? buffers.geometry : ConvNetGeometry(buffers.stack, batch: rows)
        let K = buffers.convLayers
        for l in 1...depth {
            let layer = layers[l - 1]
            let x = convNetInput(l, buffers, input: input)
            let hl = h[l - 1].pointer, al = a[l - 1].pointer
            if l <= K {
                let shape = g.layers[l - 1]
                let conv = Conv2D(shape.conv, matmul: matmul)
                conv.im2col(x, into: buffers.patches.pointer)
                matmul.multiply(.nt, m: shape.conv.outPositions, n: layer.rows, k: layer.cols, a: buffers.patches.pointer, b: layer.w.pointer, c: hl)
                addBias(hl, rows: shape.conv.outPositions, cols: layer.rows, bias: layer.b.pointer)
                applyActivation(hl, al, count: shape.conv.outputCount)
                if let pool = shape.pool {
                    Pool2D(pooling: pool, input: shape.output, batch: rows, threads: matmul.threads).forward(al, into: buffers.pooled[l - 1].pointer)
                }
            } else {
                matmul.multiply(.nt, m: rows, n: n, k: layer.cols, a: x, b: layer.w.pointer, c: hl)
                addBias(hl, rows: rows, cols: n, bias: layer.b.pointer)
                applyActivation(hl, al, count: rows * n)
            }
        }
        let head = layers[depth]
        matmul.multiply(.nt, m: rows, n: C, k: n, a: a[depth - 1].pointer, b: head.w.pointer, c: logits)
        addBias(logits, rows: rows, cols: C, bias: head.b.pointer)
    }

    /// Gradients of every kernel, weight and bias from ∂L/∂logits (in `delta`), at the training batch. A conv
    /// layer's weight gradient is ∂Hᵀ·P with its patches P re-gathered from the stored input; its bias gradient
    /// sums ∂H over every position of every image; the input's gradient is col2im(∂H·W), then through the
    /// layer below's pooling.
    func convNetBackward(_ buffers: ConvTrainBuffers) {
        let g = buffers.geometry, K = buffers.convLayers
        let head = layers[depth]
        matmul.multiply(.tn, m: C, n: n, k: B, a: delta.pointer, b: a[depth - 1].pointer, c: head.dW.pointer)
        columnSums(delta.pointer, rows: B, cols: C, into: head.db.pointer)
        matmul.multiply(.nn, m: B, n: n, k: C, a: delta.pointer, b: head.w.pointer, c: deltaNext.pointer)
        swap(&delta, &deltaNext)  // delta = ∂L/∂a_L
        for l in stride(from: depth, through: 1, by: -1) {
            let layer = layers[l - 1]
            let (rows, channels) = buffers.outputLayout(l)
            multiplyActivationDerivative(h[l - 1].pointer, delta.pointer, count: rows * channels)  // ∂L/∂h_l
            let input = convNetInput(l, buffers, input: x.pointer)
            if l <= K {
                let conv = Conv2D(g.layers[l - 1].conv, matmul: matmul)
                conv.im2col(input, into: buffers.patches.pointer)
                matmul.multiply(.tn, m: channels, n: layer.cols, k: rows, a: delta.pointer, b: buffers.patches.pointer, c: layer.dW.pointer)
                if l > 1 {
                    matmul.multiply(.nn, m: rows, n: layer.cols, k: channels, a: delta.pointer, b: layer.w.pointer, c: buffers.patchGrad.pointer)
                    conv.col2im(buffers.patchGrad.pointer, into: deltaNext.pointer)
                }
            } else {
                matmul.multiply(.tn, m: n, n: layer.cols, k: B, a: delta.pointer, b: input, c: layer.dW.pointer)
                if l > 1 { matmul.multiply(.nn, m: B, n: layer.cols, k: n, a: delta.pointer, b: layer.w.pointer, c: deltaNext.pointer) }
            }
            columnSums(delta.pointer, rows: rows, cols: channels, into: layer.db.pointer)
            guard l > 1 else { break }
            // deltaNext is ∂L/∂(what layer l read); through layer l − 1's pooling it becomes ∂L/∂a_{l−1}.
            if l - 1 <= K, let pool = g.layers[l - 2].pool {
                Pool2D(pooling: pool, input: g.layers[l - 2].output, batch: B, threads: matmul.threads)
                    .backward(deltaNext.pointer, x: a[l - 2].pointer, into: delta.pointer)
            } else {
                swap(&delta, &deltaNext)
            }
        }
    }
}
