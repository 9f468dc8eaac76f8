import Dispatch

/// Which units count as dead for the whole batch.
public enum DeadRule: Sendable {
    /// Columns (units) whose values are all ≤ 0 across the batch (forward matrices: the unit never fires).
    case nonPositiveColumns
    /// Columns all exactly 0 (activation gradients).
    case zeroColumns
    /// Rows all exactly 0 (weight gradients: an output unit whose weights get no gradient).
    case zeroRows
}

/// Statistics of float32 matrices, accumulated in double.
///
/// Pass 1 (vectorized, per fixed chunk of rows): shifted sums of x and x² and Σ|x| in `SIMD4<Double>` lanes,
/// min and max in `SIMD8<Float>`, zeros, the dead-unit flags. The chunks' size does not depend on the thread
/// count and their partial sums are combined in chunk order, so results are bit-identical for any `threads`.
/// A chunk holding a non-finite value (detected by its non-finite sum of squares) is redone with scalar
/// code that skips those values. Pass 2 counts a fine histogram (bins·K ≈ 2048 bins over [min, max]), from
/// which the requested histogram is the sum of each K fine bins (integer counts: any split is exact).
/// Pass 3 (vectorized filter) gathers, in index order, only the values of the few fine bins that hold the
/// percentiles' order statistics, which are then found exactly by selection on that small copy; a bin that
/// holds too many (heavy tails) is narrowed first (`PercentileSearch.swift`). Exact zeros are counted in
/// pass 1 and left out of passes 2 and 3: sorted, they are one block of equal ranks.
public struct StatsComputer: Sendable {
    public var threads: Int
    public init(threads: Int = 1) { self.threads = max(1, threads) }

    struct Partial {
        var sum = 0.0, sumSq = 0.0, sumAbs = 0.0
        var min = Float.infinity, max = -Float.infinity
        var zeros = 0, nonfinite = 0, deadRows = 0
        /// Finite values < 0 (−0 excluded).
        var negatives = 0
    }

    static let targetFineBins = 2048
    /// Fewer elements than this per thread: one thread (a parallel round costs µs).
    static let minElementsPerThread = 1 << 16

    func workers(_ n: Int) -> Int { Swift.max(1, Swift.min(threads, n / Self.minElementsPerThread)) }
    /// Contiguous parts of passes 2 and 3 (each with its own counters, merged after): two per thread when
    /// parallel, so that the pool's dynamic hand-out evens out a thread that starts late or runs slower.
    func parts(_ n: Int) -> Int {
        let w = workers(n)
        return w > 1 ? Swift.min(2 * w, n / (Self.minElementsPerThread / 2)) : 1
    }

    /// Statistics of `x` (rows × cols, row-major) with `bins` histogram bins over [min, max] of finite values.
    public func compute(_ x: UnsafeBufferPointer<Float>, rows: Int, cols: Int, bins: Int, dead: DeadRule) -> Stats {
        let n = rows * cols
        guard n > 0, let base = x.baseAddress else {
            return Stats(count: 0, mean: .nan, std: .nan, min: .nan, max: .nan, meanAbs: .nan, zeroFraction: .nan, deadFraction: .nan,
                         nonfiniteFraction: .nan, p1: .nan, p50: .nan, p99: .nan, histogram: Histogram(low: .nan, high: .nan, counts: [Int](repeating: 0, count: bins)))
        }
        // Shift: the first finite value (keeps the variance accurate when |mean| ≫ std).
        var shift = 0.0
        for i in 0..<n where base[i].isFinite { shift = Double(base[i]); break }

        let rowsPerChunk = max(1, max(16384, n / 64) / max(1, cols))
        let chunks = (rows + rowsPerChunk - 1) / rowsPerChunk
        var partials = [Partial](repeating: Partial(), count: chunks)
        let trackColumns = dead != .zeroRows
        // Per chunk and column: max of the "positive" bit patterns (alive where > 0) or OR of |x|'s bits
        // (alive where ≠ 0).
        var columnBits = [Int32](repeating: 0, count: trackColumns ? chunks * cols : 0)
        let positive = dead == .nonPositiveColumns
        let parallel = workers(n) > 1
        partials.withUnsafeMutableBufferPointer { pp in
            columnBits.withUnsafeMutableBufferPointer { cp in
                guard let pb = pp.baseAddress else { return }
                let cb = trackColumns ? cp.baseAddress : nil
                parallelFor(chunks, parallel: parallel) { ch in
                    let r0 = ch * rowsPerChunk, r1 = Swift.min(rows, r0 + rowsPerChunk)
                    var p = Self.fastChunk(base, rows: r0..<r1, cols: cols, shift: shift,
                                           flags: cb.map { $0 + ch * cols }, positive: positive)
                    if !p.sumSq.isFinite { Self.slowChunk(base, range: (r0 * cols)..<(r1 * cols), shift: shift, into: &p) }
                    pb[ch] = p
                }
            }
        }
        var t = Partial()
        for p in partials {
            t.sum += p.sum; t.sumSq += p.sumSq; t.sumAbs += p.sumAbs
            t.min = Swift.min(t.min, p.min); t.max = Swift.max(t.max, p.max)
            t.zeros += p.zeros; t.nonfinite += p.nonfinite; t.deadRows += p.deadRows; t.negatives += p.negatives
        }
        let deadFraction: Double
        if trackColumns {
            var deadCols = 0
            for j in 0..<cols {
                var any = false
                for ch in 0..<chunks {
                    let b = columnBits[ch * cols + j]
                    if positive ? b > 0 : b != 0 { any = true; break }
                }
                if !any { deadCols += 1 }
            }
            deadFraction = Double(deadCols) / Double(cols)
        } else {
            deadFraction = Double(t.deadRows) / Double(rows)
        }
        let finite = n - t.nonfinite
        let count = Double(n)
        guard finite > 0 else {
            return Stats(count: n, mean: .nan, std: .nan, min: .nan, max: .nan, meanAbs: .nan, zeroFraction: Double(t.zeros) / count,
                         deadFraction: deadFraction, nonfiniteFraction: 1, p1: .nan, p50: .nan, p99: .nan,
                         histogram: Histogram(low: .nan, high: .nan, counts: [Int](repeating: 0, count: bins)))
        }
        let nf = Double(finite)
        let m = t.sum / nf
        let variance = Swift.max(0, t.sumSq / nf - m * m)
        let lo = Double(t.min), hi = Double(t.max)
        let (histogram, percentiles) = histogramAndPercentiles(base, n: n, finite: finite, zeros: t.zeros, negatives: t.negatives,
                                                               low: lo, high: hi, bins: bins)
        return Stats(count: n, mean: shift + m, std: variance.squareRoot(), min: lo, max: hi, meanAbs: t.sumAbs / nf,
                     zeroFraction: Double(t.zeros) / count, deadFraction: deadFraction, nonfiniteFraction: Double(t.nonfinite) / count,
                     p1: percentiles[0], p50: percentiles[1], p99: percentiles[2], histogram: histogram)
    }

    /// Pass 1 over rows `rows`, assuming every value is finite (the caller checks `sumSq` and redoes the sums
    /// and the negatives with `slowChunk` otherwise; zeros, dead rows and the column flags are right either way).
    /// Eight columns at a time: (x − shift), (x − shift)² and |x| summed in two `SIMD4<Double>` per sum, min and
    /// max in `SIMD8<Float>`, zeros counted by integer masks; remaining columns scalar. Fixed lane order.
    static func fastChunk(_ base: UnsafePointer<Float>, rows: Range<Int>, cols: Int, shift: Double,
                          flags: UnsafeMutablePointer<Int32>?, positive: Bool) -> Partial {
        typealias F8 = SIMD8<Float>
        typealias D4 = SIMD4<Double>
        typealias I8 = SIMD8<Int32>
        var s0 = D4(), s1 = D4(), q0 = D4(), q1 = D4(), a0 = D4(), a1 = D4()
        var mn = F8(repeating: .infinity), mx = F8(repeating: -.infinity)
        var ts = 0.0, tq = 0.0, ta = 0.0
        var tmn = Float.infinity, tmx = -Float.infinity
        let sh = D4(repeating: shift)
        var p = Partial()
        let vectorCols = cols & ~7
        for r in rows {
            let row = base + r * cols
            var z = I8(), neg = I8()
            var j = 0
            while j < vectorCols {
                let v = UnsafeRawPointer(row + j).loadUnaligned(as: F8.self)
                let lo = D4(v.lowHalf) - sh, hi = D4(v.highHalf) - sh
                s0 += lo
                s1 += hi
                q0.addProduct(lo, lo)
                q1.addProduct(hi, hi)
                let bits = unsafeBitCast(v, to: I8.self)
                let mag = bits & 0x7FFF_FFFF
                let av = unsafeBitCast(mag, to: F8.self)
                a0 += D4(av.lowHalf)
                a1 += D4(av.highHalf)
                // `replacing(with:where:)` compiles to vminps/vmaxps here; the generic pointwiseMin/Max on
                // floats is an out-of-line call, and bit-casting a mask to integers goes through bytes.
                mn = mn.replacing(with: v, where: v .< mn)
                mx = mx.replacing(with: v, where: v .> mx)
                let isZero = (mag &- 1) &>> 31  // −1 where x = ±0
                z &-= isZero
                neg &-= (bits &>> 31) & ~isZero  // +1 where x < 0
                if let flags {
                    let f = UnsafeMutableRawPointer(flags + j)
                    let cur = f.loadUnaligned(as: I8.self)
                    if positive {
                        // The bit pattern where 0 < pattern ≤ +∞'s (x > 0, NaN excluded), else ≤ 0.
                        let keep = bits & ((bits &- 0x7F80_0001) &>> 31)
                        f.storeBytes(of: simdMax(cur, keep), as: I8.self)
                    } else {
                        f.storeBytes(of: cur | mag, as: I8.self)
                    }
                }
                j += 8
            }
            var rowZeros = Int(z.wrappedSum())
            while j < cols {
                let v = row[j]
                let d = Double(v) - shift
                ts += d
                tq += d * d
                ta += Double(v.magnitude)
                tmn = Swift.min(tmn, v)
                tmx = Swift.max(tmx, v)
                if v == 0 { rowZeros += 1 }
                if v < 0 { p.negatives += 1 }
                if let flags {
                    if positive {
                        if v > 0 { flags[j] = 1 }
                    } else if v != 0 {
                        flags[j] = 1
                    }
                }
                j += 1
            }
            p.zeros += rowZeros
            p.negatives += Int(neg.wrappedSum())
            if rowZeros == cols { p.deadRows += 1 }
        }
        p.sum = (s0 + s1).sum() + ts
        p.sumSq = (q0 + q1).sum() + tq
        p.sumAbs = (a0 + a1).sum() + ta
        p.min = Swift.min(mn.min(), tmn)
        p.max = Swift.max(mx.max(), tmx)
        return p
    }

    /// The sums, min, max, negatives and non-finite count of elements `range`, skipping non-finite values (scalar).
    static func slowChunk(_ base: UnsafePointer<Float>, range: Range<Int>, shift: Double, into p: inout Partial) {
        var s = 0.0, q = 0.0, a = 0.0
        var mn = Float.infinity, mx = -Float.infinity
        var nonfinite = 0, negatives = 0
        for i in range {
            let v = base[i]
            if v.isFinite {
                if v < 0 { negatives += 1 }
                let d = Double(v) - shift
                s += d
                q += d * d
                a += Double(v.magnitude)
                mn = Swift.min(mn, v)
                mx = Swift.max(mx, v)
            } else {
                nonfinite += 1
            }
        }
        p.sum = s
        p.sumSq = q
        p.sumAbs = a
        p.min = mn
        p.max = mx
        p.nonfinite = nonfinite
        p.negatives = negatives
    }

    /// Fine histogram → requested histogram and exact 1st/50th/99th percentiles.
    ///
    /// Exact zeros (±0, `zeros` of them) are left out of the fine histogram and of every later pass: sorted,
    /// they are one block of equal values at ranks `negatives ..< negatives + zeros`, so a rank there is 0
    /// without looking, and the requested histogram gets them back in the bin of 0. (A ReLU network's
    /// activations and weight gradients are mostly zeros; the fine bin holding them would otherwise be
    /// gathered whole.) Ranks elsewhere are ranks among the nonzero values, which the fine histogram counts.
    func histogramAndPercentiles(_ base: UnsafePointer<Float>, n: Int, finite: Int, zeros: Int, negatives: Int,
                                 low: Double, high: Double, bins: Int) -> (Histogram, [Double]) {
        let k = Swift.max(1, Self.targetFineBins / bins)
        let fine = bins * k
        // Fine bin of v: ⌊y⌋ clamped to [0, fine − 1], y = (v − low)·scale in float arithmetic, the same
        // function in every pass. y is monotone in v and ≥ +0 for finite v. A span too small or too large for
        // float scaling puts everything in bin 0 or clamps to the last bin: histograms coarsen there,
        // percentiles stay exact.
        let span = high - low
        var scale = Float(span > 0 ? Double(fine) / span : 0)
        if !scale.isFinite { scale = 0 }
        let lowF = Float(low), maxBin = Float(fine - 1)
        let workerCount = parts(n)
        let lanes = 4
        let laneSlots = fine
        let allFinite = finite == n

        // Pass 2: per worker (contiguous ranges; counts are integers, so the split does not matter), four
        // interleaved sub-histograms (repeated values would otherwise serialize on one counter), plus the
        // number of nonzero values with y = 0.
        // The returned histogram is allocated first, then every counter of this call in one scratch block
        // (per-worker counts, their lane sub-histograms, totals, cumulative counts), freed on return: one
        // short-lived allocation per call instead of several, which kept fragmenting the heap of long runs.
        var histogram = [Int](repeating: 0, count: bins)
        let fineCountsSize = workerCount * (fine + 1)
        let intCount = fineCountsSize + fine + (fine + 1)
        let scratch = UnsafeMutableRawPointer.allocate(
            byteCount: intCount * MemoryLayout<Int>.stride + workerCount * lanes * laneSlots * MemoryLayout<Int32>.stride,
            alignment: 64)
        defer { scratch.deallocate() }
        let fineCounts = scratch.bindMemory(to: Int.self, capacity: intCount)
        fineCounts.initialize(repeating: 0, count: intCount)
        let counts = fineCounts + fineCountsSize
        let cumulative = counts + fine
        let laneCounts = (scratch + intCount * MemoryLayout<Int>.stride)
            .bindMemory(to: Int32.self, capacity: workerCount * lanes * laneSlots)
        do {
            let fb = fineCounts
            parallelFor(workerCount, parallel: workerCount > 1) { w in
                let out = fb + w * (fine + 1)
                let start = n * w / workerCount, end = n * (w + 1) / workerCount
                let c = laneCounts + w * lanes * laneSlots
                let c1 = c + laneSlots, c2 = c + 2 * laneSlots, c3 = c + 3 * laneSlots
                var zeroY = 0
                var blockStart = start
                while blockStart < end {
                    // Blocks of ≤ 2²⁸ elements: no Int32 counter can overflow.
                    let blockEnd = Swift.min(end, blockStart + (1 << 28))
                    c.initialize(repeating: 0, count: lanes * laneSlots)
                    var z0: Int32 = 0
                    var i = blockStart
                    if allFinite {
                        // Eight bins at once, integer operations only (y ≥ +0 here): ⌊y⌋ is the 24-bit
                        // significand shifted right by 150 − biased exponent (clamped to [0, 31]: 0 for
                        // y < 1), then clamped to the last bin: the scalar ⌊min(maxBin, y)⌋ exactly. Zeros
                        // are counted with y = +0 (bin 0) and taken out of bin 0 and of |Z| after the pass.
                        typealias F8 = SIMD8<Float>
                        typealias I8 = SIMD8<Int32>
                        let lowV = F8(repeating: lowF), scaleV = F8(repeating: scale)
                        let last = I8(repeating: Int32(fine - 1))
                        var zv = I8()
                        while i + 8 <= blockEnd {
                            let v = UnsafeRawPointer(base + i).loadUnaligned(as: F8.self)
                            let isZero = ((unsafeBitCast(v, to: I8.self) & 0x7FFF_FFFF) &- 1) &>> 31  // −1 where ±0
                            let yb = unsafeBitCast((v - lowV) * scaleV, to: I8.self) & ~isZero
                            zv &+= (yb &- 1) &>> 31  // −1 where y = +0
                            let shift = simdMin(simdMax(150 &- (yb &>> 23), I8()), I8(repeating: 31))
                            let b = simdMin(((yb & 0x7F_FFFF) | 0x80_0000) &>> shift, last)
                            c[Int(b[0])] &+= 1; c1[Int(b[1])] &+= 1; c2[Int(b[2])] &+= 1; c3[Int(b[3])] &+= 1
                            c[Int(b[4])] &+= 1; c1[Int(b[5])] &+= 1; c2[Int(b[6])] &+= 1; c3[Int(b[7])] &+= 1
                            i += 8
                        }
                        z0 &-= zv.wrappedSum()
                    }
                    while i < blockEnd {
                        let v = base[i]
                        if v.isFinite {
                            let y = v == 0 ? 0 : (v - lowF) * scale
                            c[Int(Swift.min(maxBin, Swift.max(0, y)))] &+= 1
                            if y == 0 { z0 &+= 1 }
                        }
                        i += 1
                    }
                    for b in 0..<fine { out[b] += Int(c[b]) + Int(c1[b]) + Int(c2[b]) + Int(c3[b]) }
                    zeroY += Int(z0)
                    blockStart = blockEnd
                }
                out[fine] = zeroY
            }
        }
        var zeroY = -zeros
        for w in 0..<workerCount {
            for b in 0..<fine { counts[b] += fineCounts[w * (fine + 1) + b] }
            zeroY += fineCounts[w * (fine + 1) + fine]
        }
        counts[0] -= zeros
        for b in 0..<fine { histogram[b / k] += counts[b] }
        if zeros > 0 {
            // The zeros' fine bin, by the same function as every other value's.
            histogram[Int(Swift.min(maxBin, Swift.max(0, (0 - lowF) * scale))) / k] += zeros
        }

        // Ranks needed: numpy 'linear' percentiles interpolate order statistics ⌊h⌋ and ⌊h⌋+1, h = (N−1)·p.
        let ps = [0.01, 0.5, 0.99]
        var ranks: [Int] = []
        for p in ps {
            let h = Double(finite - 1) * p
            let r = Int(h.rounded(.down))
            ranks.append(r)
            if r + 1 < finite { ranks.append(r + 1) }
        }
        cumulative[0] = 0
        for b in 0..<fine { cumulative[b + 1] = cumulative[b] + counts[b] }
        func binOf(rank: Int) -> Int {
            var lo = 0, hi = fine - 1  // smallest b with cumulative[b + 1] > rank
            while lo < hi {
                let mid = (lo + hi) / 2
                if cumulative[mid + 1] > rank { hi = mid } else { lo = mid + 1 }
            }
            return lo
        }
        // Nonzero values with y = 0 (set Z) are smaller than every other nonzero value (y is monotone), so
        // they hold nonzero ranks 0 ..< |Z|. They all equal the minimum when no value above it can give
        // y = 0: v − low ≠ 0 for v ≠ low, |v − low| ≥ 2⁻¹⁴⁹, so scale ≥ 1 (or one distinct value) guarantees
        // it; otherwise Z is gathered.
        let zIsMin = scale >= 1 || span == 0
        // Each rank's range: y's bit patterns [lower, lower + width) of its bin (any key, until refined).
        var known: [Int: Double] = [:]
        var located: [Int: (range: RankRange, local: Int)] = [:]
        let infBits = Float.infinity.bitPattern
        for rank in Set(ranks) {
            if rank >= negatives && rank < negatives + zeros {
                known[rank] = 0
                continue
            }
            let r = rank < negatives ? rank : rank - zeros  // rank among the nonzero values
            if r < zeroY {
                if zIsMin {
                    known[rank] = low
                } else {
                    located[rank] = (RankRange(yLower: 0, yWidth: 1, count: zeroY), r)
                }
                continue
            }
            let b = binOf(rank: r)
            // Bin b's y range [b, b + 1); the last bin also holds the clamped values up to y = +∞ (which a
            // finite v reaches when v − low overflows; non-finite v are re-checked), bin 0 excludes Z.
            let lower = b == 0 ? UInt32(1) : Float(b).bitPattern
            let upper = b == fine - 1 ? infBits + 1 : Float(b + 1).bitPattern
            let expected = counts[b] - (b == 0 ? zeroY : 0)
            let first = b == 0 ? zeroY : cumulative[b]
            located[rank] = (RankRange(yLower: lower, yWidth: upper - lower, count: expected), r - first)
        }
        var orderStat = known
        if !located.isEmpty {
            let final = refine(base, n: n, lowF: lowF, scale: scale, ranks: located, workerCount: workerCount)
            var ranges: [RankRange] = []
            for entry in final.values where !ranges.contains(entry.range) { ranges.append(entry.range) }
            let gathered = gather(base, n: n, lowF: lowF, scale: scale, ranges: ranges, workerCount: workerCount)
            for (rank, entry) in final {
                guard let slot = ranges.firstIndex(of: entry.range) else { continue }
                var values = gathered[slot]
                guard entry.local >= 0, entry.local < values.count else { orderStat[rank] = .nan; continue }
                let value = values.withUnsafeMutableBufferPointer { g -> Float in
                    guard let gb = g.baseAddress else { return .nan }
                    return Selection.select(gb, count: g.count, k: entry.local)
                }
                orderStat[rank] = Double(value)
            }
        }
        let percentiles = ps.map { p -> Double in
            let h = Double(finite - 1) * p
            let r = Int(h.rounded(.down))
            let frac = h - Double(r)
            let a = orderStat[r] ?? .nan
            guard frac > 0, let b = orderStat[r + 1] else { return a }
            return a + frac * (b - a)
        }
        return (Histogram(low: low, high: high, counts: histogram), percentiles)
    }

    /// Runs `body(i)` for i in 0..<count, on up to `threads` threads when `parallel`.
    func parallelFor(_ count: Int, parallel: Bool = true, _ body: (Int) -> Void) {
        if !parallel || threads <= 1 || count <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        InitCore.parallelFor(iterations: count, threads: threads, body)
    }
}

/// Lane-wise minimum and maximum, always inlined: the standard library's generic `pointwiseMin`/`pointwiseMax`
/// stayed an out-of-line call in the larger loops here, which also spilled the loop's vectors.
@inline(__always) func simdMin(_ a: SIMD8<Int32>, _ b: SIMD8<Int32>) -> SIMD8<Int32> {
    a.replacing(with: b, where: b .< a)
}

@inline(__always) func simdMax(_ a: SIMD8<Int32>, _ b: SIMD8<Int32>) -> SIMD8<Int32> {
    a.replacing(with: b, where: b .> a)
}

@inline(__always) func simdMin(_ a: SIMD8<UInt32>, _ b: SIMD8<UInt32>) -> SIMD8<UInt32> {
    a.replacing(with: b, where: b .< a)
}
