/// How the weight matrices relate across layers.
public enum WeightSharing: String, Sendable, Hashable, CaseIterable {
    /// A fresh matrix per layer, drawn from Philox(seed, stream: layer index): what a network is. The default.
    case perLayer = "per_layer"
    /// One matrix multiplied again and again, as the fast.ai lesson's loop does (a power iteration). Layer 1's
    /// matrix is reused by every layer when `input_width == width`; otherwise layer 1 has its own matrix and
    /// layers 2…depth share layer 2's.
    case shared
}

/// The network's wiring.
public enum Architecture: Sendable, Hashable {
    /// A plain MLP: `h_l = a_{l−1}·W_lᵀ + b_l`, `a_l = φ(h_l)`.
    case mlp
    /// Blocks of `blockSize` layers with an identity skip: inside a block layers are as in the MLP, except the
    /// last one, whose pre-activation also adds the block's input: `h = a·Wᵀ + b + x_block`, `a = φ(h)`
    /// (ResNet v1 / Fixup form). When `input_width == width` the blocks start at layer 1 and `depth` is a multiple
    /// of `blockSize`; otherwise layer 1 is a dense stem (input_width → width, no skip, as a ResNet's first
    /// convolution) and the blocks follow it: `depth − 1` is a multiple of `blockSize`.
    case residual(blockSize: Int)
    /// A convolutional net: `stack`'s conv2d layers (each with an optional pooling after its activation) on
    /// images of `stack.input` (channels × height × width), then flatten, then dense layers of `width` up to
    /// `depth` layers in all (at least one dense layer: the output).
    case cnn(ConvStack)

    /// Layers per block (1 for the MLP).
    public var blockSize: Int { if case .residual(let m) = self { m } else { 1 } }
    public var isResidual: Bool { if case .residual = self { true } else { false } }
    /// The conv stack of a cnn; nil otherwise.
    public var convStack: ConvStack? { if case .cnn(let s) = self { s } else { nil } }
}

/// An image shape, channels × height × width (the wire's and PyTorch's order; the core's buffers are NHWC).
public struct ImageShape: Sendable, Hashable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// The 28×28 grey images of MNIST and Fashion-MNIST.
    public static let mnist = ImageShape(channels: 1, height: 28, width: 28)

    /// channels·height·width, computed without overflow (saturated to Int.max).
    public var count: Int {
        let (a, o1) = channels.multipliedReportingOverflow(by: height)
        let (b, o2) = a.multipliedReportingOverflow(by: width)
        return o1 || o2 ? Int.max : b
    }

    public var array: [Int] { [channels, height, width] }
    public var description: String { "\(channels)×\(height)×\(width)" }
}

/// Pooling after a conv layer's activation: non-overlapping `size`×`size` windows (stride `size`, no padding;
/// rows and columns that do not fill a window are dropped, as PyTorch's default `floor` mode).
public struct Pooling: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable { case max, avg }
    public var kind: Kind
    public var size: Int

    public init(kind: Kind, size: Int) {
        self.kind = kind
        self.size = size
    }
}

/// One conv2d layer: square kernel, stride, zero padding and dilation (PyTorch's `Conv2d` arithmetic), then
/// the activation, then the optional pooling.
public struct ConvLayerSpec: Sendable, Hashable {
    public var channels: Int
    public var kernel: Int
    public var stride: Int
    public var padding: Int
    public var dilation: Int
    public var pool: Pooling?

    public init(channels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, dilation: Int = 1, pool: Pooling? = nil) {
        self.channels = channels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.pool = pool
    }
}

/// A cnn's input shape and conv layers.
public struct ConvStack: Sendable, Hashable {
    public var input: ImageShape
    public var layers: [ConvLayerSpec]

    public init(input: ImageShape = .mnist, layers: [ConvLayerSpec]) {
        self.input = input
        self.layers = layers
    }
}

/// Where the input batch comes from.
public enum InputSource: Sendable, Hashable {
    /// Seeded N(0, 1) values (Philox stream `RandomStream.input`). The default.
    case gaussian
    /// A sample of a dataset; the caller passes it to the runner as an `InputBatch`.
    case dataset(name: String, split: String, sampleSeed: UInt64)

    public static let datasets = ["mnist", "fashion-mnist"]
    public static let splits = ["train", "test"]

    public var isDataset: Bool { if case .dataset = self { true } else { false } }
}

/// What drives the backward pass.
public enum LossKind: String, Sendable, Hashable, CaseIterable {
    /// A seeded unit-Gaussian gradient at the output (Philox stream `RandomStream.outputGradient`). The default.
    case none
    /// PyTorch `MSELoss` (mean over all elements) of the last activation against targets: seeded N(0, 1) targets
    /// for gaussian input, one-hot labels for dataset input.
    case mse
    /// PyTorch `CrossEntropyLoss` (mean over the batch) with the last layer's activation as logits; needs labels
    /// (dataset input).
    case crossEntropy = "cross_entropy"
}

/// One experiment, as the core runs it. The core trusts it: the wire format (JSON, snake_case), the limits
/// and the validation live at the edge, in InitLabContract (`ValidatedSpec`), which fills in every default
/// (`inputWidth` and every scheme parameter) before a spec reaches `ExperimentRunner`.
public struct ExperimentSpec: Sendable, Equatable, Hashable {
    /// Number of layers: dense layers, or for a cnn its conv layers and the dense layers after them.
    public var depth: Int
    /// Units per layer.
    public var width: Int
    /// Rows of the input batch.
    public var batch: Int
    /// Features of the input; nil means `width` (datasets force 784; a cnn's is its input image's C·H·W). Always
    /// set in a validated spec.
    public var inputWidth: Int?
    public var seed: UInt64
    /// Run the backward pass too (default true).
    public var backward: Bool
    /// Weight initializer.
    public var initializer: InitScheme
    public var activation: ActivationSpec
    /// Bias initializer (default zeros).
    public var biasInit: InitScheme
    public var weights: WeightSharing
    public var architecture: Architecture
    /// Histogram bins per statistic (default 50).
    public var histogramBins: Int
    public var input: InputSource
    public var loss: LossKind
    /// Train the network (see `TrainSpec`); nil: an init-time experiment.
    public var train: TrainSpec?

    public init(
        depth: Int, width: Int, batch: Int, inputWidth: Int? = nil, seed: UInt64 = 0, backward: Bool = true,
        initializer: InitScheme, activation: ActivationSpec, biasInit: InitScheme = InitScheme(name: "zeros"),
        weights: WeightSharing = .perLayer, architecture: Architecture = .mlp, histogramBins: Int = 50,
        input: InputSource = .gaussian, loss: LossKind = .none, train: TrainSpec? = nil
    ) {
        self.depth = depth
        self.width = width
        self.batch = batch
        self.inputWidth = inputWidth
        self.seed = seed
        self.backward = backward
        self.initializer = initializer
        self.activation = activation
        self.biasInit = biasInit
        self.weights = weights
        self.architecture = architecture
        self.histogramBins = histogramBins
        self.input = input
        self.loss = loss
        self.train = train
    }

    /// The effective input width.
    public var resolvedInputWidth: Int { inputWidth ?? width }

    /// Layers before a residual net's first block: 1 (a dense stem) when its input width differs from its width,
    /// else 0. The one definition of the residual layout, with `isBlockEnd` and `startsBlock(after:)`.
    public var stemLayers: Int { architecture.isResidual && resolvedInputWidth != width ? 1 : 0 }

    /// Whether layer `l` (1-based) is the last of a residual block: its pre-activation adds a_{l−m}, the block's input.
    public func isBlockEnd(_ l: Int) -> Bool {
        architecture.isResidual && l > stemLayers && (l - stemLayers) % architecture.blockSize == 0
    }

    /// Whether a_l is the input of the next residual block (the stem's output, or a block's); a_0, the input, is
    /// the first block's input when there is no stem.
    public func startsBlock(after l: Int) -> Bool {
        architecture.isResidual && (l == stemLayers || isBlockEnd(l))
    }

    /// Residual blocks (0 for the MLP).
    public var residualBlocks: Int { architecture.isResidual ? (depth - stemLayers) / architecture.blockSize : 0 }

    /// Conv layers before the dense ones (0 unless cnn).
    public var convLayers: Int { architecture.convStack?.layers.count ?? 0 }

    /// Layer steps a run reports: depth, twice with a backward pass.
    public var layersTotal: Int { backward ? 2 * depth : depth }
}
