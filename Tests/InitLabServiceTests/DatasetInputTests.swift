import Datasets
import Foundation
import InitCore
import InitLabContract
import TestSupport
import Testing

@testable import InitLabService

/// The dataset adapter on real Fashion-MNIST: the batch it builds, and experiments run on it.
@Suite(.offCooperativePool) struct DatasetInputTests {
    @Test func batchHasTheSpecShapeNormalizedPixelsAndLabels() throws {
        let inputs = try FashionFixture.sharedInputs()
        let spec = try FashionFixture.spec(batch: 512, loss: .none)
        #expect(spec.inputWidth == 784, "validation fills input_width 784 for dataset input")
        let batch = try #require(try inputs.inputBatch(for: spec))
        #expect(batch.x.rows == 512 && batch.x.cols == 784 && batch.x.storage.count == 512 * 784)
        let labels = try #require(batch.labels)
        #expect(labels.count == 512 && labels.allSatisfy { (0...9).contains($0) })
        #expect(Set(labels).count == 10, "512 random images cover the 10 classes")

        // Normalized with the training set's statistics: about mean 0, std 1 over a batch.
        let values = batch.x.storage.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
        #expect(abs(mean) < 0.1 && abs(std - 1) < 0.1, "batch mean \(mean), std \(std)")
        let data = try inputs.dataset(FashionFixture.spec)
        #expect(abs(data.stats.rawTrain.mean - 0.2860) < 5e-4 && abs(data.stats.normalizedTrain.std - 1) < 1e-6)

        // Each row is the image the sampler picked, with its label.
        let indices = BatchSampler.indices(count: data.train.count, batchSize: 512, seed: 0)
        for (row, index) in indices.enumerated().prefix(20) {
            #expect(Array(batch.x.storage[row * 784..<(row + 1) * 784]) == Array(data.train.pixels[index * 784..<(index + 1) * 784]))
            #expect(labels[row] == Int(data.train.labels[index]))
        }
    }

    @Test func sameSeedSameBatchOtherSeedOrSplitOtherBatch() throws {
        let inputs = try FashionFixture.sharedInputs()
        let a = try #require(try inputs.inputBatch(for: FashionFixture.spec(sampleSeed: 5)))
        let b = try #require(try inputs.inputBatch(for: FashionFixture.spec(sampleSeed: 5)))
        let c = try #require(try inputs.inputBatch(for: FashionFixture.spec(sampleSeed: 6)))
        let t = try #require(try inputs.inputBatch(for: FashionFixture.spec(split: "test", sampleSeed: 5)))
        #expect(a.x == b.x && a.labels == b.labels)
        #expect(a.x != c.x)
        #expect(a.x != t.x)
        #expect(inputs.isLoaded("fashion-mnist"))
    }

    @Test func gaussianInputNeedsNoBatch() throws {
        let spec = try ExperimentSpec(
            depth: 2, width: 8, batch: 4, initializer: InitScheme(name: "kaiming_normal"),
            activation: ActivationSpec(name: "relu")
        ).validated()
        #expect(try DatasetInputs(store: DatasetStore(cacheDirectory: "/nonexistent")).inputBatch(for: spec) == nil)
    }

    @Test func errorsNameTheProblem() throws {
        let empty = try FashionFixture.emptyCache()
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let inputs = DatasetInputs(store: DatasetStore(cacheDirectory: empty))
        #expect(!inputs.isAvailable(FashionFixture.spec))
        #expect(throws: DatasetInputError.notCached(dataset: "fashion-mnist", directory: empty + "/fashion-mnist")) {
            try inputs.inputBatch(for: FashionFixture.spec())
        }
        #expect(DatasetInputError.notCached(dataset: "mnist", directory: "/x").description.contains("initlab fetch mnist"))

        var unknown = try FashionFixture.spec()
        unknown.input = .dataset(name: "cifar", split: "train", sampleSeed: 0)
        #expect(throws: DatasetInputError.unknownDataset("cifar")) { try inputs.inputBatch(for: unknown) }

        // The runner's validation caps batch at 4096; the adapter still refuses more images than a split holds.
        var large = try FashionFixture.spec(split: "test")
        large.batch = 10_001
        #expect(throws: DatasetInputError.batchTooLarge(batch: 10_001, split: "test", available: 10_000)) {
            try FashionFixture.sharedInputs().inputBatch(for: large)
        }
    }

    @Test func mseOnDatasetInputNeedsTenUnits() throws {
        #expect(throws: SpecProblems.self) { try FashionFixture.spec(width: 8, loss: .mse) }
        #expect(throws: SpecProblems.self) { try FashionFixture.spec(width: 8, loss: .crossEntropy) }
        _ = try FashionFixture.spec(width: 8, loss: .none)
        _ = try FashionFixture.spec(width: 10, loss: .mse)
    }

    /// Fashion-MNIST through the runner via the engine: first layer fan_in 784, cross-entropy on the labels,
    /// byte-identical results for the same spec.
    @Test func experimentOnFashionMNISTRunsEndToEnd() throws {
        let inputs = try FashionFixture.sharedInputs()
        let engine = InitCoreEngine(budget: ExperimentBudget(), inputProvider: { try inputs.inputBatch(for: $0) })
        let body = """
            {"depth": 3, "width": 32, "batch": 64, "seed": 3, "init": "kaiming_normal", "activation": "relu",
             "loss": "cross_entropy", "input": {"dataset": "fashion-mnist", "split": "test", "sample_seed": 9}}
            """
        let prepared = try engine.prepare(bytes: Data(body.utf8))
        let first = try engine.run(canonicalSpec: prepared.canonicalJSON, progress: { _ in }, isCancelled: { false })
        let second = try engine.run(canonicalSpec: prepared.canonicalJSON, progress: { _ in }, isCancelled: { false })
        #expect(first == second, "same spec ⇒ same batch ⇒ byte-identical result")

        let result = try JSONDecoder().decode(ExperimentResult.self, from: first)
        #expect(result.layers.count == 3)
        #expect(result.layers.map(\.fanIn) == [784, 32, 32])
        #expect(result.spec.inputWidth == 784)
        let backward = try #require(result.layers.last?.backward)
        #expect(backward.activationGrad.std.isFinite && backward.activationGrad.std > 0)
        // ∂L/∂a = (softmax − one-hot)/B: every row sums to zero, so the mean is zero.
        #expect(abs(backward.activationGrad.mean) < 1e-6)

        // The same run through the runner with the adapter's batch: the engine adds nothing.
        let spec = try ExperimentSpec.decodeValidated(from: prepared.canonicalJSON)
        let direct = try ExperimentRunner().run(spec, input: inputs.inputBatch(for: spec)).encodedJSON()
        #expect(Data(direct) == first)

        // Another sample seed: other images, other statistics.
        let other = try engine.prepare(bytes: Data(body.replacingOccurrences(of: "\"sample_seed\": 9", with: "\"sample_seed\": 10").utf8))
        let third = try engine.run(canonicalSpec: other.canonicalJSON, progress: { _ in }, isCancelled: { false })
        #expect(third != first)
    }
}
