import Foundation
import InitCore

// The `training` member of a result (absent for an init-time experiment): snake_case keys, non-finite numbers
// as null (a diverged run's losses), optionals as explicit null, like the rest of the result. Decoding reads
// null back as NaN.

/// Finite values, null for the others.
private func wire(_ xs: [Double]) -> [Double?] { xs.map { $0.isFinite ? $0 : nil } }

extension EvalPoint: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        self.init(step: try c.decode(Int.self, forKey: AnyKey("step")), loss: try c.decodeNumber(AnyKey("loss")),
                  accuracy: try c.decodeNumber(AnyKey("accuracy")))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(step, forKey: AnyKey("step"))
        try c.encodeFinite(loss, forKey: AnyKey("loss"))
        try c.encodeFinite(accuracy, forKey: AnyKey("accuracy"))
    }
}

extension TrainingLayerStats: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        self.init(
            index: try c.decode(Int.self, forKey: AnyKey("index")), forward: try c.decode(ForwardStats.self, forKey: AnyKey("forward")),
            weightGradNorm: try c.decodeNumber(AnyKey("weight_grad_norm")), updateRatio: try c.decodeNumber(AnyKey("update_ratio")),
            weightStd: try c.decodeNumber(AnyKey("weight_std")), weightStdDrift: try c.decodeNumber(AnyKey("weight_std_drift")))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(index, forKey: AnyKey("index"))
        try c.encode(forward, forKey: AnyKey("forward"))
        try c.encodeFinite(weightGradNorm, forKey: AnyKey("weight_grad_norm"))
        try c.encodeFinite(updateRatio, forKey: AnyKey("update_ratio"))
        try c.encodeFinite(weightStd, forKey: AnyKey("weight_std"))
        try c.encodeFinite(weightStdDrift, forKey: AnyKey("weight_std_drift"))
    }
}

extension TrainingSnapshot: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        self.init(step: try c.decode(Int.self, forKey: AnyKey("step")), layers: try c.decode([TrainingLayerStats].self, forKey: AnyKey("layers")))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(step, forKey: AnyKey("step"))
        try c.encode(layers, forKey: AnyKey("layers"))
    }
}

extension TargetReached: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        self.init(accuracy: try c.decodeNumber(AnyKey("accuracy")), step: try c.decodeIfPresent(Int.self, forKey: AnyKey("step")))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encodeFinite(accuracy, forKey: AnyKey("accuracy"))
        try c.encode(step, forKey: AnyKey("step"))  // explicit null: never reached
    }
}

extension TrainingVerdict: Codable {}

extension TrainingSummary: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        self.init(
            finalAccuracy: try c.decodeNumber(AnyKey("final_accuracy")), finalLoss: try c.decodeNumber(AnyKey("final_loss")),
            bestAccuracy: try c.decodeNumber(AnyKey("best_accuracy")), bestStep: try c.decode(Int.self, forKey: AnyKey("best_step")),
            stepsToTarget: try c.decode([TargetReached].self, forKey: AnyKey("steps_to_target")),
            divergedAtStep: try c.decodeIfPresent(Int.self, forKey: AnyKey("diverged_at_step")),
            chanceLoss: try c.decodeNumber(AnyKey("chance_loss")), stuckAtChance: try c.decode(Bool.self, forKey: AnyKey("stuck_at_chance")),
            verdict: try c.decode(TrainingVerdict.self, forKey: AnyKey("verdict")),
            explanation: try c.decode(String.self, forKey: AnyKey("explanation")))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encodeFinite(finalAccuracy, forKey: AnyKey("final_accuracy"))
        try c.encodeFinite(finalLoss, forKey: AnyKey("final_loss"))
        try c.encodeFinite(bestAccuracy, forKey: AnyKey("best_accuracy"))
        try c.encode(bestStep, forKey: AnyKey("best_step"))
        try c.encode(stepsToTarget, forKey: AnyKey("steps_to_target"))
        try c.encode(divergedAtStep, forKey: AnyKey("diverged_at_step"))  // explicit null
        try c.encodeFinite(chanceLoss, forKey: AnyKey("chance_loss"))
        try c.encode(stuckAtChance, forKey: AnyKey("stuck_at_chance"))
        try c.encode(verdict, forKey: AnyKey("verdict"))
        try c.encode(explanation, forKey: AnyKey("explanation"))
    }
}

extension TrainingResult: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        func numbers(_ key: String) throws -> [Double] { try c.decode([Double?].self, forKey: AnyKey(key)).map { $0 ?? .nan } }
        self.init(
            steps: try c.decode(Int.self, forKey: AnyKey("steps")), trainLoss: try numbers("train_loss"),
            learningRate: try numbers("learning_rate"), evals: try c.decode([EvalPoint].self, forKey: AnyKey("evals")),
            snapshots: try c.decode([TrainingSnapshot].self, forKey: AnyKey("snapshots")),
            summary: try c.decode(TrainingSummary.self, forKey: AnyKey("summary")))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(steps, forKey: AnyKey("steps"))
        try c.encode(wire(trainLoss), forKey: AnyKey("train_loss"))
        try c.encode(wire(learningRate), forKey: AnyKey("learning_rate"))
        try c.encode(evals, forKey: AnyKey("evals"))
        try c.encode(snapshots, forKey: AnyKey("snapshots"))
        try c.encode(summary, forKey: AnyKey("summary"))
    }
}

extension EvalPoint {
    /// One evaluation as it appears inside the result (same encoder, sorted keys): live `eval` events.
    package func encodedJSON() throws -> Data { try ValidatedSpec.encoder.encode(self) }
}

extension TrainingSnapshot {
    /// One snapshot as it appears inside the result: live `snapshot` events.
    package func encodedJSON() throws -> Data { try ValidatedSpec.encoder.encode(self) }
}
