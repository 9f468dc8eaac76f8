import Foundation

/// How the weight matrices relate across layers.
public enum WeightSharing: String, Codable, Sendable, Hashable, CaseIterable {
    /// A fresh matrix per layer, drawn from Philox(seed, stream: layer index): what a network is. The default.
    case perLayer = "per_layer"
    /// One matrix multiplied again and again, as the fast.ai lesson's loop does (a power iteration). Layer 1's
    /// matrix is reused by every layer when `input_width == width`; otherwise layer 1 has its own matrix and
    /// layers 2…depth share layer 2's.
    case shared
}

/// The network's wiring.
public enum Architecture: Codable, Sendable, Hashable {
    /// A plain MLP: `h_l = a_{l−1}·W_lᵀ + b_l`, `a_l = φ(h_l)`.
    case mlp
    /// Blocks of `blockSize` layers with an identity skip: inside a block layers are as in the MLP, except the
    /// last one, whose pre-activation also adds the block's input: `h = a·Wᵀ + b + x_block`, `a = φ(h)`
    /// (ResNet v1 / Fixup form). Needs `input_width == width` and `depth` a multiple of `blockSize`.
    case residual(blockSize: Int)

    enum Keys: String, CodingKey { case name, blockSize = "block_size" }

    public init(from decoder: any Decoder) throws {
        let pointer = JSONPointer.make(decoder.codingPath)
        if let s = try? decoder.singleValueContainer().decode(String.self) {
            switch s {
            case "mlp": self = .mlp
            case "residual": self = .residual(blockSize: 2)
            default: throw SpecValidationError(pointer: pointer, detail: "must be one of mlp, residual")
            }
            return
        }
        guard let c = try? decoder.container(keyedBy: SchemeKey.self) else {
            throw SpecValidationError(pointer: pointer, detail: "must be \"mlp\", \"residual\" or {\"name\": \"residual\", \"block_size\": 1 ... 10000}")
        }
        try rejectUnknownKeys(c, allowed: ["name", "block_size"], pointer: pointer)
        let name = try? c.decode(String.self, forKey: SchemeKey("name"))
        switch name {
        case "mlp": self = .mlp
        case "residual":
            if c.contains(SchemeKey("block_size")) {
                guard let m = try? c.decode(Int.self, forKey: SchemeKey("block_size")) else {
                    throw SpecValidationError(pointer: pointer + "/block_size", detail: "must be an integer 1 ... 10000")
                }
                self = .residual(blockSize: m)
            } else {
                self = .residual(blockSize: 2)
            }
        default: throw SpecValidationError(pointer: pointer + "/name", detail: "must be one of mlp, residual")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        switch self {
        case .mlp: try c.encode("mlp", forKey: .name)
        case .residual(let m):
            try c.encode("residual", forKey: .name)
            try c.encode(m, forKey: .blockSize)
        }
    }

    /// Layers per block (1 for the MLP).
    public var blockSize: Int { if case .residual(let m) = self { m } else { 1 } }
    public var isResidual: Bool { if case .residual = self { true } else { false } }
}

/// Where the input batch comes from.
public enum InputSource: Codable, Sendable, Hashable {
    /// Seeded N(0, 1) values (Philox stream `RandomStream.input`). The default.
    case gaussian
    /// A sample of a dataset; the caller passes it to the runner as an `InputBatch`.
    case dataset(name: String, split: String, sampleSeed: UInt64)

    public static let datasets = ["mnist", "fashion-mnist"]
    public static let splits = ["train", "test"]

    enum Keys: String, CodingKey { case dataset, split, sampleSeed = "sample_seed" }

    public init(from decoder: any Decoder) throws {
        let pointer = JSONPointer.make(decoder.codingPath)
        if let s = try? decoder.singleValueContainer().decode(String.self) {
            guard s == "gaussian" else {
                throw SpecValidationError(pointer: pointer, detail: "must be \"gaussian\" or {\"dataset\": \"mnist\" | \"fashion-mnist\", \"split\": \"train\" | \"test\", \"sample_seed\": UInt64}")
            }
            self = .gaussian
            return
        }
        guard let c = try? decoder.container(keyedBy: SchemeKey.self) else {
            throw SpecValidationError(pointer: pointer, detail: "must be \"gaussian\" or {\"dataset\": \"mnist\" | \"fashion-mnist\", \"split\": \"train\" | \"test\", \"sample_seed\": UInt64}")
        }
        try rejectUnknownKeys(c, allowed: ["dataset", "split", "sample_seed"], pointer: pointer)
        var errors: [FieldError] = []
        let name = try? c.decode(String.self, forKey: SchemeKey("dataset"))
        if name == nil { errors.append(FieldError(pointer: pointer + "/dataset", detail: "is required: one of mnist, fashion-mnist")) }
        var split = "train"
        if c.contains(SchemeKey("split")) {
            if let s = try? c.decode(String.self, forKey: SchemeKey("split")) { split = s } else {
                errors.append(FieldError(pointer: pointer + "/split", detail: "must be one of train, test"))
            }
        }
        var seed: UInt64 = 0
        if c.contains(SchemeKey("sample_seed")) {
            if let s = try? c.decode(UInt64.self, forKey: SchemeKey("sample_seed")) { seed = s } else {
                errors.append(FieldError(pointer: pointer + "/sample_seed", detail: "must be an integer 0 ... 18446744073709551615"))
            }
        }
        if !errors.isEmpty { throw SpecValidationError(errors: errors) }
        self = .dataset(name: name ?? "", split: split, sampleSeed: seed)
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .gaussian:
            var c = encoder.singleValueContainer()
            try c.encode("gaussian")
        case .dataset(let name, let split, let seed):
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(name, forKey: .dataset)
            try c.encode(split, forKey: .split)
            try c.encode(seed, forKey: .sampleSeed)
        }
    }

    public var isDataset: Bool { if case .dataset = self { true } else { false } }
}

/// What drives the backward pass.
public enum LossKind: String, Codable, Sendable, Hashable, CaseIterable {
    /// A seeded unit-Gaussian gradient at the output (Philox stream `RandomStream.outputGradient`). The default.
    case none
    /// PyTorch `MSELoss` (mean over all elements) of the last activation against targets: seeded N(0, 1) targets
    /// for gaussian input, one-hot labels for dataset input.
    case mse
    /// PyTorch `CrossEntropyLoss` (mean over the batch) with the last layer's activation as logits; needs labels
    /// (dataset input).
    case crossEntropy = "cross_entropy"
}

/// One experiment, as POSTed by clients and echoed in results. See /work/contract/EXPERIMENT_CONTRACT.md.
///
/// Decoding accepts bare names or objects for schemes and rejects unknown keys (a `SpecValidationError` whose
/// pointer names the key). `validated()` checks every range and the resource budget and returns the
/// canonical spec (every default filled in), which is what is stored, fingerprinted and echoed.
public struct ExperimentSpec: Codable, Sendable, Equatable, Hashable {
    /// Number of dense layers, 1 ... 10000.
    public var depth: Int
    /// Units per layer, 1 ... 4096.
    public var width: Int
    /// Rows of the input batch, 1 ... 4096.
    public var batch: Int
    /// Features of the input; nil means `width` (datasets force 784). Always set in the canonical spec.
    public var inputWidth: Int?
    public var seed: UInt64
    /// Run the backward pass too (default true).
    public var backward: Bool
    /// Weight initializer (JSON key `init`).
    public var initializer: InitScheme
    public var activation: ActivationSpec
    /// Bias initializer (default zeros).
    public var biasInit: InitScheme
    public var weights: WeightSharing
    public var architecture: Architecture
    /// Histogram bins per statistic, 1 ... 512 (default 50).
    public var histogramBins: Int
    public var input: InputSource
    public var loss: LossKind

    public init(
        depth: Int, width: Int, batch: Int, inputWidth: Int? = nil, seed: UInt64 = 0, backward: Bool = true,
        initializer: InitScheme, activation: ActivationSpec, biasInit: InitScheme = InitScheme(name: "zeros"),
        weights: WeightSharing = .perLayer, architecture: Architecture = .mlp, histogramBins: Int = 50,
        input: InputSource = .gaussian, loss: LossKind = .none
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
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case depth, width, batch, inputWidth = "input_width", seed, backward, initializer = "init", activation
        case biasInit = "bias_init", weights, architecture, histogramBins = "histogram_bins", input, loss
    }

    public init(from decoder: any Decoder) throws {
        let root = JSONPointer.make(decoder.codingPath)
        guard let dyn = try? decoder.container(keyedBy: SchemeKey.self) else {
            throw SpecValidationError(pointer: root, detail: "must be a JSON object")
        }
        var errors: [FieldError] = []
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        for key in dyn.allKeys where !known.contains(key.stringValue) {
            errors.append(FieldError(pointer: root + "/" + JSONPointer.escape(key.stringValue),
                                     detail: "unknown key; allowed keys: \(CodingKeys.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func field<T: Decodable>(_ key: CodingKeys, _ type: T.Type, expected: String, required: Bool = false) -> T? {
            let pointer = root + "/" + key.rawValue
            guard c.contains(key) else {
                if required { errors.append(FieldError(pointer: pointer, detail: "is required: \(expected)")) }
                return nil
            }
            do {
                if try c.decodeNil(forKey: key) {
                    if required { errors.append(FieldError(pointer: pointer, detail: "must not be null: \(expected)")) }
                    return nil
                }
                return try c.decode(T.self, forKey: key)
            } catch let e as SpecValidationError {
                errors.append(contentsOf: e.errors)
            } catch {
                errors.append(FieldError(pointer: pointer, detail: "must be \(expected)"))
            }
            return nil
        }
        let depth = field(.depth, Int.self, expected: "an integer 1 ... 10000", required: true)
        let width = field(.width, Int.self, expected: "an integer 1 ... 4096", required: true)
        let batch = field(.batch, Int.self, expected: "an integer 1 ... 4096", required: true)
        let inputWidth = field(.inputWidth, Int.self, expected: "an integer 1 ... 4096")
        let seed = field(.seed, UInt64.self, expected: "an integer 0 ... 18446744073709551615")
        let backward = field(.backward, Bool.self, expected: "true or false")
        let initializer = field(.initializer, InitScheme.self, expected: "a scheme name or object", required: true)
        let activation = field(.activation, ActivationSpec.self, expected: "an activation name or object", required: true)
        let biasInit = field(.biasInit, InitScheme.self, expected: "a scheme name or object")
        let weights = field(.weights, WeightSharing.self, expected: "one of per_layer, shared")
        let architecture = field(.architecture, Architecture.self, expected: "\"mlp\" or {\"name\": \"residual\", \"block_size\": 1 ... 10000}")
        let bins = field(.histogramBins, Int.self, expected: "an integer 1 ... 512")
        let input = field(.input, InputSource.self, expected: "\"gaussian\" or a dataset object")
        let loss = field(.loss, LossKind.self, expected: "one of none, mse, cross_entropy")
        guard errors.isEmpty, let depth, let width, let batch, let initializer, let activation else {
            throw SpecValidationError(errors: errors)
        }
        self.init(
            depth: depth, width: width, batch: batch, inputWidth: inputWidth, seed: seed ?? 0, backward: backward ?? true,
            initializer: initializer, activation: activation, biasInit: biasInit ?? InitScheme(name: "zeros"),
            weights: weights ?? .perLayer, architecture: architecture ?? .mlp, histogramBins: bins ?? 50,
            input: input ?? .gaussian, loss: loss ?? .none)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(depth, forKey: .depth)
        try c.encode(width, forKey: .width)
        try c.encode(batch, forKey: .batch)
        try c.encodeIfPresent(inputWidth, forKey: .inputWidth)
        try c.encode(seed, forKey: .seed)
        try c.encode(backward, forKey: .backward)
        try c.encode(initializer, forKey: .initializer)
        try c.encode(activation, forKey: .activation)
        try c.encode(biasInit, forKey: .biasInit)
        try c.encode(weights, forKey: .weights)
        try c.encode(architecture, forKey: .architecture)
        try c.encode(histogramBins, forKey: .histogramBins)
        try c.encode(input, forKey: .input)
        try c.encode(loss, forKey: .loss)
    }

    /// The effective input width.
    public var resolvedInputWidth: Int { inputWidth ?? width }

    /// Decodes a spec from JSON and validates it: the one call the HTTP edge needs. Every failure, including
    /// malformed JSON, is a `SpecValidationError` with pointers.
    public static func decodeValidated(from data: Data, limits: ExperimentLimits = .default) throws(SpecValidationError) -> ExperimentSpec {
        let spec: ExperimentSpec
        do {
            spec = try JSONDecoder().decode(ExperimentSpec.self, from: data)
        } catch let e as SpecValidationError {
            throw e
        } catch let DecodingError.dataCorrupted(ctx) {
            throw SpecValidationError(pointer: JSONPointer.make(ctx.codingPath), detail: "is not valid JSON: \(ctx.debugDescription)")
        } catch {
            throw SpecValidationError(pointer: "", detail: "must be a JSON object with the experiment fields")
        }
        return try spec.validated(limits: limits)
    }
}

func rejectUnknownKeys(_ c: KeyedDecodingContainer<SchemeKey>, allowed: [String], pointer: String) throws(SpecValidationError) {
    let unknown = c.allKeys.filter { !allowed.contains($0.stringValue) }
    guard unknown.isEmpty else {
        throw SpecValidationError(errors: unknown.map {
            FieldError(pointer: pointer + "/" + JSONPointer.escape($0.stringValue), detail: "unknown key; allowed keys: \(allowed.joined(separator: ", "))")
        })
    }
}
