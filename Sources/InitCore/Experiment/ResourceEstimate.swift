/// What a run is planned to need: peak working memory and floating-point operations.
public struct ResourceEstimate: Sendable, Hashable {
    /// Planned peak bytes of buffers (activations, checkpoints, weights, scratch, the result itself).
    public var memoryBytes: Int
    /// Multiply–adds count as 2; a random draw as 20; statistics as 40 per element.
    public var flops: Double
}

/// How a run lays out its memory. Shared by `estimate()` and the runner so the estimate is what runs.
struct ExecutionPlan: Sendable {
    /// Layers per backward segment: checkpoints hold the activation at every segment start and a segment's
    /// pre-activations are recomputed during the backward pass. `segment == depth` stores everything.
    var segment: Int
    /// Keep a segment's weight matrices between its forward recompute and its backward pass.
    var cacheWeights: Bool

    /// All stored pre-activations of one backward segment may take this much; beyond it, checkpointing.
    static let storeAllBytes: Double = 256 * 1024 * 1024
    /// Initializers whose draw costs more than keeping the matrix: a QR per layer. A random fill is redrawn
    /// for the backward pass instead: at ~1 ns per value it is cheaper than the fresh memory a cache takes
    /// (a page fault and zeroing per 1,024 values; measured on depth 100 × 512 × 512: 0.621 s redrawing
    /// vs 0.631 s caching, and 100 MiB less).
    static let costlyDraws: Set<String> = ["orthogonal", "delta_orthogonal", "lsuv"]
    /// A segment's weights may take this much; beyond it they are re-drawn from (seed, layer).
    static let weightCacheBytes: Double = 256 * 1024 * 1024

    init(segment: Int, cacheWeights: Bool) {
        self.segment = max(1, segment)
        self.cacheWeights = cacheWeights
    }

    init(spec: ExperimentSpec) {
        let depth = Double(max(1, spec.depth)), m = Double(max(1, spec.architecture.blockSize))
        let act = Double(max(1, spec.batch)) * Double(max(1, spec.width)) * 4
        if depth * act <= Self.storeAllBytes || !spec.backward {
            segment = max(1, spec.depth)
        } else {
            let root = depth.squareRoot().rounded(.up)
            segment = Int(min(depth, m * (root / m).rounded(.up)))
        }
        let maxW = Double(max(1, max(spec.width, spec.resolvedInputWidth)))
        cacheWeights = spec.backward && spec.weights == .perLayer && Self.costlyDraws.contains(spec.initializer.name)
            && Double(segment) * Double(max(1, spec.width)) * maxW * 4 <= Self.weightCacheBytes
    }
}

extension ExperimentSpec {
    /// Planned peak memory and work of this spec, computed in Double (no overflow for any input) and saturated
    /// to `Int.max`. Validation (InitLabContract) compares it with the configured limits.
    public func estimate() -> ResourceEstimate {
        if let stack = architecture.convStack { return convNetEstimate(stack) }
        let plan = ExecutionPlan(spec: self)
        let L = Double(max(1, depth)), B = Double(max(1, batch)), n = Double(max(1, width))
        let n0 = Double(max(1, resolvedInputWidth)), maxW = max(n, n0)
        let seg = Double(plan.segment)
        let act = B * maxW * 4
        let weight = n * maxW * 4
        let statsPerLayer = backward ? 4.0 : 2.0
        let bins = Double(max(1, histogramBins))
        // Stats scratch: a copy of the largest matrix plus the fine histogram.
        let scratch = max(B * maxW, n * maxW) * 4 + 16384 * 8
        let orthogonal = ExecutionPlan.costlyDraws.contains(initializer.name)
        let orthoScratch = orthogonal ? 2 * maxW * maxW * 8 : 0
        let result = L * statsPerLayer * (bins * 8 + 400) * 2  // the structs and their JSON
        var memory = act * 6 + weight * 2 + scratch + orthoScratch + result + 8 * 1024 * 1024
        if backward {
            memory += act * 4 + weight  // gradients, pending skip gradient, dW
            memory += seg * B * n * 4  // the segment's pre-activations
            if plan.segment < max(1, depth) { memory += (L / seg).rounded(.up) * act }
            if plan.cacheWeights { memory += seg * weight }
        }

        let layerMACs = B * n * (n * (L - 1) + n0) / L  // average per layer
        let lsuvIterations = initializer.name == "lsuv" ? (initializer.params["max_iterations"]?.number ?? 10) : 0
        var matmul = 2 * layerMACs * (1 + lsuvIterations)
        var draws = 1.0
        if backward {
            matmul += 4 * layerMACs
            if plan.segment < max(1, depth) {
                matmul += 2 * layerMACs
                draws += 1
            }
            if !plan.cacheWeights { draws += 1 }
        }
        if weights == .shared { draws = 2 / L }
        let drawCost = orthogonal ? 2 * maxW * maxW * min(n, n0) + 20 * n * n0 : 20 * n * (n * (L - 1) + n0) / L
        let stats = 40 * (2 * B * n + (backward ? B * n + n * maxW : 0))
        var flops = L * (matmul + draws * drawCost + stats)
        if let train { (memory, flops) = trainingEstimate(train, initMemory: memory, initFLOPs: flops) }
        let bytes = memory < 9e18 ? Int(memory) : Int.max
        return ResourceEstimate(memoryBytes: bytes, flops: flops)
    }

    /// A cnn (`RunEngine+ConvNet`): every layer's input, pre-activation and kernel are kept; the scratch is
    /// the largest layer's patches (twice with a backward pass: their gradient), the largest pooled activation,
    /// and two gradient buffers of the largest activation. Convolutions count their im2col products' FLOPs.
    func convNetEstimate(_ stack: ConvStack) -> ResourceEstimate {
        let g = ConvNetGeometry(stack, batch: max(1, batch))
        let L = Double(max(1, depth)), B = Double(max(1, batch)), n = Double(max(1, width)), C = Double(TrainSpec.classes)
        let bins = Double(max(1, histogramBins))
        let lsuvIterations = initializer.name == "lsuv" ? (initializer.params["max_iterations"]?.number ?? 10) : 0
        let passes = backward ? 3.0 : 1.0
        var kept = B * Double(max(1, stack.input.count)), largest = B * n, patches = 0.0, weights = 0.0, flops = 0.0
        for layer in g.layers {
            let c = layer.conv
            let out = Double(max(0, c.outputCount)), macs = Double(max(0, c.outPositions)) * Double(c.outChannels) * Double(c.patchSize)
            kept += out + B * Double(max(0, layer.next.count))
            largest = max(largest, out, Double(c.inputCount))
            patches = max(patches, Double(max(0, c.outPositions)) * Double(c.patchSize))
            weights += Double(c.weightCount)
            flops += 2 * macs * (passes + lsuvIterations) + 20 * Double(c.weightCount) + 40 * out * (backward ? 3 : 2)
        }
        let dense = Double(max(0, depth - g.layers.count))
        let first = Double(max(1, g.flattened))
        if dense > 0 {
            weights += n * first + (dense - 1) * n * n
            kept += dense * 2 * B * n
            let macs = B * n * (first + (dense - 1) * n)
            flops += 2 * macs * (passes + lsuvIterations) + 20 * (n * first + (dense - 1) * n * n) + 40 * dense * B * n * (backward ? 3 : 2)
        }
        let scratch = max(largest, weights) * 4 + 16384 * 8
        let result = L * (backward ? 4.0 : 2.0) * (bins * 8 + 400) * 2
        var memory = (kept + weights + patches + largest) * 4 + scratch + result + 8 * 1024 * 1024
        if backward { memory += (2 * largest + patches + weights) * 4 }
        if let train {
            // Training (`Trainer+ConvNet`): per layer a pre-activation, an activation and a pooled output at the
            // batch; the patches and their gradient; two gradient buffers; evaluation reuses them.
            var parameters = n * C + C, macs = n * C, activations = 2 * patches + 2 * largest, values = 0.0
            for layer in g.layers {
                let c = layer.conv, out = Double(max(0, c.outputCount))
                parameters += Double(c.weightCount + c.outChannels)
                macs += Double(max(0, c.outPositions)) * Double(c.outChannels) * Double(c.patchSize) / B
                activations += 2 * out + (layer.pool != nil ? B * Double(max(0, layer.next.count)) : 0)
                values += out
            }
            if dense > 0 {
                let denseWeights = n * first + (dense - 1) * n * n
                parameters += denseWeights + dense * n
                macs += denseWeights
                activations += dense * 2 * B * n
                values += dense * B * n
            }
            (memory, flops) = trainingEstimate(
                train, initMemory: memory, initFLOPs: flops, parameters: parameters, macsPerExample: macs,
                activationBytes: activations * 4, evalBytes: 0, statsValues: values)
        }
        let bytes = memory < 9e18 ? Int(memory) : Int.max
        return ResourceEstimate(memoryBytes: bytes, flops: flops)
    }

    /// A training run: the init-time analysis (on the first batch) and then the steps. Kept at once: every layer's
    /// weights, gradient and optimizer state, one batch's pre-activations and activations, one evaluation chunk,
    /// and the dataset (both splits, as Float).
    func trainingEstimate(_ t: TrainSpec, initMemory: Double, initFLOPs: Double) -> (memory: Double, flops: Double) {
        let L = Double(max(1, depth)), B = Double(max(1, t.batch)), n = Double(max(1, width))
        let n0 = Double(max(1, resolvedInputWidth)), C = Double(TrainSpec.classes)
        let parameters = n0 * n + (L - 1) * n * n + n * C + L * n + C
        return trainingEstimate(
            t, initMemory: initMemory, initFLOPs: initFLOPs, parameters: parameters, macsPerExample: parameters,
            activationBytes: 2 * L * B * n * 4 + 4 * B * max(n, n0) * 4, evalBytes: 2 * Double(Trainer.evalChunk) * max(n, n0) * 4,
            statsValues: (L + 1) * B * n)
    }

    /// A training run of any architecture, from its parameter count, its multiply-adds per example (forward),
    /// the bytes of one batch's activations and gradients, an evaluation's own buffers, and the values one
    /// snapshot's statistics read.
    func trainingEstimate(
        _ t: TrainSpec, initMemory: Double, initFLOPs: Double, parameters: Double, macsPerExample: Double,
        activationBytes: Double, evalBytes: Double, statsValues: Double
    ) -> (memory: Double, flops: Double) {
        let L = Double(max(1, depth)), B = Double(max(1, t.batch))
        let n0 = Double(max(1, resolvedInputWidth)), C = Double(TrainSpec.classes)
        let states: Double = switch t.optimizer.kind {
        case .sgd: t.optimizer.momentum > 0 ? 1 : 0
        case .adam, .adamw: 2
        }
        let perParameter = (3 + states) * 4  // weight, gradient, initial-std bookkeeping's update copy, states
        let validation = Double(t.validationSize ?? 10_000)
        let data = t.dataset == .teacher ? validation * (n0 + 1) * 4 + n0 * C * 4 : 70_000 * (784 + 1) * 4
        let stepsRecorded = Double(t.steps) * 16
        let snapshots = (Double(t.steps) / Double(max(1, t.statsEvery)) + 2) * (L + 1) * (4 * (Double(histogramBins) * 8 + 400))
        let memory = max(initMemory, parameters * perParameter + activationBytes + evalBytes + data + stepsRecorded + snapshots + 8 * 1024 * 1024)
        let evals = Double(t.steps) / Double(max(1, t.evalEvery)) + 1
        let statsSteps = Double(t.steps) / Double(max(1, t.statsEvery)) + 2
        let flops = initFLOPs + Double(t.steps) * (6 * B * macsPerExample + 20 * parameters) + evals * 2 * validation * macsPerExample
            + statsSteps * 80 * statsValues
        return (memory, flops)
    }
}
