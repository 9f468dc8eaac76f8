import TestSupport
import Foundation
import Testing

@testable import InitCore

@Suite("Philox", .offCooperativePool)
struct PhiloxTests {
    /// Known-answer vectors for philox4x32_10 from Random123's kat_vectors.
    @Test func knownAnswers() {
        func check(_ ctr: (UInt32, UInt32, UInt32, UInt32), _ key: (UInt32, UInt32), _ expected: [UInt32]) {
            let r = Philox.block(counter: ctr, key: key)
            #expect([r.0, r.1, r.2, r.3] == expected)
        }
        check((0, 0, 0, 0), (0, 0), [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
        check(
            (0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff), (0xffff_ffff, 0xffff_ffff),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
        check(
            (0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), (0xa409_3822, 0x299f_31d0),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
    }

    /// InitLab's convention: counter -> words 0-1, stream -> words 2-3, seed -> key (low word first).
    @Test func blockConvention() {
        let g = Philox(seed: 0x299f_31d0_a409_3822, stream: 0x0370_7344_1319_8a2e)
        let r = g.block(0x85a3_08d3_243f_6a88)
        #expect([r.0, r.1, r.2, r.3] == [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
        let z = Philox(seed: .max, stream: .max).block(.max)
        #expect([z.0, z.1, z.2, z.3] == [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
    }

    /// The 8-lane SIMD rounds equal the scalar reference lane by lane, for arbitrary counters.
    @Test func simdBlocksMatchScalar() {
        let g = Philox(seed: 0xDEAD_BEEF_0123_4567, stream: 0x0000_0001_FFFF_FFFE)
        var counters = U64x8(repeating: 0)
        for l in 0..<8 { counters[l] = UInt64(l) &* 0x9E37_79B9_7F4A_7C15 &+ (UInt64(l) << 61) }
        let (lo, hi) = Philox.split(counters)
        let (w0, w1, w2, w3) = g.blocks8(lo, hi)
        for l in 0..<8 {
            let r = g.block(counters[l])
            #expect([w0[l], w1[l], w2[l], w3[l]] == [r.0, r.1, r.2, r.3], "lane \(l)")
        }
    }

    /// Block and word of element g (the index convention of PhiloxFill.swift).
    static func location(_ g: UInt64) -> (block: UInt64, word: Int) {
        (8 * (g / 32) + g % 8, Int((g % 32) / 8))
    }

    /// Uniform element g is exactly low + (high − low)·(word >> 8)·2⁻²⁴ of its word.
    @Test func uniformFollowsIndexConvention() {
        let g = Philox(seed: 11, stream: 4)
        let offset: UInt64 = 1_000_003
        let xs = g.uniform(count: 1000, low: -3, high: 5, offset: offset)
        for (i, x) in xs.enumerated() {
            let idx = offset + UInt64(i)
            let (block, word) = Self.location(idx)
            let b = g.block(block)
            let w = [b.0, b.1, b.2, b.3][word]
            let u = Float(w >> 8) * (1.0 / 16_777_216.0)
            #expect(x == Float(-3).addingProduct(8, u))
        }
    }

    @Test func uniformStaysBelowHigh() {
        let g = Philox(seed: 3, stream: 3)
        let high = Float(1).nextUp
        let xs = g.uniform(count: 10_000, low: 1, high: high)
        #expect(xs.allSatisfy { $0 >= 1 && $0 < high })
        let ys = g.uniform(count: 100_000, low: -1, high: 1, threads: 2)
        #expect(ys.allSatisfy { $0 >= -1 && $0 < 1 })
    }

    /// Normal element g is Box–Muller on the words of its block (pairs (w0, w1) and (w2, w3), cos then sin):
    /// checked against a Double computation from the scalar block, to the polynomial accuracy.
    @Test func normalFollowsIndexConvention() {
        let g = Philox(seed: 99, stream: 7)
        let offset: UInt64 = 77
        let zs = g.normal(count: 4000, mean: 0, std: 1, offset: offset)
        var worst = 0.0
        for (i, z) in zs.enumerated() {
            let idx = offset + UInt64(i)
            let (block, word) = Self.location(idx)
            let b = g.block(block)
            let words = [b.0, b.1, b.2, b.3]
            let pair = word / 2
            let u1 = (Double(words[2 * pair] >> 8) + 1) / 16_777_216
            let u2 = Double(words[2 * pair + 1] >> 8) / 16_777_216
            let r = (-2 * Foundation.log(u1)).squareRoot()
            let expected = word % 2 == 0 ? r * Foundation.cos(2 * Double.pi * u2) : r * Foundation.sin(2 * Double.pi * u2)
            worst = max(worst, abs(Double(z) - expected))
        }
        #expect(worst < 2e-6, "max |error| \(worst)")
        // mean and std are applied as one fused multiply-add.
        let scaled = g.normal(count: 4000, mean: 3, std: 0.5, offset: offset)
        #expect(firstMismatch(scaled, zs.map { Float(3).addingProduct(0.5, $0) }) == nil)
    }

    /// ln against Double log over (0, 1] (dense near 1, where cancellation would show) and beyond.
    @Test func vectorLogAccuracy() {
        var worstRel = 0.0, worstAbs = 0.0
        var inputs: [Float] = []
        for j in stride(from: 1, through: 1 << 24, by: 997) { inputs.append(Float(j) / 16_777_216) }
        for j in 0..<5000 { inputs.append(Float(1).nextDown - Float(j) * Float.ulpOfOne / 2) }
        for j in 0..<2000 { inputs.append(0.5 + Float(j) * 0.001) }
        inputs.append(contentsOf: [Float.leastNormalMagnitude, 1e-30, 1, 2, 1e30])
        var idx = 0
        while idx < inputs.count {
            var v = F32x8(repeating: 1)
            let lanes = min(8, inputs.count - idx)
            for l in 0..<lanes { v[l] = inputs[idx + l] }
            let r = vlog(v)
            for l in 0..<lanes {
                let exact = Foundation.log(Double(v[l]))
                let err = abs(Double(r[l]) - exact)
                worstAbs = max(worstAbs, err)
                if exact != 0 { worstRel = max(worstRel, err / abs(exact)) }
            }
            idx += lanes
        }
        // Relative error within a few float ulps (2⁻²³ ≈ 1.2e-7).
        #expect(worstRel < 4e-7, "worst relative error \(worstRel)")
        #expect(vlog(F32x8(repeating: 1)) == F32x8(repeating: 0))
    }

    /// cos/sin of a quarter-turn argument against Double cos/sin over the whole circle.
    @Test func vectorSinCosAccuracy() {
        var worst = 0.0
        var j = 0
        let total = 1 << 22  // x = 4·u2 on the 2⁻²² grid, every 61st point plus the quadrant boundaries
        var xs: [Float] = []
        while j < total { xs.append(Float(j) / 1_048_576); j += 61 }
        for q in 0...4 { for d in -3...3 { xs.append(max(0, min(4, Float(q) + Float(d) / 1_048_576))) } }
        var idx = 0
        while idx < xs.count {
            var v = F32x8(repeating: 0)
            let lanes = min(8, xs.count - idx)
            for l in 0..<lanes { v[l] = xs[idx + l] }
            let (c, s) = vcossinQuarter(v)
            for l in 0..<lanes {
                let angle = Double(v[l]) * Double.pi / 2
                worst = max(worst, abs(Double(c[l]) - Foundation.cos(angle)), abs(Double(s[l]) - Foundation.sin(angle)))
            }
            idx += lanes
        }
        #expect(worst < 3e-7, "worst absolute error \(worst)")
    }

    /// √ over the Box–Muller radius range [0, 34] (−2 ln 2⁻²⁴ ≈ 33.3) and beyond.
    @Test func vectorSqrtAccuracy() {
        var worst = 0.0
        var xs: [Float] = [0, Float.leastNormalMagnitude, 1e-12, 1, 4, 1e6]
        for j in 0..<200_000 { xs.append(Float(j) * 1.7e-4) }
        var idx = 0
        while idx < xs.count {
            var v = F32x8(repeating: 0)
            let lanes = min(8, xs.count - idx)
            for l in 0..<lanes { v[l] = xs[idx + l] }
            let r = vsqrt(v)
            for l in 0..<lanes {
                let exact = Double(v[l]).squareRoot()
                let err = abs(Double(r[l]) - exact)
                worst = max(worst, exact == 0 ? err : err / exact)
            }
            idx += lanes
        }
        #expect(worst < 2.5e-7, "worst relative error \(worst)")
        #expect(vsqrt(F32x8(repeating: 0)) == F32x8(repeating: 0))
    }

    /// The same values for any thread count, and a fill of [0, N) equals fills of pieces at their offsets.
    @Test(arguments: ["uniform", "normal", "truncated", "truncated-narrow"])
    func reproducibleAcrossThreadsAndOffsets(_ kind: String) {
        let g = Philox(seed: 123_456_789, stream: 42)
        let n = 300_001
        func fill(_ count: Int, offset: UInt64, threads: Int) -> [Float] {
            switch kind {
            case "uniform": return g.uniform(count: count, low: -2, high: 3, offset: offset, threads: threads)
            case "normal": return g.normal(count: count, mean: 1, std: 2, offset: offset, threads: threads)
            case "truncated":
                return g.truncatedNormal(count: count, mean: 0, std: 1, offset: offset, threads: threads)
            default:
                return g.truncatedNormal(count: count, mean: 0, std: 1, bound: 0.3, offset: offset, threads: threads)
            }
        }
        let whole = fill(n, offset: 0, threads: 1)
        for threads in [2, 3, 7, Matmul.defaultThreads] {
            #expect(firstMismatch(fill(n, offset: 0, threads: threads), whole) == nil, "threads \(threads)")
        }
        let cuts = [0, 1, 2, 5, 31, 32, 33, 100, 4097, 150_000, 150_001, 299_999, n]
        var pieces: [Float] = []
        for (lo, hi) in zip(cuts, cuts.dropFirst()) {
            pieces += fill(hi - lo, offset: UInt64(lo), threads: 2)
        }
        #expect(firstMismatch(pieces, whole) == nil)
        // Far offsets work too (counter high word in use).
        let far: UInt64 = (1 << 40) + 3
        #expect(fill(10, offset: far, threads: 1) == Array(fill(20, offset: far - 10, threads: 1)[10...]))
        // Indices wrap modulo 2⁶⁴ instead of trapping: the last 40 indices are followed by 0, 1, ….
        #expect(fill(100, offset: .max - 39, threads: 1) == fill(40, offset: .max - 39, threads: 1) + fill(60, offset: 0, threads: 1))
    }
}

/// Sample moments over 10⁶ draws against exact values. Each tolerance is 5 standard errors of the
/// estimator, SE = √(Var(X)/N) computed from the exact distribution (false-failure rate ≈ 6e-7 per check).
@Suite("Distributions", .offCooperativePool)
struct DistributionTests {
    static let n = 1_000_000

    struct Moments {
        var m1 = 0.0, m2 = 0.0, m4 = 0.0, pairCross = 0.0, pairSquares = 0.0
        init(_ xs: [Float]) {
            for x in xs {
                let d = Double(x)
                m1 += d
                m2 += d * d
                m4 += d * d * d * d
            }
            let count = Double(xs.count)
            m1 /= count; m2 /= count; m4 /= count
            // Box–Muller partners: in each group of 32, elements j and j + 8 (words 0, 1) and j + 16, j + 24.
            var pairs = 0.0
            var base = 0
            while base + 32 <= xs.count {
                for j in 0..<8 {
                    for first in [base + j, base + 16 + j] {
                        let a = Double(xs[first]), b = Double(xs[first + 8])
                        pairCross += a * b
                        pairSquares += a * a * b * b
                        pairs += 1
                    }
                }
                base += 32
            }
            pairCross /= pairs
            pairSquares /= pairs
        }
    }

    /// Even moments E[z^2j] of N(0, 1) truncated to [−b, b], by Simpson's rule (error ≪ the tolerances).
    static func truncatedMoment(_ power: Int, bound b: Double) -> Double {
        let steps = 20_000
        let h = 2 * b / Double(steps)
        var num = 0.0, den = 0.0
        for i in 0...steps {
            let x = -b + Double(i) * h
            let w = (i == 0 || i == steps) ? 1.0 : (i % 2 == 1 ? 4.0 : 2.0)
            let phi = Foundation.exp(-x * x / 2)
            num += w * phi * Foundation.pow(x, Double(power))
            den += w * phi
        }
        return num / den
    }

    @Test func standardNormalMoments() {
        let xs = Philox(seed: 1, stream: 2).normal(count: Self.n, mean: 0, std: 1, threads: 2)
        let m = Moments(xs)
        let n = Double(Self.n)
        #expect(abs(m.m1) <= 5 * (1 / n).squareRoot(), "mean \(m.m1)")
        #expect(abs(m.m2 - 1) <= 5 * (2 / n).squareRoot(), "variance \(m.m2)")  // Var(z²) = 3 − 1
        #expect(abs(m.m4 - 3) <= 5 * (96 / n).squareRoot(), "E z⁴ \(m.m4)")  // Var(z⁴) = 105 − 9
        // Kurtosis m4/m2²: delta method, |∂/∂m4| = 1, |∂/∂m2| = 6 at the normal; errors added (conservative).
        let kurtosis = m.m4 / (m.m2 * m.m2)
        #expect(abs(kurtosis - 3) <= 5 * ((96 / n).squareRoot() + 6 * (2 / n).squareRoot()), "kurtosis \(kurtosis)")
        // The two members of a Box–Muller pair are independent: E[z₀z₁] = 0, E[z₀²z₁²] = 1.
        let pairs = n / 2  // 10⁶ is a multiple of 32: every element is in exactly one pair
        #expect(abs(m.pairCross) <= 5 * (1 / pairs).squareRoot(), "E z0 z1 \(m.pairCross)")
        #expect(abs(m.pairSquares - 1) <= 5 * (8 / pairs).squareRoot(), "E z0² z1² \(m.pairSquares)")
        // CDF at a few points (catches a wrong quadrant or radius that symmetric moments might miss).
        for (x, p) in [(-2.0, 0.022750131948179), (-1.0, 0.158655253931457), (0.0, 0.5), (0.5, 0.691462461274013), (1.5, 0.933192798731142)] {
            let frac = Double(xs.filter { Double($0) <= x }.count) / n
            #expect(abs(frac - p) <= 5 * (p * (1 - p) / n).squareRoot(), "P(z ≤ \(x)) = \(frac)")
        }
    }

    @Test func scaledNormalMoments() {
        let xs = Philox(seed: 8, stream: 0).normal(count: Self.n, mean: -3, std: 0.25, threads: 1)
        let m = Moments(xs.map { ($0 + 3) / 0.25 })
        let n = Double(Self.n)
        #expect(abs(m.m1) <= 5 * (1 / n).squareRoot())
        #expect(abs(m.m2 - 1) <= 5 * (2 / n).squareRoot())
    }

    @Test(arguments: [2.0, 1.0, 0.3])
    func truncatedNormalMoments(_ bound: Double) {
        let xs = Philox(seed: 5, stream: 6).truncatedNormal(
            count: Self.n, mean: 0, std: 1, bound: Float(bound), threads: 2)
        #expect(xs.allSatisfy { abs(Double($0)) <= bound })
        let m = Moments(xs)
        let n = Double(Self.n)
        let mu2 = Self.truncatedMoment(2, bound: bound)
        let mu4 = Self.truncatedMoment(4, bound: bound)
        let mu8 = Self.truncatedMoment(8, bound: bound)
        #expect(abs(m.m1) <= 5 * (mu2 / n).squareRoot(), "mean \(m.m1)")
        #expect(abs(m.m2 - mu2) <= 5 * ((mu4 - mu2 * mu2) / n).squareRoot(), "variance \(m.m2) vs \(mu2)")
        #expect(abs(m.m4 - mu4) <= 5 * ((mu8 - mu4 * mu4) / n).squareRoot(), "E z⁴ \(m.m4) vs \(mu4)")
        if bound == 2 {
            #expect(abs(mu2 - 0.7737413) < 1e-6)  // the textbook variance of N(0,1) truncated at ±2
        }
    }

    /// Accepted first attempts are exactly the plain normal values; rejected ones were redrawn.
    @Test func truncatedFirstAttemptIsTheNormal() {
        let g = Philox(seed: 17, stream: 1)
        let z = g.normal(count: 100_000, mean: 0, std: 1, offset: 5)
        let t = g.truncatedNormal(count: 100_000, mean: 0, std: 1, bound: 2, offset: 5)
        var redrawn = 0
        for (a, b) in zip(z, t) {
            if abs(a) <= 2 { #expect(a == b) } else { redrawn += 1; #expect(abs(b) <= 2) }
        }
        #expect(redrawn > 0)
    }

    @Test func degenerateBounds() {
        let g = Philox(seed: 1, stream: 1)
        #expect(g.truncatedNormal(count: 100, mean: 4, std: 1, bound: 0) == [Float](repeating: 4, count: 100))
        #expect(g.truncatedNormal(count: 100, mean: 4, std: 1, bound: .nan) == [Float](repeating: 4, count: 100))
        #expect(g.truncatedNormal(count: 1000, mean: 0, std: 1, bound: .infinity) == g.normal(count: 1000, mean: 0, std: 1))
        #expect(g.normal(count: 0, mean: 0, std: 1).isEmpty)
    }
}
