import Testing

@testable import InitCore

/// Conv2D on the matmul core against a direct convolution in Double, and against finite differences; the fans
/// against PyTorch's formula.
@Suite(.offCooperativePool) struct Conv2DTests {
    /// Odd sizes, stride, padding, dilation, non-square kernels, one channel, and a kernel that covers the image.
    static let shapes: [Conv2DShape] = [
        Conv2DShape(batch: 2, inChannels: 3, height: 7, width: 5, outChannels: 4, kernel: (3, 3)),
        Conv2DShape(batch: 3, inChannels: 2, height: 9, width: 8, outChannels: 5, kernel: (3, 2), stride: (2, 3), padding: (1, 2)),
        Conv2DShape(batch: 1, inChannels: 1, height: 11, width: 13, outChannels: 3, kernel: (3, 3), padding: (2, 2), dilation: (2, 3)),
        Conv2DShape(batch: 2, inChannels: 5, height: 6, width: 6, outChannels: 7, kernel: (5, 5), stride: (1, 1), padding: (2, 2)),
        Conv2DShape(batch: 4, inChannels: 1, height: 28, width: 28, outChannels: 8, kernel: (3, 3), stride: (2, 2), padding: (1, 1)),
        Conv2DShape(batch: 2, inChannels: 3, height: 4, width: 3, outChannels: 2, kernel: (4, 3)),
    ]

    struct Case {
        let shape: Conv2DShape
        let x: [Float], w: [Float], dy: [Float]

        init(_ shape: Conv2DShape, seed: UInt64 = 3) {
            self.shape = shape
            let g = Philox(seed: seed, stream: 9)
            x = g.uniform(count: shape.inputCount, low: -1, high: 1, offset: 0)
            w = g.uniform(count: shape.weightCount, low: -1, high: 1, offset: 1 << 30)
            dy = g.uniform(count: shape.outputCount, low: -1, high: 1, offset: 2 << 30)
        }

        /// Every tap of the direct convolution (cross-correlation) inside the image: image b, output position
        /// (oy, ox), output channel o, kernel position (i, j) reading input position (iy, ix).
        func forEachTap(_ body: (_ b: Int, _ out: Int, _ o: Int, _ inPos: Int, _ kernelPos: Int) -> Void) {
            let s = shape
            for b in 0..<s.batch {
                for oy in 0..<s.outHeight {
                    for ox in 0..<s.outWidth {
                        for o in 0..<s.outChannels {
                            for i in 0..<s.kernelH {
                                for j in 0..<s.kernelW {
                                    let iy = oy * s.strideH - s.padH + i * s.dilationH
                                    let ix = ox * s.strideW - s.padW + j * s.dilationW
                                    guard iy >= 0, iy < s.height, ix >= 0, ix < s.width else { continue }
                                    body(b, (b * s.outHeight + oy) * s.outWidth + ox, o, (b * s.height + iy) * s.width + ix, i * s.kernelW + j)
                                }
                            }
                        }
                    }
                }
            }
        }

        /// The direct convolution, NHWC out, in Double (with `weights` instead of `w` when given).
        func naiveForward(weights: [Double]? = nil) -> [Double] {
            let s = shape
            let wd = weights ?? w.map(Double.init)
            var out = [Double](repeating: 0, count: s.outputCount)
            forEachTap { _, position, o, inPos, tap in
                for c in 0..<s.inChannels {
                    out[position * s.outChannels + o] += wd[o * s.patchSize + tap * s.inChannels + c] * Double(x[inPos * s.inChannels + c])
                }
            }
            return out
        }

        /// ∂L/∂x and ∂L/∂W of L = Σ dy · conv(x, W), directly.
        func naiveBackward() -> (dx: [Double], dw: [Double]) {
            let s = shape
            var dx = [Double](repeating: 0, count: s.inputCount), dw = [Double](repeating: 0, count: s.weightCount)
            forEachTap { _, position, o, inPos, tap in
                let g = Double(dy[position * s.outChannels + o])
                for c in 0..<s.inChannels {
                    dx[inPos * s.inChannels + c] += g * Double(w[o * s.patchSize + tap * s.inChannels + c])
                    dw[o * s.patchSize + tap * s.inChannels + c] += g * Double(x[inPos * s.inChannels + c])
                }
            }
            return (dx, dw)
        }

        /// The core's forward, ∂W and ∂x.
        func core(threads: Int) -> (y: [Float], dw: [Float], dx: [Float]) {
            let conv = Conv2D(shape, matmul: Matmul(threads: threads))
            var y = [Float](repeating: .nan, count: shape.outputCount)
            var patches = [Float](repeating: .nan, count: shape.outPositions * shape.patchSize)
            var dw = [Float](repeating: .nan, count: shape.weightCount)
            var dx = [Float](repeating: .nan, count: shape.inputCount)
            var scratch = [Float](repeating: .nan, count: shape.outPositions * shape.patchSize)
            x.withUnsafeBufferPointer { xp in
                w.withUnsafeBufferPointer { wp in
                    dy.withUnsafeBufferPointer { gp in
                        patches.withUnsafeMutableBufferPointer { pp in
                            y.withUnsafeMutableBufferPointer { yp in
                                conv.forward(input: xp.baseAddress!, weights: wp.baseAddress!, patches: pp.baseAddress!, output: yp.baseAddress!)
                            }
                            dw.withUnsafeMutableBufferPointer { dwp in
                                conv.weightGradient(outputGrad: gp.baseAddress!, patches: UnsafePointer(pp.baseAddress!), into: dwp.baseAddress!)
                            }
                        }
                        scratch.withUnsafeMutableBufferPointer { sp in
                            dx.withUnsafeMutableBufferPointer { dxp in
                                conv.inputGradient(outputGrad: gp.baseAddress!, weights: wp.baseAddress!, patchGrad: sp.baseAddress!, into: dxp.baseAddress!)
                            }
                        }
                    }
                }
            }
            return (y, dw, dx)
        }
    }

    static func close(_ a: [Float], _ b: [Double], tolerance: Double = 1e-5) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs(Double($0) - $1) <= tolerance * max(1, abs($1)) }
    }

    @Test(arguments: shapes)
    func forwardAndBackwardMatchTheDirectConvolution(_ shape: Conv2DShape) {
        let c = Case(shape)
        let (y, dw, dx) = c.core(threads: 2)
        let (ndx, ndw) = c.naiveBackward()
        #expect(Self.close(y, c.naiveForward()), "forward, \(shape)")
        #expect(Self.close(dw, ndw), "weight gradient, \(shape)")
        #expect(Self.close(dx, ndx), "input gradient, \(shape)")
    }

    /// Same bits on one thread and on two.
    @Test(arguments: shapes)
    func sameBitsForAnyThreadCount(_ shape: Conv2DShape) {
        let c = Case(shape, seed: 8)
        let one = c.core(threads: 1), two = c.core(threads: 2), three = c.core(threads: 3)
        #expect(one.y == two.y && one.dw == two.dw && one.dx == two.dx)
        #expect(one.y == three.y && one.dw == three.dw && one.dx == three.dx)
    }

    /// Central differences of L = Σ dy · conv(x, W) in Double against the core's gradients, at sampled
    /// coordinates of x and W (L is linear in each, so the difference quotient is exact up to rounding).
    @Test(arguments: [shapes[1], shapes[2]])
    func gradientsMatchFiniteDifferences(_ shape: Conv2DShape) {
        let c = Case(shape, seed: 5)
        let (_, dw, _) = c.core(threads: 1)
        let loss = { (weights: [Double]) -> Double in
            zip(c.naiveForward(weights: weights), c.dy).reduce(0) { $0 + $1.0 * Double($1.1) }
        }
        let base = c.w.map(Double.init)
        let h = 1e-3
        for index in stride(from: 0, to: shape.weightCount, by: max(1, shape.weightCount / 7)) {
            var plus = base, minus = base
            plus[index] += h
            minus[index] -= h
            let numeric = (loss(plus) - loss(minus)) / (2 * h)
            #expect(abs(numeric - Double(dw[index])) <= 1e-4 * max(1, abs(numeric)), "∂W[\(index)]")
        }
    }

    /// PyTorch's `_calculate_fan_in_and_fan_out` for a weight of shape (out, in, kh, kw): fan_in = in·kh·kw,
    /// fan_out = out·kh·kw (values computed with torch 2.13: `init._calculate_fan_in_and_fan_out(torch.empty(…))`).
    @Test(arguments: [
        (1, 32, 3, 3, 9, 288), (32, 64, 3, 3, 288, 576), (3, 16, 5, 5, 75, 400), (64, 10, 1, 1, 64, 10), (8, 4, 3, 2, 48, 24),
    ])
    func fansAreThoseOfPyTorch(_ args: (Int, Int, Int, Int, Int, Int)) {
        let (inC, outC, kh, kw, fanIn, fanOut) = args
        let shape = Conv2DShape(batch: 1, inChannels: inC, height: 8, width: 8, outChannels: outC, kernel: (kh, kw))
        #expect(shape.fanIn == fanIn && shape.fanOut == fanOut)
    }

    /// Output sizes by PyTorch's formula, including a kernel that does not fit (no output).
    @Test func outputSizes() {
        #expect(Conv2DShape(batch: 1, inChannels: 1, height: 28, width: 28, outChannels: 1, kernel: (3, 3)).outHeight == 26)
        #expect(Conv2DShape(batch: 1, inChannels: 1, height: 28, width: 28, outChannels: 1, kernel: (3, 3), stride: (2, 2), padding: (1, 1)).outHeight == 14)
        #expect(Conv2DShape(batch: 1, inChannels: 1, height: 28, width: 27, outChannels: 1, kernel: (3, 3), stride: (2, 2), padding: (1, 1), dilation: (2, 2)).outWidth == 13)
        #expect(Conv2DShape(batch: 1, inChannels: 1, height: 2, width: 2, outChannels: 1, kernel: (3, 3)).outHeight == 0)
    }

    /// A 1×1 kernel on 1×1 images is a dense layer: the same products, the same bits.
    @Test func aOneByOneConvolutionIsADenseLayer() {
        let shape = Conv2DShape(batch: 6, inChannels: 10, height: 1, width: 1, outChannels: 7, kernel: (1, 1))
        let c = Case(shape)
        let (y, _, _) = c.core(threads: 2)
        let dense = Matmul(threads: 2).multiply(.nt, Matrix(rows: 6, cols: 10, storage: c.x), Matrix(rows: 7, cols: 10, storage: c.w))
        #expect(y == dense.storage)
    }

    /// Every initializer fills a conv weight as the out × (kh·kw·in) matrix with the receptive-field fans;
    /// `orthogonal` then gives orthonormal rows (times the gain) as PyTorch's `orthogonal_` does on the weight
    /// flattened to out × (in·kh·kw): a column permutation of ours, which keeps the rows orthonormal (the columns,
    /// for a weight with more rows than columns, as 32 × 9).
    @Test(arguments: [(16, 3, 3), (8, 1, 5), (64, 32, 3), (32, 1, 3)])
    func convWeightsTakeReceptiveFieldFans(_ args: (Int, Int, Int)) {
        let (out, inC, k) = args
        let shape = Conv2DShape(batch: 1, inChannels: inC, height: 8, width: 8, outChannels: out, kernel: (k, k))
        var w = [Float](repeating: 0, count: shape.weightCount)
        let gain = 2.0.squareRoot()
        w.withUnsafeMutableBufferPointer {
            WeightInitializer(InitScheme(name: "orthogonal", params: ["gain": .number(gain)]))
                .distribution(layer: 1, fanIn: shape.fanIn, fanOut: shape.fanOut)
                .fill($0, rows: out, cols: shape.patchSize, philox: Philox(seed: 4, stream: 1), threads: 2)
        }
        let (r, c) = (out, shape.patchSize)
        let rowsOrthonormal = r <= c
        let n = rowsOrthonormal ? r : c
        var worst = 0.0
        for i in 0..<n {
            for j in 0..<n {
                var dot = 0.0
                for t in 0..<(rowsOrthonormal ? c : r) {
                    let (x, y) = rowsOrthonormal ? (w[i * c + t], w[j * c + t]) : (w[t * c + i], w[t * c + j])
                    dot += Double(x) * Double(y)
                }
                worst = max(worst, abs(dot - (i == j ? gain * gain : 0)))
            }
        }
        #expect(worst < 1e-5, "\(out)×\(shape.patchSize): largest deviation of W·Wᵀ from gain²·I is \(worst)")

        // Kaiming's variance uses fan_in = in·k²: 2 / fan_in.
        let kaiming = WeightInitializer(InitScheme(name: "kaiming_normal")).distribution(layer: 1, fanIn: shape.fanIn, fanOut: shape.fanOut)
        #expect(abs(kaiming.variance(rows: out, cols: shape.patchSize) - 2 / Double(inC * k * k)) < 1e-12)
    }
}
