import TestSupport
import Foundation
import Testing
@testable import InitCore
import InitLabContract

func spec(_ initName: String, _ act: String, depth: Int, width: Int, batch: Int, backward: Bool = true,
          initParams: [String: SchemeParam] = [:], actParams: [String: SchemeParam] = [:], loss: LossKind = .none,
          architecture: Architecture = .mlp, bias: InitScheme = InitScheme(name: "zeros"), weights: WeightSharing = .perLayer,
          seed: UInt64 = 1) -> ExperimentSpec {
    ExperimentSpec(depth: depth, width: width, batch: batch, seed: seed, backward: backward,
                   initializer: InitScheme(name: initName, params: initParams), activation: ActivationSpec(name: act, params: actParams),
                   biasInit: bias, weights: weights, architecture: architecture, loss: loss)
}

@Suite("Runner: gradients, determinism, checkpointing, cancellation", .offCooperativePool)
struct RunnerTests {
    /// Double-precision reference forward pass of the engine's network with optional perturbations, returning
    /// the MSE loss (mean over all elements) against `targets`.
    struct Reference {
        let engine: RunEngine
        var weights: [[Double]]
        let biases: [[Double]]
        let x: [Double]
        let targets: [Double]

        init(_ engine: RunEngine) {
            self.engine = engine
            let w = FloatBuffer(engine.n * max(engine.n, engine.n0))
            let b = FloatBuffer(engine.n)
            var ws: [[Double]] = [], bs: [[Double]] = []
            for l in 1...engine.depth {
                engine.drawWeights(l, into: w)
                ws.append((0..<(engine.n * engine.fanIn(l))).map { Double(w.pointer[$0]) })
                bs.append(engine.drawBias(l, into: b) ? (0..<engine.n).map { Double(b.pointer[$0]) } : [Double](repeating: 0, count: engine.n))
            }
            weights = ws
            biases = bs
            x = (0..<(engine.B * engine.n0)).map { Double(engine.input.pointer[$0]) }
            let t = FloatBuffer(engine.B * engine.n)
            RandomFill.normal(Philox(seed: engine.spec.seed, stream: RandomStream.targets), t.buffer, mean: 0, std: 1, threads: 1)
            targets = (0..<(engine.B * engine.n)).map { Double(t.pointer[$0]) }
        }

        /// Loss with a_`layer`[index] += eps (layer 0 = none).
        func loss(perturbLayer: Int = 0, index: Int = 0, eps: Double = 0) -> Double {
            let e = engine, B = e.B, n = e.n
            var a = x
            var blockInput = x
            for l in 1...e.depth {
                let fi = e.fanIn(l)
                var h = [Double](repeating: 0, count: B * n)
                for r in 0..<B {
                    for j in 0..<n {
                        var s = biases[l - 1][j]
                        for k in 0..<fi { s += a[r * fi + k] * weights[l - 1][j * fi + k] }
                        if e.isBlockEnd(l) { s += blockInput[r * n + j] }
                        h[r * n + j] = s
                    }
                }
                a = h.map { e.activation.value($0) }
                if l == perturbLayer { a[index] += eps }
                if e.isBlockEnd(l) { blockInput = a }
            }
            var s = 0.0
            for i in 0..<a.count { s += (a[i] - targets[i]) * (a[i] - targets[i]) }
            return s / Double(a.count)
        }
    }

    /// The backward pass against central differences of a double-precision reference (h = 1e-5; the engine
    /// runs in float32, so agreement is to ~1e-4 relative plus 1e-6 absolute).
    @Test(arguments: [(Architecture.mlp, 3, "tanh"), (.residual(blockSize: 2), 4, "tanh"), (.mlp, 3, "gelu")])
    func backwardMatchesNumericalGradient(architecture: Architecture, depth: Int, act: String) throws {
        let s = try spec("xavier_normal", act, depth: depth, width: 4, batch: 2, loss: .mse, architecture: architecture,
                         bias: InitScheme(name: "normal", params: ["mean": .number(0), "std": .number(0.3)])).validated()
        let engine = try RunEngine(spec: s, matmul: Matmul(threads: 1), input: nil)
        let captured = Captured()
        engine.gradientSink = { l, da, dw in captured.values[l] = (da, dw) }
        let reference = Reference(engine)
        _ = try engine.run(progress: { _ in }, isCancelled: { false })
        let h = 1e-5
        for l in 1...depth {
            let (da, dw) = try #require(captured.values[l])
            // dL/dW_l.
            for idx in 0..<dw.count {
                var plus = reference, minus = reference
                plus.weights[l - 1][idx] += h
                minus.weights[l - 1][idx] -= h
                let numeric = (plus.loss() - minus.loss()) / (2 * h)
                #expect(abs(Double(dw[idx]) - numeric) <= 1e-4 * abs(numeric) + 1e-6, "dW layer \(l) [\(idx)]: \(dw[idx]) vs \(numeric)")
            }
            // dL/da_l.
            for idx in 0..<da.count {
                let numeric = (reference.loss(perturbLayer: l, index: idx, eps: h) - reference.loss(perturbLayer: l, index: idx, eps: -h)) / (2 * h)
                #expect(abs(Double(da[idx]) - numeric) <= 1e-4 * abs(numeric) + 1e-6, "da layer \(l) [\(idx)]: \(da[idx]) vs \(numeric)")
            }
        }
    }

    final class Captured: @unchecked Sendable {
        var values: [Int: ([Float], [Float])] = [:]
    }

    @Test func sameSpecSameBytesForAnyThreadCount() throws {
        let s = spec("kaiming_normal", "relu", depth: 5, width: 48, batch: 20, bias: InitScheme(name: "torch_default"))
        let a = try ExperimentRunner(matmul: Matmul(threads: 1)).run(s).encodedJSON()
        let b = try ExperimentRunner(matmul: Matmul(threads: 1)).run(s).encodedJSON()
        let c = try ExperimentRunner(matmul: Matmul(threads: 2)).run(s).encodedJSON()
        #expect(a == b && b == c)
        let decoded = try JSONDecoder().decode(ExperimentResult.self, from: Data(a))
        #expect(try decoded.encodedJSON() == a)
    }

    /// A profiled run (`initlab bench experiment`) gives the same bytes, times every phase, and records every
    /// product with its shape: forward nt (B × n × fan-in), backward tn (n × fan-in × B) for each layer and nn
    /// (B × fan-in × n) below the top one; with checkpoints, the recomputed forward products too.
    @Test func profilingChangesNothingAndSeesEveryProduct() throws {
        let s = try spec("kaiming_normal", "relu", depth: 6, width: 24, batch: 10, bias: InitScheme(name: "torch_default")).validated()
        let profile = PhaseProfile()
        let profiled = try ExperimentRunner(matmul: Matmul(threads: 2)).run(s, profile: profile)
        #expect(try profiled.encodedJSON() == ExperimentRunner(matmul: Matmul(threads: 1)).run(s).encodedJSON())
        for phase in PhaseProfile.Phase.allCases { #expect((profile.seconds[phase] ?? 0) > 0, "\(phase)") }
        let forward = PhaseProfile.Product(layout: .nt, m: 10, n: 24, k: 24)
        let weights = PhaseProfile.Product(layout: .tn, m: 24, n: 24, k: 10)
        let input = PhaseProfile.Product(layout: .nn, m: 10, n: 24, k: 24)
        #expect(profile.products == Array(repeating: forward, count: 6) + [weights, input, weights, input, weights, input, weights, input, weights, input, weights])

        let checkpointed = PhaseProfile()
        let engine = try RunEngine(spec: s, matmul: Matmul(threads: 1), input: nil, plan: ExecutionPlan(segment: 3, cacheWeights: false), profile: checkpointed)
        #expect(try engine.run(progress: { _ in }, isCancelled: { false }).encodedJSON() == profiled.encodedJSON())
        #expect(checkpointed.products.count == 6 + 6 + 6 + 5)
    }

    /// Checkpointed segments with re-drawn weights give exactly the stored-everything result.
    @Test(arguments: [
        spec("kaiming_normal", "relu", depth: 7, width: 16, batch: 6),
        spec("fixup", "relu", depth: 6, width: 16, batch: 6, architecture: .residual(blockSize: 2), bias: InitScheme(name: "constant", params: ["value": .number(0.1)])),
        spec("lsuv", "tanh", depth: 5, width: 16, batch: 6),
        spec("xavier_uniform", "selu", depth: 5, width: 16, batch: 6, loss: .mse, weights: .shared),
    ])
    func checkpointingIsExact(_ s: ExperimentSpec) throws {
        let v = try s.validated()
        let stored = try RunEngine(spec: v, matmul: Matmul(threads: 1), input: nil).run(progress: { _ in }, isCancelled: { false })
        let m = v.architecture.blockSize
        for (segment, cache) in [(2 * m, false), (m, true), (3 * m, false)] {
            let ck = try RunEngine(spec: v, matmul: Matmul(threads: 2), input: nil, plan: ExecutionPlan(segment: segment, cacheWeights: cache))
                .run(progress: { _ in }, isCancelled: { false })
            #expect(try ck.encodedJSON() == stored.encodedJSON(), "segment \(segment)")
        }
    }

    /// Checkpointing when the input is narrower or wider than the layers: segment 0 restarts from the
    /// n0-wide input, later segments from n-wide checkpoints (buffer sizes differ; checked under ASan too).
    @Test(arguments: [5, 23])
    func checkpointingIsExactWithAnotherInputWidth(_ inputWidth: Int) throws {
        var s = spec("kaiming_normal", "relu", depth: 7, width: 16, batch: 6, bias: InitScheme(name: "torch_default"))
        s.inputWidth = inputWidth
        let v = try s.validated()
        let stored = try RunEngine(spec: v, matmul: Matmul(threads: 1), input: nil).run(progress: { _ in }, isCancelled: { false })
        for (segment, cache) in [(2, false), (1, true), (3, true)] {
            let ck = try RunEngine(spec: v, matmul: Matmul(threads: 2), input: nil, plan: ExecutionPlan(segment: segment, cacheWeights: cache))
                .run(progress: { _ in }, isCancelled: { false })
            #expect(try ck.encodedJSON() == stored.encodedJSON(), "segment \(segment)")
        }
    }

    /// A residual net whose input is wider than its layers: layer 1 is a dense stem and the blocks follow it.
    /// Under Fixup every block's branch starts at zero, so each block end passes its input through ReLU
    /// unchanged: layers 3, 5 and 7 show exactly the stem's activations. Checkpointed segments (some starting
    /// inside a block) give the stored-everything bytes.
    @Test func aStemFeedsTheBlocks() throws {
        var s = spec("fixup", "relu", depth: 7, width: 16, batch: 6, architecture: .residual(blockSize: 2))
        s.inputWidth = 9
        let v = try s.validated()
        #expect(v.stemLayers == 1 && v.residualBlocks == 3)
        let stored = try RunEngine(spec: v, matmul: Matmul(threads: 1), input: nil).run(progress: { _ in }, isCancelled: { false })
        let stem = stored.layers[0].forward.activation
        for l in [3, 5, 7] { #expect(stored.layers[l - 1].forward.activation == stem, "layer \(l)") }
        #expect(stored.layers[1].forward.activation != stem)
        for (segment, cache) in [(2, false), (3, true), (4, false), (1, false)] {
            let ck = try RunEngine(spec: v, matmul: Matmul(threads: 2), input: nil, plan: ExecutionPlan(segment: segment, cacheWeights: cache))
                .run(progress: { _ in }, isCancelled: { false })
            #expect(try ck.encodedJSON() == stored.encodedJSON(), "segment \(segment)")
        }
    }

    @Test func progressAndCancellation() throws {
        let s = spec("kaiming_normal", "relu", depth: 6, width: 8, batch: 4)
        let seen = Counter()
        _ = try ExperimentRunner(matmul: Matmul(threads: 1)).run(s, progress: { p in seen.add(p.layersDone, p.layersTotal, p.phase) })
        #expect(seen.done == Array(1...12) && seen.totals == Set([12]))
        #expect(seen.phases == Array(repeating: "forward", count: 6) + Array(repeating: "backward", count: 6))
        let calls = Counter()
        #expect(throws: ExperimentError.cancelled) {
            _ = try ExperimentRunner(matmul: Matmul(threads: 1)).run(s, isCancelled: { calls.tick() > 8 })
        }
    }

    final class Counter: @unchecked Sendable {
        let lock = NSLock()
        var done: [Int] = [], totals: Set<Int> = [], phases: [String] = [], calls = 0
        func add(_ d: Int, _ t: Int, _ p: String) { lock.lock(); done.append(d); totals.insert(t); phases.append(p); lock.unlock() }
        func tick() -> Int { lock.lock(); defer { lock.unlock() }; calls += 1; return calls }
    }

    @Test func errorsInsteadOfTraps() {
        // Out-of-range specs never reach the runner: validation (InitLabContract) refuses them, the runner trusts.
        let bad = spec("kaiming_normal", "relu", depth: 100_000, width: 8, batch: 4)
        #expect(throws: SpecProblems.self) { _ = try bad.validated() }
        var ds = spec("kaiming_normal", "relu", depth: 2, width: 16, batch: 4, loss: .crossEntropy)
        ds.input = .dataset(name: "mnist", split: "train", sampleSeed: 0)
        #expect(throws: ExperimentError.missingInput("spec.input is a dataset: pass its batch as `input`")) { _ = try ExperimentRunner().run(ds) }
        let wrong = InputBatch(x: Matrix(rows: 4, cols: 10), labels: [0, 1, 2, 3])
        #expect(throws: ExperimentError.self) { _ = try ExperimentRunner().run(ds, input: wrong) }
    }

    @Test func crossEntropyOnADatasetBatch() throws {
        var s = spec("kaiming_normal", "relu", depth: 2, width: 16, batch: 4, loss: .crossEntropy)
        s.input = .dataset(name: "mnist", split: "train", sampleSeed: 0)
        var x = Matrix(rows: 4, cols: 784)
        for i in 0..<x.storage.count { x.storage[i] = Float(i % 13) / 13 - 0.4 }
        let r = try ExperimentRunner(matmul: Matmul(threads: 1)).run(s.validated(), input: InputBatch(x: x, labels: [3, 1, 4, 1]))
        let top = try #require(r.layers[1].backward?.activationGrad)
        // Softmax minus one-hot: each row sums to 0, so the mean over the batch is 0 (float rounding).
        #expect(abs(top.mean) < 1e-8 && r.conventions.gradientSource == "cross_entropy" && r.spec.inputWidth == 784)
    }

    @Test func lsuvReachesUnitStd() throws {
        let r = try ExperimentRunner(matmul: Matmul(threads: 2)).run(spec("lsuv", "relu", depth: 6, width: 64, batch: 32, backward: false))
        for l in r.layers {
            #expect(abs(l.forward.preactivation.std - 1) < 0.1)
            #expect((l.lsuvIterations ?? 0) <= 10)
        }
        // An orthonormal layer keeps the unit-Gaussian input's std (no rescaling needed); after a ReLU it is
        // ≈ 0.58 and needs at least one.
        #expect(r.layers[0].lsuvIterations == 0 && (r.layers[1].lsuvIterations ?? 0) >= 1)
    }
}

/// torch_default biases follow each layer's own fan_in, as `nn.Linear` does: U(±1/√784) on layer 1 of a
/// 784 → 16 net, U(±1/√16) on the layers after it and on a training run's classifier.
@Suite("Runner: bias fans", .offCooperativePool)
struct BiasFanTests {
    @Test func torchDefaultBiasesUseEachLayersFanIn() throws {
        var s = spec("kaiming_normal", "relu", depth: 3, width: 16, batch: 4, bias: InitScheme(name: "torch_default"))
        s.inputWidth = 784
        let engine = try RunEngine(spec: s, matmul: Matmul(threads: 1), input: nil)
        #expect(abs(engine.layerParameters(1).biasVariance - 1.0 / (3 * 784)) < 1e-12)
        #expect(abs(engine.layerParameters(2).biasVariance - 1.0 / (3 * 16)) < 1e-12)
        let b = FloatBuffer(16)
        #expect(engine.drawBias(2, into: b))
        let values = Array(b.prefix(16))
        #expect(values.allSatisfy { abs($0) <= 0.25 })
        // Wider than layer 1's bound 1/28: drawn with fan_in 16, not 784.
        #expect(values.contains { abs($0) > 1.0 / 28 })

        var trained = s
        trained.train = TrainSpec(dataset: .teacher, steps: 1, batch: 4, optimizer: OptimizerSpec(kind: .sgd), schedule: LearningRateSchedule(lr: 0.1), evalEvery: 1, statsEvery: 1, validationSize: 10)
        let trainer = try TrainEngine(spec: trained, data: nil, matmul: Matmul(threads: 1))
        trainer.loadBatch(step: 0)
        _ = try trainer.initialize(isCancelled: { false })
        let head = Array(trainer.layers[3].b.prefix(10))
        #expect(head.allSatisfy { abs($0) <= 0.25 } && head.contains { abs($0) > 1.0 / 28 })
    }
}
