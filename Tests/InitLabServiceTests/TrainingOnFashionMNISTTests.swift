import Datasets
import Foundation
import InitCore
import TestSupport
import Testing

/// The lesson's claim on real data, in a debug build: on Fashion-MNIST (Debian's `dataset-fashion-mnist`, read from
/// its folder), a Kaiming-initialized ReLU net learns within a few hundred steps, and the same net at ×0.01 stays
/// at chance (loss ln 10).
@Suite(.offCooperativePool) struct TrainingOnFashionMNISTTests {
    static func load() throws -> TrainingData {
        let folder = DatasetCatalog.debianFashionMNISTFolder
        try #require(FileManager.default.fileExists(atPath: folder + "/train-images-idx3-ubyte.gz"),
                     "\(folder) is missing: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)")
        let loaded = try DatasetStore.load(DatasetCatalog.fashionMNIST, paths: { folder + "/" + $0.name })
        func examples(_ set: ImageSet) -> LabeledExamples {
            LabeledExamples(count: set.count, features: set.pixelsPerImage, values: set.pixels, labels: set.labels)
        }
        return TrainingData(train: examples(loaded.train), validation: examples(loaded.test))
    }

    @Test func kaimingLearnsWhereTimesPointZeroOneStaysAtChance() throws {
        let data = try Self.load()
        let train = TrainSpec(dataset: .fashionMNIST, steps: 150, batch: 64, optimizer: OptimizerSpec(kind: .sgd),
                              schedule: LearningRateSchedule(lr: 0.05), evalEvery: 75, statsEvery: 75, validationSize: 1_000, seed: 0)
        func run(_ initializer: InitScheme) throws -> TrainingResult {
            let spec = ExperimentSpec(depth: 8, width: 64, batch: 64, inputWidth: 784, seed: 1, initializer: initializer,
                                      activation: ActivationSpec(name: "relu"), train: train)
            return try #require(try Trainer().run(spec, data: data).training)
        }
        let kaiming = try run(InitScheme(name: "kaiming_normal"))
        let tiny = try run(InitScheme(name: "scaled_normal", params: ["factor": .number(0.01)]))
        #expect(kaiming.summary.verdict == .learns, "\(kaiming.summary.explanation)")
        #expect(kaiming.summary.finalAccuracy > 0.65, "\(kaiming.summary.explanation)")
        #expect(tiny.summary.verdict == .stuckAtChance, "\(tiny.summary.explanation)")
        #expect(tiny.summary.finalAccuracy < 0.2)
        #expect(kaiming.summary.finalAccuracy > tiny.summary.finalAccuracy + 0.45)
    }
}
