/// One conv layer of a cnn, with its batch: the convolution's geometry, its output (the pre-activation's and
/// the activation's shape) and, when pooled, what the next layer reads.
public struct ConvLayerGeometry: Sendable, Hashable {
    public var conv: Conv2DShape
    public var pool: Pooling?
    public var output: ImageShape { ImageShape(channels: conv.outChannels, height: conv.outHeight, width: conv.outWidth) }
    /// The pooled output; nil without pooling.
    public var pooled: ImageShape? {
        guard let pool else { return nil }
        let o = output
        return ImageShape(channels: o.channels, height: o.height / max(1, pool.size), width: o.width / max(1, pool.size))
    }
    /// What the next layer reads.
    public var next: ImageShape { pooled ?? output }
}

/// The shapes of a cnn's conv stack for a batch (see `Architecture.cnn`), layer by layer. Shapes are computed
/// for any stack; validation (InitLabContract) rejects a stack in which some kernel or pool does not fit
/// (an output side ≤ 0).
public struct ConvNetGeometry: Sendable, Hashable {
    public var input: ImageShape
    public var layers: [ConvLayerGeometry]
    public var batch: Int

    public init(_ stack: ConvStack, batch: Int) {
        self.batch = batch
        input = stack.input
        var shape = stack.input
        var layers: [ConvLayerGeometry] = []
        for l in stack.layers {
            let conv = Conv2DShape(
                batch: batch, inChannels: shape.channels, height: shape.height, width: shape.width, outChannels: l.channels,
                kernel: (l.kernel, l.kernel), stride: (l.stride, l.stride), padding: (l.padding, l.padding),
                dilation: (l.dilation, l.dilation))
            let g = ConvLayerGeometry(conv: conv, pool: l.pool)
            layers.append(g)
            shape = g.next
        }
        self.layers = layers
    }

    /// Features per image after the last conv layer (and its pooling): the first dense layer's fan_in.
    public var flattened: Int { (layers.last?.next ?? input).count }

    /// Layer l's fan_in (1-based: the conv layers, then dense layers of `width`): C·kh·kw for a conv layer, the
    /// flattened features for the first dense layer, `width` after it.
    public func fanIn(_ l: Int, width: Int) -> Int {
        if l <= layers.count { return layers[l - 1].conv.fanIn }
        return l == layers.count + 1 ? flattened : width
    }

    /// Layer l's pre-activation (and activation) as the statistics see it: rows (each position of each image,
    /// or each example) × columns (channels, or units).
    public func outputLayout(_ l: Int, width: Int) -> (rows: Int, channels: Int) {
        l <= layers.count ? (layers[l - 1].conv.outPositions, layers[l - 1].conv.outChannels) : (batch, width)
    }

    /// The largest gradient a backward pass holds: of any conv layer's output or input, or a dense layer's
    /// batch × width.
    public func largestGradient(width: Int) -> Int {
        var largest = batch * width
        for layer in layers { largest = max(largest, layer.conv.outputCount, layer.conv.inputCount) }
        return largest
    }
}

/// Non-overlapping k×k pooling (stride k) on NHWC activations, forward and backward. Deterministic for any
/// thread count: the work splits by image.
struct Pool2D {
    let pooling: Pooling
    let input: ImageShape
    let batch: Int
    let threads: Int

    var output: ImageShape {
        ImageShape(channels: input.channels, height: input.height / pooling.size, width: input.width / pooling.size)
    }

    /// y = pool(x).
    func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let k = pooling.size, c = input.channels, o = output, inW = input.width
        let inImage = input.count, outImage = o.count
        let average = pooling.kind == .avg, scale = 1 / Float(k * k)
        parallelFor(iterations: batch, threads: batch > 1 ? threads : 1) { b in
            let src = x + b * inImage, dst = y + b * outImage
            for oy in 0..<o.height {
                for ox in 0..<o.width {
                    let out = dst + (oy * o.width + ox) * c
                    for ch in 0..<c {
                        var acc: Float = average ? 0 : -.infinity
                        for i in 0..<k {
                            for j in 0..<k {
                                let v = src[((oy * k + i) * inW + ox * k + j) * c + ch]
                                if average { acc += v } else if v > acc || v.isNaN { acc = v }
                            }
                        }
                        out[ch] = average ? acc * scale : acc
                    }
                }
            }
        }
    }

    /// ∂L/∂x from ∂L/∂y: max pooling sends each window's gradient to the window's first maximum of `x`
    /// (row-major order, as PyTorch picks the first); average pooling spreads it evenly. Positions in no
    /// window (the dropped edge) get 0.
    func backward(_ gy: UnsafePointer<Float>, x: UnsafePointer<Float>, into gx: UnsafeMutablePointer<Float>) {
        let k = pooling.size, c = input.channels, o = output, inW = input.width
        let inImage = input.count, outImage = o.count
        let average = pooling.kind == .avg, scale = 1 / Float(k * k)
        parallelFor(iterations: batch, threads: batch > 1 ? threads : 1) { b in
            let src = x + b * inImage, g = gy + b * outImage, dst = gx + b * inImage
            dst.update(repeating: 0, count: inImage)
            for oy in 0..<o.height {
                for ox in 0..<o.width {
                    for ch in 0..<c {
                        let grad = g[(oy * o.width + ox) * c + ch]
                        if average {
                            for i in 0..<k {
                                for j in 0..<k { dst[((oy * k + i) * inW + ox * k + j) * c + ch] = grad * scale }
                            }
                            continue
                        }
                        var best = -Float.infinity, at = ((oy * k) * inW + ox * k) * c + ch
                        search: for i in 0..<k {
                            for j in 0..<k {
                                let index = ((oy * k + i) * inW + ox * k + j) * c + ch
                                let v = src[index]
                                if v.isNaN { at = index; break search }
                                if v > best { best = v; at = index }
                            }
                        }
                        dst[at] = grad
                    }
                }
            }
        }
    }
}
