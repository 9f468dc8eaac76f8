import ArgumentParser
import Datasets
import Foundation

/// `initlab fetch <dataset>`: download (or copy), verify, cache, load and report statistics.
struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download, verify and cache a dataset (mnist, fashion-mnist), then print its statistics.",
        discussion: """
            Mirrors are tried in order, per file. --mirror replaces the defaults; without it, the environment \
            variable INITLAB_MNIST_MIRROR or INITLAB_FASHION_MNIST_MIRROR (a comma-separated list) does. A mirror is \
            an http(s):// base URL, a file:// URL or a local folder holding the .gz files (offline machines).

            The cache is --cache-dir, else $INITLAB_CACHE_DIR, else ./.initlab-cache. Files are downloaded to \
            <name>.part, resumed with a Range request after an interruption, and renamed into place only after \
            their checksum matches (MNIST: MD5 of the .gz; Fashion-MNIST: SHA-256 of the decompressed file). A \
            verified cache is reused without network.

            Exit status: 0 success; 1 download failed on every mirror; 64 unknown dataset; 65 a file failed \
            verification or parsing; 74 local I/O error.
            """)

    @Argument(help: "Dataset: \(DatasetCatalog.all.map(\.id).joined(separator: " or ")).")
    var dataset: String

    @Option(name: .customLong("mirror"), help: "Base URL or folder to fetch from (repeatable; replaces defaults).")
    var mirrors: [String] = []

    @Option(name: .customLong("cache-dir"), help: "Cache folder (default: $INITLAB_CACHE_DIR or ./.initlab-cache).")
    var cacheDirectory: String?

    @Flag(help: "Print the result as JSON on stdout.")
    var json = false

    @Flag(help: "Re-check the checksums of cached files; fetch again any that no longer match.")
    var verify = false

    @Flag(name: .customLong("no-progress"), help: "No progress bar, even on a terminal.")
    var noProgress = false

    @Option(help: "Benchmark: load the cached dataset this many times and report the median load time.")
    var bench: Int?

    mutating func run() throws {
        guard let spec = DatasetCatalog.spec(named: dataset) else {
            fail(DatasetError.unknownDataset(dataset).description, code: 64)
        }
        let store = DatasetStore(cacheDirectory: cacheDirectory ?? DatasetStore.defaultCacheDirectory())
        let mirrorList = Mirror.resolve(for: spec, flags: mirrors)
        let bar = ProgressBar(enabled: !noProgress && isatty(STDERR_FILENO) == 1)

        // --verify: re-hash the cache first; a file that no longer matches is removed and fetched again.
        var repaired: [String] = []
        if verify {
            for file in store.status(of: spec, verify: true).files where file.checksumMatches == false {
                let path = URL(fileURLWithPath: store.directory(for: spec)).appendingPathComponent(file.name).path
                FileHandle.standardError.write(Data("\(file.name): checksum mismatch in the cache; fetching it again\n".utf8))
                do { try FileManager.default.removeItem(atPath: path) } catch {
                    fail("initlab fetch: cannot remove \(path): \(error.localizedDescription)", code: 74)
                }
                repaired.append(file.name)
            }
        }

        let fetched: [FetchedFile]
        do {
            fetched = try store.fetch(spec, mirrors: mirrorList) { event in bar.handle(event) }
        } catch {
            bar.finish()
            fail("initlab fetch: \(error)", code: Self.exitCode(error))
        }
        bar.finish()

        // Files fetched now were verified before being stored; reused ones were re-hashed above.
        let verified: Bool? = verify ? true : nil

        let start = DispatchTime.now()
        let data: LoadedDataset
        do { data = try store.load(spec) } catch {
            fail("initlab fetch: \(error)\n(run `initlab fetch \(spec.id) --verify` to re-check the cache and fetch bad files again)",
                 code: Self.exitCode(error))
        }
        let loadSeconds = Self.seconds(since: start)

        var benchResult: BenchResult? = nil
        if let runs = bench, runs > 0 {
            benchResult = try runBench(store: store, spec: spec, runs: runs)
        }

        let output = FetchOutput(
            dataset: spec.id, cacheDirectory: store.directory(for: spec), mirrors: mirrorList.map(\.description),
            files: fetched, verified: verified, repaired: repaired,
            train: .init(count: data.train.count, rows: data.train.rows, cols: data.train.cols),
            test: .init(count: data.test.count, rows: data.test.rows, cols: data.test.cols),
            statistics: data.stats, loadSeconds: loadSeconds, bench: benchResult)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let encoded = try encoder.encode(output)
            print(String(decoding: encoded, as: UTF8.self))
        } else {
            printText(output)
        }
    }

    private func runBench(store: DatasetStore, spec: DatasetSpec, runs: Int) throws -> BenchResult {
        var full: [Double] = []
        var images: [Double] = []
        guard let imagesFile = spec.file(.trainImages) else { fail("no training images in \(spec.id)", code: 65) }
        let imagesPath = store.path(of: imagesFile, in: spec)
        for _ in 0..<runs {
            let t0 = DispatchTime.now()
            do { _ = try store.load(spec) } catch { fail("initlab fetch: \(error)", code: 65) }
            full.append(Self.seconds(since: t0))
            let t1 = DispatchTime.now()
            do { _ = try ImageFileLoad(path: imagesPath) } catch { fail("initlab fetch: \(error)", code: 65) }
            images.append(Self.seconds(since: t1))
        }
        return BenchResult(runs: runs, trainImagesPath: imagesPath, fullLoadMedianSeconds: median(full),
                           trainImagesMedianSeconds: median(images))
    }

    private func printText(_ o: FetchOutput) {
        let s = o.statistics
        func f(_ x: Double) -> String { String(format: "%.4f", x) }
        print("\(o.dataset): cached in \(o.cacheDirectory)")
        for file in o.files {
            let origin = file.source.map { "downloaded from \($0) (\(file.attempts) request\(file.attempts == 1 ? "" : "s"))" }
                ?? "verified cache, reused"
            print("  \(file.name): \(file.bytes) bytes, \(origin)")
        }
        if o.verified == true {
            print("  checksums re-checked" + (o.repaired.isEmpty ? ": all match" : "; fetched again: \(o.repaired.joined(separator: ", "))"))
        }
        print("  train: \(o.train.count) × \(o.train.rows) × \(o.train.cols); test: \(o.test.count) × \(o.test.rows) × \(o.test.cols)")
        print("  pixels scaled to [0,1]: train mean \(f(s.rawTrain.mean)) std \(f(s.rawTrain.std)); test mean \(f(s.rawTest.mean)) std \(f(s.rawTest.std))")
        print("  normalized with the train mean/std: train mean \(f(s.normalizedTrain.mean)) std \(f(s.normalizedTrain.std)); test mean \(f(s.normalizedTest.mean)) std \(f(s.normalizedTest.std))")
        print("  load time: \(String(format: "%.3f", o.loadSeconds)) s")
        if let b = o.bench {
            print("  bench (\(b.runs) runs, median): full load \(String(format: "%.4f", b.fullLoadMedianSeconds)) s; train images alone \(String(format: "%.4f", b.trainImagesMedianSeconds)) s")
        }
    }

    static func exitCode(_ error: DatasetError) -> Int32 {
        switch error {
        case .unknownDataset: return 64
        case .noMirrors, .allMirrorsFailed: return 1
        case .checksumMismatch, .notCached, .gzip, .idx: return 65
        case .io: return 74
        }
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

}

private func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    FetchCommand.exit(withError: ExitCode(code))
}

struct BenchResult: Codable {
    let runs: Int
    let trainImagesPath: String
    let fullLoadMedianSeconds: Double
    let trainImagesMedianSeconds: Double
}

struct FetchOutput: Codable {
    struct Shape: Codable {
        let count: Int
        let rows: Int
        let cols: Int
    }
    let dataset: String
    let cacheDirectory: String
    let mirrors: [String]
    let files: [FetchedFile]
    let verified: Bool?
    /// Files that failed re-verification (`--verify`) and were fetched again.
    let repaired: [String]
    let train: Shape
    let test: Shape
    let statistics: NormalizationStats
    let loadSeconds: Double
    let bench: BenchResult?
}

/// A one-line progress bar on stderr (only when stderr is a terminal); per-file messages otherwise.
final class ProgressBar {
    let enabled: Bool
    private var lastDraw = DispatchTime(uptimeNanoseconds: 0)
    private var drawn = false
    private var lastBytes: Int64 = -1
    private var lastTotal: Int64? = nil

    init(enabled: Bool) { self.enabled = enabled }

    func handle(_ event: FetchEvent) {
        switch event {
        case .reused(let file):
            line("\(file): verified copy in cache")
        case .started(let file, let url, let offset):
            line("\(file): fetching \(url)" + (offset > 0 ? " (resuming at \(offset) bytes)" : ""))
        case .progress(let file, let p):
            draw(file, p)
        case .mirrorFailed(let file, let failure):
            line("\(file): \(failure.reason)")
        case .stored(let file, _, let bytes, _):
            line("\(file): \(bytes) bytes, checksum ok")
        }
    }

    func finish() {
        if drawn { write("\n") }
        drawn = false
        lastBytes = -1
        lastTotal = nil
    }

    private func line(_ text: String) {
        finish()
        write(text + "\n")
    }

    private func draw(_ file: String, _ p: FetchProgress) {
        guard enabled else { return }
        let now = DispatchTime.now()
        // Redraw at most every 0.1 s, and once more when the file completes.
        let complete = p.total.map { p.bytes >= $0 } ?? false
        guard p.bytes != lastBytes || p.total != lastTotal else { return }
        guard complete || now.uptimeNanoseconds - lastDraw.uptimeNanoseconds > 100_000_000 else { return }
        lastDraw = now
        lastBytes = p.bytes
        lastTotal = p.total
        let width = 30
        var bar = ""
        var percent = "    "
        if let total = p.total, total > 0 {
            let fraction = min(1, Double(p.bytes) / Double(total))
            let filled = Int(fraction * Double(width))
            bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            percent = String(format: "%3d%%", Int(fraction * 100))
        } else {
            bar = String(repeating: "?", count: width)
        }
        let mb = { (x: Int64) in String(format: "%.1f", Double(x) / 1e6) }
        let total = p.total.map { " / \(mb($0)) MB" } ?? " MB"
        write("\r\(file) [\(bar)] \(percent) \(mb(p.bytes))\(total) \(String(format: "%.1f", p.bytesPerSecond / 1e6)) MB/s\u{1B}[K")
        drawn = true
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
