import TestSupport
import Testing
@testable import InitCore
import InitLabContract

/// The fast.ai initialization lesson's effects, quantitatively, at width 512 (batch 48: each per-layer second
/// moment is estimated from 24,576 values, relative error ≈ √(2/24576) ≈ 0.9%; averaged over 6 layer ratios,
/// and with the weights' own fluctuation (~√(2/512)/√6 ≈ 2.5%), a ±10% band is ≈ 4 standard errors).
@Suite("The lesson's effects at width 512", .offCooperativePool)
struct LessonTests {
    static func run(_ s: ExperimentSpec) throws -> ExperimentResult {
        try ExperimentRunner(matmul: Matmul(threads: 2)).run(s)
    }

    /// Mean ratio of consecutive pre-activation second moments, layers 2…depth.
    static func secondMomentRatio(_ r: ExperimentResult) -> Double {
        let q = r.layers.map { $0.forward.preactivation.std * $0.forward.preactivation.std + $0.forward.preactivation.mean * $0.forward.preactivation.mean }
        var s = 0.0
        for l in 1..<q.count { s += q[l] / q[l - 1] }
        return s / Double(q.count - 1)
    }

    @Test func unitNormalWithoutActivationOverflowsWithinThirtyLayers() throws {
        let r = try Self.run(spec("scaled_normal", "identity", depth: 30, width: 512, batch: 8, backward: false))
        // std grows by √512 ≈ 22.6 per layer: float32's 3.4e38 is passed at layer ≈ 38·ln10/ln22.6 ≈ 28.
        let first = try #require(r.summary.firstNonfiniteLayer)
        #expect(first >= 24 && first <= 30)
        #expect(r.summary.forwardVerdict == .exploding)
        #expect(abs(r.summary.forwardGrowthFactor / 512.0.squareRoot() - 1) < 0.05)
    }

    @Test func timesPointZeroOneVanishes() throws {
        let r = try Self.run(spec("scaled_normal", "identity", depth: 12, width: 512, batch: 16, backward: false, initParams: ["factor": .number(0.01)]))
        #expect(r.summary.forwardVerdict == .vanishing)
        #expect(abs(r.summary.forwardGrowthFactor / (0.01 * 512.0.squareRoot()) - 1) < 0.05)
        #expect(r.layers[11].forward.activation.std < 1e-6)
    }

    @Test func xavierWithoutActivationIsStable() throws {
        let r = try Self.run(spec("xavier_normal", "identity", depth: 6, width: 512, batch: 48, backward: false))
        #expect(r.summary.forwardVerdict == .stable)
        #expect(abs(Self.secondMomentRatio(r) - 1) < 0.1)
    }

    @Test func xavierWithReluHalvesTheSecondMoment() throws {
        let r = try Self.run(spec("xavier_normal", "relu", depth: 6, width: 512, batch: 48, backward: false))
        #expect(abs(Self.secondMomentRatio(r) / 0.5 - 1) < 0.1)
    }

    @Test func kaimingWithReluIsStable() throws {
        let r = try Self.run(spec("kaiming_normal", "relu", depth: 6, width: 512, batch: 48))
        #expect(abs(Self.secondMomentRatio(r) - 1) < 0.1)
        #expect(r.summary.forwardVerdict == .stable && r.summary.backwardVerdict == .stable)
        #expect(r.summary.theory.regime == .critical)
    }

    /// torch_default: Var(W) = 1/(3·fan_in), so q × 1/3 per layer without activation and × 1/6 with ReLU.
    @Test(arguments: [("identity", 1.0 / 3), ("relu", 1.0 / 6)])
    func torchDefaultLosesVariance(act: String, ratio: Double) throws {
        let r = try Self.run(spec("torch_default", act, depth: 6, width: 512, batch: 48, backward: false))
        #expect(abs(Self.secondMomentRatio(r) / ratio - 1) < 0.1)
        #expect(r.summary.theory.regime == .ordered)
    }

    /// Measured std vs the mean-field prediction, per layer, within 10%, forward and backward, at width 1024 and
    /// batch 16. The error that matters is not the sampling error of 16,384 values (≈ 1.1%) but the frozen
    /// weights: an activation with a non-zero mean (gelu, sigmoid, selu) gives every unit of the next layer its
    /// own offset μ·Σ_j W_ij, shared by the whole batch, so a layer's variance is estimated from ~width
    /// independent offsets: ≈ √(2/width)/2 relative error in the std per layer, compounding over depth. At width
    /// 256 that is ≈ 4.4% per layer, ≈ 10% by layer 5 (kaiming_uniform + gelu measured 11–16% there); at
    /// 1024, ≈ 2.2% per layer and ≈ 5% by layer 5, inside the 10% band at two standard deviations.
    @Test(arguments: [("kaiming_normal", "relu"), ("xavier_normal", "tanh"), ("lecun_normal", "selu"), ("kaiming_uniform", "gelu"),
                      ("xavier_uniform", "sigmoid"), ("variance_scaling", "general_relu")])
    func measuredStdMatchesTheory(initName: String, act: String) throws {
        let r = try Self.run(spec(initName, act, depth: 5, width: 1024, batch: 16, bias: InitScheme(name: "normal", params: ["std": .number(0.1)])))
        for l in r.layers {
            #expect(abs(l.forward.preactivation.std / l.theory.predictedPreactivationStd - 1) < 0.1, "layer \(l.index) pre")
            #expect(abs(l.forward.activation.std / l.theory.predictedActivationStd - 1) < 0.1, "layer \(l.index) post")
            let g = try #require(l.backward?.activationGrad.std)
            let pg = try #require(l.theory.predictedActivationGradStd)
            #expect(abs(g / pg - 1) < 0.1, "layer \(l.index) grad")
        }
    }

    /// Fixup: the zeroed last layer of each branch makes every block the identity on its (non-negative) input,
    /// so the forward pass is stable, the gradient reaches the first block through the skips, and the branches'
    /// inner activations get exactly zero gradient at initialization (their weights' gradients do not vanish).
    @Test func fixupResidualReluNetwork() throws {
        let r = try Self.run(spec("fixup", "relu", depth: 8, width: 256, batch: 32, architecture: .residual(blockSize: 2)))
        #expect(r.summary.forwardVerdict == .stable)
        let top = try #require(r.layers[7].backward?.activationGrad.std)
        let firstBlockEnd = try #require(r.layers[1].backward?.activationGrad.std)
        #expect(firstBlockEnd / top > 0.5 && firstBlockEnd / top < 1.01)
        #expect(r.layers[0].backward?.activationGrad.zeroFraction == 1)
        #expect((r.layers[1].backward?.weightGrad.std ?? 0) > 0)
        #expect(r.summary.backwardVerdict == .vanishing)
    }

    @Test func sharedWeightsReuseOneMatrix() throws {
        let s = try spec("lecun_normal", "identity", depth: 4, width: 16, batch: 4, weights: .shared).validated()
        let shared = try RunEngine(spec: s, matmul: Matmul(threads: 1), input: nil)
        let perLayer = try RunEngine(spec: try spec("lecun_normal", "identity", depth: 4, width: 16, batch: 4).validated(), matmul: Matmul(threads: 1), input: nil)
        func weights(_ e: RunEngine, _ l: Int) -> [Float] {
            let w = FloatBuffer(256)
            e.drawWeights(l, into: w)
            return Array(w.buffer)
        }
        #expect(weights(shared, 1) == weights(shared, 4))
        #expect(weights(perLayer, 1) != weights(perLayer, 4))
        #expect(weights(perLayer, 1) == weights(shared, 1))
    }
}
