import Foundation
import InitCore

/// The real engine: InitCore's spec decoding and validation, its scheme catalog and its runner.
public struct InitCoreEngine: ExperimentEngine {
    /// Loads the input batch of a dataset spec (nil for Gaussian input). Without one, dataset specs fail at run
    /// time with a message saying so.
    public typealias InputProvider = @Sendable (ExperimentSpec) throws -> InputBatch?

    public let limits: ExperimentLimits
    let runner: ExperimentRunner
    let inputProvider: InputProvider?

    public init(budget: ExperimentBudget, runner: ExperimentRunner = ExperimentRunner(), inputProvider: InputProvider? = nil) {
        self.inputProvider = inputProvider
        limits = ExperimentLimits(
            maxDepth: budget.maxDepth, maxWidth: budget.maxWidth, maxBatch: budget.maxBatch,
            maxMemoryBytes: Int(clamping: budget.maxMemoryBytes), maxFLOPs: budget.maxFLOPs)
        // The runner re-validates; it must do so against the same (configured) limits as `prepare`.
        var configured = runner
        configured.limits = limits
        self.runner = configured
    }

    /// Not JSON at all is a 400; JSON that does not decode as a spec or fails validation is a 422 with pointers.
    public func prepare(_ body: Data) throws(SpecRejection) -> PreparedSpec {
        do {
            _ = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
        } catch {
            throw .malformed(body.isEmpty ? "the body is empty" : "syntax error")
        }
        let decoded: ExperimentSpec
        do {
            decoded = try JSONDecoder().decode(ExperimentSpec.self, from: body)
        } catch let error as SpecValidationError {
            throw .invalid(error.errors.map { FieldProblem(pointer: $0.pointer, detail: $0.detail) })
        } catch let error as DecodingError {
            throw .invalid([Self.problem(error)])
        } catch {
            throw .invalid([FieldProblem(pointer: "", detail: "must be a JSON object with the experiment fields")])
        }
        let spec: ExperimentSpec
        do throws(SpecValidationError) {
            spec = try decoded.validated(limits: limits)
        } catch {
            throw .invalid(error.errors.map { FieldProblem(pointer: $0.pointer, detail: $0.detail) })
        }
        guard let canonical = try? Self.encoder.encode(spec) else {
            throw .invalid([FieldProblem(pointer: "", detail: "could not be encoded in canonical form")])
        }
        return PreparedSpec(canonicalJSON: canonical, layersTotal: spec.depth * (spec.backward ? 2 : 1))
    }

    public func schemeCatalogJSON() -> Data {
        struct Catalog: Encodable {
            var initializers: [SchemeDescriptor]
            var activations: [SchemeDescriptor]
        }
        let catalog = Catalog(initializers: SchemeCatalog.initializers, activations: SchemeCatalog.activations)
        return (try? Self.encoder.encode(catalog)) ?? Data("{\"activations\":[],\"initializers\":[]}".utf8)
    }

    public func run(
        canonicalSpec: Data, progress: @escaping @Sendable (EngineProgress) -> Void,
        isCancelled: @escaping @Sendable () -> Bool
    ) throws(RunFailure) -> Data {
        guard let spec = try? JSONDecoder().decode(ExperimentSpec.self, from: canonicalSpec) else {
            throw .failed("the stored spec no longer decodes")
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
                            layerIndex: report.layer?.index, layerJSON: report.layer.flatMap { try? Self.encoder.encode($0) }))
                }, isCancelled: isCancelled)
        } catch {
            switch error {
            case .cancelled: throw .cancelled
            case .invalidSpec(let invalid): throw .failed("the spec is invalid for the runner: \(invalid)")
            case .missingInput(let message): throw .failed("missing input: \(message)")
            }
        }
        guard let bytes = try? result.encodedJSON() else { throw .failed("the result could not be encoded") }
        return Data(bytes)
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    /// A field problem with a JSON pointer from a decoding error's coding path.
    static func problem(_ error: DecodingError) -> FieldProblem {
        func pointer(_ path: [any CodingKey]) -> String {
            path.map { key in
                "/" + (key.intValue.map(String.init) ?? key.stringValue)
                    .replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
            }.joined()
        }
        switch error {
        case .typeMismatch(let type, let context):
            return FieldProblem(pointer: pointer(context.codingPath), detail: "must be \(describe(type))")
        case .valueNotFound(let type, let context):
            return FieldProblem(pointer: pointer(context.codingPath), detail: "must be \(describe(type)), not null")
        case .keyNotFound(let key, let context):
            return FieldProblem(pointer: pointer(context.codingPath + [key]), detail: "is required")
        case .dataCorrupted(let context):
            return FieldProblem(pointer: pointer(context.codingPath), detail: "is invalid: \(context.debugDescription)")
        @unknown default:
            return FieldProblem(pointer: "", detail: "is not a valid experiment spec")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is UInt64.Type, is Int64.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "a boolean"
        case is String.Type: "a string"
        default: "a valid value"
        }
    }
}
