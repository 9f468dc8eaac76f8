/// One problem with a spec: where (an RFC 6901 pointer into the POSTed JSON) and what is allowed.
public struct FieldError: Codable, Sendable, Hashable, CustomStringConvertible {
    /// e.g. "/init/mode"; "" is the whole spec (used for budget errors).
    public var pointer: String
    /// Always names the allowed range or limit, e.g. "must be one of fan_in, fan_out".
    public var detail: String

    public init(pointer: String, detail: String) {
        self.pointer = pointer
        self.detail = detail
    }

    public var description: String { "\(pointer.isEmpty ? "(spec)" : pointer): \(detail)" }
}

/// Every problem found in a spec (decoding stops at the first malformed value of a field, validation reports
/// all fields).
public struct SpecValidationError: Error, Codable, Sendable, Hashable, CustomStringConvertible {
    public var errors: [FieldError]

    public init(errors: [FieldError]) { self.errors = errors }
    public init(pointer: String, detail: String) { self.errors = [FieldError(pointer: pointer, detail: detail)] }

    public var description: String { errors.map(\.description).joined(separator: "; ") }
}

/// Limits a spec must respect. Built once by the executable and passed down.
public struct ExperimentLimits: Sendable, Hashable {
    /// Default: 10,000 layers.
    public var maxDepth: Int
    /// Default: 4,096 units (also bounds input_width).
    public var maxWidth: Int
    /// Default: 4,096 rows.
    public var maxBatch: Int
    /// Peak working memory a run may plan for (see `ExperimentSpec.estimate()`). Default: 1 GiB.
    public var maxMemoryBytes: Int
    /// Floating-point operations a run may plan for. Default: 2e12 (about a minute on two cores).
    public var maxFLOPs: Double

    public init(maxDepth: Int = 10_000, maxWidth: Int = 4_096, maxBatch: Int = 4_096,
                maxMemoryBytes: Int = 1 << 30, maxFLOPs: Double = 2e12) {
        self.maxDepth = maxDepth
        self.maxWidth = maxWidth
        self.maxBatch = maxBatch
        self.maxMemoryBytes = maxMemoryBytes
        self.maxFLOPs = maxFLOPs
    }

    public static let `default` = ExperimentLimits()
}

/// Why a run did not produce a result.
public enum ExperimentError: Error, Sendable, Equatable {
    /// `isCancelled()` returned true between two layers.
    case cancelled
    case invalidSpec(SpecValidationError)
    /// A dataset spec without an `InputBatch`, or a batch of the wrong shape.
    case missingInput(String)
}
