import ArgumentParser
import Foundation
import InitCore

/// `initlab bench`: throughput of the compute core (matmul GFLOP/s, random samples per second).
/// Performance is measured here, not in the unit tests; Benchmarks/bench_core.py runs this command
/// interleaved with numpy and prints the ratios (see Benchmarks/README.md).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark the compute core: matmul GFLOP/s, random numbers per second, training steps per second.",
        subcommands: [BenchMatmul.self, BenchExperiment.self, BenchConv.self, BenchRNG.self, BenchStats.self, BenchTrain.self]
    )
}

/// Options shared by the benchmark subcommands.
struct BenchOptions: ParsableArguments {
    @Option(help: "Comma-separated thread counts (default: 1 and all cores).")
    var threads: String?

    @Option(help: "Timed repetitions per row; the median is reported.")
    var repeats: Int = 5

    @Option(help: "Minimum duration of one repetition, in milliseconds (the operation is repeated to fill it).")
    var minMillis: Int = 100

    @Flag(help: "Print one JSON object per row (JSON Lines) instead of a table.")
    var json = false

    func threadCounts() throws -> [Int] {
        guard let threads else {
            let all = Matmul.defaultThreads
            return all > 1 ? [1, all] : [1]
        }
        return try parseInts(threads, name: "--threads")
    }

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        guard minMillis >= 0 else { throw ValidationError("--min-millis must be non-negative") }
    }
}

func parseInts(_ text: String, name: String) throws -> [Int] {
    let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    var values: [Int] = []
    for part in parts {
        guard let v = Int(part), v >= 1 else {
            throw ValidationError("\(name): '\(part)' is not a positive integer")
        }
        values.append(v)
    }
    guard !values.isEmpty else { throw ValidationError("\(name) is empty") }
    return values
}

/// Runs `body` repeatedly: each repetition calls it as many times as fit in `minMillis` (at least once,
/// calibrated on a warm-up call), and returns the median seconds per call over `repeats` repetitions.
func medianSecondsPerCall(repeats: Int, minMillis: Int, _ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    body()  // warm-up (page faults, thread pool start)
    let once = clock.measure(body)
    let onceSeconds = max(1e-9, seconds(once))
    let calls = max(1, Int((Double(minMillis) / 1000) / onceSeconds))
    var samples: [Double] = []
    for _ in 0..<repeats {
        let d = clock.measure {
            for _ in 0..<calls { body() }
        }
        samples.append(seconds(d) / Double(calls))
    }
    return median(samples)
}

func seconds(_ d: Duration) -> Double {
    let (s, atto) = d.components
    return Double(s) + Double(atto) * 1e-18
}

struct BenchRow: Codable {
    var bench: String
    var layout: String?
    var m: Int?
    var n: Int?
    var k: Int?
    var count: Int?
    var threads: Int
    var seconds: Double
    var gflops: Double?
    var samplesPerSecond: Double?
    var depth: Int?
    var width: Int?
    var batch: Int?
    var stepsPerSecond: Double?
}

func emit(_ row: BenchRow, json: Bool) {
    if json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if let data = try? encoder.encode(row), let line = String(data: data, encoding: .utf8) {
            print(line)
        }
        return
    }
    if let gflops = row.gflops, let layout = row.layout, let m = row.m, let n = row.n, let k = row.k {
        let shape = "\(m)x\(n)x\(k)"
        print(
            "matmul \(layout.padding(toLength: 3, withPad: " ", startingAt: 0)) "
                + "\(shape.padding(toLength: 16, withPad: " ", startingAt: 0)) threads \(row.threads)  "
                + String(format: "%8.2f GFLOP/s  (%.3f ms)", gflops, row.seconds * 1e3))
    } else if let rate = row.stepsPerSecond, let depth = row.depth, let width = row.width, let batch = row.batch {
        print(
            "train depth \(depth) width \(width) batch \(batch) threads \(row.threads)  "
                + String(format: "%8.1f steps/s  (%.3f ms/step)", rate, row.seconds * 1e3))
    } else if row.bench.hasPrefix("stats"), let rate = row.samplesPerSecond, let count = row.count {
        print(
            "\(row.bench.padding(toLength: 20, withPad: " ", startingAt: 0)) count \(count) threads \(row.threads)  "
                + String(format: "%6.2f ns/element  (%.3f ms)", 1e9 / rate, row.seconds * 1e3))
    } else if let rate = row.samplesPerSecond, let count = row.count {
        print(
            "rng \(row.bench.padding(toLength: 16, withPad: " ", startingAt: 0)) count \(count) threads \(row.threads)  "
                + String(format: "%8.1f M samples/s", rate / 1e6))
    }
}

struct BenchMatmul: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matmul",
        abstract: "GFLOP/s of C = op(A)·op(B): square nn products, then nn/nt/tn at batch = width.",
        discussion: """
            Default rows: layout nn for n in --sizes, and layouts nt and tn for n in --layout-sizes \
            (a dense layer with batch = width = n: all three layouts are n×n×n). Each with every thread count.
            """
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "Comma-separated sizes n for square nn products.")
    var sizes: String = "256,512,1024,2048"

    @Option(help: "Comma-separated sizes n (batch = width) for the nt and tn layouts.")
    var layoutSizes: String = "256,512,1024"

    @Option(help: "Run a single shape instead of the defaults: layout:m:n:k, e.g. nt:512:512:512.")
    var shape: String?

    func run() throws {
        var rows: [(MatmulLayout, Int, Int, Int)] = []
        if let shape {
            let parts = shape.split(separator: ":").map(String.init)
            guard parts.count == 4, let layout = MatmulLayout(rawValue: parts[0]),
                let m = Int(parts[1]), let n = Int(parts[2]), let k = Int(parts[3]), m >= 1, n >= 1, k >= 1
            else { throw ValidationError("--shape must be layout:m:n:k with layout nn, nt or tn") }
            rows.append((layout, m, n, k))
        } else {
            for s in try parseInts(sizes, name: "--sizes") { rows.append((.nn, s, s, s)) }
            for layout in [MatmulLayout.nt, .tn] {
                for s in try parseInts(layoutSizes, name: "--layout-sizes") { rows.append((layout, s, s, s)) }
            }
        }
        let threadCounts = try options.threadCounts()
        if !options.json { print(cpuHeader()) }
        for (layout, m, n, k) in rows {
            let aCount = m * k, bCount = k * n
            let gen = Philox(seed: 42, stream: 0)
            let a = gen.uniform(count: aCount, low: -1, high: 1, offset: 0)
            let b = gen.uniform(count: bCount, low: -1, high: 1, offset: UInt64(aCount))
            var c = [Float](repeating: 0, count: m * n)
            for t in threadCounts {
                let mm = Matmul(threads: t)
                let secs = a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        c.withUnsafeMutableBufferPointer { cp in
                            guard let pa = ap.baseAddress, let pb = bp.baseAddress, let pc = cp.baseAddress else {
                                return Double.nan
                            }
                            return medianSecondsPerCall(repeats: options.repeats, minMillis: options.minMillis) {
                                mm.multiply(layout, m: m, n: n, k: k, a: pa, b: pb, c: pc)
                            }
                        }
                    }
                }
                let gflops = 2 * Double(m) * Double(n) * Double(k) / secs / 1e9
                emit(
                    BenchRow(
                        bench: "matmul", layout: layout.rawValue, m: m, n: n, k: k, threads: t, seconds: secs,
                        gflops: gflops),
                    json: options.json)
            }
        }
    }
}

struct BenchRNG: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rng",
        abstract: "Samples per second of Philox fills: normal (the headline), uniform and truncated normal."
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "Samples per fill.")
    var count: Int = 1 << 22

    @Option(help: "Comma-separated distributions: normal, uniform, truncated.")
    var kinds: String = "normal,uniform,truncated"

    func run() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        let threadCounts = try options.threadCounts()
        let gen = Philox(seed: 7, stream: 3)
        var out = [Float](repeating: 0, count: count)
        for kind in kinds.split(separator: ",").map({ String($0) }) {
            guard ["normal", "uniform", "truncated"].contains(kind) else {
                throw ValidationError("unknown distribution '\(kind)' (normal, uniform, truncated)")
            }
            for t in threadCounts {
                let secs = out.withUnsafeMutableBufferPointer { buf in
                    medianSecondsPerCall(repeats: options.repeats, minMillis: options.minMillis) {
                        switch kind {
                        case "uniform": gen.fillUniform(buf, low: 0, high: 1, threads: t)
                        case "truncated": gen.fillTruncatedNormal(buf, mean: 0, std: 1, threads: t)
                        default: gen.fillNormal(buf, mean: 0, std: 1, threads: t)
                        }
                    }
                }
                emit(
                    BenchRow(
                        bench: kind, count: count, threads: t, seconds: secs,
                        samplesPerSecond: Double(count) / secs),
                    json: options.json)
            }
        }
    }
}

struct BenchStats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Time per element of the full per-matrix statistics (moments, extremes, zeros, dead units, histogram, exact percentiles).",
        discussion: """
            Rows: a unit Gaussian matrix (a pre-activation), its ReLU (half zeros: an activation), and a \
            heavy-tailed one (Gaussian cubed). The experiment computes these statistics on four matrices per layer.
            """
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "Matrix rows.")
    var rows: Int = 512

    @Option(help: "Matrix columns.")
    var cols: Int = 512

    @Option(help: "Histogram bins.")
    var bins: Int = 50

    @Flag(help: "Cycle through 64 MiB of copies so that every call reads its matrix from memory, not cache (as in an experiment, where each matrix is new).")
    var cold = false

    @Option(help: "Comma-separated matrices: gaussian, relu, heavy-tailed.")
    var kinds: String = "gaussian,relu,heavy-tailed"

    func run() throws {
        guard rows >= 1, cols >= 1 else { throw ValidationError("--rows and --cols must be at least 1") }
        guard (1...512).contains(bins) else { throw ValidationError("--bins must be in 1...512") }
        let threadCounts = try options.threadCounts()
        let count = rows * cols
        var gaussian = [Float](repeating: 0, count: count)
        gaussian.withUnsafeMutableBufferPointer { Philox(seed: 11, stream: 5).fillNormal($0, mean: 0, std: 1, threads: 1) }
        let cases: [(String, [Float], DeadRule)] = [
            ("stats gaussian", gaussian, .nonPositiveColumns),
            ("stats relu", gaussian.map { max(0, $0) }, .nonPositiveColumns),
            ("stats heavy-tailed", gaussian.map { $0 * $0 * $0 }, .zeroRows),
        ]
        let suffix = cold ? " cold" : ""
        let wanted = Set(kinds.split(separator: ",").map { "stats " + $0 })
        for name in wanted where !cases.contains(where: { $0.0 == name }) {
            throw ValidationError("unknown matrix '\(name.dropFirst(6))' (gaussian, relu, heavy-tailed)")
        }
        for (name, data, dead) in cases where wanted.contains(name) {
            for t in threadCounts {
                let computer = StatsComputer(threads: t)
                let copies = cold ? max(2, (64 << 20) / (count * 4)) : 1
                let all = [Float]((0..<copies).map { _ in data }.joined())
                var next = 0
                let secs = all.withUnsafeBufferPointer { whole in
                    medianSecondsPerCall(repeats: options.repeats, minMillis: options.minMillis) {
                        let buf = UnsafeBufferPointer(rebasing: whole[(next * count)..<((next + 1) * count)])
                        next = (next + 1) % copies
                        _ = computer.compute(buf, rows: rows, cols: cols, bins: bins, dead: dead)
                    }
                }
                emit(BenchRow(bench: name + suffix, count: count, threads: t, seconds: secs, samplesPerSecond: Double(count) / secs),
                     json: options.json)
            }
        }
    }
}

/// `initlab bench train`: training steps per second of an MLP (ReLU, Kaiming init, SGD) on one fixed mini-batch,
/// as `Benchmarks/bench_train.py` runs PyTorch on the same net.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training steps per second (forward, backward, SGD update) of a depth × width ReLU MLP with a 10-class head.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Hidden layers.")
    var depth: Int = 20

    @Option(help: "Units per hidden layer.")
    var width: Int = 256

    @Option(help: "Examples per step.")
    var batch: Int = 64

    @Option(help: "Input features.")
    var inputWidth: Int = 784

    @Option(help: "Timed steps per repetition.")
    var steps: Int = 100

    func validate() throws {
        for (name, value) in [("--depth", depth), ("--width", width), ("--batch", batch), ("--input-width", inputWidth), ("--steps", steps)]
        where value < 1 {
            throw ValidationError("\(name) must be at least 1")
        }
    }

    func run() throws {
        let train = TrainSpec(dataset: .teacher, steps: steps, batch: batch, optimizer: OptimizerSpec(kind: .sgd),
                              schedule: LearningRateSchedule(lr: 0.01), evalEvery: steps, statsEvery: steps)
        let spec = ExperimentSpec(depth: depth, width: width, batch: batch, inputWidth: inputWidth, seed: 0,
                                  initializer: InitScheme(name: "kaiming_normal"), activation: ActivationSpec(name: "relu"), train: train)
        if !options.json { print(cpuHeader()) }
        for threads in try options.threadCounts() {
            var samples: [Double] = []
            for _ in 0..<options.repeats {
                samples.append(try TrainingBenchmark.secondsPerStep(spec, steps: steps, matmul: Matmul(threads: threads)))
            }
            let seconds = median(samples)
            emit(BenchRow(bench: "train", threads: threads, seconds: seconds, depth: depth, width: width, batch: batch,
                          stepsPerSecond: 1 / seconds), json: options.json)
        }
    }
}
