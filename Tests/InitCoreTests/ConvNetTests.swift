import Testing

@testable import InitCore

/// The cnn path of the runner (`RunEngine+ConvNet`) and its pooling.
@Suite(.offCooperativePool) struct ConvNetTests {
    static let stack = ConvStack(input: ImageShape(channels: 3, height: 11, width: 9), layers: [
        ConvLayerSpec(channels: 6, kernel: 3, stride: 1, padding: 1, dilation: 1, pool: Pooling(kind: .max, size: 2)),
        ConvLayerSpec(channels: 5, kernel: 3, stride: 2, padding: 2, dilation: 2, pool: Pooling(kind: .avg, size: 2)),
    ])

    static func spec(_ scheme: String = "kaiming_normal", loss: LossKind = .none) -> ExperimentSpec {
        ExperimentSpec(depth: 4, width: 7, batch: 5, inputWidth: stack.input.count, seed: 42, initializer: InitScheme(name: scheme),
                       activation: ActivationSpec(name: "relu"), architecture: .cnn(stack), histogramBins: 8, loss: loss)
    }

    @Test func shapesAndFansFollowPyTorch() throws {
        let result = try ExperimentRunner(matmul: Matmul(threads: 1)).run(Self.spec())
        // 11×9 → conv (p 1) 11×9 → max 2 → 5×4 → conv (k 3, d 2, s 2, p 2) 3×2 → avg 2 → 1×1, as PyTorch computes.
        let g = ConvNetGeometry(Self.stack, batch: 5)
        #expect(g.layers[0].output == ImageShape(channels: 6, height: 11, width: 9))
        #expect(g.layers[0].pooled == ImageShape(channels: 6, height: 5, width: 4))
        #expect(g.layers[1].output == ImageShape(channels: 5, height: 3, width: 2))
        #expect(g.flattened == 5)
        #expect(result.layers.map(\.fanIn) == [27, 54, 5, 7])
        #expect(result.layers.map(\.fanOut) == [6 * 9, 5 * 9, 7, 7])
        #expect(result.layers[1].shape == LayerShape(kind: .conv, output: [5, 3, 2], pooled: [5, 1, 1]))
        #expect(result.layers[0].shape == LayerShape(kind: .conv, output: [6, 11, 9], pooled: [6, 5, 4]))
        #expect(result.layers[3].shape == LayerShape(kind: .dense, output: [7]))
        #expect(result.layers.allSatisfy { $0.backward != nil })
        // Statistics count every position of every image, per channel.
        #expect(result.layers[0].forward.activation.count == 5 * 11 * 9 * 6)
        #expect(result.layers[0].backward?.weightGrad.count == 6 * 27)
    }

    /// Per-channel moments agree with the layer's statistics of the same tensor: the channels' means average to
    /// the layer's mean and their second moments to the layer's (every channel has the same count), a channel
    /// that ReLU kills everywhere has mean and std 0 (as many as the layer's dead fraction says), and dense layers
    /// have none.
    @Test func perChannelMomentsAgreeWithTheLayers() throws {
        var spec = Self.spec()
        spec.biasInit = InitScheme(name: "normal", params: ["std": .number(2)])
        let result = try ExperimentRunner(matmul: Matmul(threads: 2)).run(spec)
        func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(1, abs(b)) }
        var deadChannels = 0
        for (i, channels) in [6, 5].enumerated() {
            let layer = result.layers[i]
            let perChannel = try #require(layer.channels)
            let pairs: [(ChannelMoments, Stats)] = [
                (perChannel.preactivation, layer.forward.preactivation), (perChannel.activation, layer.forward.activation),
                (try #require(perChannel.activationGrad), try #require(layer.backward?.activationGrad)),
            ]
            for (moments, stats) in pairs {
                #expect(moments.mean.count == channels && moments.std.count == channels)
                let mean = moments.mean.reduce(0, +) / Double(channels)
                let second = zip(moments.mean, moments.std).map { $0 * $0 + $1 * $1 }.reduce(0, +) / Double(channels)
                #expect(close(mean, stats.mean), "layer \(i + 1): \(mean) vs \(stats.mean)")
                #expect(close(second, stats.std * stats.std + stats.mean * stats.mean), "layer \(i + 1): \(second)")
            }
            let dead = zip(perChannel.activation.mean, perChannel.activation.std).filter { $0 == 0 && $1 == 0 }.count
            #expect(Double(dead) == layer.forward.activation.deadFraction * Double(channels))
            deadChannels += dead
        }
        #expect(deadChannels > 0, "bias std 2 kills some channels outright")
        #expect(result.layers[2].channels == nil && result.layers[3].channels == nil)
        // Without a backward pass there is no gradient to measure.
        spec.backward = false
        #expect(try ExperimentRunner(matmul: Matmul(threads: 1)).run(spec).layers[0].channels?.activationGrad == nil)
    }

    @Test(arguments: ["kaiming_normal", "orthogonal", "delta_orthogonal", "lsuv", "identity", "torch_default"])
    func sameBitsForAnyThreadCount(_ scheme: String) throws {
        let one = try ExperimentRunner(matmul: Matmul(threads: 1)).run(Self.spec(scheme, loss: .mse))
        let two = try ExperimentRunner(matmul: Matmul(threads: 2)).run(Self.spec(scheme, loss: .mse))
        #expect(one == two)
        #expect(one.layers.allSatisfy { $0.forward.activation.nonfiniteFraction == 0 })
    }

    /// Delta-orthogonal: every tap but the centre is 0, and the centre is an out × in matrix with orthonormal
    /// columns (out ≥ in) times the gain.
    @Test func deltaOrthogonalIsAnOrthogonalCentreTap() {
        let shape = Conv2DShape(batch: 1, inChannels: 4, height: 5, width: 5, outChannels: 6, kernel: (3, 3))
        let d = WeightInitializer(InitScheme(name: "delta_orthogonal", params: ["gain": .number(2)])).convDistribution(layer: 1, shape: shape)
        var w = [Float](repeating: 1, count: shape.weightCount)
        w.withUnsafeMutableBufferPointer { d.fill($0, rows: 6, cols: 36, philox: Philox(seed: 3, stream: 1), threads: 1) }
        for o in 0..<6 {
            for tap in 0..<9 where tap != 4 {
                for c in 0..<4 { #expect(w[o * 36 + tap * 4 + c] == 0) }
            }
        }
        for a in 0..<4 {
            for b in 0..<4 {
                var dot = 0.0
                for o in 0..<6 { dot += Double(w[o * 36 + 16 + a]) * Double(w[o * 36 + 16 + b]) }
                #expect(abs(dot - (a == b ? 4 : 0)) < 1e-4)
            }
        }
        // Var of one entry: gain²·min(out, in)/(out·in) on the centre's 1/9 of the entries.
        #expect(abs(d.variance(rows: 6, cols: 36) - 4.0 * 4 / 24 / 9) < 1e-12)
    }

    @Test(arguments: [Pooling.Kind.max, .avg])
    func poolingBackwardMatchesFiniteDifferences(_ kind: Pooling.Kind) {
        let shape = ImageShape(channels: 2, height: 5, width: 4)
        let pool = Pool2D(pooling: Pooling(kind: kind, size: 2), input: shape, batch: 2, threads: 2)
        var x = [Float](repeating: 0, count: 2 * shape.count)
        x.withUnsafeMutableBufferPointer { RandomFill.normal(Philox(seed: 9, stream: 0), $0, mean: 0, std: 1, threads: 1) }
        let outCount = 2 * pool.output.count
        var gy = [Float](repeating: 0, count: outCount)
        gy.withUnsafeMutableBufferPointer { RandomFill.normal(Philox(seed: 9, stream: 1), $0, mean: 0, std: 1, threads: 1) }
        func loss(_ x: [Float]) -> Double {
            var y = [Float](repeating: 0, count: outCount)
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { pool.forward(xp.baseAddress!, into: $0.baseAddress!) } }
            return zip(y, gy).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        var gx = [Float](repeating: 7, count: x.count)
        x.withUnsafeBufferPointer { xp in
            gy.withUnsafeBufferPointer { gp in gx.withUnsafeMutableBufferPointer { pool.backward(gp.baseAddress!, x: xp.baseAddress!, into: $0.baseAddress!) } }
        }
        let eps: Float = 1e-3
        for i in 0..<x.count {
            var plus = x, minus = x
            plus[i] += eps
            minus[i] -= eps
            let numeric = (loss(plus) - loss(minus)) / (2 * Double(eps))
            #expect(abs(numeric - Double(gx[i])) < 1e-2, "\(kind) pool, x[\(i)]: analytic \(gx[i]), numeric \(numeric)")
        }
    }
}
