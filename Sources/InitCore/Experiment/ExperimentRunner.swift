/// Runs experiments: a forward pass that streams layer by layer, then (optionally) a backward pass over
/// checkpointed segments, measuring every layer and putting the mean-field prediction next to it.
///
/// Conventions: weights are (out, in) row-major Float32, h_l = a_{l−1}·W_lᵀ + b_l, a_l = φ(h_l); layer indices
/// are 1-based; layer l's weights come from Philox(seed, stream: l), so they are re-drawn rather than stored
/// in the backward pass (unless a segment's weights fit in 256 MiB); biases from stream 2³²+l. The backward
/// pass keeps the activation at every segment start (segments of ⌈√depth⌉ layers, rounded up to whole
/// residual blocks, or one segment when all pre-activations fit in 256 MiB) and recomputes a segment's
/// pre-activations before walking back through it. Results are bit-identical for any thread count.
///
/// The runner trusts its spec: it is a validated one (InitLabContract's `ValidatedSpec.spec`, every default
/// filled in, within the configured limits). It does not validate again.
public struct ExperimentRunner: Sendable {
    public var matmul: Matmul

    public init(matmul: Matmul = Matmul()) {
        self.matmul = matmul
    }

    /// - Parameter profile: when given, receives the run's time by phase and its products
    ///   (`initlab bench experiment`); the result is the same with or without it.
    public func run(
        _ spec: ExperimentSpec, input: InputBatch? = nil, profile: PhaseProfile? = nil,
        progress: @Sendable (ExperimentProgress) -> Void = { _ in },
        isCancelled: @Sendable () -> Bool = { false }
    ) throws(ExperimentError) -> ExperimentResult {
        let engine = try RunEngine(spec: spec, matmul: matmul, input: input, profile: profile)
        return try engine.run(progress: progress, isCancelled: isCancelled)
    }
}
