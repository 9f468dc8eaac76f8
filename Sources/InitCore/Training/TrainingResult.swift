/// Validation loss and accuracy after `step` optimizer steps.
public struct EvalPoint: Sendable, Hashable {
    public var step: Int
    /// Mean cross-entropy over the validation set (non-finite once the network diverged).
    public var loss: Double
    public var accuracy: Double

    public init(step: Int, loss: Double, accuracy: Double) {
        self.step = step
        self.loss = loss
        self.accuracy = accuracy
    }
}

/// One layer at a statistics snapshot: what the step's forward pass saw, and what the step did to the weights.
public struct TrainingLayerStats: Sendable, Hashable {
    /// 1-based; the classifier is layer depth + 1.
    public var index: Int
    /// The step's mini-batch through the layer (before the step's update), as the init-time experiment reports it.
    public var forward: ForwardStats
    /// ‖∂L/∂W‖ (Frobenius) of the step's gradient, after clipping.
    public var weightGradNorm: Double
    /// ‖ΔW‖/‖W‖ of the step's update (the 1e-3 rule of thumb).
    public var updateRatio: Double
    /// The std of W before the step's update.
    public var weightStd: Double
    /// `weightStd` over the std of the layer's initial weights (1 at step 0).
    public var weightStdDrift: Double

    public init(index: Int, forward: ForwardStats, weightGradNorm: Double, updateRatio: Double, weightStd: Double, weightStdDrift: Double) {
        self.index = index
        self.forward = forward
        self.weightGradNorm = weightGradNorm
        self.updateRatio = updateRatio
        self.weightStd = weightStd
        self.weightStdDrift = weightStdDrift
    }
}

/// Per-layer statistics measured during step `step` (0-based: step 0 is the network as initialized).
public struct TrainingSnapshot: Sendable, Hashable {
    public var step: Int
    public var layers: [TrainingLayerStats]

    public init(step: Int, layers: [TrainingLayerStats]) {
        self.step = step
        self.layers = layers
    }
}

/// The first step after which the validation accuracy reached `accuracy` (nil: never).
public struct TargetReached: Sendable, Hashable {
    public var accuracy: Double
    public var step: Int?

    public init(accuracy: Double, step: Int?) {
        self.accuracy = accuracy
        self.step = step
    }
}

/// How a training run went, in one word and one sentence.
public enum TrainingVerdict: String, Sendable, Hashable, CaseIterable {
    /// The training loss became non-finite.
    case diverged
    /// The training loss stayed within 1 % of ln(classes), the loss of a uniform guess.
    case stuckAtChance = "stuck_at_chance"
    /// The training loss ended more than 1 % above ln(classes): worse than a uniform guess (too few steps, or a
    /// learning rate too small to undo a bad start).
    case notLearning = "not_learning"
    /// The training loss ended more than 1 % below ln(classes): the network learned (see the accuracies).
    case learns
}

public struct TrainingSummary: Sendable, Hashable {
    /// The last evaluation's accuracy and loss.
    public var finalAccuracy: Double
    public var finalLoss: Double
    public var bestAccuracy: Double
    public var bestStep: Int
    public var stepsToTarget: [TargetReached]
    /// The first step (1-based count of steps taken) whose training loss was non-finite.
    public var divergedAtStep: Int?
    /// ln(classes): the loss of a uniform guess.
    public var chanceLoss: Double
    /// Whether the mean training loss over the last `stuckWindow` steps was within 1 % of `chanceLoss`.
    public var stuckAtChance: Bool
    public var verdict: TrainingVerdict
    /// The verdict with its evidence, next to the init-time statistics that explain it.
    public var explanation: String

    public init(finalAccuracy: Double, finalLoss: Double, bestAccuracy: Double, bestStep: Int, stepsToTarget: [TargetReached],
                divergedAtStep: Int?, chanceLoss: Double, stuckAtChance: Bool, verdict: TrainingVerdict, explanation: String) {
        self.finalAccuracy = finalAccuracy
        self.finalLoss = finalLoss
        self.bestAccuracy = bestAccuracy
        self.bestStep = bestStep
        self.stepsToTarget = stepsToTarget
        self.divergedAtStep = divergedAtStep
        self.chanceLoss = chanceLoss
        self.stuckAtChance = stuckAtChance
        self.verdict = verdict
        self.explanation = explanation
    }
}

/// What a training run measured (the `training` member of an experiment's result; the result's `layers` and
/// `summary` are the init-time analysis of the same network on the first training batch).
public struct TrainingResult: Sendable, Hashable {
    /// Steps taken (`train.steps`, fewer only when the run diverged and stopped).
    public var steps: Int
    /// The mini-batch training loss of every step, before its update (non-finite once diverged).
    public var trainLoss: [Double]
    /// The learning rate of every step.
    public var learningRate: [Double]
    public var evals: [EvalPoint]
    public var snapshots: [TrainingSnapshot]
    public var summary: TrainingSummary

    public init(steps: Int, trainLoss: [Double], learningRate: [Double], evals: [EvalPoint], snapshots: [TrainingSnapshot], summary: TrainingSummary) {
        self.steps = steps
        self.trainLoss = trainLoss
        self.learningRate = learningRate
        self.evals = evals
        self.snapshots = snapshots
        self.summary = summary
    }
}

/// A step boundary of a training run: `step` steps done of `steps`; the step's loss; the evaluation or the
/// snapshot made at this boundary, if any.
public struct TrainingProgress: Sendable {
    public var step: Int
    public var steps: Int
    public var trainLoss: Double
    public var eval: EvalPoint?
    public var snapshot: TrainingSnapshot?
}

/// Labeled examples: `count` rows of `features` values (row-major), one label in 0..<10 each.
public struct LabeledExamples: Sendable {
    public let count: Int
    public let features: Int
    public let values: [Float]
    public let labels: [UInt8]

    public init(count: Int, features: Int, values: [Float], labels: [UInt8]) {
        precondition(values.count == count * features && labels.count == count, "LabeledExamples: inconsistent sizes")
        self.count = count
        self.features = features
        self.values = values
        self.labels = labels
    }
}
