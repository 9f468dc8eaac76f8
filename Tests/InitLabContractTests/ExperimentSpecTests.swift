import TestSupport
import Foundation
import Testing
@testable import InitCore
import InitLabContract

@Suite("Experiment spec: decoding, validation, canonical form", .offCooperativePool)
struct ExperimentSpecTests {
    func decode(_ json: String) throws(SpecProblems) -> ExperimentSpec {
        try ExperimentSpec.decodeValidated(from: Data(json.utf8))
    }

    func errors(_ json: String) -> [FieldProblem] {
        do {
            _ = try decode(json)
            return []
        } catch {
            return error.errors
        }
    }

    @Test func bareNamesAndDefaults() throws {
        let spec = try decode(#"{"depth": 3, "width": 8, "batch": 4, "init": "kaiming_normal", "activation": "relu"}"#)
        #expect(spec.inputWidth == 8)
        #expect(spec.seed == 0 && spec.backward && spec.weights == .perLayer && spec.architecture == .mlp)
        #expect(spec.histogramBins == 50 && spec.input == .gaussian && spec.loss == LossKind.none)
        #expect(spec.initializer.params == ["a": .number(0), "mode": .string("fan_in"), "nonlinearity": .string("leaky_relu")])
        #expect(spec.biasInit == InitScheme(name: "zeros"))
    }

    @Test func canonicalRoundTrip() throws {
        let spec = try decode(#"{"depth": 3, "width": 8, "batch": 4, "seed": 18446744073709551615, "init": {"name": "variance_scaling", "mode": "fan_avg"}, "activation": {"name": "leaky_relu", "slope": 0.2}, "architecture": {"name": "residual", "block_size": 3}, "bias_init": {"name": "constant", "value": 0.1}, "weights": "per_layer", "loss": "mse"}"#)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(spec)
        let again = try ExperimentSpec.decodeValidated(from: data)
        #expect(again == spec)
        #expect(try encoder.encode(again) == data)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""init":{"distribution":"truncated_normal","mode":"fan_avg","name":"variance_scaling","scale":1}"#))
        #expect(text.contains(#""architecture":{"block_size":3,"name":"residual"}"#))
        #expect(spec.seed == UInt64.max)
    }

    @Test(arguments: [
        (#"{"depth": 0, "width": 8, "batch": 4, "init": "zeros", "activation": "relu"}"#, "/depth", "1 ... 10000"),
        (#"{"depth": 10001, "width": 8, "batch": 4, "init": "zeros", "activation": "relu"}"#, "/depth", "1 ... 10000"),
        (#"{"depth": 2, "width": 5000, "batch": 4, "init": "zeros", "activation": "relu"}"#, "/width", "1 ... 4096"),
        (#"{"depth": 2, "width": 8, "batch": 0, "init": "zeros", "activation": "relu"}"#, "/batch", "1 ... 4096"),
        (#"{"depth": 2, "width": 8, "batch": 4, "init": "zeros", "activation": "relu", "histogram_bins": 513}"#, "/histogram_bins", "1 ... 512"),
        (#"{"depth": 2, "width": 8, "batch": 4, "init": {"name": "kaiming_normal", "mode": "fan_sideways"}, "activation": "relu"}"#, "/init/mode", "fan_in, fan_out"),
        (#"{"depth": 2, "width": 8, "batch": 4, "init": {"name": "kaiming_normal", "b": 1}, "activation": "relu"}"#, "/init/b", "allowed: a, mode, nonlinearity"),
        (#"{"depth": 2, "width": 8, "batch": 4, "init": "glorious", "activation": "relu"}"#, "/init", "xavier_uniform"),
        (#"{"depth": 2, "width": 8, "batch": 4, "init": "zeros", "activation": {"name": "leaky_relu", "slope": -1}}"#, "/activation/slope", "0 ... 1000"),
        (#"{"depth": 2, "width": 8, "batch": 4, "init": {"name": "lsuv", "max_iterations": 2.5}, "activation": "relu"}"#, "/init/max_iterations", "integer 1 ... 100"),
        (#"{"depth": 2, "width": 8, "batch": 4, "init": "zeros", "activation": "relu", "colour": "red"}"#, "/colour", "allowed keys"),
        (#"{"depth": 2, "width": 8, "batch": 4, "init": "zeros", "activation": "relu", "loss": "cross_entropy"}"#, "/loss", "dataset"),
        (#"{"depth": 3, "width": 8, "batch": 4, "init": "fixup", "activation": "relu", "architecture": {"name": "residual", "block_size": 2}}"#, "/architecture/block_size", "divide depth"),
        (#"{"depth": 4, "width": 8, "batch": 4, "init": "fixup", "activation": "relu"}"#, "/init", "residual"),
        (#"{"depth": 2, "width": 8, "batch": 4, "init": "zeros", "activation": "relu", "bias_init": "orthogonal"}"#, "/bias_init", "zeros, constant, normal, uniform, torch_default"),
        (#"{"depth": 2, "width": 8, "batch": 4, "init": {"name": "uniform", "low": 2, "high": 1}, "activation": "relu"}"#, "/init/low", "≤ high"),
        (#"{"depth": "deep", "width": 8, "batch": 4, "init": "zeros", "activation": "relu"}"#, "/depth", "integer 1 ... 10000"),
        (#"{"width": 8, "batch": 4, "init": "zeros", "activation": "relu"}"#, "/depth", "required"),
        (#"{"depth": 1e300, "width": 8, "batch": 4, "init": "zeros", "activation": "relu"}"#, "/depth", "integer"),
        (#"{"depth": 10000, "width": 4096, "batch": 4096, "init": "zeros", "activation": "relu"}"#, "", "exceeds the memory budget 1.0 GiB"),
        (#"{"depth": 10000, "width": 1024, "batch": 1024, "backward": false, "init": "zeros", "activation": "relu"}"#, "", "compute budget"),
        (#"[1, 2]"#, "", "JSON object"),
    ])
    func validationErrors(json: String, pointer: String, detailContains: String) {
        let found = errors(json)
        #expect(found.contains { $0.pointer == pointer && $0.detail.contains(detailContains) }, "got \(found)")
    }

    @Test func allErrorsReportedTogether() {
        let found = errors(#"{"depth": 0, "width": 0, "batch": 0, "init": "zeros", "activation": "nope"}"#)
        #expect(Set(found.map(\.pointer)) == ["/depth", "/width", "/batch", "/activation"])
    }

    @Test func estimateNeverTraps() {
        var spec = ExperimentSpec(depth: Int.max, width: Int.max, batch: Int.max, initializer: InitScheme(name: "orthogonal"), activation: ActivationSpec(name: "relu"))
        let e = spec.estimate()
        #expect(e.memoryBytes == Int.max && e.flops > 1e30)
        spec.depth = Int.min
        #expect(spec.estimate().memoryBytes > 0)
    }

    @Test func deepRunFitsTheBudget() throws {
        let spec = try ExperimentSpec(depth: 10_000, width: 256, batch: 256, initializer: InitScheme(name: "kaiming_normal"),
                                      activation: ActivationSpec(name: "relu")).validated()
        let e = spec.estimate()
        #expect(e.memoryBytes < 1 << 30)
        #expect(ExecutionPlan(spec: spec).segment == 100)
    }
}
