import Foundation

/// One mirror's failure for one file.
package struct MirrorFailure: Sendable, Equatable, Codable, CustomStringConvertible {
    package let url: String
    /// Everything known, for the CLI and the server log; it may quote what the server sent (status text, the
    /// digest and size of what arrived).
    package let reason: String
    /// The same failure in the fetcher's own words, with nothing taken from the server's reply: what API clients
    /// see (a hostile mirror must not learn through us what an internal address answered).
    package let publicReason: String
    package var description: String { "\(url): \(reason)" }

    package init(url: String, reason: String, publicReason: String) {
        self.url = url
        self.reason = reason
        self.publicReason = publicReason
    }
}

package enum DatasetError: Error, Equatable, CustomStringConvertible {
    case unknownDataset(String)
    case noMirrors(dataset: String)
    /// Every mirror failed for `file`; each failure is listed in order.
    case allMirrorsFailed(file: String, failures: [MirrorFailure])
    case checksumMismatch(file: String, expected: Checksum, actual: String)
    /// Files missing from the cache (run `initlab fetch <dataset>`).
    case notCached(dataset: String, directory: String, missing: [String])
    case gzip(GzipError)
    case idx(IDXError)
    case io(path: String, reason: String)

    package var description: String {
        switch self {
        case .unknownDataset(let id):
            return "unknown dataset '\(id)' (known: \(DatasetCatalog.all.map(\.id).joined(separator: ", ")))"
        case .noMirrors(let id): return "\(id): no mirror to fetch from"
        case .allMirrorsFailed(let file, let failures):
            return "\(file): every mirror failed:\n" + failures.map { "  - \($0)" }.joined(separator: "\n")
        case .checksumMismatch(let file, let expected, let actual):
            return "\(file): checksum mismatch: expected \(expected), got \(actual)"
        case .notCached(let id, let directory, let missing):
            return "\(id) is not in the cache \(directory) (missing \(missing.joined(separator: ", "))); run `initlab fetch \(id)`"
        case .gzip(let e): return e.description
        case .idx(let e): return e.description
        case .io(let path, let reason): return "\(path): \(reason)"
        }
    }

    /// The description with nothing a mirror sent in it (see `MirrorFailure.publicReason`): for API clients.
    /// The server log keeps `description`.
    package var publicDescription: String {
        switch self {
        case .allMirrorsFailed(let file, let failures):
            return "\(file): every mirror failed:\n"
                + failures.map { "  - \($0.url): \($0.publicReason)" }.joined(separator: "\n")
        case .checksumMismatch(let file, let expected, _):
            return "\(file): checksum mismatch: expected \(expected)"
        case .unknownDataset, .noMirrors, .notCached, .gzip, .idx, .io:
            return description
        }
    }

    /// Why a downloaded file failed verification, in our words (nothing of its content).
    var publicVerificationReason: String {
        switch self {
        case .checksumMismatch(_, let expected, _): return "checksum mismatch: expected \(expected)"
        case .gzip: return "the download is not a valid gzip file"
        case .io: return "the download could not be read back"
        case .unknownDataset, .noMirrors, .allMirrorsFailed, .notCached, .idx: return "verification failed"
        }
    }
}

/// What `DatasetStore.fetch` reports as it goes.
package enum FetchEvent: Sendable {
    /// A verified file already in the cache: no network.
    case reused(file: String)
    case started(file: String, url: String, resumingFrom: Int64)
    case progress(file: String, FetchProgress)
    case mirrorFailed(file: String, MirrorFailure)
    case stored(file: String, url: String, bytes: Int64, attempts: Int)
}

/// Per file: where it came from.
package struct FetchedFile: Sendable, Equatable, Codable {
    package let name: String
    /// The URL it was downloaded from, or nil when the verified cache copy was reused.
    package let source: String?
    package let bytes: Int64
    /// Requests made (0 when reused).
    package let attempts: Int
}

/// A dataset loaded from the cache: both splits normalized with the training set's statistics.
package struct LoadedDataset: Sendable {
    package let id: String
    package let train: ImageSet
    package let test: ImageSet
    package let stats: NormalizationStats

    package func split(_ split: Split) -> ImageSet { split == .train ? train : test }

    /// A reproducible batch of `size` distinct images of `split` for `seed` (see `BatchSampler`).
    package func batch(split: Split, size: Int, seed: UInt64) -> Batch { self.split(split).batch(size: size, seed: seed) }
}

package struct FileStatus: Sendable, Equatable, Codable {
    package let name: String
    package let role: FileRole
    /// The verified file is in the cache.
    package let present: Bool
    package let bytes: Int64
    /// Bytes of an interrupted download waiting to be resumed (0 when none).
    package let partialBytes: Int64
    /// Result of re-checking the checksum; nil when not asked for (`verify: false`) or the file is absent.
    package let checksumMatches: Bool?
}

/// What the service reports about a dataset: is it cached, verified, and its statistics.
package struct DatasetStatus: Sendable, Equatable, Codable {
    package let dataset: String
    package let directory: String
    package let files: [FileStatus]
    /// All four files are in the cache. Files reach the cache only after their checksum matched.
    package let cached: Bool
    /// True when every checksum was re-checked and matched; nil when not re-checked.
    package let verified: Bool?
    /// Saved by the last load (`statistics.json` in the dataset folder); nil before the first load.
    package let statistics: NormalizationStats?
}

/// The local cache of datasets: `<cacheDirectory>/<dataset id>/<file name>`.
///
/// Invariant: a file under its final name has passed its checksum. Downloads go to `<name>.part` (with the URL
/// they came from in `<name>.part.url`) and are renamed only after verification. A transfer failure keeps the
/// `.part` for a later resume from the same URL; a checksum failure deletes it, so a corrupt download leaves nothing.
/// `fetch` holds an exclusive `flock` on `<dataset folder>/.lock`, so processes sharing a cache take turns.
package struct DatasetStore: Sendable {
    package let cacheDirectory: String
    package let fetcher: CurlFetcher

    package static let cacheEnvironmentVariable = "INITLAB_CACHE_DIR"

    /// `$INITLAB_CACHE_DIR` when set and non-empty, else `./.initlab-cache` in the current directory.
    package static func defaultCacheDirectory(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String {
        if let dir = environment[cacheEnvironmentVariable], !dir.isEmpty { return dir }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".initlab-cache")
            .path
    }

    package init(cacheDirectory: String, policy: FetchPolicy = .standard) {
        self.cacheDirectory = cacheDirectory
        self.fetcher = CurlFetcher(policy: policy)
    }

    package func directory(for spec: DatasetSpec) -> String {
        URL(fileURLWithPath: cacheDirectory).appendingPathComponent(spec.id).path
    }

    package func path(of file: DatasetFile, in spec: DatasetSpec) -> String {
        URL(fileURLWithPath: directory(for: spec)).appendingPathComponent(file.name).path
    }

    // MARK: Fetch

    /// Makes every file of `spec` present and verified in the cache, trying `mirrors` in order per file. Files
    /// already cached are reused without network.
    @discardableResult
    package func fetch(_ spec: DatasetSpec, mirrors: [Mirror], events: ((FetchEvent) -> Void)? = nil)
        throws(DatasetError) -> [FetchedFile]
    {
        let dir = directory(for: spec)
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw .io(path: dir, reason: "cannot create the cache folder: \(error.localizedDescription)")
        }
        // One fetcher per dataset folder at a time (the CLI and the service may share a cache).
        let lockPath = URL(fileURLWithPath: dir).appendingPathComponent(".lock").path
        let lockFD = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockFD >= 0 else { throw .io(path: lockPath, reason: String(cString: strerror(errno))) }
        defer { close(lockFD) }
        while flock(lockFD, LOCK_EX) != 0 {
            guard errno == EINTR else { throw .io(path: lockPath, reason: String(cString: strerror(errno))) }
        }
        var results: [FetchedFile] = []
        for file in spec.files {
            let finalPath = path(of: file, in: spec)
            if FileManager.default.fileExists(atPath: finalPath) {
                events?(.reused(file: file.name))
                results.append(FetchedFile(name: file.name, source: nil, bytes: CurlFetcher.fileSize(finalPath),
                                           attempts: 0))
                continue
            }
            results.append(try fetch(file, of: spec, to: finalPath, mirrors: mirrors, events: events))
        }
        return results
    }

    private func fetch(
        _ file: DatasetFile, of spec: DatasetSpec, to finalPath: String, mirrors: [Mirror],
        events: ((FetchEvent) -> Void)?
    ) throws(DatasetError) -> FetchedFile {
        guard !mirrors.isEmpty else { throw .noMirrors(dataset: spec.id) }
        let partPath = finalPath + ".part"
        let sourcePath = partPath + ".url"
        var urls = mirrors.map { $0.url(for: file.name) }
        // Resume where a previous run stopped: that run's URL goes first.
        let previous = (try? String(contentsOfFile: sourcePath, encoding: .utf8)) ?? ""
        if let index = urls.firstIndex(of: previous), FileManager.default.fileExists(atPath: partPath) {
            urls.insert(urls.remove(at: index), at: 0)
        }
        var failures: [MirrorFailure] = []
        for url in urls {
            let recorded = (try? String(contentsOfFile: sourcePath, encoding: .utf8)) ?? ""
            if recorded != url {
                // A partial file from another URL could hold other bytes (mirrors recompress): never mix them.
                Self.remove(partPath)
                do {
                    try url.write(toFile: sourcePath, atomically: true, encoding: .utf8)
                } catch {
                    throw .io(path: sourcePath, reason: error.localizedDescription)
                }
            }
            events?(.started(file: file.name, url: url, resumingFrom: CurlFetcher.fileSize(partPath)))
            let report: FetchReport
            do {
                report = try fetcher.download(from: url, to: partPath, resume: true) { progress in
                    events?(.progress(file: file.name, progress))
                }
            } catch {
                if case .localFile(let path, let reason) = error { throw .io(path: path, reason: reason) }
                if CurlFetcher.fileSize(partPath) == 0 {
                    // Nothing arrived: nothing to resume, leave nothing behind.
                    Self.remove(partPath)
                    Self.remove(sourcePath)
                }
                let failure = MirrorFailure(url: url, reason: error.reason, publicReason: error.publicReason)
                failures.append(failure)
                events?(.mirrorFailed(file: file.name, failure))
                continue
            }
            switch Self.check(file, at: partPath) {
            case .success:
                guard rename(partPath, finalPath) == 0 else {
                    throw .io(path: finalPath, reason: String(cString: strerror(errno)))
                }
                Self.remove(sourcePath)
                events?(.stored(file: file.name, url: url, bytes: report.bytes, attempts: report.attempts))
                return FetchedFile(name: file.name, source: url, bytes: report.bytes, attempts: report.attempts)
            case .failure(let error):
                // Corrupt or wrong file: delete it so nothing that looks like data stays behind.
                Self.remove(partPath)
                Self.remove(sourcePath)
                let failure = MirrorFailure(
                    url: url, reason: error.description, publicReason: error.publicVerificationReason)
                failures.append(failure)
                events?(.mirrorFailed(file: file.name, failure))
            }
        }
        throw .allMirrorsFailed(file: file.name, failures: failures)
    }

    /// Verifies a file against its pinned checksum.
    package static func check(_ file: DatasetFile, at path: String) -> Result<Void, DatasetError> {
        Result { () throws(DatasetError) in
            let actual: String
            switch file.checksum {
            case .md5OfDownload:
                actual = try HexDigest.md5(ofFileAt: path)
            case .sha256OfContent:
                // The checksum is of the inflated content: it is hashed as it is inflated, chunk by chunk.
                let bytes = try readFile(path)
                do throws(GzipError) {
                    actual = try HexDigest.sha256(ofGzipContent: bytes, name: file.name)
                } catch {
                    throw .gzip(error)
                }
            }
            let expected: String
            switch file.checksum {
            case .md5OfDownload(let h), .sha256OfContent(let h): expected = h
            }
            guard actual == expected.lowercased() else {
                throw .checksumMismatch(file: file.name, expected: file.checksum, actual: actual)
            }
        }
    }

    static func remove(_ path: String) {
        unlink(path)
    }

    static func readFile(_ path: String) throws(DatasetError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(st.st_size)
        var failure: Int32 = 0
        var total = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            while total < size {
                let n = read(fd, buffer.baseAddress.unsafelyUnwrapped + total, size - total)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { break }
                total += n
            }
            // Bytes past `total` are never exposed: on a short read the array is rejected below.
            if total < size { buffer.baseAddress.unsafelyUnwrapped.advanced(by: total).initialize(repeating: 0, count: size - total) }
            initialized = size
        }
        if failure != 0 { throw .io(path: path, reason: String(cString: strerror(failure))) }
        guard total == size else { throw .io(path: path, reason: "file shrank while being read") }
        return bytes
    }

    // MARK: Load

    /// Decompresses, parses and normalizes a cached dataset, and saves its statistics for `status`. Files in the
    /// cache were verified when stored and are not re-hashed here (see `status(of:verify:)`).
    package func load(_ spec: DatasetSpec) throws(DatasetError) -> LoadedDataset {
        let missing = spec.files.filter { !FileManager.default.fileExists(atPath: path(of: $0, in: spec)) }
        guard missing.isEmpty else {
            throw .notCached(dataset: spec.id, directory: directory(for: spec), missing: missing.map(\.name))
        }
        let dataset = try Self.load(spec, paths: { path(of: $0, in: spec) })
        saveStatistics(dataset.stats, for: spec)
        return dataset
    }

    /// Loads from explicit file paths (any folder holding the four .gz files), without checksum verification.
    package static func load(_ spec: DatasetSpec, paths: (DatasetFile) -> String) throws(DatasetError)
        -> LoadedDataset
    {
        guard let trainImagesFile = spec.file(.trainImages), let trainLabelsFile = spec.file(.trainLabels),
            let testImagesFile = spec.file(.testImages), let testLabelsFile = spec.file(.testLabels)
        else { throw .io(path: spec.id, reason: "dataset spec lacks one of its four files") }

        func idx(_ file: DatasetFile, dims: Int) throws(DatasetError) -> (IDXHeader, ArraySlice<UInt8>) {
            let raw = try readFile(paths(file))
            let inflated: [UInt8]
            do { inflated = try Gzip.decompress(raw, name: file.name) } catch { throw .gzip(error) }
            do { return try IDX.parseUBytes(inflated, name: file.name, dimensionCount: dims) } catch {
                throw .idx(error)
            }
        }
        func split(_ imagesFile: DatasetFile, _ labelsFile: DatasetFile, expected: Int?) throws(DatasetError)
            -> (count: Int, pixels: ArraySlice<UInt8>, labels: [UInt8])
        {
            let (imageHeader, pixels) = try idx(imagesFile, dims: 3)
            let (labelHeader, labels) = try idx(labelsFile, dims: 1)
            let count = imageHeader.dimensions[0]
            let shape = [expected ?? count, spec.rows, spec.cols]
            guard imageHeader.dimensions == shape else {
                throw .idx(.wrongShape(name: imagesFile.name, expected: shape, found: imageHeader.dimensions))
            }
            guard labelHeader.dimensions[0] == count else {
                throw .idx(.countMismatch(images: imagesFile.name, imageCount: count, labels: labelsFile.name,
                                          labelCount: labelHeader.dimensions[0]))
            }
            for (i, label) in labels.enumerated() where Int(label) >= spec.classes {
                throw .idx(.labelOutOfRange(name: labelsFile.name, index: i, value: label, classes: spec.classes))
            }
            return (count, pixels, Array(labels))
        }
        let train = try split(trainImagesFile, trainLabelsFile, expected: spec.expectedCounts?.train)
        let test = try split(testImagesFile, testLabelsFile, expected: spec.expectedCounts?.test)
        let normalized = Normalizer.normalize(train: train.pixels, test: test.pixels)
        return LoadedDataset(
            id: spec.id,
            train: ImageSet(count: train.count, rows: spec.rows, cols: spec.cols, pixels: normalized.train,
                            labels: train.labels),
            test: ImageSet(count: test.count, rows: spec.rows, cols: spec.cols, pixels: normalized.test,
                           labels: test.labels),
            stats: normalized.stats)
    }

    // MARK: Status

    private func statisticsPath(for spec: DatasetSpec) -> String {
        URL(fileURLWithPath: directory(for: spec)).appendingPathComponent("statistics.json").path
    }

    /// Best effort: statistics are a cache of `load`, never needed for correctness.
    private func saveStatistics(_ stats: NormalizationStats, for spec: DatasetSpec) {
        guard let data = try? JSONEncoder().encode(stats) else { return }
        try? data.write(to: URL(fileURLWithPath: statisticsPath(for: spec)), options: .atomic)
    }

    /// Cheap by default (file presence, sizes, saved statistics); with `verify`, every cached file's checksum is
    /// recomputed (decompression included for content checksums).
    package func status(of spec: DatasetSpec, verify: Bool = false) -> DatasetStatus {
        var files: [FileStatus] = []
        for file in spec.files {
            let p = path(of: file, in: spec)
            let present = FileManager.default.fileExists(atPath: p)
            var matches: Bool? = nil
            if verify && present {
                if case .success = Self.check(file, at: p) { matches = true } else { matches = false }
            }
            files.append(FileStatus(
                name: file.name, role: file.role, present: present, bytes: present ? CurlFetcher.fileSize(p) : 0,
                partialBytes: CurlFetcher.fileSize(p + ".part"), checksumMatches: matches))
        }
        let cached = files.allSatisfy(\.present)
        let verified: Bool? = verify ? cached && files.allSatisfy { $0.checksumMatches == true } : nil
        let stats = cached
            ? (try? Data(contentsOf: URL(fileURLWithPath: statisticsPath(for: spec)))).flatMap {
                try? JSONDecoder().decode(NormalizationStats.self, from: $0)
            } : nil
        return DatasetStatus(dataset: spec.id, directory: directory(for: spec), files: files, cached: cached,
                             verified: verified, statistics: stats)
    }
}

/// One image file taken through the whole pipeline on its own, for benchmarks: read, gunzip, parse, scale to
/// [0, 1] and normalize with its own mean and std.
package struct ImageFileLoad: Sendable {
    package let dimensions: [Int]
    package let pixels: [Float]
    /// Statistics of the pixels scaled to [0, 1] (before normalization).
    package let raw: PixelStatistics

    package init(path: String) throws(DatasetError) {
        let name = URL(fileURLWithPath: path).lastPathComponent
        let compressed = try DatasetStore.readFile(path)
        let inflated: [UInt8]
        do { inflated = try Gzip.decompress(compressed, name: name) } catch { throw .gzip(error) }
        let parsed: (header: IDXHeader, data: ArraySlice<UInt8>)
        do { parsed = try IDX.parseUBytes(inflated, name: name, dimensionCount: 3) } catch { throw .idx(error) }
        let normalized = Normalizer.normalize(train: parsed.data, test: [])
        dimensions = parsed.header.dimensions
        pixels = normalized.train
        raw = normalized.stats.rawTrain
    }
}
