import ArgumentParser
import Datasets
import Foundation
import InitCore
import InitLabContract

/// The spec flags, shared by `initlab run` (local) and `initlab submit` (remote): one place that turns a spec
/// file and flags into the POST /v1/experiments body.
struct SpecOptions: ParsableArguments {
    @Option(help: "A spec JSON file (the POST /v1/experiments body).") var spec: String?
    @Option(help: "Layers, \(ExperimentLimits.default.depthText).") var depth: Int?
    @Option(help: "Units per layer, \(ExperimentLimits.default.widthText).") var width: Int?
    @Option(help: "Batch rows, \(ExperimentLimits.default.batchText).") var batch: Int?
    @Option(help: "Input features (default: width).") var inputWidth: Int?
    @Option(help: "Weight initializer: name or JSON object (see `initlab schemes`).") var `init`: String?
    @Option(help: "Activation: name or JSON object.") var activation: String?
    @Option(help: "Bias initializer: name or JSON object.") var biasInit: String?
    @Option(help: "Philox seed.") var seed: UInt64?
    @Option(help: "per_layer (default) or shared.") var weights: String?
    @Option(help: """
        mlp (default), residual, {"name": "residual", "block_size": m}, or a conv net: \
        {"name": "cnn", "input_shape": [1, 28, 28], "conv": [{"channels": 8, "kernel": 3, "padding": 1, "pool": "max"}]} \
        (depth counts the conv layers and the dense layers after them).
        """) var architecture: String?
    @Option(help: "Histogram bins, \(ExperimentLimits.default.binsText).") var bins: Int?
    @Option(help: "none (unit-Gaussian output gradient), mse or cross_entropy.") var loss: String?
    @Option(help: "Input: gaussian, mnist or fashion-mnist (default: the spec's, else gaussian).") var input: String?
    @Option(help: "Dataset split: train or test (default train).") var split: String?
    @Option(help: "Seed of the dataset sample (default 0).") var sampleSeed: UInt64?
    @Option(help: ArgumentHelp(
        "A training run: the spec's `train` object as JSON, e.g. '{\"steps\": 200, \"dataset\": \"fashion-mnist\", \"optimizer\": {\"name\": \"sgd\", \"lr\": 0.1}}'.",
        valueName: "json")) var train: String?
    @Flag(inversion: .prefixedNo, help: "Run the backward pass (default: the spec's, else true).") var backward: Bool?

    /// The defaults when there is no --spec: depth 50, width 512, batch 256, kaiming_normal, relu.
    static let defaults: [String: JSONValue] = [
        "depth": .integer(50), "width": .integer(512), "batch": .integer(256), "init": .string("kaiming_normal"),
        "activation": .string("relu"),
    ]

    /// The spec file and the flags as a JSON object, through the service's one strict parser (`JSONParser`: RFC
    /// 8259, no trailing commas or duplicate keys, exact 64-bit integers). Not validated here: `run` validates
    /// it with `ValidatedSpec`, a server validates what `submit` sends.
    func body() throws -> JSONValue {
        var object = Self.defaults
        if let spec {
            let data = try Data(contentsOf: URL(fileURLWithPath: spec))
            let parsed: JSONValue
            do {
                parsed = try JSONParser().parse(data)
            } catch {
                throw ValidationError("\(spec): not valid JSON: \(error)")
            }
            guard case .object(let fields) = parsed else { throw ValidationError("\(spec): the spec must be a JSON object") }
            object = fields
        }
        func json(_ s: String, _ flag: String, objectOnly: Bool = false) throws -> JSONValue {
            guard objectOnly || s.trimmingCharacters(in: .whitespaces).hasPrefix("{") else { return .string(s) }
            do {
                return try JSONParser().parse(Data(s.utf8))
            } catch {
                throw ValidationError("--\(flag): not valid JSON: \(error)")
            }
        }
        if let depth { object["depth"] = .integer(depth) }
        if let width { object["width"] = .integer(width) }
        if let batch { object["batch"] = .integer(batch) }
        if let inputWidth { object["input_width"] = .integer(inputWidth) }
        if let `init` { object["init"] = try json(`init`, "init") }
        if let activation { object["activation"] = try json(activation, "activation") }
        if let biasInit { object["bias_init"] = try json(biasInit, "bias-init") }
        if let seed { object["seed"] = .number(.uint(seed)) }
        if let weights { object["weights"] = .string(weights) }
        if let architecture { object["architecture"] = try json(architecture, "architecture") }
        if let bins { object["histogram_bins"] = .integer(bins) }
        if let loss { object["loss"] = .string(loss) }
        if let backward { object["backward"] = .bool(backward) }
        if let train { object["train"] = try json(train, "train", objectOnly: true) }
        try applyInput(to: &object)
        return .object(object)
    }

    /// The body validated against `limits` (for local runs).
    func validatedSpec(limits: ExperimentLimits = .default) throws -> ExperimentSpec {
        do {
            return try ValidatedSpec(try body(), limits: limits).spec
        } catch let problems as SpecProblems {
            throw ValidationError("invalid spec: " + problems.description)
        }
    }

    /// --input, --split and --sample-seed into the spec object; --split and --sample-seed also edit a dataset
    /// input that came from --spec.
    func applyInput(to object: inout [String: JSONValue]) throws {
        let datasets = DatasetCatalog.all.map(\.id)
        var dataset: [String: JSONValue]? = object["input"]?.object
        if let input {
            if input == "gaussian" {
                guard split == nil, sampleSeed == nil else {
                    throw ValidationError("--split and --sample-seed need dataset input (--input \(datasets.joined(separator: "|")))")
                }
                object["input"] = .string("gaussian")
                return
            }
            guard datasets.contains(input) else {
                throw ValidationError("--input must be gaussian or one of \(datasets.joined(separator: ", ")), got '\(input)'")
            }
            dataset = ["dataset": .string(input)]
        } else if dataset == nil, split != nil || sampleSeed != nil {
            throw ValidationError("--split and --sample-seed need dataset input (--input \(datasets.joined(separator: "|")))")
        }
        guard var dataset else { return }
        if let split { dataset["split"] = .string(split) }
        if let sampleSeed { dataset["sample_seed"] = .number(.uint(sampleSeed)) }
        object["input"] = .object(dataset)
    }
}
