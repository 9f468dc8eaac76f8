import Datasets
import Foundation
import TestSupport
import InitCore
import InitLabContract

@testable import InitLabService

/// Real Fashion-MNIST (Debian's `dataset-fashion-mnist`) in a dataset cache, fetched through the store's normal
/// verify-then-rename path from a folder mirror. The cache folder is fixed per user and reused across test runs:
/// cached files are reused without re-hashing, and `fetch` takes a file lock, so parallel runs are safe.
enum FashionFixture {
    static let folder = DatasetCatalog.debianFashionMNISTFolder
    static let spec = DatasetCatalog.fashionMNIST

    /// The shared cache folder, populated once per process.
    static let cache: Result<String, TestFailure> = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("initlab-test-datasets-\(getuid())").path
        do {
            try DatasetStore(cacheDirectory: dir).fetch(spec, mirrors: [.folder(folder)])
            return .success(dir)
        } catch {
            return .failure(TestFailure(
                "cannot populate the Fashion-MNIST cache from \(folder) (apt-get install dataset-fashion-mnist): \(error)"))
        }
    }()

    static func cacheDirectory() throws -> String { try cache.get() }

    /// One `DatasetInputs` per process over the shared cache: the dataset is loaded once for every test.
    static let inputs: Result<DatasetInputs, TestFailure> = cache.map { DatasetInputs(store: DatasetStore(cacheDirectory: $0)) }

    static func sharedInputs() throws -> DatasetInputs { try inputs.get() }

    /// A temporary, empty cache folder.
    static func emptyCache() throws -> String {
        try Scratch.directory("cache")
    }

    static func spec(
        _ dataset: String = "fashion-mnist", split: String = "train", sampleSeed: UInt64 = 0, depth: Int = 3,
        width: Int = 32, batch: Int = 64, loss: LossKind = .crossEntropy
    ) throws -> ExperimentSpec {
        try ExperimentSpec(
            depth: depth, width: width, batch: batch, seed: 11, initializer: InitScheme(name: "kaiming_normal"),
            activation: ActivationSpec(name: "relu"),
            input: .dataset(name: dataset, split: split, sampleSeed: sampleSeed), loss: loss
        ).validated()
    }
}
