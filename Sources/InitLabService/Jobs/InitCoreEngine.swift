import Foundation
import InitCore
import InitLabContract

/// The real engine: InitLabContract's spec decoding and validation, InitCore's scheme catalog and runner.
package struct InitCoreEngine: ExperimentEngine {
    /// Loads the input batch of a dataset spec (nil for Gaussian input). Without one, dataset specs fail at run
    /// time with a message saying so.
    package typealias InputProvider = @Sendable (ExperimentSpec) throws -> InputBatch?

    package let limits: ExperimentLimits
    let runner: ExperimentRunner
    let inputProvider: InputProvider?

    package init(budget: ExperimentBudget, runner: ExperimentRunner = ExperimentRunner(), inputProvider: InputProvider? = nil) {
        self.inputProvider = inputProvider
        limits = ExperimentLimits(
            maxDepth: budget.maxDepth, maxWidth: budget.maxWidth, maxBatch: budget.maxBatch,
            maxMemoryBytes: Int(clamping: budget.maxMemoryBytes), maxFLOPs: budget.maxFLOPs)
        self.runner = runner
    }

    /// The one validation of a spec: decoded and checked against the configured limits, canonicalized.
    package func prepare(_ body: JSONValue) throws(SpecProblems) -> PreparedSpec {
        let validated = try ValidatedSpec(body, limits: limits)
        let spec = validated.spec
        var dataset: DatasetInputRequest?
        if case .dataset(let name, let split, _) = spec.input {
            dataset = DatasetInputRequest(name: name, split: split, batch: spec.batch)
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
            switch error {
            case .cancelled: throw .cancelled
            case .unsupported(let message): throw .failed("the runner cannot build this spec: \(message)")
            case .missingInput(let message): throw .failed("missing input: \(message)")
            }
        }
        guard let bytes = try? result.encodedJSON() else { throw .failed("the result could not be encoded") }
        return Data(bytes)
    }
}
