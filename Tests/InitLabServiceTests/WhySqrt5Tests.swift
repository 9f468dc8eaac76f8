import Datasets
import Foundation
import Testing

@testable import InitCore

/// The "why √5" lesson on the conv core, before the `cnn` spec exists: a 4-layer conv + ReLU stack on normalized
/// Fashion-MNIST images. PyTorch's default conv init (`kaiming_uniform`, a = √5: Var(W) = 1/(3·fan_in), the
/// `torch_default` scheme) makes each layer's pre-activation second moment a third of its input's, and ReLU
/// halves it: the activations' RMS shrinks by 1/√6 ≈ 0.41 per layer. Kaiming (Var(W) = 2/fan_in) keeps it.
///
/// Valid convolutions (no padding: every tap is inside the image, so the fan-in is exactly in·k² everywhere)
/// of 16 images: 1→8 (5×5), 8→16, 16→32, 32→32 (3×3); 28 → 24 → 22 → 20 → 18 pixels. The ratios are geometric
/// means over six weight seeds, after the first layer (whose input, the images, is not a ReLU output).
@Suite(.offCooperativePool) struct WhySqrt5Tests {
    static let channels = [1, 8, 16, 32, 32]
    static let kernels = [5, 3, 3, 3]

    /// RMS of each layer's ReLU output, for one weight seed.
    static func activationRMS(init scheme: String, images: [Float], batch: Int, seed: UInt64) -> [Double] {
        let initializer = WeightInitializer(InitScheme(name: scheme))  // kaiming_uniform: a = 0, gain √2
        var x = images, size = 28
        var rms: [Double] = []
        for layer in 0..<kernels.count {
            let shape = Conv2DShape(
                batch: batch, inChannels: channels[layer], height: size, width: size, outChannels: channels[layer + 1],
                kernel: (kernels[layer], kernels[layer]))
            var w = [Float](repeating: 0, count: shape.weightCount)
            w.withUnsafeMutableBufferPointer { buffer in
                initializer.distribution(layer: layer + 1, fanIn: shape.fanIn, fanOut: shape.fanOut)
                    .fill(buffer, rows: shape.outChannels, cols: shape.patchSize, philox: Philox(seed: seed, stream: UInt64(layer + 1)), threads: 1)
            }
            var h = [Float](repeating: 0, count: shape.outputCount)
            var patches = [Float](repeating: 0, count: shape.outPositions * shape.patchSize)
            x.withUnsafeBufferPointer { xp in
                w.withUnsafeBufferPointer { wp in
                    patches.withUnsafeMutableBufferPointer { pp in
                        h.withUnsafeMutableBufferPointer { hp in
                            guard let x = xp.baseAddress, let w = wp.baseAddress, let p = pp.baseAddress, let h = hp.baseAddress else { return }
                            Conv2D(shape, matmul: Matmul(threads: 2)).forward(input: x, weights: w, patches: p, output: h)
                        }
                    }
                }
            }
            x = h.map { max(0, $0) }
            rms.append((x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)).squareRoot())
            size = shape.outHeight
        }
        return rms
    }

    /// Geometric mean over seeds of rms[l+1] / rms[l], for l = 1, 2, 3 (after the first layer).
    static func ratios(init scheme: String, images: [Float], batch: Int) -> [Double] {
        let seeds: [UInt64] = Array(1...6)
        let runs = seeds.map { activationRMS(init: scheme, images: images, batch: batch, seed: $0) }
        return (1..<kernels.count).map { l in
            exp(runs.reduce(0.0) { $0 + log($1[l] / $1[l - 1]) } / Double(seeds.count))
        }
    }

    @Test func pytorchsDefaultShrinksTheActivationsByOneOverRootSixKaimingKeepsThem() throws {
        let data = try FashionFixture.sharedInputs().dataset(FashionFixture.spec)
        let batch = 16
        let images = Array(data.train.pixels[0..<(batch * 784)])  // NHWC with one channel: the pixels as they are
        let pytorch = Self.ratios(init: "torch_default", images: images, batch: batch)
        let kaiming = Self.ratios(init: "kaiming_uniform", images: images, batch: batch)
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
}
