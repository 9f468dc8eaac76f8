import Foundation
import InitCore

// The result's wire form: snake_case keys, non-finite numbers as null (JSON has no infinities), absent
// optionals as explicit null where the contract says so. `encodedJSON()` (sorted keys) is the stored form:
// same spec ⇒ same bytes. Decoding reads it back (tests, re-rendering); null reads as NaN.

extension KeyedEncodingContainer {
    /// Writes a finite Double, or null for ±inf/NaN/nil.
    mutating func encodeFinite(_ x: Double?, forKey key: Key) throws {
        if let x, x.isFinite { try encode(x, forKey: key) } else { try encodeNil(forKey: key) }
    }
}

extension KeyedDecodingContainer {
    /// A number, or NaN for null/absent.
    func decodeNumber(_ key: Key) throws -> Double { try decodeIfPresent(Double.self, forKey: key) ?? .nan }
}

extension Histogram: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        self.init(low: try c.decodeNumber(AnyKey("low")), high: try c.decodeNumber(AnyKey("high")),
                  counts: try c.decode([Int].self, forKey: AnyKey("counts")))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encodeFinite(low, forKey: AnyKey("low"))
        try c.encodeFinite(high, forKey: AnyKey("high"))
        try c.encode(counts, forKey: AnyKey("counts"))
    }
}

extension Stats: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        func d(_ k: String) throws -> Double { try c.decodeNumber(AnyKey(k)) }
        self.init(
            count: try c.decode(Int.self, forKey: AnyKey("count")), mean: try d("mean"), std: try d("std"), min: try d("min"),
            max: try d("max"), meanAbs: try d("mean_abs"), zeroFraction: try d("zero_fraction"),
            deadFraction: try d("dead_fraction"), nonfiniteFraction: try d("nonfinite_fraction"), p1: try d("p1"),
            p50: try d("p50"), p99: try d("p99"), histogram: try c.decode(Histogram.self, forKey: AnyKey("histogram")))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(count, forKey: AnyKey("count"))
        for (k, v) in [("mean", mean), ("std", std), ("min", min), ("max", max), ("mean_abs", meanAbs),
                       ("zero_fraction", zeroFraction), ("dead_fraction", deadFraction), ("nonfinite_fraction", nonfiniteFraction),
                       ("p1", p1), ("p50", p50), ("p99", p99)] {
            try c.encodeFinite(v, forKey: AnyKey(k))
        }
        try c.encode(histogram, forKey: AnyKey("histogram"))
    }
}

extension ForwardStats: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        self.init(preactivation: try c.decode(Stats.self, forKey: AnyKey("preactivation")),
                  activation: try c.decode(Stats.self, forKey: AnyKey("activation")))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(preactivation, forKey: AnyKey("preactivation"))
        try c.encode(activation, forKey: AnyKey("activation"))
    }
}

extension BackwardStats: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        self.init(activationGrad: try c.decode(Stats.self, forKey: AnyKey("activation_grad")),
                  weightGrad: try c.decode(Stats.self, forKey: AnyKey("weight_grad")))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(activationGrad, forKey: AnyKey("activation_grad"))
        try c.encode(weightGrad, forKey: AnyKey("weight_grad"))
    }
}

extension LayerTheory: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        self.init(
            q: try c.decodeNumber(AnyKey("q")), predictedPreactivationStd: try c.decodeNumber(AnyKey("predicted_preactivation_std")),
            predictedActivationStd: try c.decodeNumber(AnyKey("predicted_activation_std")),
            predictedActivationGradStd: try c.decodeIfPresent(Double.self, forKey: AnyKey("predicted_activation_grad_std")))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encodeFinite(q, forKey: AnyKey("q"))
        try c.encodeFinite(predictedPreactivationStd, forKey: AnyKey("predicted_preactivation_std"))
        try c.encodeFinite(predictedActivationStd, forKey: AnyKey("predicted_activation_std"))
        try c.encodeFinite(predictedActivationGradStd, forKey: AnyKey("predicted_activation_grad_std"))
    }
}

extension LayerResult: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        self.init(
            index: try c.decode(Int.self, forKey: AnyKey("index")), fanIn: try c.decode(Int.self, forKey: AnyKey("fan_in")),
            fanOut: try c.decode(Int.self, forKey: AnyKey("fan_out")), forward: try c.decode(ForwardStats.self, forKey: AnyKey("forward")),
            backward: try c.decodeIfPresent(BackwardStats.self, forKey: AnyKey("backward")),
            theory: try c.decode(LayerTheory.self, forKey: AnyKey("theory")),
            lsuvIterations: try c.decodeIfPresent(Int.self, forKey: AnyKey("lsuv_iterations")),
            shape: try c.decodeIfPresent(LayerShape.self, forKey: AnyKey("shape")),
            channels: try c.decodeIfPresent(ChannelStats.self, forKey: AnyKey("channels")))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(index, forKey: AnyKey("index"))
        try c.encode(fanIn, forKey: AnyKey("fan_in"))
        try c.encode(fanOut, forKey: AnyKey("fan_out"))
        try c.encode(forward, forKey: AnyKey("forward"))
        try c.encode(backward, forKey: AnyKey("backward"))  // explicit null
        try c.encode(theory, forKey: AnyKey("theory"))
        try c.encode(lsuvIterations, forKey: AnyKey("lsuv_iterations"))
        // A cnn's layers only: the other architectures' results stay as they were.
        try c.encodeIfPresent(shape, forKey: AnyKey("shape"))
        try c.encodeIfPresent(channels, forKey: AnyKey("channels"))
    }
}

/// `{"preactivation": moments, "activation": moments, "activation_grad": moments}` (the last with a backward
/// pass only); moments are `{"mean": [...], "std": [...]}`, one number per channel, null where non-finite.
extension ChannelStats: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        self.init(preactivation: try c.decode(ChannelMoments.self, forKey: AnyKey("preactivation")),
                  activation: try c.decode(ChannelMoments.self, forKey: AnyKey("activation")),
                  activationGrad: try c.decodeIfPresent(ChannelMoments.self, forKey: AnyKey("activation_grad")))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(preactivation, forKey: AnyKey("preactivation"))
        try c.encode(activation, forKey: AnyKey("activation"))
        try c.encodeIfPresent(activationGrad, forKey: AnyKey("activation_grad"))
    }
}

extension ChannelMoments: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        self.init(mean: try c.decode([Double?].self, forKey: AnyKey("mean")).map { $0 ?? .nan },
                  std: try c.decode([Double?].self, forKey: AnyKey("std")).map { $0 ?? .nan })
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(mean.map { $0.isFinite ? $0 : nil }, forKey: AnyKey("mean"))
        try c.encode(std.map { $0.isFinite ? $0 : nil }, forKey: AnyKey("std"))
    }
}

/// `{"kind": "conv", "output": [C, H, W], "pooled": [C, H', W']}` (`pooled` only after a pooling).
extension LayerShape: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        self.init(kind: try c.decode(Kind.self, forKey: AnyKey("kind")), output: try c.decode([Int].self, forKey: AnyKey("output")),
                  pooled: try c.decodeIfPresent([Int].self, forKey: AnyKey("pooled")))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(kind, forKey: AnyKey("kind"))
        try c.encode(output, forKey: AnyKey("output"))
        try c.encodeIfPresent(pooled, forKey: AnyKey("pooled"))
    }
}

extension LayerShape.Kind: Codable {}

extension Verdict: Codable {}
extension Regime: Codable {}

extension TheorySummary: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        self.init(
            chi1: try c.decodeNumber(AnyKey("chi1")), regime: try c.decode(Regime.self, forKey: AnyKey("regime")),
            depthScale: try c.decodeIfPresent(Double.self, forKey: AnyKey("depth_scale")),
            fixedPointQ: try c.decodeIfPresent(Double.self, forKey: AnyKey("fixed_point_q")))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encodeFinite(chi1, forKey: AnyKey("chi1"))
        try c.encode(regime, forKey: AnyKey("regime"))
        try c.encodeFinite(depthScale, forKey: AnyKey("depth_scale"))
        try c.encodeFinite(fixedPointQ, forKey: AnyKey("fixed_point_q"))
    }
}

extension ExperimentSummary: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        self.init(
            firstNonfiniteLayer: try c.decodeIfPresent(Int.self, forKey: AnyKey("first_nonfinite_layer")),
            firstVanishedLayer: try c.decodeIfPresent(Int.self, forKey: AnyKey("first_vanished_layer")),
            forwardGrowthFactor: try c.decodeNumber(AnyKey("forward_growth_factor")),
            backwardGrowthFactor: try c.decodeIfPresent(Double.self, forKey: AnyKey("backward_growth_factor")),
            forwardVerdict: try c.decode(Verdict.self, forKey: AnyKey("forward_verdict")),
            backwardVerdict: try c.decodeIfPresent(Verdict.self, forKey: AnyKey("backward_verdict")),
            theory: try c.decode(TheorySummary.self, forKey: AnyKey("theory")))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(firstNonfiniteLayer, forKey: AnyKey("first_nonfinite_layer"))
        try c.encode(firstVanishedLayer, forKey: AnyKey("first_vanished_layer"))
        try c.encodeFinite(forwardGrowthFactor, forKey: AnyKey("forward_growth_factor"))
        try c.encodeFinite(backwardGrowthFactor, forKey: AnyKey("backward_growth_factor"))
        try c.encode(forwardVerdict, forKey: AnyKey("forward_verdict"))
        try c.encode(backwardVerdict, forKey: AnyKey("backward_verdict"))
        try c.encode(theory, forKey: AnyKey("theory"))
    }
}

extension Conventions: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        self.init(weights: try c.decode(String.self, forKey: AnyKey("weights")),
                  gradientSource: try c.decode(String.self, forKey: AnyKey("gradient_source")))
        weightLayout = try c.decode(String.self, forKey: AnyKey("weight_layout"))
        fanIn = try c.decode(String.self, forKey: AnyKey("fan_in"))
        layerIndex = try c.decode(String.self, forKey: AnyKey("layer_index"))
        statsDtype = try c.decode(String.self, forKey: AnyKey("stats_dtype"))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(weightLayout, forKey: AnyKey("weight_layout"))
        try c.encode(fanIn, forKey: AnyKey("fan_in"))
        try c.encode(layerIndex, forKey: AnyKey("layer_index"))
        try c.encode(statsDtype, forKey: AnyKey("stats_dtype"))
        try c.encode(weights, forKey: AnyKey("weights"))
        try c.encode(gradientSource, forKey: AnyKey("gradient_source"))
    }
}

extension ExperimentResult: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        self.init(
            spec: try c.decode(ExperimentSpec.self, forKey: AnyKey("spec")),
            conventions: try c.decode(Conventions.self, forKey: AnyKey("conventions")),
            layers: try c.decode([LayerResult].self, forKey: AnyKey("layers")),
            summary: try c.decode(ExperimentSummary.self, forKey: AnyKey("summary")),
            training: try c.decodeIfPresent(TrainingResult.self, forKey: AnyKey("training")))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(spec, forKey: AnyKey("spec"))
        try c.encode(conventions, forKey: AnyKey("conventions"))
        try c.encode(layers, forKey: AnyKey("layers"))
        try c.encode(summary, forKey: AnyKey("summary"))
        try c.encodeIfPresent(training, forKey: AnyKey("training"))  // absent for an init-time experiment
    }
}

extension ExperimentResult {
    /// The canonical JSON bytes: sorted keys, non-finite numbers as null. Same spec ⇒ same bytes.
    package func encodedJSON() throws -> [UInt8] {
        Array(try ValidatedSpec.encoder.encode(self))
    }
}

extension LayerResult {
    /// One layer as it appears inside the result (same encoder, sorted keys): live progress events.
    package func encodedJSON() throws -> Data { try ValidatedSpec.encoder.encode(self) }
}
