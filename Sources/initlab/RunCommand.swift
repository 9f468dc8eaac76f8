import ArgumentParser
import Datasets
import Foundation
import InitCore
import InitLabContract
import InitLabService

/// `initlab run`: one experiment from a spec file and/or flags; the result JSON on stdout.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one initialization experiment and print its result (JSON by default).",
        discussion: """
            Flags override the fields of --spec. --init, --activation, --bias-init and --architecture take a name \
            or a JSON object, e.g. --init '{"name": "kaiming_normal", "mode": "fan_out"}'. Without --spec the \
            defaults are depth 50, width 512, batch 256, kaiming_normal, relu.

            --input mnist or fashion-mnist feeds `batch` real images (784 pixels each, normalized with the \
            training set's mean and std; input_width is 784) drawn from --split (default train) with \
            --sample-seed (default 0): the same seed gives the same images. The dataset must be in the cache \
            (--cache-dir, else $INITLAB_CACHE_DIR, else ./.initlab-cache): run `initlab fetch NAME` first, or \
            pass --fetch to fetch it from its mirrors (INITLAB_MNIST_MIRROR / INITLAB_FASHION_MNIST_MIRROR, \
            else the defaults). Without either, a dataset that is not cached exits with status 66.
            """
    )

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
    @Option(help: "mlp (default), residual, or {\"name\": \"residual\", \"block_size\": m}.") var architecture: String?
    @Option(help: "Histogram bins, \(ExperimentLimits.default.binsText).") var bins: Int?
    @Option(help: "none (unit-Gaussian output gradient), mse or cross_entropy.") var loss: String?
    @Option(help: "Input: gaussian, mnist or fashion-mnist (default: the spec's, else gaussian).") var input: String?
    @Option(help: "Dataset split: train or test (default train).") var split: String?
    @Option(help: "Seed of the dataset sample (default 0).") var sampleSeed: UInt64?
    @Option(help: "Dataset cache folder (default: $INITLAB_CACHE_DIR or ./.initlab-cache).") var cacheDir: String?
    @Flag(help: "Fetch the dataset first when it is not cached.") var fetch = false
    @Flag(inversion: .prefixedNo, help: "Run the backward pass (default: the spec's, else true).") var backward: Bool?
    @Option(help: "json or table.") var format: String = "json"
    @Option(help: "Threads for matmul and statistics (default: all cores).") var threads: Int?
    @Flag(help: "Print the wall-clock time of the run to stderr.") var timing = false

    /// The spec file and the flags, through the service's one strict path: `JSONParser` (RFC 8259, no trailing
    /// commas or duplicate keys, exact 64-bit integers), then `ValidatedSpec` against the default limits.
    func buildSpec() throws -> ExperimentSpec {
        var object: [String: JSONValue] = [
            "depth": .integer(50), "width": .integer(512), "batch": .integer(256), "init": .string("kaiming_normal"),
            "activation": .string("relu"),
        ]
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
        func schemeValue(_ s: String, _ flag: String) throws -> JSONValue {
            guard s.trimmingCharacters(in: .whitespaces).hasPrefix("{") else { return .string(s) }
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
        if let `init` { object["init"] = try schemeValue(`init`, "init") }
        if let activation { object["activation"] = try schemeValue(activation, "activation") }
        if let biasInit { object["bias_init"] = try schemeValue(biasInit, "bias-init") }
        if let seed { object["seed"] = .number(.uint(seed)) }
        if let weights { object["weights"] = .string(weights) }
        if let architecture { object["architecture"] = try schemeValue(architecture, "architecture") }
        if let bins { object["histogram_bins"] = .integer(bins) }
        if let loss { object["loss"] = .string(loss) }
        if let backward { object["backward"] = .bool(backward) }
        try applyInput(to: &object)
        do {
            return try ValidatedSpec(.object(object), limits: .default).spec
        } catch {
            throw ValidationError("invalid spec: " + error.description)
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

    /// The input batch of a dataset spec, from the cache (fetched first with --fetch).
    func datasetInput(for spec: ExperimentSpec) throws -> InputBatch? {
        guard case .dataset(let name, _, _) = spec.input else { return nil }
        let store = DatasetStore(cacheDirectory: cacheDir ?? DatasetStore.defaultCacheDirectory())
        let inputs = DatasetInputs(store: store)
        let catalogSpec = try DatasetInputs.catalogSpec(named: name)
        if fetch && !store.status(of: catalogSpec).cached {
            let mirrors = Mirror.resolve(for: catalogSpec, flags: [])
            FileHandle.standardError.write(
                Data("initlab run: fetching \(name) into \(store.directory(for: catalogSpec)) from \(mirrors.map(\.description).joined(separator: ", "))\n".utf8))
            do {
                try store.fetch(catalogSpec, mirrors: mirrors)
            } catch {
                Self.fail("initlab run: fetching \(name) failed: \(error)", code: FetchCommand.exitCode(error))
            }
        }
        do {
            return try inputs.inputBatch(for: spec)
        } catch {
            switch error {
            case .notCached(let dataset, let directory):
                Self.fail(
                    "initlab run: \(dataset) is not in the cache \(directory); run `initlab fetch \(dataset)` first, "
                        + "or pass --fetch (the cache is --cache-dir, else $INITLAB_CACHE_DIR, else ./.initlab-cache)",
                    code: 66)
            case .loadFailed: Self.fail("initlab run: \(error)", code: 65)
            default: throw ValidationError("\(error)")
            }
        }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        RunCommand.exit(withError: ExitCode(code))
    }

    func run() throws {
        guard ["json", "table"].contains(format) else { throw ValidationError("--format must be json or table") }
        let spec = try buildSpec()
        let input = try datasetInput(for: spec)
        let runner = ExperimentRunner(matmul: Matmul(threads: threads ?? Matmul.defaultThreads))
        let showProgress = isatty(STDERR_FILENO) != 0
        let start = DispatchTime.now().uptimeNanoseconds
        let result: ExperimentResult
        do {
            result = try runner.run(spec, input: input, progress: { p in
                guard showProgress, p.layersDone == p.layersTotal || p.layersDone % max(1, p.layersTotal / 200) == 0 else { return }
                let filled = 40 * p.layersDone / max(1, p.layersTotal)
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 40 - filled)
                FileHandle.standardError.write(Data("\r[\(bar)] \(p.layersDone)/\(p.layersTotal) \(p.phase)   ".utf8))
            })
        } catch {
            throw ValidationError("run failed: \(error)")
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
        if timing { FileHandle.standardError.write(Data(String(format: "timing: run %.3f s\n", seconds).utf8)) }
        if format == "table" {
            print(ResultTable.render(result))
        } else {
            FileHandle.standardOutput.write(Data(try result.encodedJSON() + [0x0A]))
        }
    }
}

/// A compact per-layer table; deep networks are thinned to about 40 rows (first 5, evenly spaced, last).
enum ResultTable {
    static func render(_ r: ExperimentResult) -> String {
        let n = r.layers.count
        var rows = Set(1...min(5, n))
        let step = max(1, n / 35)
        for i in stride(from: step, through: n, by: step) { rows.insert(i) }
        rows.insert(n)
        func f(_ x: Double?) -> String {
            // Right-aligned in 10 columns; `-` for absent, nan/inf spelled out (String(format:) with %@ and a Swift
            // String is not portable, so pad by hand).
            let text: String
            if let x {
                text = x.isFinite ? String(format: "%.4g", x) : (x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf"))
            } else {
                text = "-"
            }
            return String(repeating: " ", count: max(0, 10 - text.count)) + text
        }
        var out = "layer   fwd mean   fwd std predicted    dead%   nonfin%    bwd std predicted     dW std\n"
        for l in r.layers where rows.contains(l.index) {
            let a = l.forward.activation
            out += String(format: "%5d", l.index) + " " + f(a.mean) + f(a.std) + f(l.theory.predictedActivationStd)
                + f(100 * a.deadFraction) + f(100 * a.nonfiniteFraction) + " " + f(l.backward?.activationGrad.std)
                + f(l.theory.predictedActivationGradStd) + " " + f(l.backward?.weightGrad.std) + "\n"
        }
        // Every layer at a glance (log-scaled; ! = inf/NaN), however deep the net.
        out += "fwd std  " + Sparkline.render(r.layers.map(\.forward.activation.std)) + "\n"
        if r.layers.contains(where: { $0.backward != nil }) {
            out += "bwd std  " + Sparkline.render(r.layers.map { $0.backward?.activationGrad.std }) + "\n"
        }
        let s = r.summary
        out += "forward: \(s.forwardVerdict.rawValue) (growth/layer \(f(s.forwardGrowthFactor)))"
        if let b = s.backwardVerdict { out += "  backward: \(b.rawValue) (growth/layer \(f(s.backwardGrowthFactor)))" }
        out += "\ntheory: chi1 \(f(s.theory.chi1)) \(s.theory.regime.rawValue), depth scale \(f(s.theory.depthScale)), q* \(f(s.theory.fixedPointQ))"
        if let l = s.firstNonfiniteLayer { out += "\nfirst non-finite layer: \(l)" }
        if let l = s.firstVanishedLayer { out += "\nfirst vanished layer: \(l)" }
        return out
    }
}
