import Datasets
import Foundation
import InitCore
import InitLabContract
import Testing

@testable import InitLabService

/// The "why √5" lesson, as a client asks it: a `cnn` spec (4 conv + ReLU layers, then a dense output) on
/// normalized Fashion-MNIST images, validated by the contract and run by the worker's runner. PyTorch's
/// default conv init (`kaiming_uniform`, a = √5: Var(W) = 1/(3·fan_in), the `torch_default` scheme) makes each
/// layer's pre-activation second moment a third of its input's, and ReLU halves it: the activations' RMS
/// shrinks by 1/√6 ≈ 0.41 per layer. Kaiming (Var(W) = 2/fan_in) keeps it.
///
/// Valid convolutions (no padding: every tap is inside the image, so the fan-in is exactly in·k² everywhere)
/// of 16 images: 1→8 (5×5), 8→16, 16→32, 32→32 (3×3); 28 → 24 → 22 → 20 → 18 pixels. The ratios are geometric
/// means over six weight seeds, after the first layer (whose input, the images, is not a ReLU output).
@Suite(.offCooperativePool) struct WhySqrt5Tests {
    static func spec(init scheme: String, seed: UInt64) throws -> ExperimentSpec {
        let json = """
            {"depth": 5, "width": 10, "batch": 16, "seed": \(seed), "init": "\(scheme)", "activation": "relu", "backward": false,
             "input": {"dataset": "fashion-mnist", "split": "train"},
             "architecture": {"name": "cnn", "conv": [{"channels": 8, "kernel": 5}, {"channels": 16, "kernel": 3},
                                                       {"channels": 32, "kernel": 3}, {"channels": 32, "kernel": 3}]}}
            """
        return try ExperimentSpec.decodeValidated(from: Data(json.utf8))
    }

    /// RMS of each conv layer's ReLU output (√(std² + mean²) of the reported statistics), for one weight seed.
    static func activationRMS(init scheme: String, seed: UInt64) throws -> [Double] {
        let spec = try spec(init: scheme, seed: seed)
        let batch = try FashionFixture.sharedInputs().inputBatch(for: spec)
        let result = try ExperimentRunner(matmul: Matmul(threads: 2)).run(spec, input: batch)
        #expect(result.layers.map { $0.shape?.output ?? [] } == [[8, 24, 24], [16, 22, 22], [32, 20, 20], [32, 18, 18], [10]])
        #expect(result.layers.map(\.fanIn) == [25, 72, 144, 288, 32 * 18 * 18])
        return result.layers.prefix(4).map { l in
            let a = l.forward.activation
            return (a.std * a.std + a.mean * a.mean).squareRoot()
        }
    }

    /// Geometric mean over seeds of rms[l+1] / rms[l], for l = 1, 2, 3 (after the first layer).
    static func ratios(init scheme: String) throws -> [Double] {
        let runs = try (1...6).map { try activationRMS(init: scheme, seed: UInt64($0)) }
        return (1..<4).map { l in exp(runs.reduce(0.0) { $0 + log($1[l] / $1[l - 1]) } / Double(runs.count)) }
    }

    @Test func pytorchsDefaultShrinksTheActivationsByOneOverRootSixKaimingKeepsThem() throws {
        let pytorch = try Self.ratios(init: "torch_default")
        let kaiming = try Self.ratios(init: "kaiming_uniform")
        // Kaiming keeps the RMS (theory: 1; the 15 % allows for six draws of 8–32 channels).
        for (l, ratio) in kaiming.enumerated() {
            #expect(abs(ratio - 1) < 0.15, "kaiming, layer \(l + 2): RMS ratio \(ratio), theory 1")
        }
        // The default init shrinks it by 1/√6 per layer. Both schemes are uniform draws from the same Philox
        // streams, so each default weight is the Kaiming one times √(1/3 ÷ 2) = 1/√6, and ReLU is positively
        // homogeneous: every layer's ratio is Kaiming's times 1/√6, up to Float rounding of the draws.
        let theory = 1 / 6.0.squareRoot()
        for (l, ratio) in pytorch.enumerated() {
            #expect(abs(ratio / (kaiming[l] * theory) - 1) < 1e-3, "default init, layer \(l + 2): RMS ratio \(ratio)")
            #expect(abs(ratio / theory - 1) < 0.15, "default init, layer \(l + 2): RMS ratio \(ratio), theory \(theory)")
        }
    }

    /// The mean-field map with fan_in = C·k² predicts the same per-layer shrinkage: each conv layer's predicted
    /// activation RMS ratio is 1/√6 under the default init and 1 under Kaiming (with zero-mean weights and
    /// biases, q_l = σ_w²·E[φ(h)²], σ_w² = 1/3 or 2).
    @Test func theTheoryPerLayerUsesTheReceptiveFieldFan() throws {
        for (scheme, expected) in [("torch_default", 1 / 6.0.squareRoot()), ("kaiming_uniform", 1.0)] {
            let spec = try Self.spec(init: scheme, seed: 1)
            let batch = try FashionFixture.sharedInputs().inputBatch(for: spec)
            let result = try ExperimentRunner(matmul: Matmul(threads: 1)).run(spec, input: batch)
            for l in 1..<4 {
                let ratio = (result.layers[l].theory.q / result.layers[l - 1].theory.q).squareRoot()
                #expect(abs(ratio - expected) < 1e-9, "\(scheme), layer \(l + 1): predicted pre-activation RMS ratio \(ratio)")
            }
        }
    }
}
