/// Where an experiment's time goes (`initlab bench experiment`): wall-clock seconds per phase, and every matrix
/// product the run issued, so the products can be replayed alone as the run's floor.
///
/// Only the leaves are timed (a product, a statistics call, an activation pass, a random fill), never one
/// inside another; what is left of the run's total (copies, bias and skip additions, the theory, the summary)
/// is the caller's "other". Measuring costs two clock reads per leaf, a few per layer.
public final class PhaseProfile {
    public enum Phase: String, CaseIterable, Sendable {
        /// Matrix products (`Matmul.multiply`).
        case matmul
        /// `StatsComputer.compute`: moments, histograms, percentiles, dead units.
        case statistics
        /// φ and φ′ (the forward pass, the backward pass's recomputation and derivative).
        case activation
        /// Weight, bias, input and output-gradient draws (Philox), LSUV's rescaling included.
        case random
    }

    /// One product as the run issued it.
    public struct Product: Sendable, Hashable {
        public var layout: MatmulLayout
        public var m: Int, n: Int, k: Int
        public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
    }

    public private(set) var seconds: [Phase: Double] = [:]
    public private(set) var products: [Product] = []
    private let clock = ContinuousClock()

    public init() {}

    /// Runs `body`, adding its duration to `phase`.
    func measure<T, E: Error>(_ phase: Phase, _ body: () throws(E) -> T) throws(E) -> T {
        let start = clock.now
        defer {
            let (s, atto) = (clock.now - start).components
            seconds[phase, default: 0] += Double(s) + Double(atto) * 1e-18
        }
        return try body()
    }

    func record(_ product: Product) { products.append(product) }
}

extension RunEngine {
    /// `body`, timed as `phase` when the run is profiled.
    @inline(__always)
    func timed<T, E: Error>(_ phase: PhaseProfile.Phase, _ body: () throws(E) -> T) throws(E) -> T {
        guard let profile else { return try body() }
        return try profile.measure(phase, body)
    }

    /// `C = op(A)·op(B)` on the engine's matmul: every product of a run goes through here.
    func gemm(
        _ layout: MatmulLayout, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>
    ) {
        profile?.record(PhaseProfile.Product(layout: layout, m: m, n: n, k: k))
        timed(.matmul) { matmul.multiply(layout, m: m, n: n, k: k, a: a, b: b, c: c) }
    }
}
