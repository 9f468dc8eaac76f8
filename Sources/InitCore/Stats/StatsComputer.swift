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
/// One fused pass per chunk of rows computes count, shifted sums of x and x², Σ|x|, min, max, zeros,
/// non-finite values and the dead-unit flags; a second pass counts a fine histogram (bins·K ≈ 8192 bins
/// over [min, max]) from which the requested histogram is the sum of each K fine bins; a third pass gathers
/// the values of the fine bins that hold the percentiles' order statistics, which are then found exactly by
/// selection on that small scratch copy. Chunks have a fixed size (independent of the thread count) and their
/// partial sums are combined in chunk order, so results are bit-identical for any `threads`.
public struct StatsComputer: Sendable {
    public var threads: Int
    public init(threads: Int = 1) { self.threads = max(1, threads) }

    struct Partial {
        var sum = 0.0, sumSq = 0.0, sumAbs = 0.0
        var min = Float.infinity, max = -Float.infinity
        var zeros = 0, nonfinite = 0, deadRows = 0
    }

    static let targetFineBins = 8192

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
        var alive = [Bool](repeating: false, count: trackColumns ? chunks * cols : 0)
        let positive = dead == .nonPositiveColumns
        partials.withUnsafeMutableBufferPointer { pp in
            alive.withUnsafeMutableBufferPointer { ap in
                let pb = pp.baseAddress, ab = trackColumns ? ap.baseAddress : nil
                parallelFor(chunks) { ch in
                    var p = Partial()
                    // Two interleaved accumulators per sum (fixed pairing, so results do not depend on threads).
                    var s0 = 0.0, s1 = 0.0, q0 = 0.0, q1 = 0.0, a0 = 0.0, a1 = 0.0
                    var mn = Float.infinity, mx = -Float.infinity
                    @inline(__always) func slow(_ v: Float, _ s: inout Double, _ q: inout Double, _ a: inout Double) {
                        if v.isFinite {
                            let d = Double(v) - shift
                            s += d
                            q += d * d
                            a += Double(v.magnitude)
                            mn = Swift.min(mn, v)
                            mx = Swift.max(mx, v)
                        } else {
                            p.nonfinite += 1
                        }
                    }
                    let r0 = ch * rowsPerChunk, r1 = Swift.min(rows, r0 + rowsPerChunk)
                    for r in r0..<r1 {
                        let row = base + r * cols
                        var rowZeros = 0
                        var j = 0
                        while j + 1 < cols {
                            let v0 = row[j], v1 = row[j + 1]
                            if v0.isFinite && v1.isFinite {
                                let d0 = Double(v0) - shift, d1 = Double(v1) - shift
                                s0 += d0
                                s1 += d1
                                q0 += d0 * d0
                                q1 += d1 * d1
                                a0 += Double(v0.magnitude)
                                a1 += Double(v1.magnitude)
                                mn = Swift.min(mn, Swift.min(v0, v1))
                                mx = Swift.max(mx, Swift.max(v0, v1))
                            } else {
                                slow(v0, &s0, &q0, &a0)
                                slow(v1, &s1, &q1, &a1)
                            }
                            rowZeros &+= (v0 == 0 ? 1 : 0) &+ (v1 == 0 ? 1 : 0)
                            j += 2
                        }
                        if j < cols {
                            slow(row[j], &s0, &q0, &a0)
                            rowZeros &+= row[j] == 0 ? 1 : 0
                        }
                        if let ab {
                            let flags = ab + ch * cols
                            if positive {
                                for j in 0..<cols where row[j] > 0 { flags[j] = true }
                            } else {
                                for j in 0..<cols where row[j] != 0 { flags[j] = true }
                            }
                        }
                        p.zeros += rowZeros
                        if rowZeros == cols { p.deadRows += 1 }
                    }
                    p.sum = s0 + s1
                    p.sumSq = q0 + q1
                    p.sumAbs = a0 + a1
                    p.min = mn
                    p.max = mx
                    pb?[ch] = p
                }
            }
        }
        var t = Partial()
        for p in partials {
            t.sum += p.sum; t.sumSq += p.sumSq; t.sumAbs += p.sumAbs
            t.min = Swift.min(t.min, p.min); t.max = Swift.max(t.max, p.max)
            t.zeros += p.zeros; t.nonfinite += p.nonfinite; t.deadRows += p.deadRows
        }
        let deadFraction: Double
        if trackColumns {
            var deadCols = 0
            for j in 0..<cols {
                var any = false
                for ch in 0..<chunks where alive[ch * cols + j] { any = true; break }
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
        let (histogram, percentiles) = histogramAndPercentiles(base, n: n, finite: finite, low: lo, high: hi, bins: bins)
        return Stats(count: n, mean: shift + m, std: variance.squareRoot(), min: lo, max: hi, meanAbs: t.sumAbs / nf,
                     zeroFraction: Double(t.zeros) / count, deadFraction: deadFraction, nonfiniteFraction: Double(t.nonfinite) / count,
                     p1: percentiles[0], p50: percentiles[1], p99: percentiles[2], histogram: histogram)
    }

    /// Fine histogram → requested histogram and exact 1st/50th/99th percentiles.
    func histogramAndPercentiles(_ base: UnsafePointer<Float>, n: Int, finite: Int, low: Double, high: Double, bins: Int)
        -> (Histogram, [Double])
    {
        let k = Swift.max(1, Self.targetFineBins / bins)
        let fine = bins * k
        // Bin index in float arithmetic, the same function in every pass (so the gathered bins are exactly the
        // counted ones). A span too small or too large for float scaling puts everything in bin 0 or clamps to
        // the last bin: histograms coarsen there, percentiles stay exact.
        let span = high - low
        var scale = Float(span > 0 ? Double(fine) / span : 0)
        if !scale.isFinite { scale = 0 }
        let lowF = Float(low), maxBin = Float(fine - 1)
        @inline(__always) func bin(_ v: Float) -> Int {
            Int(Swift.min(maxBin, Swift.max(0, (v - lowF) * scale)))
        }
        let chunkSize = Swift.max(65536, (n + 63) / 64)
        let chunks = (n + chunkSize - 1) / chunkSize
        // Four interleaved sub-histograms per chunk: repeated values (a ReLU's zeros) would otherwise serialize
        // on one counter's store-to-load latency.
        let lanes = 4
        var counts = [Int32](repeating: 0, count: chunks * lanes * fine)
        counts.withUnsafeMutableBufferPointer { cp in
            let cb = cp.baseAddress
            parallelFor(chunks) { ch in
                guard let c = cb.map({ $0 + ch * lanes * fine }) else { return }
                let c1 = c + fine, c2 = c + 2 * fine, c3 = c + 3 * fine
                var i = ch * chunkSize
                let end = Swift.min(n, (ch + 1) * chunkSize)
                while i + 3 < end {
                    let v0 = base[i], v1 = base[i + 1], v2 = base[i + 2], v3 = base[i + 3]
                    if v0.isFinite && v1.isFinite && v2.isFinite && v3.isFinite {
                        c[bin(v0)] &+= 1
                        c1[bin(v1)] &+= 1
                        c2[bin(v2)] &+= 1
                        c3[bin(v3)] &+= 1
                    } else {
                        for v in [v0, v1, v2, v3] where v.isFinite { c[bin(v)] &+= 1 }
                    }
                    i += 4
                }
                while i < end {
                    let v = base[i]
                    if v.isFinite { c[bin(v)] &+= 1 }
                    i += 1
                }
            }
        }
        var fineCounts = [Int](repeating: 0, count: fine)
        for row in 0..<(chunks * lanes) { for b in 0..<fine { fineCounts[b] += Int(counts[row * fine + b]) } }
        var histogram = [Int](repeating: 0, count: bins)
        for b in 0..<fine { histogram[b / k] += fineCounts[b] }

        // Ranks needed: numpy 'linear' percentiles interpolate order statistics ⌊h⌋ and ⌊h⌋+1, h = (N−1)·p.
        let ps = [0.01, 0.5, 0.99]
        var ranks: [Int] = []
        for p in ps {
            let h = Double(finite - 1) * p
            let r = Int(h.rounded(.down))
            ranks.append(r)
            if r + 1 < finite { ranks.append(r + 1) }
        }
        var cumulative = [Int](repeating: 0, count: fine + 1)
        for b in 0..<fine { cumulative[b + 1] = cumulative[b] + fineCounts[b] }
        func binOf(rank: Int) -> Int {
            var lo = 0, hi = fine - 1  // smallest b with cumulative[b + 1] > rank
            while lo < hi {
                let mid = (lo + hi) / 2
                if cumulative[mid + 1] > rank { hi = mid } else { lo = mid + 1 }
            }
            return lo
        }
        let neededBins = Array(Set(ranks.map(binOf))).sorted()
        // Bins not needed map to a dummy slot (index `slots`) that writes to one spare element and never
        // advances: the gather loop is branch-free (ReLU zeros would make a branch unpredictable).
        var slotOf = [Int8](repeating: Int8(neededBins.count), count: fine)
        for (s, b) in neededBins.enumerated() { slotOf[b] = Int8(s) }
        // Gather the needed bins' values into one flat buffer: slot s occupies [slotStart[s], slotStart[s+1]),
        // and each chunk writes at offsets known from its own counts (deterministic order, no appends).
        let slots = neededBins.count
        var slotStart = [Int](repeating: 0, count: slots + 1)
        for sIndex in 0..<slots { slotStart[sIndex + 1] = slotStart[sIndex] + fineCounts[neededBins[sIndex]] }
        let stride = slots + 1
        var offsets = [Int](repeating: slotStart[slots], count: chunks * stride)
        var advance = [Int](repeating: 1, count: stride)
        advance[slots] = 0
        for sIndex in 0..<slots {
            var at = slotStart[sIndex]
            for ch in 0..<chunks {
                offsets[ch * stride + sIndex] = at
                for lane in 0..<lanes { at += Int(counts[(ch * lanes + lane) * fine + neededBins[sIndex]]) }
            }
        }
        var flat = [Float](repeating: 0, count: slotStart[slots] + 1)
        slotOf.withUnsafeBufferPointer { sp in
            flat.withUnsafeMutableBufferPointer { fp in
                offsets.withUnsafeMutableBufferPointer { op in
                    advance.withUnsafeBufferPointer { ap in
                        guard let slotBase = sp.baseAddress, let out = fp.baseAddress, let ob = op.baseAddress, let adv = ap.baseAddress else { return }
                        parallelFor(chunks) { ch in
                            let at = ob + ch * stride
                            for i in (ch * chunkSize)..<Swift.min(n, (ch + 1) * chunkSize) {
                                let v = base[i]
                                if v.isFinite {
                                    let s = Int(slotBase[bin(v)])
                                    out[at[s]] = v
                                    at[s] += adv[s]
                                }
                            }
                        }
                    }
                }
            }
        }
        var orderStat: [Int: Double] = [:]
        for rank in Set(ranks) {
            let b = binOf(rank: rank)
            guard let s = neededBins.firstIndex(of: b) else { continue }
            let local = rank - cumulative[b]
            let value = flat.withUnsafeMutableBufferPointer { g -> Float in
                guard let gb = g.baseAddress else { return .nan }
                return Selection.select(gb + slotStart[s], count: slotStart[s + 1] - slotStart[s], k: local)
            }
            orderStat[rank] = Double(value)
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

    /// Runs `body(i)` for i in 0..<count on up to `threads` threads.
    func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if threads <= 1 || count <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: count) { i in box.value(i) }
        }
    }
}

/// Carries a non-Sendable closure into `concurrentPerform`, which runs it only before returning; each
/// iteration writes disjoint memory.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
