import Foundation
import InitCore

// The spec's wire form (snake_case keys; schemes always as objects with every parameter). Encoding writes the
// canonical form that is stored, fingerprinted and echoed in results; decoding reads it back through the one
// spec decoder (`SpecDecoder`), without range validation (a stored spec is trusted; requests go through
// `ValidatedSpec.init(_:limits:)`). The witnesses are `public` because the types are InitCore's public types.

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension ExperimentSpec: Codable {
    public init(from decoder: any Decoder) throws {
        let json = try JSONValue(from: decoder)
        var reader = SpecDecoder(limits: ValidatedSpec.unbounded)
        self = try reader.spec(json)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(depth, forKey: AnyKey("depth"))
        try c.encode(width, forKey: AnyKey("width"))
        try c.encode(batch, forKey: AnyKey("batch"))
        try c.encodeIfPresent(inputWidth, forKey: AnyKey("input_width"))
        try c.encode(seed, forKey: AnyKey("seed"))
        try c.encode(backward, forKey: AnyKey("backward"))
        try c.encode(initializer, forKey: AnyKey("init"))
        try c.encode(activation, forKey: AnyKey("activation"))
        try c.encode(biasInit, forKey: AnyKey("bias_init"))
        try c.encode(weights.rawValue, forKey: AnyKey("weights"))
        try c.encode(architecture, forKey: AnyKey("architecture"))
        try c.encode(histogramBins, forKey: AnyKey("histogram_bins"))
        if let train {
            // A training run's data and loss come from `train`: `input` and `loss` are not part of it.
            try c.encode(train, forKey: AnyKey("train"))
        } else {
            try c.encode(input, forKey: AnyKey("input"))
            try c.encode(loss.rawValue, forKey: AnyKey("loss"))
        }
    }
}

extension SchemeParam: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        }
    }
}

/// `{"name": ..., params...}`, parameters in key order.
private func encodeScheme(_ name: String, _ params: [String: SchemeParam], to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: AnyKey.self)
    try c.encode(name, forKey: AnyKey("name"))
    for (k, v) in params.sorted(by: { $0.key < $1.key }) {
        try c.encode(v, forKey: AnyKey(k))
    }
}

extension InitScheme: Encodable {
    public func encode(to encoder: any Encoder) throws { try encodeScheme(name, params, to: encoder) }
}

extension ActivationSpec: Encodable {
    public func encode(to encoder: any Encoder) throws { try encodeScheme(name, params, to: encoder) }
}

extension Architecture: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        switch self {
        case .mlp: try c.encode("mlp", forKey: AnyKey("name"))
        case .residual(let m):
            try c.encode("residual", forKey: AnyKey("name"))
            try c.encode(m, forKey: AnyKey("block_size"))
        case .cnn(let stack):
            try c.encode("cnn", forKey: AnyKey("name"))
            try c.encode(stack.input.array, forKey: AnyKey("input_shape"))
            try c.encode(stack.layers, forKey: AnyKey("conv"))
        }
    }
}

/// Canonical: every field written (defaults filled in); `pool` only when the layer pools.
extension ConvLayerSpec: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(channels, forKey: AnyKey("channels"))
        try c.encode(kernel, forKey: AnyKey("kernel"))
        try c.encode(stride, forKey: AnyKey("stride"))
        try c.encode(padding, forKey: AnyKey("padding"))
        try c.encode(dilation, forKey: AnyKey("dilation"))
        if let pool {
            var p = c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("pool"))
            try p.encode(pool.kind.rawValue, forKey: AnyKey("kind"))
            try p.encode(pool.size, forKey: AnyKey("size"))
        }
    }
}

extension InputSource: Encodable {
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .gaussian:
            var c = encoder.singleValueContainer()
            try c.encode("gaussian")
        case .dataset(let name, let split, let seed):
            var c = encoder.container(keyedBy: AnyKey.self)
            try c.encode(name, forKey: AnyKey("dataset"))
            try c.encode(split, forKey: AnyKey("split"))
            try c.encode(seed, forKey: AnyKey("sample_seed"))
        }
    }
}

extension ValidatedSpec {
    /// Limits that accept everything (decoding a trusted, stored spec).
    static let unbounded = ExperimentLimits(
        maxDepth: .max, maxWidth: .max, maxBatch: .max, maxMemoryBytes: .max, maxFLOPs: .infinity, maxHistogramBins: .max,
        maxTrainSteps: .max)
}

// MARK: - The scheme catalog (GET /v1/schemes, `initlab schemes`)

extension ParameterDescriptor: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(name, forKey: AnyKey("name"))
        try c.encode(type, forKey: AnyKey("type"))
        try c.encode(self.default, forKey: AnyKey("default"))
        try c.encodeIfPresent(minimum, forKey: AnyKey("minimum"))
        try c.encodeIfPresent(maximum, forKey: AnyKey("maximum"))
        try c.encodeIfPresent(allowed, forKey: AnyKey("allowed"))
        try c.encode(description, forKey: AnyKey("description"))
    }
}

extension SchemeDescriptor: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(name, forKey: AnyKey("name"))
        try c.encode(kind, forKey: AnyKey("kind"))
        try c.encode(formula, forKey: AnyKey("formula"))
        try c.encode(summary, forKey: AnyKey("summary"))
        try c.encode(parameters, forKey: AnyKey("parameters"))
    }
}

/// `{"initializers": [...], "activations": [...]}`, sorted keys: the body of GET /v1/schemes.
package enum SchemeCatalogJSON {
    package static func encoded() -> Data {
        struct Catalog: Encodable {
            var initializers: [SchemeDescriptor]
            var activations: [SchemeDescriptor]
        }
        let catalog = Catalog(initializers: SchemeCatalog.initializers, activations: SchemeCatalog.activations)
        return (try? ValidatedSpec.encoder.encode(catalog)) ?? Data("{\"activations\":[],\"initializers\":[]}".utf8)
    }
}
