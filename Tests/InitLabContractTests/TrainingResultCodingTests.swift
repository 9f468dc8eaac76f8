import Foundation
import InitCore
import InitLabContract
import TestSupport
import Testing

@Suite("Training result: wire form", .offCooperativePool)
struct TrainingResultCodingTests {
    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A diverged run: non-finite losses are null, like every non-finite number of a result; a target never
    /// reached has step null.
    @Test func divergedRunEncodesNonFiniteAsNull() throws {
        let summary = TrainingSummary(
            finalAccuracy: 0.1, finalLoss: .nan, bestAccuracy: 0.125, bestStep: 0,
            stepsToTarget: [TargetReached(accuracy: 0.5, step: nil), TargetReached(accuracy: 0.1, step: 1)],
            divergedAtStep: 2, chanceLoss: 2.5, stuckAtChance: false, verdict: .diverged, explanation: "diverged at step 2")
        let training = TrainingResult(
            steps: 2, trainLoss: [2.25, .infinity], learningRate: [0.5, 0.5],
            evals: [EvalPoint(step: 1, loss: 2.5, accuracy: 0.125), EvalPoint(step: 2, loss: .nan, accuracy: 0.1)],
            snapshots: [], summary: summary)
        let text = try Self.encode(training)
        #expect(text == #"{"evals":[{"accuracy":0.125,"loss":2.5,"step":1},{"accuracy":0.1,"loss":null,"step":2}],"learning_rate":[0.5,0.5],"snapshots":[],"steps":2,"summary":{"best_accuracy":0.125,"best_step":0,"chance_loss":2.5,"diverged_at_step":2,"explanation":"diverged at step 2","final_accuracy":0.1,"final_loss":null,"steps_to_target":[{"accuracy":0.5,"step":null},{"accuracy":0.1,"step":1}],"stuck_at_chance":false,"verdict":"diverged"},"train_loss":[2.25,null]}"#)
        // Null reads back as NaN.
        let back = try JSONDecoder().decode(TrainingResult.self, from: Data(text.utf8))
        #expect(back.trainLoss[0] == 2.25 && back.trainLoss[1].isNaN && back.summary.finalLoss.isNaN)
        #expect(back.summary.stepsToTarget == summary.stepsToTarget && back.summary.verdict == .diverged)
    }

    @Test(arguments: TrainingVerdict.allCases)
    func verdictsAreSnakeCase(verdict: TrainingVerdict) throws {
        #expect(try Self.encode([verdict]) == "[\"\(verdict.rawValue)\"]")
        #expect(["diverged", "stuck_at_chance", "not_learning", "learns"].contains(verdict.rawValue))
    }

    /// A real (tiny) training run: the result has `training` with every member, and reads back to the same value.
    @Test func realRunRoundTrips() throws {
        let spec = try ExperimentSpec.decodeValidated(from: Data(#"{"depth": 2, "width": 8, "batch": 4, "init": "kaiming_normal", "activation": "relu", "train": {"dataset": "teacher", "steps": 6, "eval_every": 3, "stats_every": 3, "validation_size": 20}}"#.utf8))
        let result = try Trainer(matmul: Matmul(threads: 1)).run(spec, data: nil)
        let bytes = try result.encodedJSON()
        let json = try JSONParser().parse(bytes)
        let training = try #require(json["training"])
        #expect(training["train_loss"]?.array?.count == 6 && training["learning_rate"]?.array?.count == 6)
        #expect(training["evals"]?.array?.compactMap { $0["step"]?.numberValue?.exactInt64 } == [3, 6])
        #expect(training["snapshots"]?.array?.compactMap { $0["step"]?.numberValue?.exactInt64 } == [0, 3, 5])
        let layer = try #require(training["snapshots"]?.array?.first?["layers"]?.array?.first?.object)
        #expect(Set(layer.keys) == ["index", "forward", "weight_grad_norm", "update_ratio", "weight_std", "weight_std_drift"])
        let summary = try #require(training["summary"]?.object)
        #expect(Set(summary.keys) == [
            "final_accuracy", "final_loss", "best_accuracy", "best_step", "steps_to_target", "diverged_at_step", "chance_loss",
            "stuck_at_chance", "verdict", "explanation",
        ])
        // The result's spec is the canonical one, with its train block.
        #expect(json["spec"]?["train"]?["steps"]?.numberValue?.exactInt64 == 6 && json["spec"]?["input"] == nil)
        let back = try JSONDecoder().decode(ExperimentResult.self, from: Data(bytes))
        #expect(try back.encodedJSON() == bytes)
        #expect(back.training?.evals == result.training?.evals)
    }

    /// An init-time result has no `training` key at all.
    @Test func initTimeResultHasNoTrainingKey() throws {
        let spec = try ExperimentSpec.decodeValidated(from: Data(#"{"depth": 2, "width": 8, "batch": 4, "init": "kaiming_normal", "activation": "relu"}"#.utf8))
        let bytes = try ExperimentRunner(matmul: Matmul(threads: 1)).run(spec).encodedJSON()
        let object = try #require(try JSONParser().parse(bytes).object)
        #expect(Set(object.keys) == ["spec", "conventions", "layers", "summary"])
    }
}
