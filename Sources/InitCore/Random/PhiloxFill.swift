import Dispatch

// Bulk, vectorized sampling from Philox4x32-10.
//
// Index convention (shared by every fill, so that values are a pure function of (seed, stream, index)):
// element g (= offset + i) uses block counter g / 4 and 32-bit word g % 4 of that block.
//   - uniform:  word w -> u = (w >> 8) · 2⁻²⁴ ∈ [0, 1), value = low + (high − low) · u (< high guaranteed).
//   - normal:   Box–Muller on the word pairs of a block: (w0, w1) -> elements 4c, 4c+1 (r·cos θ, r·sin θ),
//               (w2, w3) -> elements 4c+2, 4c+3, with r = √(−2 ln u₁), u₁ = ((w₀ >> 8) + 1) · 2⁻²⁴ ∈ (0, 1],
//               θ = 2π · (w₁ >> 8) · 2⁻²⁴. ln, sin and cos are this file's polynomials (all lanes, all
//               machines: the same IEEE operations with explicit FMAs), so results do not depend on libm.
//   - truncated normal: attempt t of element g is the normal of "virtual index" g + t·2⁵⁸ (block counter
//               g/4 + t·2⁵⁶), accepted when |z| ≤ bound; attempt 0 is exactly `fillNormal`'s value.
//               For bound < 0.5 (where that acceptance rate falls below 38%) the proposal is instead
//               z = bound·(2u − 1) from word g%4 of block g/4 + t·2⁵⁶, accepted when −2 ln u' ≥ z², u' from
//               word g%4 of block g/4 + t·2⁵⁶ + 2⁵⁵ (acceptance ≥ e^(−1/8) ≈ 88%). Up to 256 attempts; the
//               chance of exhausting them is below 0.62²⁵⁵ ≈ 10⁻⁵³, and then the value is `mean`.
//               Indices must stay below 2⁵⁵ (36 × 10¹⁵ elements) for the sub-streams not to overlap.
// Multi-threading splits the index range into contiguous chunks; as no value depends on the chunking, the
// output is bit-identical for any thread count.

@usableFromInline typealias U32x8 = SIMD8<UInt32>
@usableFromInline typealias U64x8 = SIMD8<UInt64>
@usableFromInline typealias F32x8 = SIMD8<Float>

extension Philox {
    /// Philox4x32-10 on an explicit 4-word counter and 2-word key, in the Random123 convention (the
    /// `kat_vectors` file's layout). `block(_:)` is this with counter (lo, hi, stream lo, stream hi) and key
    /// (seed lo, seed hi).
    @inlinable
    public static func block(
        counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32)
    ) -> (UInt32, UInt32, UInt32, UInt32) {
        var (c0, c1, c2, c3) = counter
        var (k0, k1) = key
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }

    /// Eight Philox blocks at once: lane j is `block(counters[j])`, returned word by word.
    @inline(__always)
    func blocks8(_ counters: U64x8) -> (U32x8, U32x8, U32x8, U32x8) {
        var c0 = U32x8(truncatingIfNeeded: counters)
        var c1 = U32x8(truncatingIfNeeded: counters &>> 32)
        var c2 = U32x8(repeating: UInt32(truncatingIfNeeded: stream))
        var c3 = U32x8(repeating: UInt32(truncatingIfNeeded: stream >> 32))
        var k0 = UInt32(truncatingIfNeeded: seed)
        var k1 = UInt32(truncatingIfNeeded: seed >> 32)
        for _ in 0..<10 {
            let p0 = U64x8(truncatingIfNeeded: c0) &* 0xD251_1F53
            let p1 = U64x8(truncatingIfNeeded: c2) &* 0xCD9E_8D57
            let hi0 = U32x8(truncatingIfNeeded: p0 &>> 32), lo0 = U32x8(truncatingIfNeeded: p0)
            let hi1 = U32x8(truncatingIfNeeded: p1 &>> 32), lo1 = U32x8(truncatingIfNeeded: p1)
            c0 = hi1 ^ c1 ^ U32x8(repeating: k0)
            c1 = lo1
            c2 = hi0 ^ c3 ^ U32x8(repeating: k1)
            c3 = lo0
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }

    @inline(__always)
    static func consecutive(_ first: UInt64) -> U64x8 {
        U64x8(repeating: first) &+ U64x8(0, 1, 2, 3, 4, 5, 6, 7)
    }
}

// MARK: - Vectorized elementary functions

/// Top 24 bits of each word as a float in [0, 2²⁴), exactly.
@inline(__always)
func top24(_ w: U32x8) -> F32x8 {
    F32x8(SIMD8<Int32>(truncatingIfNeeded: w &>> 8))
}

/// Natural logarithm for x in (0, ∞) (normal floats), |error| ≤ ~2 ulp of the result plus 1e-7 absolute
/// (tested against Double-precision log). x = 2^e · m with m ∈ [√½, √2); ln m = 2 atanh(s), s = (m−1)/(m+1),
/// |s| ≤ 0.1716, odd series to s⁹ (truncation < 1e-9).
@inline(__always)
func vlog(_ x: F32x8) -> F32x8 {
    let bits = unsafeBitCast(x, to: U32x8.self)
    var e = SIMD8<Int32>(truncatingIfNeeded: bits &>> 23) &- 127
    var m = unsafeBitCast((bits & 0x007F_FFFF) | 0x3F80_0000, to: F32x8.self)
    let big = m .> F32x8(repeating: 1.41421356)
    m.replace(with: m * 0.5, where: big)
    e.replace(with: e &+ 1, where: big)
    let s = (m - 1) / (m + 1)
    let s2 = s * s
    var p = F32x8(repeating: 2.0 / 7.0).addingProduct(F32x8(repeating: 2.0 / 9.0), s2)
    p = F32x8(repeating: 2.0 / 5.0).addingProduct(p, s2)
    p = F32x8(repeating: 2.0 / 3.0).addingProduct(p, s2)
    let lnm = (s + s).addingProduct(s * s2, p)
    let ef = F32x8(e)
    // ln 2 = hi + lo with hi exact in 16 bits, so e·hi is exact for |e| < 256.
    return (lnm.addingProduct(ef, F32x8(repeating: 1.428606765330187e-06))).addingProduct(
        ef, F32x8(repeating: 0.693145751953125))
}

/// (cos, sin) of 2π·x/4 for x ∈ [0, 4] given as a float: quadrant q = round(x), θ = (x − q)·π/2 ∈ [−π/4, π/4]
/// (exact reduction), Taylor polynomials to θ⁹ / θ¹⁰ (truncation < 2e-9), then rotation by q quarter turns.
@inline(__always)
func vcossinQuarter(_ x: F32x8) -> (cos: F32x8, sin: F32x8) {
    let q = x.rounded(.toNearestOrEven)
    let t = (x - q) * (Float.pi / 2)
    let t2 = t * t
    var sp = F32x8(repeating: -1.0 / 5040.0).addingProduct(F32x8(repeating: 1.0 / 362880.0), t2)
    sp = F32x8(repeating: 1.0 / 120.0).addingProduct(sp, t2)
    sp = F32x8(repeating: -1.0 / 6.0).addingProduct(sp, t2)
    let sinT = t.addingProduct(t * t2, sp)
    var cp = F32x8(repeating: 1.0 / 40320.0).addingProduct(F32x8(repeating: -1.0 / 3628800.0), t2)
    cp = F32x8(repeating: -1.0 / 720.0).addingProduct(cp, t2)
    cp = F32x8(repeating: 1.0 / 24.0).addingProduct(cp, t2)
    cp = F32x8(repeating: -0.5).addingProduct(cp, t2)
    let cosT = F32x8(repeating: 1).addingProduct(cp, t2)
    let qi = SIMD8<Int32>(q) & 3
    let swap = (qi & 1) .!= 0
    var c = cosT
    var s = sinT
    c.replace(with: sinT, where: swap)
    s.replace(with: cosT, where: swap)
    c.replace(with: -c, where: ((qi &+ 1) & 2) .!= 0)
    s.replace(with: -s, where: (qi & 2) .!= 0)
    return (c, s)
}

/// Box–Muller on word pairs: (radius word, angle word) -> (r cos θ, r sin θ).
@inline(__always)
func boxMuller(_ wr: U32x8, _ wa: U32x8) -> (F32x8, F32x8) {
    let u1 = (top24(wr) + 1) * (1.0 / 16_777_216.0)  // (0, 1]
    let r = (vlog(u1) * -2).squareRoot()
    let (c, s) = vcossinQuarter(top24(wa) * (1.0 / 4_194_304.0))  // 4·u2 ∈ [0, 4)
    return (r * c, r * s)
}

/// Stores 8 blocks' worth of values, given word by word, in index order (element 4j + w = v_w[j]).
@inline(__always)
func storeInterleaved(_ v0: F32x8, _ v1: F32x8, _ v2: F32x8, _ v3: F32x8, to out: UnsafeMutablePointer<Float>) {
    for j in 0..<8 {
        let d = UnsafeMutableRawPointer(out + 4 * j)
        d.storeBytes(of: SIMD4<Float>(v0[j], v1[j], v2[j], v3[j]), as: SIMD4<Float>.self)
    }
}

// MARK: - Fills

extension Philox {
    /// Elements processed per SIMD step (8 blocks × 4 words).
    static var group: Int { 32 }

    /// Drives a per-group generator over `out`, for global indices offset ..< offset + out.count, splitting
    /// the range over `threads` threads. `generate(firstBlock, dst)` writes the 32 values of blocks
    /// firstBlock ..< firstBlock + 8 to dst (32 floats).
    @inline(__always)
    func drive(
        _ out: UnsafeMutableBufferPointer<Float>, offset: UInt64, threads: Int,
        _ generate: (UInt64, UnsafeMutablePointer<Float>) -> Void
    ) {
        guard let base = out.baseAddress, out.count > 0 else { return }
        let count = out.count
        let workers = max(1, min(threads, count / 65_536))
        if workers == 1 {
            Philox.driveRange(base, offset: offset, count: count, generate)
            return
        }
        // Chunk boundaries at multiples of 32 indices (any boundary would give the same values).
        let chunk = ((count + workers - 1) / workers + 31) / 32 * 32
        withoutActuallyEscaping(generate) { generate in
            let job = FillJob(base: base, count: count, offset: offset, chunk: chunk, generate: generate)
            DispatchQueue.concurrentPerform(iterations: workers) { w in job.run(w) }
        }
    }

    @inline(__always)
    static func driveRange(
        _ dst: UnsafeMutablePointer<Float>, offset: UInt64, count: Int,
        _ generate: (UInt64, UnsafeMutablePointer<Float>) -> Void
    ) {
        var i = 0
        var g = offset
        // Head (and whole range if short): through a scratch group.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { scratch in
            guard let tmp = scratch.baseAddress else { return }
            let headSkip = Int(g % 32)
            if headSkip != 0 {
                generate((g - UInt64(headSkip)) / 4, tmp)
                let n = min(count, 32 - headSkip)
                for j in 0..<n { dst[j] = tmp[headSkip + j] }
                i += n
                g += UInt64(n)
            }
            while count - i >= 32 {
                generate(g / 4, dst + i)
                i += 32
                g += 32
            }
            if i < count {
                generate(g / 4, tmp)
                for j in 0..<(count - i) { dst[i + j] = tmp[j] }
            }
        }
    }

    /// Fills `out` with U[low, high): element i is a deterministic function of (seed, stream, offset + i),
    /// identical for any `threads`. Values are low + (high − low)·u with u on the 2⁻²⁴ grid, clamped below
    /// `high` (rounding could otherwise reach it).
    public func fillUniform(
        _ out: UnsafeMutableBufferPointer<Float>, low: Float, high: Float, offset: UInt64 = 0, threads: Int = 1
    ) {
        let width = F32x8(repeating: high - low)
        let lowV = F32x8(repeating: low)
        let ceiling = F32x8(repeating: high > low ? high.nextDown : high)
        let clamp = high > low
        drive(out, offset: offset, threads: threads) { block, dst in
            let (w0, w1, w2, w3) = self.blocks8(Philox.consecutive(block))
            @inline(__always) func map(_ w: U32x8) -> F32x8 {
                var v = lowV.addingProduct(width, top24(w) * (1.0 / 16_777_216.0))
                if clamp { v.replace(with: ceiling, where: v .> ceiling) }
                return v
            }
            storeInterleaved(map(w0), map(w1), map(w2), map(w3), to: dst)
        }
    }

    /// Fills `out` with mean + std·z, z ~ N(0, 1) by vectorized Box–Muller (see the file comment); element i
    /// depends only on (seed, stream, offset + i), identically for any `threads`.
    public func fillNormal(
        _ out: UnsafeMutableBufferPointer<Float>, mean: Float, std: Float, offset: UInt64 = 0, threads: Int = 1
    ) {
        let meanV = F32x8(repeating: mean)
        let stdV = F32x8(repeating: std)
        drive(out, offset: offset, threads: threads) { block, dst in
            let (z0, z1, z2, z3) = self.normals8(Philox.consecutive(block))
            storeInterleaved(
                meanV.addingProduct(stdV, z0), meanV.addingProduct(stdV, z1),
                meanV.addingProduct(stdV, z2), meanV.addingProduct(stdV, z3), to: dst)
        }
    }

    /// Standard normals of 8 blocks, word by word.
    @inline(__always)
    func normals8(_ counters: U64x8) -> (F32x8, F32x8, F32x8, F32x8) {
        let (w0, w1, w2, w3) = blocks8(counters)
        let (z0, z1) = boxMuller(w0, w1)
        let (z2, z3) = boxMuller(w2, w3)
        return (z0, z1, z2, z3)
    }

    /// Fills `out` with mean + std·z, z ~ N(0, 1) conditioned on |z| ≤ bound, without variance correction
    /// (callers rescale std if they want one). Per-element rejection on counter sub-streams (file comment):
    /// element i still depends only on (seed, stream, offset + i), identically for any `threads`.
    /// A `bound` that is not positive (or NaN) gives `mean` everywhere (the limit as bound → 0); an infinite
    /// bound gives `fillNormal`'s values.
    public func fillTruncatedNormal(
        _ out: UnsafeMutableBufferPointer<Float>, mean: Float, std: Float, bound: Float = 2,
        offset: UInt64 = 0, threads: Int = 1
    ) {
        guard bound > 0 else {
            out.update(repeating: mean)
            return
        }
        let uniformProposal = bound < 0.5
        let meanV = F32x8(repeating: mean)
        let stdV = F32x8(repeating: std)
        drive(out, offset: offset, threads: threads) { block, dst in
            // Standard values first (attempt 0 for every element), into dst.
            var z: (F32x8, F32x8, F32x8, F32x8)
            if uniformProposal {
                z = self.uniformProposal8(Philox.consecutive(block), bound: bound)
            } else {
                z = self.normals8(Philox.consecutive(block))
            }
            storeInterleaved(z.0, z.1, z.2, z.3, to: dst)
            // Retries for the rejected ones (NaN marks rejection for the uniform proposal), then scale.
            var rejected: UInt32 = 0
            for j in 0..<32 where !(abs(dst[j]) <= bound) { rejected |= 1 << UInt32(j) }
            if rejected != 0 {
                self.retry(rejected, firstBlock: block, bound: bound, uniformProposal: uniformProposal, into: dst)
            }
            for j in stride(from: 0, to: 32, by: 8) {
                let d = UnsafeMutableRawPointer(dst + j)
                let v = d.loadUnaligned(as: F32x8.self)
                d.storeBytes(of: meanV.addingProduct(stdV, v), as: F32x8.self)
            }
        }
    }

    /// Uniform-proposal attempts for 8 blocks: z = bound·(2u − 1), or NaN where rejected.
    @inline(__always)
    func uniformProposal8(_ counters: U64x8, bound: Float) -> (F32x8, F32x8, F32x8, F32x8) {
        let (p0, p1, p2, p3) = blocks8(counters)
        let (a0, a1, a2, a3) = blocks8(counters &+ (1 << 55))
        let b = F32x8(repeating: bound)
        @inline(__always) func one(_ wp: U32x8, _ wa: U32x8) -> F32x8 {
            let u = top24(wp) * (1.0 / 8_388_608.0) - 1  // 2u − 1 ∈ [−1, 1)
            var zv = b * u
            let ua = (top24(wa) + 1) * (1.0 / 16_777_216.0)
            zv.replace(with: .nan, where: vlog(ua) * -2 .< zv * zv)
            return zv
        }
        return (one(p0, a0), one(p1, a1), one(p2, a2), one(p3, a3))
    }

    /// Re-draws the elements whose bits are set in `rejected` (positions in the group starting at
    /// `firstBlock`, standard values in `dst`): attempt t = 1, 2, … on block counters + t·2⁵⁶, up to eight
    /// elements per SIMD step.
    func retry(
        _ rejected: UInt32, firstBlock: UInt64, bound: Float, uniformProposal: Bool,
        into dst: UnsafeMutablePointer<Float>
    ) {
        var pending = rejected
        var attempt: UInt64 = 1
        while pending != 0 && attempt < 256 {
            var still: UInt32 = 0
            var rest = pending
            while rest != 0 {
                // Up to 8 positions into the lanes.
                var positions = SIMD8<Int32>(repeating: -1)
                var counters = U64x8(repeating: 0)
                var lanes = 0
                while rest != 0 && lanes < 8 {
                    let j = rest.trailingZeroBitCount
                    rest &= rest - 1
                    positions[lanes] = Int32(j)
                    counters[lanes] = firstBlock + UInt64(j / 4) + (attempt << 56)
                    lanes += 1
                }
                let z = uniformProposal ? uniformProposal8(counters, bound: bound) : normals8(counters)
                for l in 0..<lanes {
                    let j = Int(positions[l])
                    let v: Float
                    switch j % 4 {
                    case 0: v = z.0[l]
                    case 1: v = z.1[l]
                    case 2: v = z.2[l]
                    default: v = z.3[l]
                    }
                    if abs(v) <= bound { dst[j] = v } else { still |= 1 << UInt32(j) }
                }
            }
            pending = still
            attempt += 1
        }
        // 255 rejections in a row (probability < 1e-50): the value is the mean.
        while pending != 0 {
            dst[pending.trailingZeroBitCount] = 0
            pending &= pending - 1
        }
    }
}

// MARK: - Array conveniences

extension Philox {
    /// `count` values of U[low, high) at indices offset ..< offset + count (see `fillUniform`).
    public func uniform(count: Int, low: Float, high: Float, offset: UInt64 = 0, threads: Int = 1) -> [Float] {
        [Float](unsafeUninitializedCapacity: max(0, count)) { buf, initialized in
            fillUniform(buf, low: low, high: high, offset: offset, threads: threads)
            initialized = buf.count
        }
    }

    /// `count` values of N(mean, std²) at indices offset ..< offset + count (see `fillNormal`).
    public func normal(count: Int, mean: Float, std: Float, offset: UInt64 = 0, threads: Int = 1) -> [Float] {
        [Float](unsafeUninitializedCapacity: max(0, count)) { buf, initialized in
            fillNormal(buf, mean: mean, std: std, offset: offset, threads: threads)
            initialized = buf.count
        }
    }

    /// `count` truncated-normal values at indices offset ..< offset + count (see `fillTruncatedNormal`).
    public func truncatedNormal(
        count: Int, mean: Float, std: Float, bound: Float = 2, offset: UInt64 = 0, threads: Int = 1
    ) -> [Float] {
        [Float](unsafeUninitializedCapacity: max(0, count)) { buf, initialized in
            fillTruncatedNormal(buf, mean: mean, std: std, bound: bound, offset: offset, threads: threads)
            initialized = buf.count
        }
    }
}

/// One multi-threaded fill, shared by the `concurrentPerform` workers. Holds a raw output pointer and a
/// generator closure that only reads immutable captures; each worker writes its own disjoint chunk, and
/// `concurrentPerform` returns only after every worker has finished, so sharing it unchecked is sound.
struct FillJob: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    let count: Int
    let offset: UInt64
    let chunk: Int
    let generate: (UInt64, UnsafeMutablePointer<Float>) -> Void

    func run(_ worker: Int) {
        let start = worker * chunk
        let end = min(count, start + chunk)
        if start < end {
            Philox.driveRange(base + start, offset: offset + UInt64(start), count: end - start, generate)
        }
    }
}
