/// A 2-D convolution layer's geometry, PyTorch's `Conv2d` arithmetic (cross-correlation; zero padding).
///
/// Layouts (the compute core's, chosen so that a conv layer is a dense layer on other rows):
/// - activations are NHWC, row-major: a (batch·height·width) × channels matrix, one row per position. The
///   statistics computer's "columns" are then channels, so dead units are dead channels.
/// - weights are out × (kernelH·kernelW·in), row-major: row o holds kernel o with the input channel fastest.
///   PyTorch's OIHW holds the same numbers in another column order; the fans, the rows' orthogonality and every
///   initializer's distribution are the same (PyTorch's `orthogonal_` flattens to out × (in·kh·kw): a column
///   permutation, which keeps the rows orthonormal).
///
/// With the input's patches laid out as rows (`im2col`: one (kh·kw·in) row per output position), the three
/// products are a dense layer's: forward `H = P · Wᵀ` (nt), weight gradient `∂W = ∂Hᵀ · P` (tn), and the
/// patches' gradient `∂P = ∂H · W` (nn), folded back onto the input by `col2im`. A 1×1 kernel on a 1×1 image
/// is exactly a dense layer.
public struct Conv2DShape: Sendable, Hashable, CustomStringConvertible {
    public var batch: Int
    public var inChannels: Int
    public var height: Int
    public var width: Int
    public var outChannels: Int
    public var kernelH: Int
    public var kernelW: Int
    public var strideH: Int = 1
    public var strideW: Int = 1
    public var padH: Int = 0
    public var padW: Int = 0
    public var dilationH: Int = 1
    public var dilationW: Int = 1

    public init(
        batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int, kernel: (Int, Int),
        stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1)
    ) {
        self.batch = batch
        self.inChannels = inChannels
        self.height = height
        self.width = width
        self.outChannels = outChannels
        (kernelH, kernelW) = kernel
        (strideH, strideW) = stride
        (padH, padW) = padding
        (dilationH, dilationW) = dilation
    }

    /// ⌊(H + 2p − d(k − 1) − 1) / s⌋ + 1, as PyTorch; ≤ 0 when the kernel does not fit.
    public var outHeight: Int { Self.outSize(height, kernelH, strideH, padH, dilationH) }
    public var outWidth: Int { Self.outSize(width, kernelW, strideW, padW, dilationW) }

    static func outSize(_ n: Int, _ k: Int, _ s: Int, _ p: Int, _ d: Int) -> Int {
        let span = n + 2 * p - d * (k - 1) - 1
        return span < 0 ? 0 : span / s + 1
    }

    /// PyTorch's `_calculate_fan_in_and_fan_out`: in_channels × receptive field.
    public var fanIn: Int { inChannels * kernelH * kernelW }
    /// out_channels × receptive field.
    public var fanOut: Int { outChannels * kernelH * kernelW }

    /// Columns of a patch row and of a weight row: kh·kw·in.
    public var patchSize: Int { kernelH * kernelW * inChannels }
    /// Output positions of the whole batch: rows of the patch matrix and of the output.
    public var outPositions: Int { batch * outHeight * outWidth }
    public var inputCount: Int { batch * height * width * inChannels }
    public var outputCount: Int { outPositions * outChannels }
    public var weightCount: Int { outChannels * patchSize }

    public var description: String {
        "conv \(inChannels)×\(height)×\(width) → \(outChannels)×\(outHeight)×\(outWidth) (k \(kernelH)×\(kernelW), "
            + "s \(strideH)×\(strideW), p \(padH)×\(padW), d \(dilationH)×\(dilationW), batch \(batch))"
    }
}

/// Conv2D on the matmul core (see `Conv2DShape` for the layouts). Deterministic for any thread count: im2col
/// and col2im split the work by image, each image's output depends only on its own rows, and col2im sums each
/// input value's contributions in one fixed order (kernel position, then output position).
public struct Conv2D: Sendable {
    public var shape: Conv2DShape
    public var matmul: Matmul

    public init(_ shape: Conv2DShape, matmul: Matmul = Matmul()) {
        self.shape = shape
        self.matmul = matmul
    }

    /// Patches of `input` (NHWC) as rows: `patches` gets outPositions × patchSize values, zeros where the
    /// window hangs over the padding.
    public func im2col(_ input: UnsafePointer<Float>, into patches: UnsafeMutablePointer<Float>) {
        let s = shape
        let oh = s.outHeight, ow = s.outWidth, c = s.inChannels, row = s.patchSize
        parallelFor(iterations: s.batch, threads: s.batch > 1 ? matmul.threads : 1) { b in
            let image = input + b * s.height * s.width * c
            for y in 0..<oh {
                for x in 0..<ow {
                    var dst = patches + ((b * oh + y) * ow + x) * row
                    for i in 0..<s.kernelH {
                        let iy = y * s.strideH - s.padH + i * s.dilationH
                        for j in 0..<s.kernelW {
                            let ix = x * s.strideW - s.padW + j * s.dilationW
                            if iy >= 0 && iy < s.height && ix >= 0 && ix < s.width {
                                dst.update(from: image + (iy * s.width + ix) * c, count: c)
                            } else {
                                dst.update(repeating: 0, count: c)
                            }
                            dst += c
                        }
                    }
                }
            }
        }
    }

    /// Adds the patches' gradient back onto the input's gradient: `inputGrad` (NHWC) is overwritten with the
    /// sum, over every window that covers a position, of that window's entry for it.
    public func col2im(_ patchGrad: UnsafePointer<Float>, into inputGrad: UnsafeMutablePointer<Float>) {
        let s = shape
        let oh = s.outHeight, ow = s.outWidth, c = s.inChannels, row = s.patchSize
        let imageCount = s.height * s.width * c
        parallelFor(iterations: s.batch, threads: s.batch > 1 ? matmul.threads : 1) { b in
            let image = inputGrad + b * imageCount
            image.update(repeating: 0, count: imageCount)
            for i in 0..<s.kernelH {
                for j in 0..<s.kernelW {
                    let offset = (i * s.kernelW + j) * c
                    for y in 0..<oh {
                        let iy = y * s.strideH - s.padH + i * s.dilationH
                        guard iy >= 0 && iy < s.height else { continue }
                        for x in 0..<ow {
                            let ix = x * s.strideW - s.padW + j * s.dilationW
                            guard ix >= 0 && ix < s.width else { continue }
                            let src = patchGrad + ((b * oh + y) * ow + x) * row + offset
                            let dst = image + (iy * s.width + ix) * c
                            for ch in 0..<c { dst[ch] += src[ch] }
                        }
                    }
                }
            }
        }
    }

    /// `output` (outPositions × out, NHWC) = patches · Wᵀ; `patches` (outPositions × patchSize) is filled from
    /// `input` first and kept for the weight gradient.
    public func forward(
        input: UnsafePointer<Float>, weights: UnsafePointer<Float>, patches: UnsafeMutablePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) {
        im2col(input, into: patches)
        matmul.multiply(.nt, m: shape.outPositions, n: shape.outChannels, k: shape.patchSize, a: patches, b: weights, c: output)
    }

    /// ∂W (out × patchSize) = ∂Hᵀ · patches.
    public func weightGradient(
        outputGrad: UnsafePointer<Float>, patches: UnsafePointer<Float>, into weightGrad: UnsafeMutablePointer<Float>
    ) {
        matmul.multiply(.tn, m: shape.outChannels, n: shape.patchSize, k: shape.outPositions, a: outputGrad, b: patches, c: weightGrad)
    }

    /// ∂X (NHWC) = col2im(∂H · W); `patchGrad` (outPositions × patchSize) is scratch.
    public func inputGradient(
        outputGrad: UnsafePointer<Float>, weights: UnsafePointer<Float>, patchGrad: UnsafeMutablePointer<Float>,
        into inputGrad: UnsafeMutablePointer<Float>
    ) {
        matmul.multiply(.nn, m: shape.outPositions, n: shape.patchSize, k: shape.outChannels, a: outputGrad, b: weights, c: patchGrad)
        col2im(patchGrad, into: inputGrad)
    }
}
