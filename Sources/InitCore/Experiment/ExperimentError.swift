/// Why a run did not produce a result.
public enum ExperimentError: Error, Sendable, Equatable {
    /// `isCancelled()` returned true between two layers.
    case cancelled
    /// The spec names something the core cannot build (validation at the edge rules this out).
    case unsupported(String)
    /// A dataset spec without an `InputBatch`, or a batch of the wrong shape.
    case missingInput(String)
}
