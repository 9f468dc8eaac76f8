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

    @OptionGroup var specOptions: SpecOptions
    @Option(help: "Dataset cache folder (default: $INITLAB_CACHE_DIR or ./.initlab-cache).") var cacheDir: String?
    @Flag(help: "Fetch the dataset first when it is not cached.") var fetch = false
    @Option(help: "json or table.") var format: String = "json"
    @Option(help: "Threads for matmul and statistics (default: all cores).") var threads: Int?
    @Flag(help: "Print the wall-clock time of the run to stderr.") var timing = false
    @Option(help: "Memory budget of the run (estimate), as `serve --max-memory` (default 1GiB).") var maxMemory: ByteSize?
    @Option(help: "Compute budget of the run (estimated FLOPs), as `serve --max-flops` (default 2e12).") var maxFlops: Double?

    /// The dataset a spec reads, if any: its input batch's, or a training run's (both splits).
    static func datasetName(of spec: ExperimentSpec) -> String? {
        if case .dataset(let name, _, _) = spec.input { return name }
        if let dataset = spec.train?.dataset, dataset.needsDownload { return dataset.rawValue }
        return nil
    }

    /// Loads from the cache (fetched first with --fetch); a dataset that is not cached exits 66, one that does
    /// not load exits 65.
    func loadDataset<T>(for spec: ExperimentSpec, _ load: (DatasetInputs) throws(DatasetInputError) -> T?) throws -> T? {
        guard let name = Self.datasetName(of: spec) else { return nil }
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
            return try load(inputs)
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

    /// A progress bar on stderr when it is a terminal.
    static func progressBar(done: Int, total: Int, phase: String) {
        guard done == total || done % max(1, total / 200) == 0 else { return }
        let filled = 40 * done / max(1, total)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 40 - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) \(phase)   ".utf8))
    }

    func run() throws {
        guard ["json", "table"].contains(format) else { throw ValidationError("--format must be json or table") }
        var limits = ExperimentLimits.default
        if let maxMemory { limits.maxMemoryBytes = Int(clamping: maxMemory.bytes) }
        if let maxFlops { limits.maxFLOPs = maxFlops }
        let spec = try specOptions.validatedSpec(limits: limits)
        let matmul = Matmul(threads: threads ?? Matmul.defaultThreads)
        let showProgress = isatty(STDERR_FILENO) != 0
        let start = DispatchTime.now().uptimeNanoseconds
        let result: ExperimentResult
        do {
            if spec.train != nil {
                let data: TrainingData? = try loadDataset(for: spec) { inputs throws(DatasetInputError) -> TrainingData? in
                    guard let train = spec.train else { return nil }
                    return try inputs.trainingData(for: train.dataset)
                }
                result = try Trainer(matmul: matmul).run(spec, data: data, progress: { p in
                    if showProgress { Self.progressBar(done: p.step, total: p.steps, phase: "train") }
                })
            } else {
                let input = try loadDataset(for: spec) { inputs throws(DatasetInputError) in try inputs.inputBatch(for: spec) }
                result = try ExperimentRunner(matmul: matmul).run(spec, input: input, progress: { p in
                    if showProgress { Self.progressBar(done: p.layersDone, total: p.layersTotal, phase: p.phase) }
                })
            }
        } catch let error as ExperimentError {
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
        // A cnn's layers also name their kind and shape (channels×height×width, and after pooling).
        let shapes = r.layers.contains { $0.shape != nil }
        var out = "layer   fwd mean   fwd std predicted    dead%   nonfin%    bwd std predicted     dW std" + (shapes ? "  shape" : "") + "\n"
        for l in r.layers where rows.contains(l.index) {
            let a = l.forward.activation
            out += String(format: "%5d", l.index) + " " + f(a.mean) + f(a.std) + f(l.theory.predictedActivationStd)
                + f(100 * a.deadFraction) + f(100 * a.nonfiniteFraction) + " " + f(l.backward?.activationGrad.std)
                + f(l.theory.predictedActivationGradStd) + " " + f(l.backward?.weightGrad.std)
                + (shapes ? "  " + (l.shape?.label ?? "-") : "") + "\n"
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
        if let t = r.training {
            let ts = t.summary
            out += "\ntraining: \(t.steps) steps, final loss \(f(ts.finalLoss)), final accuracy \(f(ts.finalAccuracy)), "
                + "best \(f(ts.bestAccuracy)) at step \(ts.bestStep)\n\(ts.explanation)"
            out += "\nloss     " + Sparkline.render(t.trainLoss)
            if !t.evals.isEmpty { out += "\naccuracy " + Sparkline.render(t.evals.map(\.accuracy)) }
        }
        return out
    }
}
