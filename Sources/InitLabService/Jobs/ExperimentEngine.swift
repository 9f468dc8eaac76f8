import Foundation
import InitLabContract

/// A spec the engine accepted (decoded and validated once, against the configured limits): what the service
/// stores and what it needs to decide about it, so nothing downstream parses the spec again.
package struct PreparedSpec: Sendable, Equatable {
    /// The canonical JSON: stored, fingerprinted (Idempotency-Key) and echoed; the worker runs it.
    package var canonicalJSON: Data
    /// Progress units a run reports: layer steps (forward plus backward), or a training run's optimizer steps.
    package var layersTotal: Int
    /// Planned floating-point operations (a sweep's total budget). Default 0 (an engine without estimates).
    package var estimatedFLOPs: Double
    /// The dataset the input comes from, if any: checked for availability before the job is stored.
    package var dataset: DatasetInputRequest?

    package init(canonicalJSON: Data, layersTotal: Int, estimatedFLOPs: Double = 0, dataset: DatasetInputRequest? = nil) {
        self.canonicalJSON = canonicalJSON
        self.layersTotal = layersTotal
        self.estimatedFLOPs = estimatedFLOPs
        self.dataset = dataset
    }
}

/// A spec's dataset input as the submit path needs it: name, split and how many images the batch draws.
package struct DatasetInputRequest: Sendable, Equatable {
    package var name: String
    package var split: String
    package var batch: Int

    package init(name: String, split: String, batch: Int) {
        self.name = name
        self.split = split
        self.batch = batch
    }
}

/// How a run ended when it did not produce a result.
package enum RunFailure: Error, Sendable, Equatable {
    /// `isCancelled` returned true at a layer (or step) boundary.
    case cancelled
    case failed(String)
}

/// One layer boundary of a run: layer steps done of `total` (forward plus backward), the pass, and the layer
/// just finished as the JSON object it has in the result (same encoder, sorted keys), when the engine has one.
/// A training run reports step boundaries instead: optimizer steps done of `total`, phase "train", and the
/// evaluation and the statistics snapshot made at this boundary, if any (`trainingEvents`).
package struct EngineProgress: Sendable, Equatable {
    package var done: Int
    package var total: Int
    /// "forward", "backward" or "train".
    package var phase: String
    /// A training run's `snapshot` and `eval` made at this step boundary, in that order, each as the JSON object
    /// it has in the result's `training.snapshots` / `training.evals`.
    package var trainingEvents: [TrainingEvent] = []
    /// The finished layer (1-based `index` inside); during the forward pass of a backward run its `backward`
    /// is null. nil when the engine reports counts only.
    package var layerJSON: Data?
    /// The layer's 1-based index (nil without `layerJSON`).
    package var layerIndex: Int?

    package init(done: Int, total: Int, phase: String = "forward", layerIndex: Int? = nil, layerJSON: Data? = nil) {
        self.done = done
        self.total = total
        self.phase = phase
        self.layerIndex = layerJSON == nil ? nil : layerIndex
        self.layerJSON = layerIndex == nil ? nil : layerJSON
    }
}

/// A live event of a training run: an evaluation or a statistics snapshot.
package struct TrainingEvent: Sendable, Equatable {
    /// "eval" or "snapshot" (the SSE event name).
    package var name: String
    package var json: Data

    package init(name: String, json: Data) {
        self.name = name
        self.json = json
    }
}

/// What the service needs from the experiment code; the seam keeps the queue and the API testable with a
/// scripted engine and lets them be written before the real runner exists.
package protocol ExperimentEngine: Sendable {
    /// Decodes, validates against the configured limits and budgets, and canonicalizes a request body that
    /// `JSONParser` already read (a body that is not JSON is the caller's 400; this is the 422 step).
    func prepare(_ body: JSONValue) throws(SpecProblems) -> PreparedSpec
    /// Runs a canonical spec to completion on the calling thread and returns the result JSON (deterministic:
    /// the same spec gives the same bytes). `progress` is called at each layer boundary (with the finished
    /// layer when the engine has it), where `isCancelled` is also checked.
    /// `{"initializers": [...], "activations": [...]}` for `GET /v1/schemes`.
    func schemeCatalogJSON() -> Data
    func run(
        canonicalSpec: Data, progress: @escaping @Sendable (EngineProgress) -> Void,
        isCancelled: @escaping @Sendable () -> Bool
    ) throws(RunFailure) -> Data
}
