/// Locating the percentiles' order statistics once the fine histogram has named the bin that holds each.
///
/// A fine bin is a range of y = (v − low)·scale, linear in v. For most matrices a bin holds a few hundred
/// values, which are gathered and selected from. Heavy-tailed matrices are different: a weight gradient
/// whose extremes are ±500 while most of its values lie within ±0.2 puts three quarters of all values in
/// the one bin around 0, and gathering and selecting among 190,000 values costs ~3 ms. Such a bin is
/// refined first by the order-preserving integer key of the value's bits (`orderKey`): one pass counts the
/// bin's values in 2048 sub-ranges of their key range, which narrows the rank's range 2048-fold (a 32-bit
/// key range needs at most three passes to reach a single value). Counts are integers and the ranges
/// exact, so the result is the same order statistic, for any thread count.
extension StatsComputer {
    /// Values whose y bit pattern lies in [yLower, yLower + yWidth) and whose key lies in [keyLo, keyHi].
    struct RankRange: Hashable {
        var yLower: UInt32
        var yWidth: UInt32
        var keyLo: Int64 = Int64(Int32.min)
        var keyHi: Int64 = Int64(Int32.max)
        /// The number of values in the range.
        var count: Int

        var keySpan: Int64 { keyHi - keyLo + 1 }
        /// Whether the key test can be skipped (the whole key line).
        var anyKey: Bool { keySpan > Int64(UInt32.max) }
        /// Bits per sub-range when this range is split in at most 2048.
        var shift: Int {
            let bits = Int64.bitWidth - (keySpan - 1).leadingZeroBitCount
            return Swift.max(0, bits - 11)
        }
    }

    /// Refining a range pays once it holds more than this many values (a refinement pass costs about as
    /// much as gathering and selecting an eighth of the matrix).
    static func refineThreshold(_ n: Int) -> Int { Swift.max(4096, n / 8) }

    /// The integer whose signed order is the float order of `bits` (−0 just below +0; NaN never asked).
    @inline(__always)
    static func orderKey(_ bits: UInt32) -> Int32 {
        let s = Int32(bitPattern: bits)
        return s ^ ((s &>> 31) & 0x7FFF_FFFF)
    }

    /// Narrows every located rank whose range holds too many values, and returns the final ranges to
    /// gather with each rank's index in the list and its position within its range.
    func refine(_ base: UnsafePointer<Float>, n: Int, lowF: Float, scale: Float,
                ranks located: [Int: (range: RankRange, local: Int)], workerCount: Int) -> [Int: (range: RankRange, local: Int)] {
        var current = located
        let threshold = Self.refineThreshold(n)
        for _ in 0..<3 {
            let big = Set(current.values.map { $0.range }.filter { $0.count > threshold && $0.keyHi > $0.keyLo })
            if big.isEmpty { break }
            for range in big {
                let shift = range.shift
                let counts = keyHistogram(base, n: n, lowF: lowF, scale: scale, range: range, workerCount: workerCount)
                for (rank, entry) in current where entry.range == range {
                    var below = 0, s = 0
                    while s < counts.count - 1 && below + counts[s] <= entry.local {
                        below += counts[s]
                        s += 1
                    }
                    var narrowed = range
                    narrowed.keyLo = range.keyLo + (Int64(s) << shift)
                    narrowed.keyHi = Swift.min(range.keyHi, narrowed.keyLo + (Int64(1) << shift) - 1)
                    narrowed.count = counts[s]
                    current[rank] = (narrowed, entry.local - below)
                }
            }
        }
        return current
    }

    /// Counts of the finite nonzero values in `range`, by sub-range (key − keyLo) >> shift (at most 2048).
    /// Vectorized: eight values at a time, the lanes outside the range counted in a dummy slot.
    func keyHistogram(_ base: UnsafePointer<Float>, n: Int, lowF: Float, scale: Float, range: RankRange,
                      workerCount: Int) -> [Int] {
        typealias F8 = SIMD8<Float>
        typealias U8 = SIMD8<UInt32>
        let shift = UInt32(range.shift)
        let subCount = Int((range.keySpan - 1) >> Int64(shift)) + 1
        let slotsPerLane = subCount + 1  // + the dummy
        let lanes = 4
        let perWorker = lanes * slotsPerLane
        let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: workerCount * perWorker)
        defer { scratch.deallocate() }
        scratch.initialize(repeating: 0, count: workerCount * perWorker)
        let keyLo = UInt32(truncatingIfNeeded: range.keyLo)
        // Key test: (key − keyLo) < span, unsigned; `always` sets the top bit when any key is in range.
        let keyWidth = range.anyKey ? UInt32(0) : UInt32(truncatingIfNeeded: range.keySpan)
        let always: UInt32 = range.anyKey ? 0x8000_0000 : 0
        let yLower = range.yLower, yWidth = range.yWidth
        var totals = [Int](repeating: 0, count: workerCount * subCount)
        totals.withUnsafeMutableBufferPointer { tp in
            guard let tb = tp.baseAddress else { return }
            parallelFor(workerCount, parallel: workerCount > 1) { w in
                let c0 = scratch + w * perWorker
                let c1 = c0 + slotsPerLane, c2 = c1 + slotsPerLane, c3 = c2 + slotsPerLane
                let out = tb + w * subCount
                let start = n * w / workerCount, end = n * (w + 1) / workerCount
                let lowV = F8(repeating: lowF), scaleV = F8(repeating: scale)
                let dummy = U8(repeating: UInt32(subCount))
                let last = U8(repeating: UInt32(subCount - 1))
                var blockStart = start
                while blockStart < end {
                    // Blocks of ≤ 2²⁸ elements: no Int32 counter can overflow.
                    let blockEnd = Swift.min(end, blockStart + (1 << 28))
                    c0.update(repeating: 0, count: perWorker)
                    var i = blockStart
                    while i + 8 <= blockEnd {
                        let v = UnsafeRawPointer(base + i).loadUnaligned(as: F8.self)
                        let bits = unsafeBitCast(v, to: U8.self)
                        let yb = unsafeBitCast((v - lowV) * scaleV, to: U8.self)
                        let dy = yb &- yLower
                        let inY = ~dy & (dy &- yWidth)
                        let signed = unsafeBitCast(bits, to: SIMD8<Int32>.self)
                        let key = unsafeBitCast(signed ^ ((signed &>> 31) & 0x7FFF_FFFF), to: U8.self)
                        let dk = key &- keyLo
                        let inK = (~dk & (dk &- keyWidth)) | always
                        // Finite: exponent field below all-ones (the subtraction sets the top bit).
                        let finite = (bits & 0x7F80_0000) &- 0x7F80_0000
                        let nonzero = ~((bits & 0x7FFF_FFFF) &- 1)  // top bit clear where ±0
                        let take = unsafeBitCast(unsafeBitCast(inY & inK & finite & nonzero, to: SIMD8<Int32>.self) &>> 31,
                                                 to: U8.self)
                        let sub = simdMin(dk &>> shift, last)
                        let b = (sub & take) | (dummy & ~take)
                        c0[Int(b[0])] &+= 1; c1[Int(b[1])] &+= 1; c2[Int(b[2])] &+= 1; c3[Int(b[3])] &+= 1
                        c0[Int(b[4])] &+= 1; c1[Int(b[5])] &+= 1; c2[Int(b[6])] &+= 1; c3[Int(b[7])] &+= 1
                        i += 8
                    }
                    while i < blockEnd {
                        let v = base[i]
                        if v.isFinite && v != 0 {
                            let yb = ((v - lowF) * scale).bitPattern
                            let dk = UInt32(bitPattern: Self.orderKey(v.bitPattern)) &- keyLo
                            if yb &- yLower < yWidth && (range.anyKey || dk < keyWidth) {
                                c0[Int(Swift.min(dk >> shift, UInt32(subCount - 1)))] &+= 1
                            }
                        }
                        i += 1
                    }
                    for s in 0..<subCount { out[s] += Int(c0[s]) + Int(c1[s]) + Int(c2[s]) + Int(c3[s]) }
                    blockStart = blockEnd
                }
            }
        }
        var counts = [Int](repeating: 0, count: subCount)
        for w in 0..<workerCount {
            for s in 0..<subCount { counts[s] += totals[w * subCount + s] }
        }
        return counts
    }

    /// The finite nonzero values of each range, in index order (so that selection among equal values, ±0, does not
    /// depend on the thread count). A vectorized filter tests eight values against every range; only groups
    /// with a hit go through the scalar path. Each worker takes a contiguous part of the matrix and fills its
    /// own part of every range's storage, at most `count` values.
    func gather(_ base: UnsafePointer<Float>, n: Int, lowF: Float, scale: Float, ranges: [RankRange],
                workerCount: Int) -> [[Float]] {
        typealias F8 = SIMD8<Float>
        typealias U8 = SIMD8<UInt32>
        let rangeCount = ranges.count
        var offsets = [Int](repeating: 0, count: rangeCount + 1)
        for s in 0..<rangeCount { offsets[s + 1] = offsets[s] + Swift.max(0, ranges[s].count) }
        let total = offsets[rangeCount]
        // Per range: y lower bound, y width, key lower bound, key width, always-in-key flag.
        var params = [UInt32](repeating: 0, count: 5 * rangeCount)
        for (s, r) in ranges.enumerated() {
            params[5 * s] = r.yLower
            params[5 * s + 1] = r.yWidth
            params[5 * s + 2] = UInt32(truncatingIfNeeded: r.keyLo)
            params[5 * s + 3] = r.anyKey ? 0 : UInt32(truncatingIfNeeded: r.keySpan)
            params[5 * s + 4] = r.anyKey ? 0x8000_0000 : 0
        }
        let keyed = ranges.contains { !$0.anyKey }
        let storage = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, workerCount * total))
        defer { storage.deallocate() }
        var filled = [Int](repeating: 0, count: workerCount * rangeCount)
        params.withUnsafeBufferPointer { pp in
            offsets.withUnsafeBufferPointer { op in
                filled.withUnsafeMutableBufferPointer { fp in
                    guard let pb = pp.baseAddress, let ob = op.baseAddress, let fb = fp.baseAddress else { return }
                    parallelFor(workerCount, parallel: workerCount > 1) { w in
                        let out = storage + w * total
                        let fill = fb + w * rangeCount
                        let lowV = F8(repeating: lowF), scaleV = F8(repeating: scale)
                        @inline(__always) func scalar(_ v: Float) {
                            guard v.isFinite, v != 0 else { return }
                            let yb = ((v - lowF) * scale).bitPattern
                            let key = UInt32(bitPattern: Self.orderKey(v.bitPattern))
                            for s in 0..<rangeCount {
                                let p = pb + 5 * s
                                guard yb &- p[0] < p[1] else { continue }
                                guard p[4] != 0 || key &- p[2] < p[3] else { continue }
                                if fill[s] < ob[s &+ 1] &- ob[s] {
                                    out[ob[s] &+ fill[s]] = v
                                    fill[s] &+= 1
                                }
                                break
                            }
                        }
                        let start = n * w / workerCount, end = n * (w + 1) / workerCount
                        var i = start
                        // The loop twice, with and without the key test (`keyed` is a constant in each).
                        @inline(__always) func scan(keyed: Bool) {
                            while i + 8 <= end {
                                let v = UnsafeRawPointer(base + i).loadUnaligned(as: F8.self)
                                let yb = unsafeBitCast((v - lowV) * scaleV, to: U8.self)
                                let signed = unsafeBitCast(v, to: SIMD8<Int32>.self)
                                let key = unsafeBitCast(signed ^ ((signed &>> 31) & 0x7FFF_FFFF), to: U8.self)
                                var any = U8()
                                for s in 0..<rangeCount {
                                    let p = pb + 5 * s
                                    // x − lower < width, unsigned, width ≤ 2³¹: the top bit of ~d & (d − width).
                                    let dy = yb &- p[0]
                                    if keyed {
                                        let dk = key &- p[2]
                                        any |= (~dy & (dy &- p[1])) & ((~dk & (dk &- p[3])) | p[4])
                                    } else {
                                        any |= ~dy & (dy &- p[1])
                                    }
                                }
                                // Top bit clear where ±0.
                                let top = (any & ~((unsafeBitCast(v, to: U8.self) & 0x7FFF_FFFF) &- 1)) &>> 31
                                let h4 = top.lowHalf | top.highHalf
                                if (h4[0] | h4[1] | h4[2] | h4[3]) != 0 {
                                    // Only the lanes that hit, in lane (index) order.
                                    var lanes = (top &<< U8(0, 1, 2, 3, 4, 5, 6, 7)).wrappedSum()
                                    while lanes != 0 {
                                        scalar(base[i &+ lanes.trailingZeroBitCount])
                                        lanes &= lanes &- 1
                                    }
                                }
                                i += 8
                            }
                        }
                        if keyed { scan(keyed: true) } else { scan(keyed: false) }
                        while i < end {
                            scalar(base[i])
                            i += 1
                        }
                    }
                }
            }
        }
        var result: [[Float]] = []
        for s in 0..<rangeCount {
            var values: [Float] = []
            values.reserveCapacity(offsets[s + 1] - offsets[s])
            for w in 0..<workerCount {
                let from = storage + w * total + offsets[s]
                values.append(contentsOf: UnsafeBufferPointer(start: from, count: filled[w * rangeCount + s]))
            }
            result.append(values)
        }
        return result
    }
}
