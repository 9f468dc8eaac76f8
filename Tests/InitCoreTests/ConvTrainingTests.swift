import TestSupport
import Testing
@testable import InitCore

/// Training a cnn (`Trainer+ConvNet`): every kernel's, weight's and bias's gradient of the whole network against
/// finite differences of the loss, the same bits on any thread count, and a run that learns.
@Suite("Training: cnn", .offCooperativePool)
struct ConvTrainingTests {
    static func spec(_ stack: ConvStack, depth: Int, width: Int, activation: String, initializer: String = "kaiming_normal",
                     biasInit: InitScheme = InitScheme(name: "zeros"), train: TrainSpec) -> ExperimentSpec {
        ExperimentSpec(depth: depth, width: width, batch: train.batch, inputWidth: stack.input.count, seed: 5,
                       initializer: InitScheme(name: initializer), activation: ActivationSpec(name: activation),
                       biasInit: biasInit, architecture: .cnn(stack), train: train)
    }

    /// Per pooled layer, the index each max-pooling window picks: a finite difference that moves a window's
    /// maximum measures a different function, like one across ReLU's kink.
    static func maxPicks(_ engine: TrainEngine) -> [Int] {
        guard let buffers = engine.convNet else { return [] }
        var picks: [Int] = []
        for (l, layer) in buffers.geometry.layers.enumerated() {
            guard let pool = layer.pool, pool.kind == .max else { continue }
            let o = layer.output, k = pool.size, a = engine.a[l].pointer
            for b in 0..<engine.B {
                for oy in 0..<(o.height / k) {
                    for ox in 0..<(o.width / k) {
                        for c in 0..<o.channels {
                            var best = -Float.infinity, at = -1
                            for i in 0..<k {
                                for j in 0..<k {
                                    let index = ((b * o.height + oy * k + i) * o.width + ox * k + j) * o.channels + c
                                    if a[index] > best { best = a[index]; at = index }
                                }
                            }
                            picks.append(at)
                        }
                    }
                }
            }
        }
        return picks
    }

    /// Conv layers with padding, stride, dilation and both poolings, then a dense layer and the classifier:
    /// every parameter's gradient (from `backward`) against the central difference of the training loss.
    @Test(arguments: [
        ("tanh", ConvStack(input: ImageShape(channels: 2, height: 7, width: 6), layers: [
            ConvLayerSpec(channels: 3, kernel: 3, padding: 1, pool: Pooling(kind: .avg, size: 2)),
            ConvLayerSpec(channels: 4, kernel: 2),
        ])),
        ("gelu", ConvStack(input: ImageShape(channels: 1, height: 9, width: 9), layers: [
            ConvLayerSpec(channels: 3, kernel: 3, stride: 2, padding: 2, dilation: 2),
            ConvLayerSpec(channels: 2, kernel: 2, pool: Pooling(kind: .max, size: 2)),
        ])),
    ])
    func gradientsMatchFiniteDifferences(_ activation: String, _ stack: ConvStack) throws {
        let t = TrainingTests.trainSpec(batch: 3)
        let spec = Self.spec(stack, depth: 3, width: 5, activation: activation,
                             biasInit: InitScheme(name: "normal", params: ["std": .number(0.1)]), train: t)
        let engine = try TrainEngine(spec: spec, data: nil, matmul: Matmul(threads: 1))
        engine.loadBatch(step: 0)
        _ = try engine.initialize(isCancelled: { false })
        func loss() -> Double {
            engine.forward(rows: engine.B, input: engine.x.pointer, hs: engine.h, as: engine.a, logits: engine.logits.pointer)
            return engine.crossEntropy(rows: engine.B, logits: engine.logits.pointer, labels: engine.labels, gradient: true)
        }
        _ = loss()
        let baseline = Self.maxPicks(engine)
        engine.backward()
        let tensors = engine.layers.enumerated().flatMap { index, layer in
            [("layer \(index + 1) W", layer.w, layer.dW, layer.rows * layer.cols), ("layer \(index + 1) b", layer.b, layer.db, layer.rows)]
        }
        let (checked, switched) = expectFiniteDifferences(tensors, baseline: baseline, loss: loss, regime: { Self.maxPicks(engine) })
        let g = ConvNetGeometry(stack, batch: 1)
        let parameters = g.layers.map { $0.conv.weightCount + $0.conv.outChannels }.reduce(0, +) + (5 * g.flattened + 5) + (10 * 5 + 10)
        #expect(checked == parameters)
        #expect(switched * 20 <= checked, "\(switched) of \(checked) perturbations moved a max-pooling window's pick")
        #expect(engine.layers[0].dW.prefix(engine.layers[0].rows * engine.layers[0].cols).contains { $0 != 0 })
    }

    static let stack = ConvStack(input: ImageShape(channels: 1, height: 8, width: 8), layers: [
        ConvLayerSpec(channels: 6, kernel: 3, padding: 1, pool: Pooling(kind: .max, size: 2)),
        ConvLayerSpec(channels: 8, kernel: 3, padding: 1),
    ])

    /// The same spec gives the same result, bit for bit, on one thread and on two: im2col, col2im and pooling
    /// split by image, every sum runs in a fixed order.
    @Test func resultsDoNotDependOnTheThreadCount() throws {
        let t = TrainSpec(dataset: .teacher, steps: 6, batch: 16, optimizer: OptimizerSpec(kind: .adam),
                          schedule: LearningRateSchedule(lr: 0.003), evalEvery: 3, statsEvery: 2, validationSize: 40, seed: 1)
        let spec = Self.spec(Self.stack, depth: 4, width: 24, activation: "relu", train: t)
        let one = try Trainer(matmul: Matmul(threads: 1)).run(spec, data: nil)
        let two = try Trainer(matmul: Matmul(threads: 2)).run(spec, data: nil)
        #expect(one == two)
        #expect(one.training?.trainLoss.count == 6)
    }

    /// A small cnn learns the teacher task (a random linear map of 4×4 Gaussian images to 10 classes, which two
    /// 3×3 conv layers with padding and a dense layer can represent); its snapshots measure the conv layers as the
    /// init-time analysis does (positions × channels), and the result carries the init-time layers with their
    /// shapes.
    @Test func aConvNetLearnsTheTeacherTask() throws {
        let t = TrainSpec(dataset: .teacher, steps: 250, batch: 32, optimizer: OptimizerSpec(kind: .sgd, momentum: 0.9),
                          schedule: LearningRateSchedule(lr: 0.05), evalEvery: 50, statsEvery: 100, validationSize: 500, seed: 2)
        let stack = ConvStack(input: ImageShape(channels: 1, height: 4, width: 4), layers: [
            ConvLayerSpec(channels: 8, kernel: 3, padding: 1), ConvLayerSpec(channels: 8, kernel: 3, padding: 1),
        ])
        let spec = Self.spec(stack, depth: 3, width: 32, activation: "relu", train: t)
        let result = try Trainer(matmul: Matmul(threads: 2)).run(spec, data: nil)
        let training = try #require(result.training)
        #expect(result.layers.map(\.shape?.output) == [[8, 4, 4], [8, 4, 4], [32]])
        #expect(training.snapshots.map(\.step) == [0, 100, 200, 249])
        #expect(training.snapshots[0].layers.map(\.index) == [1, 2, 3, 4])
        // Layer 1's pre-activation: 32 images × 4·4 positions per channel, 8 channels.
        #expect(training.snapshots[0].layers[0].forward.preactivation.count == 32 * 16 * 8)
        #expect(training.snapshots.last?.layers.allSatisfy { $0.updateRatio > 0 && $0.weightGradNorm > 0 } == true)
        #expect(training.summary.verdict == .learns && training.summary.finalAccuracy > 0.6, "\(training.summary.explanation)")
        let first = training.trainLoss.prefix(10).reduce(0, +), last = training.trainLoss.suffix(10).reduce(0, +)
        #expect(last < 0.5 * first, "mean loss of the first 10 steps \(first / 10), of the last 10 \(last / 10)")
    }
}
