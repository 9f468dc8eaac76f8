import ArgumentParser
import Foundation
import InitCore
import InitLabContract

/// `initlab bench experiment`: one experiment's time by phase (matmul, statistics, activation, random draws,
/// JSON), next to its floor: the same products alone, replayed in the run's order at the same thread count.
struct BenchExperiment: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "One experiment's time by phase, against its matrix products alone (the floor).",
        discussion: """
            Without --spec and the shape flags, the core issue's experiment: depth 100, width 512, batch 512, \
            kaiming_normal, relu, 50 histogram bins, forward and backward. The spec flags are `initlab run`'s. \
            Each repetition runs the experiment profiled (every product, statistics call, activation pass and \
            random fill timed; "other" is the rest: copies, bias and skip additions, the theory, the summary), \
            then encodes its result as the service stores it (JSON). The floor replays the run's products alone \
            on buffers of the same shapes. Medians over --repeats, after one warm-up run. The ratio is \
            (run + JSON) / floor: the goal is at most 1.25.
            """)

    @OptionGroup var specOptions: SpecOptions
    @OptionGroup var options: BenchOptions

    func run() throws {
        var flags = specOptions
        if flags.spec == nil {
            flags.depth = flags.depth ?? 100
            flags.batch = flags.batch ?? 512
            flags.bins = flags.bins ?? 50
        }
        let spec = try flags.validatedSpec()
        guard spec.train == nil else { throw ValidationError("bench experiment times init-time experiments: use `bench train` for training") }
        guard !spec.input.isDataset else { throw ValidationError("bench experiment runs Gaussian inputs (--input gaussian)") }
        if !options.json { print(cpuHeader()) }
        for threads in try options.threadCounts() {
            let row = try measure(spec, threads: threads)
            if options.json {
                emitJSON(row)
            } else {
                print(row.table)
            }
        }
    }

    private func measure(_ spec: ExperimentSpec, threads: Int) throws -> ExperimentBenchRow {
        let runner = ExperimentRunner(matmul: Matmul(threads: threads))
        let clock = ContinuousClock()
        _ = try runner.run(spec)  // warm-up: page faults, the pool's threads
        var totals: [Double] = [], jsons: [Double] = []
        var phases: [PhaseProfile.Phase: [Double]] = [:]
        var products: [PhaseProfile.Product] = []
        for _ in 0..<options.repeats {
            let profile = PhaseProfile()
            var result: ExperimentResult?
            let run = clock.measure { result = try? runner.run(spec, profile: profile) }
            guard let result else { throw ValidationError("the experiment failed") }
            let json = try clock.measure { _ = try result.encodedJSON() }
            totals.append(seconds(run) + seconds(json))
            jsons.append(seconds(json))
            for phase in PhaseProfile.Phase.allCases { phases[phase, default: []].append(profile.seconds[phase] ?? 0) }
            products = profile.products
        }
        let floor = Self.replay(products, threads: threads, repeats: options.repeats)
        let medians = phases.mapValues(median)
        let accounted = PhaseProfile.Phase.allCases.reduce(0.0) { $0 + (medians[$1] ?? 0) } + median(jsons)
        let total = median(totals)
        return ExperimentBenchRow(
            depth: spec.depth, width: spec.width, batch: spec.batch, threads: threads, backward: spec.backward,
            bins: spec.histogramBins, initializer: spec.initializer.name, activation: spec.activation.name,
            totalSeconds: total,
            phaseSeconds: Dictionary(uniqueKeysWithValues: medians.map { ($0.key.rawValue, $0.value) }),
            jsonSeconds: median(jsons), otherSeconds: max(0, total - accounted),
            products: products.count, gflop: products.reduce(0) { $0 + $1.flops } / 1e9,
            floorSeconds: floor, ratio: total / floor)
    }

    /// The products alone, in the run's order, on buffers as large as the largest operand: median seconds of
    /// `repeats` replays after a warm-up.
    static func replay(_ products: [PhaseProfile.Product], threads: Int, repeats: Int) -> Double {
        guard !products.isEmpty else { return .nan }
        let matmul = Matmul(threads: threads)
        func operands(_ p: PhaseProfile.Product) -> (a: Int, b: Int, c: Int) {
            switch p.layout {
            case .nn: (p.m * p.k, p.k * p.n, p.m * p.n)
            case .nt: (p.m * p.k, p.n * p.k, p.m * p.n)
            case .tn: (p.k * p.m, p.k * p.n, p.m * p.n)
            }
        }
        let sizes = products.map(operands)
        let gen = Philox(seed: 7, stream: 0)
        let a = gen.uniform(count: sizes.map(\.a).max() ?? 0, low: -1, high: 1, offset: 0)
        let b = gen.uniform(count: sizes.map(\.b).max() ?? 0, low: -1, high: 1, offset: 1 << 40)
        var c = [Float](repeating: 0, count: sizes.map(\.c).max() ?? 0)
        let clock = ContinuousClock()
        var samples: [Double] = []
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    guard let pa = ap.baseAddress, let pb = bp.baseAddress, let pc = cp.baseAddress else { return }
                    for round in 0...repeats {
                        let d = clock.measure {
                            for p in products { matmul.multiply(p.layout, m: p.m, n: p.n, k: p.k, a: pa, b: pb, c: pc) }
                        }
                        if round > 0 { samples.append(seconds(d)) }  // round 0 warms up
                    }
                }
            }
        }
        return median(samples)
    }
}

/// One `bench experiment` row (`--json` prints it as one line).
struct ExperimentBenchRow: Codable {
    var bench = "experiment"
    var depth: Int, width: Int, batch: Int, threads: Int
    var backward: Bool
    var bins: Int
    var initializer: String, activation: String
    /// Median of (run + JSON).
    var totalSeconds: Double
    /// Median seconds per phase: matmul, statistics, activation, random.
    var phaseSeconds: [String: Double]
    var jsonSeconds: Double
    /// The total less every measured phase.
    var otherSeconds: Double
    var products: Int
    var gflop: Double
    /// The products alone.
    var floorSeconds: Double
    /// totalSeconds / floorSeconds.
    var ratio: Double

    var table: String {
        var lines = [
            "experiment depth \(depth) width \(width) batch \(batch) \(initializer) \(activation) bins \(bins)"
                + (backward ? " forward+backward" : " forward") + " threads \(threads)"
        ]
        func line(_ name: String, _ s: Double) {
            lines.append(
                "  " + name.padding(toLength: 12, withPad: " ", startingAt: 0)
                    + String(format: "%8.3f s  %5.1f%%", s, 100 * s / totalSeconds))
        }
        for phase in PhaseProfile.Phase.allCases { line(phase.rawValue, phaseSeconds[phase.rawValue] ?? 0) }
        line("json", jsonSeconds)
        line("other", otherSeconds)
        line("total", totalSeconds)
        lines.append(
            String(
                format: "  floor: its %d products alone (%.1f GFLOP) %.3f s, %.1f GFLOP/s; in the run: %.1f GFLOP/s",
                products, gflop, floorSeconds, gflop / floorSeconds, gflop / (phaseSeconds["matmul"] ?? .nan)))
        lines.append(String(format: "  ratio total / floor: %.2f× (goal ≤ 1.25×)", ratio))
        return lines.joined(separator: "\n")
    }
}

func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let s = values.sorted()
    let mid = s.count / 2
    return s.count % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

func emitJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    if let data = try? encoder.encode(value), let line = String(data: data, encoding: .utf8) { print(line) }
}

/// The first line of every benchmark table: the CPU model, its cores, and whether it has AVX-512 (Zen 3 and
/// Zen 4 EPYCs both turn up, and the kernels' speed differs between them).
func cpuHeader() -> String {
    let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let lines = info.split(separator: "\n")
    func field(_ name: String) -> String? {
        lines.first { $0.hasPrefix(name) }.flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) }
    }
    let flags = Set((field("flags") ?? "").split(separator: " ").map(String.init))
    let avx512 = flags.contains("avx512f") ? "yes" : (flags.isEmpty ? "unknown" : "no")
    let fma = flags.contains("avx2") && flags.contains("fma") ? "AVX2+FMA" : "no AVX2/FMA"
    return "CPU: \(field("model name") ?? "unknown"), \(Matmul.defaultThreads) cores, \(fma), AVX-512: \(avx512)"
}
