import Testing
@testable import InitCore

@Suite("Statistics: fused pass, histogram, exact percentiles")
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
}
