import Foundation

/// A spec the engine accepted: its canonical JSON (the stored, fingerprinted, echoed form) and how many
/// layer steps a run reports (forward plus backward).
public struct PreparedSpec: Sendable, Equatable {
    public var canonicalJSON: Data
    public var layersTotal: Int

    public init(canonicalJSON: Data, layersTotal: Int) {
        self.canonicalJSON = canonicalJSON
        self.layersTotal = layersTotal
    }
}

/// One offending field of a rejected spec: an RFC 6901 JSON pointer and what is wrong with it.
public struct FieldProblem: Sendable, Equatable, Codable {
    public var pointer: String
    public var detail: String

    public init(pointer: String, detail: String) {
        self.pointer = pointer
        self.detail = detail
    }
}

/// Why a body was refused: not JSON at all (400), or JSON that is not a valid spec (422).
public enum SpecRejection: Error, Sendable, Equatable {
    case malformed(String)
    case invalid([FieldProblem])
}

/// How a run ended when it did not produce a result.
public enum RunFailure: Error, Sendable, Equatable {
    /// `isCancelled` returned true at a layer boundary.
    case cancelled
    case failed(String)
}

/// What the service needs from the experiment code; the seam keeps the queue and the API testable with a
/// scripted engine and lets them be written before the real runner exists.
public protocol ExperimentEngine: Sendable {
    /// Decodes, validates against the configured limits and budgets, and canonicalizes a request body.
    func prepare(_ body: Data) throws(SpecRejection) -> PreparedSpec
    /// Runs a canonical spec to completion on the calling thread and returns the result JSON (deterministic:
    /// the same spec gives the same bytes). `progress(done, total)` is called at each layer boundary, where
    /// `isCancelled` is also checked.
    /// `{"initializers": [...], "activations": [...]}` for `GET /v1/schemes`.
    func schemeCatalogJSON() -> Data
    func run(
        canonicalSpec: Data, progress: @escaping @Sendable (Int, Int) -> Void,
        isCancelled: @escaping @Sendable () -> Bool
    ) throws(RunFailure) -> Data
}
