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

/// One layer boundary of a run: layer steps done of `total` (forward plus backward), the pass, and the layer
/// just finished as the JSON object it has in the result (same encoder, sorted keys), when the engine has one.
public struct EngineProgress: Sendable, Equatable {
    public var done: Int
    public var total: Int
    /// "forward" or "backward".
    public var phase: String
    /// The finished layer (1-based `index` inside); during the forward pass of a backward run its `backward`
    /// is null. nil when the engine reports counts only.
    public var layerJSON: Data?
    /// The layer's 1-based index (nil without `layerJSON`).
    public var layerIndex: Int?

    public init(done: Int, total: Int, phase: String = "forward", layerIndex: Int? = nil, layerJSON: Data? = nil) {
        self.done = done
        self.total = total
        self.phase = phase
        self.layerIndex = layerJSON == nil ? nil : layerIndex
        self.layerJSON = layerIndex == nil ? nil : layerJSON
    }
}

/// What the service needs from the experiment code; the seam keeps the queue and the API testable with a
/// scripted engine and lets them be written before the real runner exists.
public protocol ExperimentEngine: Sendable {
    /// Decodes, validates against the configured limits and budgets, and canonicalizes a request body.
    func prepare(_ body: Data) throws(SpecRejection) -> PreparedSpec
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
