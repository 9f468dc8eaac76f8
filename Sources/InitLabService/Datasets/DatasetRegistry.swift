import Datasets
import Foundation
import InitCore
import Logging
import Synchronization

/// Where a dataset stands in this process: `fetching` while a fetch thread runs; `failed` when the last fetch
/// failed; `ready` when every file is in the cache (and no failure is outstanding); `idle` otherwise.
package enum DatasetFetchState: String, Sendable, Codable {
    case idle, fetching, failed, ready
}

/// Progress of a running fetch: files finished of four, and the bytes of the file in transfer.
package struct DatasetFetchProgress: Sendable, Equatable, Codable {
    package var filesDone: Int
    package var filesTotal: Int
    /// The file being transferred or verified; nil before the first and after the last.
    package var file: String?
    /// Bytes of `file` on disk so far (a resumed prefix included).
    package var bytes: Int64
    /// `file`'s size when the mirror announced it.
    package var bytesTotal: Int64?

    enum CodingKeys: String, CodingKey {
        case filesDone = "files_done", filesTotal = "files_total", file, bytes, bytesTotal = "bytes_total"
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(filesDone, forKey: .filesDone)
        try c.encode(filesTotal, forKey: .filesTotal)
        try c.encode(file, forKey: .file)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(bytesTotal, forKey: .bytesTotal)
    }
}

/// The service's datasets: the cache (a `DatasetStore`), the loaded datasets (`DatasetInputs`, shared with the
/// engine's input provider) and the background fetches started by `POST /v1/datasets/{name}/fetch`.
///
/// A fetch runs on its own `Thread` (never on a connection queue or the cooperative pool): download or copy
/// and verify the four files, then load them (which also records the statistics). At most one fetch per
/// dataset runs at a time; asking again while one runs returns the running one.
package final class DatasetRegistry: Sendable {
    package let inputs: DatasetInputs
    /// Mirror flags per dataset id (`--dataset-mirror`); empty → the dataset's environment variable or defaults.
    let mirrorFlags: [String: [String]]
    let environment: [String: String]
    let logger: Logger
    /// Runs on the fetch thread before the first mirror is tried (tests hold a fetch in its running state here).
    let beforeFetch: @Sendable (DatasetSpec) -> Void

    struct Record: Sendable {
        var fetching = false
        var progress = DatasetFetchProgress(filesDone: 0, filesTotal: 0, file: nil, bytes: 0, bytesTotal: nil)
        var error: String?
        var startedAt: Date?
        var finishedAt: Date?
    }

    private let records = Mutex<[String: Record]>([:])

    package var store: DatasetStore { inputs.store }

    /// Dataset names the service knows (`DatasetCatalog.all`).
    package static var knownDatasets: [String] { DatasetCatalog.all.map(\.id) }

    /// Built from the service configuration (`--cache-dir`, `--dataset-mirror`).
    /// `share`: the shared store's dataset files (`StoreBackend.datasetShare`), nil on SQLite.
    package convenience init(
        configuration: ServiceConfiguration, share: (any DatasetShare)? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger, beforeFetch: @escaping @Sendable (DatasetSpec) -> Void = { _ in }
    ) {
        self.init(
            cacheDirectory: configuration.cacheDirectory, mirrors: configuration.datasetMirrors, share: share,
            environment: environment, logger: logger, beforeFetch: beforeFetch)
    }

    /// `mirrors` are `--dataset-mirror` values: `NAME=URL-or-folder` targets one dataset, a bare URL or folder
    /// applies to every dataset.
    package init(
        cacheDirectory: String, mirrors: [String] = [], policy: FetchPolicy = .standard, share: (any DatasetShare)? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger,
        beforeFetch: @escaping @Sendable (DatasetSpec) -> Void = { _ in }
    ) {
        inputs = DatasetInputs(store: DatasetStore(cacheDirectory: cacheDirectory, policy: policy), share: share, logger: logger)
        mirrorFlags = Self.assign(mirrors)
        self.environment = environment
        self.logger = logger
        self.beforeFetch = beforeFetch
    }

    /// Splits `NAME=mirror` values by dataset; other values go to every dataset.
    static func assign(_ mirrors: [String]) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for raw in mirrors {
            let value = raw.trimmingCharacters(in: .whitespaces)
            guard !value.isEmpty else { continue }
            if let eq = value.firstIndex(of: "="), let spec = DatasetCatalog.spec(named: String(value[..<eq])) {
                out[spec.id, default: []].append(String(value[value.index(after: eq)...]))
            } else {
                for spec in DatasetCatalog.all { out[spec.id, default: []].append(value) }
            }
        }
        return out
    }

    /// The mirrors a fetch of `spec` tries, in order.
    package func mirrors(for spec: DatasetSpec) -> [Mirror] {
        Mirror.resolve(for: spec, flags: mirrorFlags[spec.id] ?? [], environment: environment)
    }

    /// The engine's input provider: loads (once) and samples the spec's dataset.
    package var inputProvider: InitCoreEngine.InputProvider {
        { [inputs] spec in try inputs.inputBatch(for: spec) }
    }

    /// The engine's training-data provider: loads (once) a training run's dataset, both splits.
    package var trainingDataProvider: InitCoreEngine.TrainingDataProvider {
        { [inputs] dataset in try inputs.trainingData(for: dataset) }
    }

    // MARK: State

    package struct Snapshot: Sendable {
        package var spec: DatasetSpec
        package var status: DatasetStatus
        package var loaded: Bool
        package var state: DatasetFetchState
        package var progress: DatasetFetchProgress?
        package var error: String?
        package var startedAt: Date?
        package var finishedAt: Date?
    }

    /// The cache status (with `verify`, every checksum is recomputed: about a second per dataset) and the
    /// fetch state.
    package func snapshot(_ spec: DatasetSpec, verify: Bool = false) -> Snapshot {
        let record = records.withLock { $0[spec.id] } ?? Record()
        let status = store.status(of: spec, verify: verify)
        let state: DatasetFetchState
        if record.fetching {
            state = .fetching
        } else if record.error != nil {
            state = .failed
        } else if status.cached {
            state = .ready
        } else {
            state = .idle
        }
        return Snapshot(
            spec: spec, status: status, loaded: inputs.isLoaded(spec.id), state: state,
            progress: record.fetching ? record.progress : nil, error: record.error, startedAt: record.startedAt,
            finishedAt: record.finishedAt)
    }

    // MARK: Fetch

    package enum FetchStart: Sendable, Equatable {
        /// A new fetch thread was started.
        case started
        /// A fetch of this dataset is already running.
        case alreadyRunning
        /// Every file is in the cache and no failure is outstanding: nothing to do.
        case alreadyReady
    }

    /// Starts a background fetch of `spec` unless one runs or the dataset is ready.
    @discardableResult
    package func startFetch(_ spec: DatasetSpec) -> FetchStart {
        let cached = store.status(of: spec).cached
        let outcome = records.withLock { records -> FetchStart in
            var record = records[spec.id] ?? Record()
            if record.fetching { return .alreadyRunning }
            if cached && record.error == nil { return .alreadyReady }
            record.fetching = true
            record.error = nil
            record.startedAt = Date()
            record.finishedAt = nil
            record.progress = DatasetFetchProgress(
                filesDone: 0, filesTotal: spec.files.count, file: nil, bytes: 0, bytesTotal: nil)
            records[spec.id] = record
            return .started
        }
        guard outcome == .started else { return outcome }
        let mirrors = self.mirrors(for: spec)
        logger.info(
            "dataset fetch started",
            metadata: ["dataset": "\(spec.id)", "mirrors": "\(mirrors.map(\.description).joined(separator: ", "))"])
        let thread = Thread { @Sendable [self] in self.runFetch(spec, mirrors: mirrors) }
        thread.name = "initlab-fetch-\(spec.id)"
        thread.start()
        return .started
    }

    private func runFetch(_ spec: DatasetSpec, mirrors: [Mirror]) {
        // The log gets every detail; the record (what GET /v1/datasets/{name} shows) gets nothing a mirror sent.
        var failure: (logged: String, shown: String)?
        beforeFetch(spec)
        // From the shared store when another node put it there (no mirror needed); else from the mirrors, and
        // then into the shared store for the other nodes.
        var fromShare = false
        if let shared = inputs.shared {
            do {
                fromShare = try shared.fill(spec) { [self] event in self.record(event, for: spec.id) }
            } catch {
                logger.warning("dataset not copied from the shared store", metadata: ["dataset": "\(spec.id)", "error": "\(error)"])
            }
        }
        if !fromShare {
            do {
                try store.fetch(spec, mirrors: mirrors) { [self] event in self.record(event, for: spec.id) }
            } catch {
                failure = (error.description, error.publicDescription)
            }
            if failure == nil, let shared = inputs.shared {
                do {
                    try shared.publish(spec)
                } catch {
                    logger.error("dataset not published to the shared store", metadata: ["dataset": "\(spec.id)", "error": "\(error)"])
                }
            }
        }
        if failure == nil {
            update(spec.id) { $0.progress.file = nil }
            do { _ = try inputs.dataset(spec) } catch { failure = (error.description, error.description) }
        }
        update(spec.id) { record in
            record.fetching = false
            record.error = failure?.shown
            record.finishedAt = Date()
        }
        if let failure {
            logger.error("dataset fetch failed", metadata: ["dataset": "\(spec.id)", "error": "\(failure.logged)"])
        } else {
            logger.info("dataset fetched and loaded", metadata: ["dataset": "\(spec.id)"])
        }
    }

    private func record(_ event: FetchEvent, for id: String) {
        update(id) { record in
            switch event {
            case .reused(let file):
                record.progress.filesDone += 1
                record.progress.file = file
                record.progress.bytes = 0
                record.progress.bytesTotal = nil
            case .started(let file, _, let resumingFrom):
                record.progress.file = file
                record.progress.bytes = resumingFrom
                record.progress.bytesTotal = nil
            case .progress(let file, let progress):
                record.progress.file = file
                record.progress.bytes = progress.bytes
                record.progress.bytesTotal = progress.total
            case .mirrorFailed:
                break
            case .stored(let file, _, let bytes, _):
                record.progress.filesDone += 1
                record.progress.file = file
                record.progress.bytes = bytes
                record.progress.bytesTotal = bytes
            }
        }
    }

    private func update(_ id: String, _ body: (inout Record) -> Void) {
        records.withLock { records in
            var record = records[id] ?? Record()
            body(&record)
            records[id] = record
        }
    }
}
