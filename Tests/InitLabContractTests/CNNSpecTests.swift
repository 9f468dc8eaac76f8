import Foundation
import Testing
@testable import InitCore
import InitLabContract

/// `architecture: {"name": "cnn", ...}`: decoding, the canonical form, and every cross-field rule's message.
@Suite("cnn specs", .offCooperativePool)
struct CNNSpecTests {
    func errors(_ json: String) -> [String: String] {
        do {
            _ = try ExperimentSpec.decodeValidated(from: Data(json.utf8))
            return [:]
        } catch {
            return Dictionary(error.errors.map { ($0.pointer, $0.detail) }, uniquingKeysWith: { a, _ in a })
        }
    }

    static func spec(depth: Int = 3, conv: String, extra: String = "") -> String {
        #"{"depth": \#(depth), "width": 10, "batch": 4, "init": "kaiming_normal", "activation": "relu", "architecture": {"name": "cnn", "conv": [\#(conv)]\#(extra)}}"#
    }

    @Test func defaultsAndCanonicalRoundTrip() throws {
        let spec = try ExperimentSpec.decodeValidated(from: Data(Self.spec(conv: #"{"channels": 8, "kernel": 3, "pool": "max"}, {"channels": 4, "kernel": 3, "padding": 1, "pool": {"kind": "avg", "size": 3}}"#).utf8))
        let stack = try #require(spec.architecture.convStack)
        #expect(stack.input == .mnist)
        #expect(stack.layers == [ConvLayerSpec(channels: 8, kernel: 3, pool: Pooling(kind: .max, size: 2)),
                                 ConvLayerSpec(channels: 4, kernel: 3, padding: 1, pool: Pooling(kind: .avg, size: 3))])
        #expect(spec.inputWidth == 784)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(spec)
        #expect(String(decoding: data, as: UTF8.self).contains(#""architecture":{"conv":[{"channels":8,"dilation":1,"kernel":3,"padding":0,"pool":{"kind":"max","size":2},"stride":1},{"channels":4,"dilation":1,"kernel":3,"padding":1,"pool":{"kind":"avg","size":3},"stride":1}],"input_shape":[1,28,28],"name":"cnn"}"#))
        #expect(try ExperimentSpec.decodeValidated(from: data) == spec)
    }

    @Test func problemsNameTheFieldAndTheLimit() {
        #expect(errors(Self.spec(depth: 2, conv: #"{"channels": 8, "kernel": 3}, {"channels": 8, "kernel": 3}"#))["/depth"]
            == "must be ≥ 3 for this cnn (its 2 conv layers, then at least one dense layer: depth counts every layer), got 2")
        #expect(errors(Self.spec(conv: #"{"channels": 8, "kernel": 11, "dilation": 3}"#))["/architecture/conv/0/kernel"]
            == "does not fit the layer's 1×28×28 input: dilation·(kernel − 1) + 1 = 31 exceeds the padded side min(height, width) + 2·padding = 28")
        #expect(errors(Self.spec(conv: #"{"channels": 8, "kernel": 3, "pool": {"kind": "max", "size": 27}}"#))["/architecture/conv/0/pool/size"]
            == "must be ≤ the layer's output side min(26, 26), got 27")
        #expect(errors(Self.spec(conv: #"{"channels": 0, "kernel": 65, "stride": 0, "bogus": 1}"#)) == [
            "/architecture/conv/0/channels": "must be an integer 1 ... 4096, got 0",
            "/architecture/conv/0/kernel": "must be an integer 1 ... 64, got 65",
            "/architecture/conv/0/stride": "must be an integer 1 ... 64, got 0",
            "/architecture/conv/0/bogus": "unknown key; allowed keys: channels, kernel, stride, padding, dilation, pool",
        ])
        #expect(errors(Self.spec(conv: #"{"channels": 8, "kernel": 3, "pool": "min"}"#))["/architecture/conv/0/pool"]
            == #"must be null, "max" | "avg" (2×2) or {"kind": "max" | "avg", "size": 1 ... 64}"#)
        #expect(errors(Self.spec(conv: "")).keys.contains("/architecture/conv"))
        #expect(errors(Self.spec(conv: #"{"channels": 8, "kernel": 3}"#, extra: #", "input_shape": [3, 0, 2000]"#)) == [
            "/architecture/input_shape/1": "must be an integer 1 ... 1024, got 0",
            "/architecture/input_shape/2": "must be an integer 1 ... 1024, got 2000",
        ])
        let dataset = #"{"depth": 2, "width": 10, "batch": 4, "init": "kaiming_normal", "activation": "relu", "input": {"dataset": "mnist"}, "input_width": 100, "weights": "shared", "architecture": {"name": "cnn", "input_shape": [3, 32, 32], "conv": [{"channels": 8, "kernel": 3}]}}"#
        #expect(errors(dataset) == [
            "/architecture/input_shape": "must be [1, 28, 28] for dataset images, got [3, 32, 32]",
            "/input_width": "must be 3072 (C·H·W of architecture.input_shape 3×32×32) for a cnn, or left out, got 100",
            "/weights": "must be per_layer for a cnn (its layers' kernels have different shapes)",
        ])
        let training = #"{"depth": 2, "width": 10, "batch": 4, "init": "kaiming_normal", "activation": "relu", "train": {"dataset": "teacher", "steps": 10}, "architecture": {"name": "cnn", "conv": [{"channels": 8, "kernel": 3}]}}"#
        #expect(errors(training).isEmpty)
        let fashion = #"{"depth": 2, "width": 10, "batch": 4, "init": "kaiming_normal", "activation": "relu", "train": {"dataset": "fashion-mnist", "steps": 10}, "architecture": {"name": "cnn", "input_shape": [1, 14, 14], "conv": [{"channels": 8, "kernel": 3}]}}"#
        #expect(errors(fashion) == ["/architecture/input_shape": "must be [1, 28, 28] for dataset images, got [1, 14, 14]"])
    }

    /// A cnn result's per-channel moments survive the wire (`channels` on conv layers only); an MLP's result
    /// has no `channels` and no `shape` key at all.
    @Test func perChannelMomentsRoundTrip() throws {
        let spec = try ExperimentSpec.decodeValidated(from: Data(Self.spec(conv: #"{"channels": 3, "kernel": 3, "pool": "max"}"#, extra: #", "input_shape": [2, 8, 8]"#).utf8))
        let result = try ExperimentRunner(matmul: Matmul(threads: 1)).run(spec)
        let bytes = try result.encodedJSON()
        let back = try JSONDecoder().decode(ExperimentResult.self, from: Data(bytes))
        #expect(back == result)
        #expect(back.layers[0].channels?.activation.std.count == 3)
        #expect(back.layers[0].channels?.activationGrad?.mean.count == 3)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let layers = try #require(json["layers"] as? [[String: Any]])
        #expect(layers.map { $0["channels"] != nil } == [true, false, false])
        let mlp = try ExperimentSpec.decodeValidated(from: Data(#"{"depth": 2, "width": 4, "batch": 2, "init": "kaiming_normal", "activation": "relu"}"#.utf8))
        let text = String(decoding: try ExperimentRunner(matmul: Matmul(threads: 1)).run(mlp).encodedJSON(), as: UTF8.self)
        #expect(!text.contains("\"channels\"") && !text.contains("\"shape\""))
    }

    @Test func aTrainingBudgetCountsEveryStepOfTheConvLayers() throws {
        func spec(steps: Int) throws -> ExperimentSpec {
            try ExperimentSpec.decodeValidated(from: Data(#"{"depth": 2, "width": 16, "batch": 8, "init": "kaiming_normal", "activation": "relu", "train": {"dataset": "teacher", "steps": \#(steps)}, "architecture": {"name": "cnn", "conv": [{"channels": 8, "kernel": 3, "pool": "max"}]}}"#.utf8))
        }
        let short = try spec(steps: 10).estimate(), long = try spec(steps: 1000).estimate()
        // Each step's forward multiply-adds per image: the conv layer's 26·26·8·9, the dense layers' 1352·16 + 16·10.
        let conv: Double = 26 * 26 * 8 * 9, dense: Double = 13 * 13 * 8 * 16, head: Double = 16 * 10
        let floor: Double = 990 * 6 * 8 * (conv + dense + head)
        #expect(long.flops - short.flops >= floor)
        #expect(long.memoryBytes >= short.memoryBytes)
    }

    @Test func theMemoryBudgetCountsTheConvLayers() {
        let big = Self.spec(conv: #"{"channels": 4096, "kernel": 3, "padding": 1}"#, extra: #", "input_shape": [64, 1024, 1024]"#)
        #expect(errors(big)[""]?.hasPrefix("estimated ") == true)
    }
}
