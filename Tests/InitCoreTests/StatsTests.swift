import TestSupport
import Testing
@testable import InitCore

@Suite("Statistics: fused pass, histogram, exact percentiles", .offCooperativePool)
struct StatsTests {
    /// Deterministic test data: Gaussian-ish values with ties, exact zeros, and optional non-finite values.
    static func data(rows: Int, cols: Int, seed: UInt64, special: Bool) -> [Float] {
        var v = [Float](repeating: 0, count: rows * cols)
        v.withUnsafeMutableBufferPointer { Philox(seed: seed, stream: 9).fillNormal($0, mean: 0.3, std: 2) }
        for i in stride(from: 0, to: v.count, by: 7) { v[i] = 0 }
        for i in stride(from: 3, to: v.count, by: 11) { v[i] = (v[i] * 4).rounded() / 4 }  // ties
        if special {
            v[5] = .infinity; v[17] = -.infinity; v[29] = .nan
        }
        return v
    }

    /// numpy's percentile (linear) on the sorted finite values.
    static func percentile(_ sorted: [Float], _ p: Double) -> Double {
        let h = Double(sorted.count - 1) * p
        let r = Int(h.rounded(.down)), f = h - Double(r)
        let a = Double(sorted[r])
        guard f > 0, r + 1 < sorted.count else { return a }
        return a + f * (Double(sorted[r + 1]) - a)
    }

    func compute(_ v: [Float], rows: Int, cols: Int, bins: Int = 50, dead: DeadRule = .nonPositiveColumns, threads: Int = 1) -> Stats {
        v.withUnsafeBufferPointer { StatsComputer(threads: threads).compute($0, rows: rows, cols: cols, bins: bins, dead: dead) }
    }

    @Test(arguments: [(7, 13, false), (300, 1000, true), (64, 512, false)])
    func matchesNaiveReference(rows: Int, cols: Int, special: Bool) {
        let v = Self.data(rows: rows, cols: cols, seed: UInt64(rows), special: special)
        let s = compute(v, rows: rows, cols: cols, bins: 37)
        let finite = v.filter { $0.isFinite }
        let sorted = finite.sorted()
        let mean = finite.reduce(0.0) { $0 + Double($1) } / Double(finite.count)
        let variance = finite.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(finite.count)
        #expect(s.count == v.count)
        #expect(abs(s.mean - mean) < 1e-12 * max(1, abs(mean)) + 1e-12)
        #expect(abs(s.std - variance.squareRoot()) < 1e-9 * variance.squareRoot())
        #expect(s.min == Double(sorted[0]) && s.max == Double(sorted[sorted.count - 1]))
        #expect(abs(s.meanAbs - finite.reduce(0.0) { $0 + abs(Double($1)) } / Double(finite.count)) < 1e-12)
        #expect(s.zeroFraction == Double(v.filter { $0 == 0 }.count) / Double(v.count))
        #expect(s.nonfiniteFraction == Double(v.count - finite.count) / Double(v.count))
        // Percentiles are exact order statistics: equal to the sort-based value bit for bit.
        #expect(s.p1 == Self.percentile(sorted, 0.01))
        #expect(s.p50 == Self.percentile(sorted, 0.5))
        #expect(s.p99 == Self.percentile(sorted, 0.99))
        // Histogram: all finite values counted; each bin within ±2 of naive binning (edge rounding).
        #expect(s.histogram.counts.reduce(0, +) == finite.count)
        var naive = [Int](repeating: 0, count: 37)
        for x in finite {
            naive[min(36, Int((Double(x) - s.min) / (s.max - s.min) * 37))] += 1
        }
        for b in 0..<37 { #expect(abs(naive[b] - s.histogram.counts[b]) <= 2) }
    }

    @Test func identicalForAnyThreadCount() {
        let v = Self.data(rows: 512, cols: 700, seed: 3, special: true)
        let one = compute(v, rows: 512, cols: 700, threads: 1)
        let two = compute(v, rows: 512, cols: 700, threads: 2)
        let five = compute(v, rows: 512, cols: 700, threads: 5)
        #expect(one == two && two == five)
    }

    @Test func deadUnits() {
        // 4 × 3: column 0 never positive, column 2 all zero; row 1 all zero.
        let v: [Float] = [-1, 2, 0,
                          0, 0, 0,
                          -3, 1, 0,
                          -0.5, -2, 0]
        #expect(compute(v, rows: 4, cols: 3, dead: .nonPositiveColumns).deadFraction == 2.0 / 3)
        #expect(compute(v, rows: 4, cols: 3, dead: .zeroColumns).deadFraction == 1.0 / 3)
        #expect(compute(v, rows: 4, cols: 3, dead: .zeroRows).deadFraction == 1.0 / 4)
    }

    @Test func degenerateInputs() {
        let constant = [Float](repeating: 2.5, count: 100)
        let c = compute(constant, rows: 10, cols: 10, bins: 4)
        #expect(c.std == 0 && c.p1 == 2.5 && c.p99 == 2.5 && c.histogram.counts == [100, 0, 0, 0])
        let allInf = [Float](repeating: .infinity, count: 6)
        let i = compute(allInf, rows: 2, cols: 3)
        #expect(i.nonfiniteFraction == 1 && i.mean.isNaN && i.histogram.counts.allSatisfy { $0 == 0 })
        // Extreme range (span overflows float): still exact percentiles.
        let wide: [Float] = [-3e38, 3e38, 0, 1, 2]
        let w = compute(wide, rows: 1, cols: 5, bins: 3)
        #expect(w.p50 == 1 && w.histogram.counts.reduce(0, +) == 5)
    }

    @Test func selectionMatchesSorting() {
        var v = Self.data(rows: 1, cols: 5000, seed: 11, special: false)
        let sorted = v.sorted()
        for k in [0, 1, 49, 2500, 4950, 4999] {
            var copy = v
            let x = copy.withUnsafeMutableBufferPointer { Selection.select($0.baseAddress!, count: 5000, k: k) }
            #expect(x == sorted[k])
        }
        // Many duplicates (a ReLU output): three-way partitioning.
        for i in 0..<v.count where i % 2 == 0 { v[i] = 0 }
        let s2 = v.sorted()
        var copy = v
        #expect(copy.withUnsafeMutableBufferPointer { Selection.select($0.baseAddress!, count: 5000, k: 2600) } == s2[2600])
    }

    /// Heavy-tailed matrices put most values in the fine bin around the bulk; that bin is refined by key
    /// before gathering. Percentiles must still be the sort-based values, for any thread count.
    @Test(arguments: [0, 1, 2, 3])
    func heavyTailedPercentilesAreExact(kind: Int) {
        let rows = 256, cols = 384
        var v = Self.data(rows: rows, cols: cols, seed: 21 + UInt64(kind), special: kind == 3)
        switch kind {
        case 0:  // Gaussian to the fifth: extremes ~±10⁴ while the median is ~0.
            for i in v.indices where v[i].isFinite { v[i] = v[i] * v[i] * v[i] * v[i] * v[i] }
        case 1:  // A spike: values within ±10⁻³ and a few ±500 (a weight gradient's shape), plus −0 and ties.
            for i in v.indices { v[i] = v[i] * 1e-3 }
            for i in stride(from: 0, to: v.count, by: 997) { v[i] = i % 2 == 0 ? 500 : -480 }
            for i in stride(from: 5, to: v.count, by: 13) { v[i] = -0.0 }
            for i in stride(from: 8, to: v.count, by: 17) { v[i] = 2.5e-4 }
        case 2:  // Most values identical inside the bulk: refinement ends at a single key.
            for i in v.indices where i % 3 != 0 { v[i] = 1e-4 }
            v[1] = 1e4
        default:  // Heavy tails with ±∞ and NaN.
            for i in v.indices where v[i].isFinite { v[i] = v[i] * v[i] * v[i] }
            v[100] = 3e30
        }
        let sorted = v.filter { $0.isFinite }.sorted()
        for threads in [1, 2, 3] {
            let s = compute(v, rows: rows, cols: cols, bins: 50, threads: threads)
            #expect(s.p1 == Self.percentile(sorted, 0.01), "kind \(kind), \(threads) threads")
            #expect(s.p50 == Self.percentile(sorted, 0.5), "kind \(kind), \(threads) threads")
            #expect(s.p99 == Self.percentile(sorted, 0.99), "kind \(kind), \(threads) threads")
        }
    }

    /// The refinement itself: a bin holding most of the matrix is narrowed until it is small.
    @Test func refinementNarrowsTheBulkBin() {
        let n = 1 << 16
        var v = [Float](repeating: 0, count: n)
        v.withUnsafeMutableBufferPointer { Philox(seed: 5, stream: 2).fillNormal($0, mean: 0, std: 1e-3) }
        v[0] = -600; v[1] = 600
        let low: Float = -600, scale = Float(2048.0 / 1200.0)
        // The bin holding 0: y in [1024, 1025).
        let all = StatsComputer.RankRange(yLower: Float(1024).bitPattern, yWidth: Float(1025).bitPattern - Float(1024).bitPattern,
                            count: n - 2)
        let computer = StatsComputer(threads: 2)
        let out = v.withUnsafeBufferPointer { b in
            computer.refine(b.baseAddress!, n: n, lowF: low, scale: scale, ranks: [n / 2: (all, n / 2 - 1)], workerCount: 2)
        }
        let entry = out[n / 2]!
        #expect(entry.range.count <= StatsComputer.refineThreshold(n))
        #expect(entry.range.keyLo > Int64(Int32.min) || entry.range.keyHi < Int64(Int32.max))
        // The narrowed range holds exactly `count` values, and the rank's value is among them at `local`.
        let members = v.filter {
            let k = Int64(StatsComputer.orderKey($0.bitPattern))
            return k >= entry.range.keyLo && k <= entry.range.keyHi && ((($0 - low) * scale).bitPattern &- all.yLower) < all.yWidth
        }.sorted()
        #expect(members.count == entry.range.count)
        let sortedBin = v.filter { ((($0 - low) * scale).bitPattern &- all.yLower) < all.yWidth }.sorted()
        #expect(members[entry.local] == sortedBin[n / 2 - 1])
    }
}
