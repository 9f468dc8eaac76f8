import TestSupport
import Synchronization
import Testing

@testable import InitCore

/// Shapes (m, n, k): degenerate, skinny, primes, and the edges of the register tile (MR = 4, NR = 24) and of
/// the cache blocks (KC = 256, MC = 128), each ±1.
let matmulShapes: [(Int, Int, Int)] = [
    (1, 1, 1), (1, 257, 13), (257, 1, 13), (1, 1, 300), (7, 13, 257), (13, 7, 7), (257, 13, 7),
    (3, 23, 5), (4, 24, 1), (5, 25, 2), (3, 25, 255), (5, 23, 256), (4, 24, 257),
    (127, 47, 64), (128, 48, 64), (129, 49, 64), (131, 71, 513), (513, 7, 13), (7, 513, 257),
    (257, 257, 257),
    // A last panel of exactly 16 columns (the 4×16 kernels straight into C), on the in-place and packed paths.
    (8, 40, 300), (260, 16, 33),
    // Tall (an im2col product): at 2 threads and more each row block packs its own A (`packsALocally`).
    (1031, 29, 300), (3500, 30, 20),
]

/// nil when the arrays are bit-identical, else a short description of the first difference (comparing
/// whole arrays in `#expect` would print them entirely on failure).
func firstMismatch(_ x: [Float], _ y: [Float]) -> String? {
    guard x.count == y.count else { return "counts \(x.count) vs \(y.count)" }
    for i in x.indices where x[i].bitPattern != y[i].bitPattern {
        return "index \(i): \(x[i]) vs \(y[i])"
    }
    return nil
}

/// Reference: the same product in Double, plus Σ|a||b| per element for the error bound.
func referenceProduct(
    _ layout: MatmulLayout, m: Int, n: Int, k: Int, a: [Float], b: [Float]
) -> (value: [Double], magnitude: [Double]) {
    var value = [Double](repeating: 0, count: m * n)
    var magnitude = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var s = 0.0, t = 0.0
            for p in 0..<k {
                let av: Float, bv: Float
                switch layout {
                case .nn: av = a[i * k + p]; bv = b[p * n + j]
                case .nt: av = a[i * k + p]; bv = b[j * k + p]
                case .tn: av = a[p * m + i]; bv = b[p * n + j]
                }
                s += Double(av) * Double(bv)
                t += abs(Double(av) * Double(bv))
            }
            value[i * n + j] = s
            magnitude[i * n + j] = t
        }
    }
    return (value, magnitude)
}

/// C (+)= op(A)·op(B) through `Matmul`, or with `forceParallel` through the multi-threaded path even for
/// shapes below the threading threshold, or with `directMaxRows` set through the in-place path (`Int.max`) or
/// the packed one (0) whatever the shape.
func product(
    _ layout: MatmulLayout, m: Int, n: Int, k: Int, a: [Float], b: [Float], c initial: [Float],
    accumulate: Bool, threads: Int, forceParallel: Bool = false, directMaxRows: Int? = nil
) -> [Float] {
    var c = initial
    a.withUnsafeBufferPointer { ap in
        b.withUnsafeBufferPointer { bp in
            c.withUnsafeMutableBufferPointer { cp in
                // Buffers of at least one element each, so the base addresses are never nil.
                guard let pa = ap.baseAddress, let pb = bp.baseAddress, let pc = cp.baseAddress else { return }
                if forceParallel || directMaxRows != nil {
                    GemmProblem(layout: layout, m: m, n: n, k: k, a: pa, b: pb, c: pc, accumulate: accumulate)
                        .run(
                            threads: threads, minWorkPerThread: forceParallel ? 1 : GemmBlocking.minWorkPerThread,
                            directMaxRows: directMaxRows ?? GemmBlocking.directMaxRows)
                } else {
                    Matmul(threads: threads).multiply(
                        layout, m: m, n: n, k: k, a: pa, b: pb, c: pc, accumulate: accumulate)
                }
            }
        }
    }
    return c
}

struct MatmulCase: CustomTestStringConvertible, Sendable {
    let layout: MatmulLayout
    let m: Int, n: Int, k: Int
    var testDescription: String { "\(layout) \(m)×\(n)×\(k)" }

    /// A, B and an initial C, uniform in [−1, 1), from `seed` and the shape.
    func operands(seed: UInt64) -> (a: [Float], b: [Float], c: [Float]) {
        let rng = Philox(seed: seed, stream: UInt64(m * 1_000_003 + n * 1009 + k))
        return (rng.uniform(count: m * k, low: -1, high: 1), rng.uniform(count: k * n, low: -1, high: 1, offset: 1 << 32),
                rng.uniform(count: m * n, low: -1, high: 1, offset: 1 << 33))
    }
}

let matmulCases: [MatmulCase] = MatmulLayout.allCases.flatMap { layout in
    matmulShapes.map { MatmulCase(layout: layout, m: $0.0, n: $0.1, k: $0.2) }
}

@Suite("Matmul", .offCooperativePool)
struct MatmulTests {
    /// Every layout and shape, accumulate on and off, against a Double reference; and the results for 1, 2,
    /// 3, 7 threads and all cores must be bit-identical.
    ///
    /// Tolerance: each output is a sum of k products computed in Float with FMA; the rounding error of
    /// such a sum is bounded by about k·u·Σ|a_p b_p| (u = 2⁻²⁴), but blocked summation and random signs make
    /// it far smaller in practice. We require |c − ref| ≤ 8·u·(Σ|a||b| + |c₀|)·√(k+1) + tiny: relative to
    /// Σ|a||b| because cancellation can make |ref| itself arbitrarily small, and √k because rounding errors
    /// accumulate like a random walk. A wrong index, a missed k-block or a lost accumulate term produces errors
    /// of the order of Σ|a||b| itself, far above this bound.
    @Test(arguments: matmulCases)
    func matchesReference(_ tc: MatmulCase) {
        let (m, n, k) = (tc.m, tc.n, tc.k)
        let (a, b, c0) = tc.operands(seed: 2024)
        let ref = referenceProduct(tc.layout, m: m, n: n, k: k, a: a, b: b)
        let u = Double(Float.ulpOfOne) / 2
        for accumulate in [false, true] {
            let one = product(tc.layout, m: m, n: n, k: k, a: a, b: b, c: c0, accumulate: accumulate, threads: 1)
            var worst = 0.0
            for idx in 0..<(m * n) {
                let expected = ref.value[idx] + (accumulate ? Double(c0[idx]) : 0)
                let scale = ref.magnitude[idx] + (accumulate ? abs(Double(c0[idx])) : 0)
                let bound = 8 * u * scale * (Double(k) + 1).squareRoot() + 1e-30
                worst = max(worst, abs(Double(one[idx]) - expected) / bound)
            }
            #expect(worst <= 1, "error / bound = \(worst) (accumulate \(accumulate))")
            for threads in [2, 3, 7, Matmul.defaultThreads] {
                for forceParallel in [false, true] {
                    let many = product(
                        tc.layout, m: m, n: n, k: k, a: a, b: b, c: c0, accumulate: accumulate, threads: threads,
                        forceParallel: forceParallel)
                    #expect(
                        firstMismatch(many, one) == nil,
                        "threads \(threads) (forced parallel: \(forceParallel)) differ from 1 thread (accumulate \(accumulate))")
                }
            }
        }
    }

    /// The in-place path (`runDirect`, taken for few rows) and the packed path give the same bits, for every
    /// layout and shape (edge tiles, several k-slices, tall and wide), accumulate on and off, on one thread and
    /// forced onto several.
    @Test(arguments: matmulCases)
    func inPlaceAndPackedPathsAgree(_ tc: MatmulCase) {
        let (m, n, k) = (tc.m, tc.n, tc.k)
        let (a, b, c0) = tc.operands(seed: 77)
        for accumulate in [false, true] {
            let packed = product(
                tc.layout, m: m, n: n, k: k, a: a, b: b, c: c0, accumulate: accumulate, threads: 1, directMaxRows: 0)
            for (threads, forced) in [(1, false), (2, true), (3, true)] {
                let inPlace = product(
                    tc.layout, m: m, n: n, k: k, a: a, b: b, c: c0, accumulate: accumulate, threads: threads,
                    forceParallel: forced, directMaxRows: Int.max)
                #expect(
                    firstMismatch(inPlace, packed) == nil,
                    "in place on \(threads) threads differs from packed (accumulate \(accumulate))")
            }
        }
    }

    /// The 4×16 kernels give the bits of the 4×24 kernels' first 16 columns, with A packed and in place, stored
    /// and added, over k = 1 … 300, and leave the panel's last 8 columns of C alone (B's lanes there hold values
    /// that must not be read into the first 16).
    @Test func narrowKernelsAreTheWideKernelsFirstSixteenColumns() {
        let (mr, nr) = (GemmBlocking.mr, GemmBlocking.nr)
        for kc in [1, 7, 64, 300] {
            let rng = Philox(seed: 3, stream: UInt64(kc))
            let packedA = FloatBuffer(mr * kc), b = FloatBuffer(kc * nr), rowMajorA = FloatBuffer(mr * kc)
            for (i, v) in rng.uniform(count: mr * kc, low: -1, high: 1).enumerated() { packedA.pointer[i] = v }
            for (i, v) in rng.uniform(count: kc * nr, low: -1, high: 1, offset: 1 << 32).enumerated() { b.pointer[i] = v }
            for i in 0..<mr { for p in 0..<kc { rowMajorA.pointer[i * kc + p] = packedA.pointer[p * mr + i] } }
            let c0 = rng.uniform(count: mr * nr, low: -1, high: 1, offset: 1 << 33)
            for add in [false, true] {
                for strided in [false, true] {
                    let wide = FloatBuffer(mr * nr), narrow = FloatBuffer(mr * nr)
                    for i in 0..<(mr * nr) { wide.pointer[i] = c0[i]; narrow.pointer[i] = c0[i] }
                    if strided {
                        gemmMicroKernel4x24Strided(kc, rowMajorA.pointer, kc, 1, b.pointer, wide.pointer, nr, add)
                        gemmMicroKernel4x16Strided(kc, rowMajorA.pointer, kc, 1, b.pointer, narrow.pointer, nr, add)
                    } else {
                        gemmMicroKernel4x24(kc, packedA.pointer, b.pointer, wide.pointer, nr, add)
                        gemmMicroKernel4x16(kc, packedA.pointer, b.pointer, narrow.pointer, nr, add)
                    }
                    for i in 0..<mr {
                        for j in 0..<nr {
                            let expected = j < GemmBlocking.narrow ? wide.pointer[i * nr + j] : c0[i * nr + j]
                            #expect(narrow.pointer[i * nr + j].bitPattern == expected.bitPattern,
                                    "kc \(kc), add \(add), strided \(strided): (\(i), \(j))")
                        }
                    }
                }
            }
        }
    }

    /// Plain SGD's step with the gradient computed in the kernels (`sgdStep`) gives the bits of the gradient
    /// stored by `multiply` and then `MatmulSGDStep.apply`, for every layout and every shape whose reduction fits
    /// one slice (full, 4×16 and edge tiles), with and without weight decay, on one thread and forced onto several.
    @Test(arguments: matmulCases.filter { $0.k <= Matmul.sgdStepMaxReduction })
    func sgdStepInTheKernelsIsTheStoredGradientsStep(_ tc: MatmulCase) {
        let (m, n, k) = (tc.m, tc.n, tc.k)
        let (a, b, w0) = tc.operands(seed: 19)
        for step in [MatmulSGDStep(rate: 0.05, weightDecay: 0), MatmulSGDStep(rate: 0.3, weightDecay: 1e-2)] {
            let gradient = product(tc.layout, m: m, n: n, k: k, a: a, b: b, c: w0, accumulate: false, threads: 1)
            var expected = w0
            expected.withUnsafeMutableBufferPointer { wp in
                gradient.withUnsafeBufferPointer { gp in
                    if let pw = wp.baseAddress, let pg = gp.baseAddress { step.apply(w: pw, g: pg, count: m * n) }
                }
            }
            for (threads, forced) in [(1, false), (2, true), (3, true)] {
                var w = w0
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        w.withUnsafeMutableBufferPointer { wp in
                            guard let pa = ap.baseAddress, let pb = bp.baseAddress, let pw = wp.baseAddress else { return }
                            if forced {
                                var problem = GemmProblem(layout: tc.layout, m: m, n: n, k: k, a: pa, b: pb, c: pw, accumulate: false)
                                problem.sgd = step
                                problem.run(threads: threads, minWorkPerThread: 1)
                            } else {
                                Matmul(threads: threads).sgdStep(tc.layout, m: m, n: n, k: k, a: pa, b: pb, w: pw, step: step)
                            }
                        }
                    }
                }
                #expect(firstMismatch(w, expected) == nil, "\(step) on \(threads) threads")
            }
        }
    }

    /// `multiply(…, alongside:)` runs each side item exactly once, in the product's round when the product takes
    /// the direct path (nn/nt, few rows) and before it otherwise, and leaves the product's bits unchanged: here
    /// item 0 is a second product on one thread, as in a training step's backward, and items 1–3 count.
    @Test(arguments: [(MatmulLayout.nn, 64, 256, 256), (.nt, 64, 100, 300), (.tn, 96, 80, 64), (.nn, 300, 50, 40), (.nt, 0, 5, 5)])
    func sideWorkRunsOnceBesideTheProduct(_ shape: (MatmulLayout, Int, Int, Int)) {
        let (layout, m, n, k) = shape
        let rng = Philox(seed: 5, stream: UInt64(m * 7919 + n * 31 + k))
        let a = rng.uniform(count: max(1, m * k), low: -1, high: 1)
        let b = rng.uniform(count: max(1, k * n), low: -1, high: 1, offset: 1 << 32)
        let sideA = rng.uniform(count: 48 * 40, low: -1, high: 1, offset: 1 << 33)
        let sideB = rng.uniform(count: 48 * 56, low: -1, high: 1, offset: 1 << 34)
        let plain = product(layout, m: m, n: n, k: k, a: a, b: b, c: [Float](repeating: 0, count: max(1, m * n)),
                            accumulate: false, threads: 1)
        let sidePlain = product(.tn, m: 40, n: 56, k: 48, a: sideA, b: sideB, c: [Float](repeating: 0, count: 40 * 56),
                                accumulate: false, threads: 1)
        for threads in [1, 2, 3] {
            var c = [Float](repeating: 0, count: max(1, m * n))
            var sideC = [Float](repeating: 0, count: 40 * 56)
            let runs = Atomic<Int>(0), later = Atomic<Int>(0)
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        sideA.withUnsafeBufferPointer { sap in
                            sideB.withUnsafeBufferPointer { sbp in
                                sideC.withUnsafeMutableBufferPointer { scp in
                                    guard let pa = ap.baseAddress, let pb = bp.baseAddress, let pc = cp.baseAddress,
                                          let sa = sap.baseAddress, let sb = sbp.baseAddress, let sc = scp.baseAddress
                                    else { return }
                                    Matmul(threads: threads).multiply(layout, m: m, n: n, k: k, a: pa, b: pb, c: pc, alongside: 4) { i in
                                        guard i == 0 else {
                                            later.add(1 << (8 * (i - 1)), ordering: .relaxed)
                                            return
                                        }
                                        runs.add(1, ordering: .relaxed)
                                        Matmul(threads: 1).multiply(.tn, m: 40, n: 56, k: 48, a: sa, b: sb, c: sc)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            #expect(runs.load(ordering: .relaxed) == 1, "side item 0 ran \(runs.load(ordering: .relaxed)) times on \(threads) threads")
            #expect(later.load(ordering: .relaxed) == 0x01_01_01, "side items 1–3 ran \(String(later.load(ordering: .relaxed), radix: 16)) (one byte each) on \(threads) threads")
            #expect(firstMismatch(c, plain) == nil, "product differs on \(threads) threads")
            #expect(firstMismatch(sideC, sidePlain) == nil, "side product differs on \(threads) threads")
        }
    }

    /// Bit-identity across thread counts on a product large enough to be split many ways (several k-blocks,
    /// several row and column blocks), and for every layout.
    @Test(arguments: MatmulLayout.allCases)
    func bitIdenticalAcrossThreadCounts(_ layout: MatmulLayout) {
        let (m, n, k) = (300, 520, 600)
        let rng = Philox(seed: 5, stream: 9)
        let a = rng.normal(count: m * k, mean: 0, std: 1)
        let b = rng.normal(count: k * n, mean: 0, std: 1, offset: 1 << 40)
        let zero = [Float](repeating: 0, count: m * n)
        let one = product(layout, m: m, n: n, k: k, a: a, b: b, c: zero, accumulate: false, threads: 1)
        for threads in [2, 3, 4, 7, 16] {
            let many = product(layout, m: m, n: n, k: k, a: a, b: b, c: zero, accumulate: false, threads: threads)
            #expect(firstMismatch(many, one) == nil, "threads \(threads)")
        }
        // And the result is right (spot-check rows against the reference on a few entries).
        let ref = referenceProduct(layout, m: m, n: n, k: k, a: a, b: b)
        let u = Double(Float.ulpOfOne) / 2
        for idx in stride(from: 0, to: m * n, by: 997) {
            let bound = 8 * u * ref.magnitude[idx] * (Double(k) + 1).squareRoot()
            #expect(abs(Double(one[idx]) - ref.value[idx]) <= bound)
        }
    }

    /// The three layouts are the same product on transposed storage.
    @Test func layoutsAgreeOnTransposedOperands() {
        let (m, n, k) = (37, 29, 41)
        let rng = Philox(seed: 77, stream: 1)
        let a = Matrix(rows: m, cols: k, storage: rng.uniform(count: m * k, low: -2, high: 2))
        let b = Matrix(rows: k, cols: n, storage: rng.uniform(count: k * n, low: -2, high: 2, offset: 1 << 20))
        func transpose(_ x: Matrix) -> Matrix {
            var t = Matrix(rows: x.cols, cols: x.rows)
            for r in 0..<x.rows { for c in 0..<x.cols { t[c, r] = x[r, c] } }
            return t
        }
        let mm = Matmul(threads: 2)
        let nn = mm.multiply(.nn, a, b)
        #expect(nn.rows == m && nn.cols == n)
        // Packing turns every layout into the same packed panels, so results are bit-identical.
        #expect(firstMismatch(mm.multiply(.nt, a, transpose(b)).storage, nn.storage) == nil)
        #expect(firstMismatch(mm.multiply(.tn, transpose(a), b).storage, nn.storage) == nil)
    }

    @Test func emptyReductionZeroesOrKeepsC() {
        let a: [Float] = [0], b: [Float] = [0]
        let c0: [Float] = [1, 2, 3, 4, 5, 6]
        let zeroed = product(.nn, m: 2, n: 3, k: 0, a: a, b: b, c: c0, accumulate: false, threads: 2)
        #expect(zeroed == [0, 0, 0, 0, 0, 0])
        let kept = product(.nt, m: 2, n: 3, k: 0, a: a, b: b, c: c0, accumulate: true, threads: 2)
        #expect(kept == c0)
    }

    /// `runDirect`'s work queues on one thread: a worker takes its own range from the front, told its next item
    /// while it has one, then the other ranges from their backs, and then nothing.
    @Test func workQueuesTakeTheirOwnFrontThenTheOthersBacks() {
        let queues = WorkQueues(items: 7, workers: 2)  // ranges 0..<3 and 3..<7
        var taken: [(Int, Int?)] = []
        while let next = queues.take(worker: 0) { taken.append(next) }
        #expect(taken.map(\.0) == [0, 1, 2, 6, 5, 4, 3])
        #expect(taken.map(\.1) == [1, 2, nil, nil, nil, nil, nil])
        #expect(queues.take(worker: 1) == nil)
        let few = WorkQueues(items: 1, workers: 3)  // ranges 0..<0, 0..<0, 0..<1
        #expect(few.take(worker: 0)?.0 == 0)
        #expect(few.take(worker: 2) == nil)
    }

    /// With every worker taking at once, each item is taken exactly once, whatever the counts.
    @Test func workQueuesHandOutEveryItemOnce() {
        for workers in [2, 3, 4] {
            for items in [0, 1, 5, 64, 301] {
                for round in 0..<20 {
                    let hits = (0..<items).map { _ in ComputePoolTests.Counter() }
                    let queues = WorkQueues(items: items, workers: workers)
                    ComputePool.shared.run(iterations: workers, threads: workers) { w in
                        while let (t, _) = queues.take(worker: w) { hits[t].value.add(1, ordering: .relaxed) }
                    }
                    #expect(hits.allSatisfy { $0.value.load(ordering: .relaxed) == 1 },
                            "workers \(workers), items \(items), round \(round)")
                }
            }
        }
    }
}
