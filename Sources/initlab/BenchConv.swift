import ArgumentParser
import Foundation
import InitCore

/// `initlab bench conv`: a conv layer's forward and backward on the matmul core (im2col), for the shapes of a
/// small MNIST CNN; `Benchmarks/bench_conv.py` runs PyTorch's CPU convolution on the same shapes beside it.
struct BenchConv: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv",
        abstract: "Milliseconds per conv layer forward and backward (im2col on the matmul core).",
        discussion: """
            Default layers (batch 64, 3×3 kernels, padding 1): 1→32 channels at 28×28, and 32→64 at 28×28 and \
            at 14×14. Forward: im2col and the product; backward: the weight gradient and the input gradient \
            (the product and col2im). Or one layer with --shape batch:in:height:width:out:kernel:stride:padding.
            """)

    @OptionGroup var options: BenchOptions

    @Option(help: "One layer instead of the defaults: batch:in:height:width:out:kernel:stride:padding.")
    var shape: String?

    static let defaultShapes = [
        Conv2DShape(batch: 64, inChannels: 1, height: 28, width: 28, outChannels: 32, kernel: (3, 3), padding: (1, 1)),
        Conv2DShape(batch: 64, inChannels: 32, height: 28, width: 28, outChannels: 64, kernel: (3, 3), padding: (1, 1)),
        Conv2DShape(batch: 64, inChannels: 32, height: 14, width: 14, outChannels: 64, kernel: (3, 3), padding: (1, 1)),
    ]

    func shapes() throws -> [Conv2DShape] {
        guard let shape else { return Self.defaultShapes }
        let values = shape.split(separator: ":").compactMap { Int($0) }
        guard values.count == 8, values.allSatisfy({ $0 >= 0 }), values[0...6].allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--shape must be batch:in:height:width:out:kernel:stride:padding, positive (padding ≥ 0)")
        }
        let (b, c, h, w, o, k, s, p) = (values[0], values[1], values[2], values[3], values[4], values[5], values[6], values[7])
        let result = Conv2DShape(batch: b, inChannels: c, height: h, width: w, outChannels: o, kernel: (k, k), stride: (s, s), padding: (p, p))
        guard result.outHeight >= 1, result.outWidth >= 1 else { throw ValidationError("--shape: the kernel does not fit the image") }
        return [result]
    }

    func run() throws {
        let shapes = try shapes()
        if !options.json { print(cpuHeader()) }
        for shape in shapes {
            let gen = Philox(seed: 5, stream: 0)
            let x = gen.uniform(count: shape.inputCount, low: -1, high: 1, offset: 0)
            let w = gen.uniform(count: shape.weightCount, low: -1, high: 1, offset: 1 << 32)
            let dy = gen.uniform(count: shape.outputCount, low: -1, high: 1, offset: 2 << 32)
            var y = [Float](repeating: 0, count: shape.outputCount)
            var patches = [Float](repeating: 0, count: shape.outPositions * shape.patchSize)
            var scratch = patches
            var dw = [Float](repeating: 0, count: shape.weightCount)
            var dx = [Float](repeating: 0, count: shape.inputCount)
            for threads in try options.threadCounts() {
                let conv = Conv2D(shape, matmul: Matmul(threads: threads))
                var forward = Double.nan, backward = Double.nan
                x.withUnsafeBufferPointer { xp in
                    w.withUnsafeBufferPointer { wp in
                        dy.withUnsafeBufferPointer { gp in
                            patches.withUnsafeMutableBufferPointer { pp in
                                scratch.withUnsafeMutableBufferPointer { sp in
                                    y.withUnsafeMutableBufferPointer { yp in
                                        dw.withUnsafeMutableBufferPointer { dwp in
                                            dx.withUnsafeMutableBufferPointer { dxp in
                                                guard let x = xp.baseAddress, let w = wp.baseAddress, let g = gp.baseAddress,
                                                    let p = pp.baseAddress, let s = sp.baseAddress, let y = yp.baseAddress,
                                                    let dw = dwp.baseAddress, let dx = dxp.baseAddress
                                                else { return }
                                                forward = medianSecondsPerCall(repeats: options.repeats, minMillis: options.minMillis) {
                                                    conv.forward(input: x, weights: w, patches: p, output: y)
                                                }
                                                backward = medianSecondsPerCall(repeats: options.repeats, minMillis: options.minMillis) {
                                                    conv.weightGradient(outputGrad: g, patches: p, into: dw)
                                                    conv.inputGradient(outputGrad: g, weights: w, patchGrad: s, into: dx)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                let row = ConvBenchRow(
                    batch: shape.batch, inChannels: shape.inChannels, height: shape.height, width: shape.width,
                    outChannels: shape.outChannels, kernel: shape.kernelH, stride: shape.strideH, padding: shape.padH,
                    threads: threads, forwardSeconds: forward, backwardSeconds: backward,
                    forwardGflop: 2 * Double(shape.outPositions) * Double(shape.outChannels) * Double(shape.patchSize) / 1e9)
                if options.json { emitJSON(row) } else { print(row.table) }
            }
        }
    }
}

/// One `bench conv` row.
struct ConvBenchRow: Codable {
    var bench = "conv"
    var batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    var threads: Int
    var forwardSeconds: Double
    /// Weight gradient and input gradient.
    var backwardSeconds: Double
    /// The forward product's GFLOP (the backward's two products are twice that).
    var forwardGflop: Double

    var table: String {
        let layer = "conv \(inChannels)→\(outChannels) \(height)×\(width) k\(kernel) s\(stride) p\(padding) batch \(batch)"
        return layer.padding(toLength: 40, withPad: " ", startingAt: 0) + " threads \(threads)  "
            + String(
                format: "forward %7.3f ms (%6.1f GFLOP/s)  backward %7.3f ms (%6.1f GFLOP/s)", forwardSeconds * 1e3,
                forwardGflop / forwardSeconds, backwardSeconds * 1e3, 2 * forwardGflop / backwardSeconds)
    }
}
