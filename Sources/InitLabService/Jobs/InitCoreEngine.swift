import Foundation
import InitCore
import InitLabContract

/// The real engine: InitLabContract's spec decoding and validation, InitCore's scheme catalog and runner.
package struct InitCoreEngine: ExperimentEngine {
    /// Loads the input batch of a dataset spec (nil for Gaussian input). Without one, dataset specs fail at run
    /// time with a message saying so.
    package typealias InputProvider = @Sendable (ExperimentSpec) throws -> InputBatch?
    /// Loads a training run's examples (both splits of MNIST or Fashion-MNIST; nil for the teacher task). Without
    /// one, training on a dataset fails at run time with a message saying so.
    package typealias TrainingDataProvider = @Sendable (TrainDataset) throws -> TrainingData?

    package let limits: ExperimentLimits
    let runner: ExperimentRunner
    let inputProvider: InputProvider?
    let trainingData: TrainingDataProvider?

    package init(
        budget: ExperimentBudget, runner: ExperimentRunner = ExperimentRunner(), inputProvider: InputProvider? = nil,
        trainingData: TrainingDataProvider? = nil
    ) {
        self.inputProvider = inputProvider
        self.trainingData = trainingData
        limits = ExperimentLimits(
            maxDepth: budget.maxDepth, maxWidth: budget.maxWidth, maxBatch: budget.maxBatch,
            maxMemoryBytes: Int(clamping: budget.maxMemoryBytes), maxFLOPs: budget.maxFLOPs,
            maxTrainSteps: budget.maxTrainSteps)
        self.runner = runner
    }

    /// The one validation of a spec: decoded and checked against the configured limits, canonicalized.
    package func prepare(_ body: JSONValue) throws(SpecProblems) -> PreparedSpec {
        let validated = try ValidatedSpec(body, limits: limits)
        let spec = validated.spec
        var dataset: DatasetInputRequest?
        if case .dataset(let name, let split, _) = spec.input {
            dataset = DatasetInputRequest(name: name, split: split, batch: spec.batch)
        } else if let train = spec.train, train.dataset.needsDownload {
            // Both splits are read (training and validation); the batch draws from the training split.
            dataset = DatasetInputRequest(name: train.dataset.rawValue, split: "train", batch: spec.batch)
        }
        return PreparedSpec(
            canonicalJSON: validated.canonicalJSON, layersTotal: validated.layersTotal,
            estimatedFLOPs: spec.estimate().flops, dataset: dataset)
    }

    package func schemeCatalogJSON() -> Data { SchemeCatalogJSON.encoded() }

    /// Runs a stored canonical spec. It was validated when it was accepted, so it is decoded, not validated
    /// again (`ValidatedSpec(trustedCanonicalJSON:)`), and handed to the runner as it is.
    package func run(
        canonicalSpec: Data, progress: @escaping @Sendable (EngineProgress) -> Void,
        isCancelled: @escaping @Sendable () -> Bool
    ) throws(RunFailure) -> Data {
        let spec: ExperimentSpec
        do {
            spec = try ValidatedSpec(trustedCanonicalJSON: canonicalSpec).spec
        } catch {
            throw .failed("the stored spec no longer decodes: \(error)")
        }
        if spec.train != nil { return try train(spec, progress: progress, isCancelled: isCancelled) }
        var input: InputBatch?
        if spec.input.isDataset {
            guard let inputProvider else {
                throw .failed("dataset input is not available in this server (no dataset loader configured)")
            }
            do {
                input = try inputProvider(spec)
            } catch {
                throw .failed("loading the dataset failed: \(error)")
            }
        }
        let result: ExperimentResult
        do throws(ExperimentError) {
            result = try runner.run(
                spec, input: input,
                progress: { report in
                    progress(
                        EngineProgress(
                            done: report.layersDone, total: report.layersTotal, phase: report.phase,
                            layerIndex: report.layer?.index, layerJSON: report.layer.flatMap { try? $0.encodedJSON() }))
                }, isCancelled: isCancelled)
        } catch {
            throw Self.failure(error)
        }
        guard let bytes = try? result.encodedJSON() else { throw .failed("the result could not be encoded") }
        return Data(bytes)
    }

    /// A training run (`spec.train`): its examples loaded (once per process) for MNIST and Fashion-MNIST,
    /// progress in optimizer steps with each evaluation and snapshot, cancellation between steps.
    func train(
        _ spec: ExperimentSpec, progress: @escaping @Sendable (EngineProgress) -> Void,
        isCancelled: @escaping @Sendable () -> Bool
    ) throws(RunFailure) -> Data {
        var data: TrainingData?
        if let dataset = spec.train?.dataset, dataset.needsDownload {
            guard let trainingData else {
                throw .failed("training on \(dataset.rawValue) is not available in this server (no dataset loader configured)")
            }
            do {
                data = try trainingData(dataset)
            } catch {
                throw .failed("loading the dataset failed: \(error)")
            }
        }
        let result: ExperimentResult
        do throws(ExperimentError) {
            result = try Trainer(matmul: runner.matmul).run(
                spec, data: data,
                progress: { report in
                    var events: [TrainingEvent] = []
                    if let json = try? report.snapshot?.encodedJSON() { events.append(TrainingEvent(name: "snapshot", json: json)) }
                    if let json = try? report.eval?.encodedJSON() { events.append(TrainingEvent(name: "eval", json: json)) }
                    var update = EngineProgress(done: report.step, total: report.steps, phase: "train")
                    update.trainingEvents = events
                    progress(update)
                }, isCancelled: isCancelled)
        } catch {
            throw Self.failure(error)
        }
        // A run that diverged stopped early: the steps it skipped are done too.
        if let steps = spec.train?.steps, let taken = result.training?.steps, taken < steps {
            progress(EngineProgress(done: steps, total: steps, phase: "train"))
        }
        guard let bytes = try? result.encodedJSON() else { throw .failed("the result could not be encoded") }
        return Data(bytes)
    }

    static func failure(_ error: ExperimentError) -> RunFailure {
        switch error {
        case .cancelled: .cancelled
        case .unsupported(let message): .failed("the runner cannot build this spec: \(message)")
        case .missingInput(let message): .failed("missing input: \(message)")
        }
    }
}
