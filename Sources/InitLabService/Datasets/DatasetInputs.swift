import Datasets
import Foundation
import Logging
import InitCore
import Synchronization

/// Why a dataset input could not be built. `description` is what a failed job or the CLI shows.
package enum DatasetInputError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The name is not in the catalog (`DatasetCatalog.all`).
    case unknownDataset(String)
    case unknownSplit(String)
    /// The dataset's files are not in the cache: fetch it first (`initlab fetch NAME`, or
    /// `POST /v1/datasets/NAME/fetch`).
    case notCached(dataset: String, directory: String)
    /// The batch asks for more images than the split holds (images are drawn without replacement).
    case batchTooLarge(batch: Int, split: String, available: Int)
    /// Reading, decompressing or parsing the cached files failed.
    case loadFailed(dataset: String, reason: String)
    /// The loaded images are not 28×28 (784 pixels), or a batch came out malformed.
    case wrongShape(String)

    package var description: String {
        switch self {
        case .unknownDataset(let name):
            return "unknown dataset '\(name)' (known: \(DatasetCatalog.all.map(\.id).joined(separator: ", ")))"
        case .unknownSplit(let split): return "unknown split '\(split)' (known: train, test)"
        case .notCached(let name, let directory):
            return "dataset \(name) is not in the cache \(directory); run `initlab fetch \(name)` "
                + "(or POST /v1/datasets/\(name)/fetch to the service) first"
        case .batchTooLarge(let batch, let split, let available):
            return "batch \(batch) exceeds the \(available) images of the \(split) split"
        case .loadFailed(let name, let reason):
            return "loading \(name) from the cache failed: \(reason) (run `initlab fetch \(name) --verify`)"
        case .wrongShape(let detail): return detail
        }
    }
}

/// Turns a spec's dataset input into the runner's `InputBatch`: loads the dataset from the `DatasetStore` once
/// per process (both splits normalized with the training set's mean and std; about 0.3 s and 220 MB of Float
/// per dataset), then draws `spec.batch` distinct images of the chosen split with `BatchSampler` seeded by
/// `sample_seed`. Same spec ⇒ same rows in the same order ⇒ byte-identical result.
///
/// Thread-safe: loaded datasets live behind a `Mutex`; loads are serialized by a second one, so two workers
/// asking for the same dataset load it once. With a shared store (`shared`), a dataset missing from this host's
/// cache is first copied from there (a node on another host fetched it).
package final class DatasetInputs: Sendable {
    package let store: DatasetStore
    package let shared: SharedDatasets?
    /// Pixels per image an input row holds (28 × 28).
    package static let pixelsPerImage = 784

    private let loaded = Mutex<[String: LoadedDataset]>([:])
    private let loading = Mutex<Void>(())

    package init(store: DatasetStore, share: (any DatasetShare)? = nil, logger: Logger = Logger(label: "initlab.datasets")) {
        self.store = store
        shared = share.map { SharedDatasets(share: $0, store: store, logger: logger) }
    }

    /// The catalog entry for a spec's dataset name (exact, lowercase).
    package static func catalogSpec(named name: String) throws(DatasetInputError) -> DatasetSpec {
        guard let spec = DatasetCatalog.all.first(where: { $0.id == name }) else { throw .unknownDataset(name) }
        return spec
    }

    /// Images in a split as the catalog announces it (nil when the catalog does not pin the counts).
    package static func expectedCount(of spec: DatasetSpec, split: Split) -> Int? {
        guard let counts = spec.expectedCounts else { return nil }
        return split == .train ? counts.train : counts.test
    }

    /// Already loaded in this process.
    package func isLoaded(_ name: String) -> Bool { loaded.withLock { $0[name] != nil } }

    /// Loaded in this process, or every file present in the cache: an experiment on it can run.
    package func isAvailable(_ spec: DatasetSpec) -> Bool {
        isLoaded(spec.id) || store.status(of: spec).cached
    }

    /// Forgets a loaded dataset (tests; a re-fetch never changes the bytes, which are pinned by checksum).
    package func unload(_ name: String) { _ = loaded.withLock { $0.removeValue(forKey: name) } }

    /// The dataset, loaded from the cache on first use.
    package func dataset(_ spec: DatasetSpec) throws(DatasetInputError) -> LoadedDataset {
        if let data = loaded.withLock({ $0[spec.id] }) { return data }
        return try loading.withLock { _ throws(DatasetInputError) -> LoadedDataset in
            if let data = loaded.withLock({ $0[spec.id] }) { return data }
            if let shared, !store.status(of: spec).cached {
                do {
                    _ = try shared.fill(spec)
                } catch {
                    throw .loadFailed(dataset: spec.id, reason: "copying it from the shared store failed: \(error)")
                }
            }
            let data: LoadedDataset
            do throws(DatasetError) {
                data = try store.load(spec)
            } catch {
                if case .notCached(let id, let directory, _) = error { throw .notCached(dataset: id, directory: directory) }
                throw .loadFailed(dataset: spec.id, reason: error.description)
            }
            guard data.train.rows * data.train.cols == Self.pixelsPerImage,
                data.test.rows * data.test.cols == Self.pixelsPerImage
            else {
                throw .wrongShape("\(spec.id): images are \(data.train.rows)×\(data.train.cols), expected 28×28")
            }
            loaded.withLock { $0[spec.id] = data }
            return data
        }
    }

    /// A training run's examples: the whole training split and the whole test split (the trainer validates on
    /// the first `validation_size`), as loaded; nil for the teacher task, which makes its own. No copy: the
    /// examples share the loaded arrays.
    package func trainingData(for dataset: TrainDataset) throws(DatasetInputError) -> TrainingData? {
        guard dataset.needsDownload else { return nil }
        let data = try self.dataset(try Self.catalogSpec(named: dataset.rawValue))
        func examples(_ set: ImageSet) -> LabeledExamples {
            LabeledExamples(count: set.count, features: set.pixelsPerImage, values: set.pixels, labels: set.labels)
        }
        return TrainingData(train: examples(data.train), validation: examples(data.test))
    }

    /// The input batch of a dataset spec; nil for Gaussian input (the runner draws it itself).
    package func inputBatch(for spec: ExperimentSpec) throws(DatasetInputError) -> InputBatch? {
        guard case .dataset(let name, let splitName, let sampleSeed) = spec.input else { return nil }
        let catalogSpec = try Self.catalogSpec(named: name)
        guard let split = Split(rawValue: splitName) else { throw .unknownSplit(splitName) }
        if let width = spec.inputWidth, width != Self.pixelsPerImage {
            throw .wrongShape("input_width must be \(Self.pixelsPerImage) for dataset input, got \(width)")
        }
        let data = try dataset(catalogSpec)
        let images = data.split(split)
        guard spec.batch >= 1, spec.batch <= images.count else {
            throw .batchTooLarge(batch: spec.batch, split: splitName, available: images.count)
        }
        let batch = data.batch(split: split, size: spec.batch, seed: sampleSeed)
        guard batch.count == spec.batch, batch.labels.count == spec.batch,
            batch.pixels.count == spec.batch * Self.pixelsPerImage
        else {
            throw .wrongShape("\(name): drew \(batch.count) images of \(batch.pixels.count) pixels, expected \(spec.batch) × 784")
        }
        return InputBatch(
            x: Matrix(rows: spec.batch, cols: Self.pixelsPerImage, storage: batch.pixels),
            labels: batch.labels.map { Int($0) })
    }
}
