import Dispatch

// Bulk, vectorized sampling from Philox4x32-10.
//
// Index convention (shared by every fill, so that values are a pure function of (seed, stream, index)):
// indices come in aligned groups of 32; element g uses 32-bit word w = (g mod 32) / 8 of the block with
// counter 8·⌊g/32⌋ + (g mod 8). So a group is 8 consecutive blocks stored word by word (8 lanes of word 0,
// then word 1, …), which is exactly the SIMD layout: no transposition before the stores.
//   - uniform:  word w -> u = (w >> 8) · 2⁻²⁴ ∈ [0, 1), value = low + (high − low) · u (< high guaranteed).
//   - normal:   Box–Muller on the word pairs of a block: (w0, w1) -> (r·cos θ, r·sin θ) for words 0 and 1,
//               (w2, w3) likewise for words 2 and 3, with r = √(−2 ln u₁), u₁ = ((w₀ >> 8) + 1)·2⁻²⁴ ∈ (0, 1],
//               θ = 2π · (w₁ >> 8) · 2⁻²⁴. ln, sin, cos and √ are this file's polynomials and Newton steps
//               (explicit FMAs, IEEE operations only), so results are the same on every machine, x86 or ARM,
//               and do not depend on libm.
//   - truncated normal: attempt t of element g is the normal of index g + t·2⁵⁸ (block counter + t·2⁵⁶),
//               accepted when |z| ≤ bound; attempt 0 is exactly `fillNormal`'s value.
//               For bound < 0.5 (where that acceptance rate falls below 38%) the proposal is instead
//               z = bound·(2u − 1) with u from the uniform word of (block + t·2⁵⁶), accepted when
//               −2 ln u' ≥ z², u' from the same word of block + t·2⁵⁶ + 2⁵⁵ (acceptance ≥ e^(−1/8) ≈ 88%).
//               Up to 255 attempts; the chance of exhausting them is below 0.62²⁵⁵ ≈ 10⁻⁵³, and then the
//               value is `mean`. Indices must stay below 2⁵⁵ (3.6 × 10¹⁶ elements) for sub-streams not to overlap.
// Index arithmetic wraps modulo 2⁶⁴ (any offset is accepted; nothing traps).
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

    /// Eight Philox blocks at once: lane j is the block with counter (c1[j] << 32 | c0[j]), word by word.
    ///
    /// Each 256-bit vector holds one word of the eight blocks, viewed as four 64-bit lanes for the
    /// 32×32→64 products: even lanes multiply after a mask, odd lanes after a shift (`vpmuludq` on x86,
    /// `umull` on ARM), and the high/low halves are put back in place with shifts and masks. No lane
    /// shuffles: with 64-bit lanes per word and narrowing at the end, LLVM split everything downstream
    /// (Box–Muller included) into 128-bit halves.
    @inline(__always)
    func blocks8(_ c0in: U32x8, _ c1in: U32x8) -> (U32x8, U32x8, U32x8, U32x8) {
        typealias W = SIMD4<UInt64>
        let low = W(repeating: 0xFFFF_FFFF)
        let high = W(repeating: 0xFFFF_FFFF_0000_0000)
        @inline(__always) func mulhilo(_ x: W, _ m: UInt64) -> (hi: W, lo: W) {
            let even = (x & low) &* m
            let odd = (x &>> 32) &* m
            return ((even &>> 32) | (odd & high), (even & low) | (odd &<< 32))
        }
        @inline(__always) func both(_ v: UInt32) -> W { W(repeating: UInt64(v) | (UInt64(v) << 32)) }
        var c0 = unsafeBitCast(c0in, to: W.self)
        var c1 = unsafeBitCast(c1in, to: W.self)
        var c2 = both(UInt32(truncatingIfNeeded: stream))
        var c3 = both(UInt32(truncatingIfNeeded: stream >> 32))
        var k0 = UInt32(truncatingIfNeeded: seed)
        var k1 = UInt32(truncatingIfNeeded: seed >> 32)
        for _ in 0..<10 {
            let p0 = mulhilo(c0, 0xD251_1F53)
            let p1 = mulhilo(c2, 0xCD9E_8D57)
            c0 = p1.hi ^ c1 ^ both(k0)
            c2 = p0.hi ^ c3 ^ both(k1)
            c1 = p1.lo
            c3 = p0.lo
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return (
            unsafeBitCast(c0, to: U32x8.self), unsafeBitCast(c1, to: U32x8.self),
            unsafeBitCast(c2, to: U32x8.self), unsafeBitCast(c3, to: U32x8.self)
        )
    }

    /// Counters first ..< first + 8 as (low words, high words).
    @inline(__always)
    static func consecutive(_ first: UInt64) -> (U32x8, U32x8) {
        let lo = UInt32(truncatingIfNeeded: first)
        let hi = UInt32(truncatingIfNeeded: first >> 32)
        if lo <= UInt32.max - 7 {
            return (U32x8(repeating: lo) &+ U32x8(0, 1, 2, 3, 4, 5, 6, 7), U32x8(repeating: hi))
        }
        return split(U64x8(repeating: first) &+ U64x8(0, 1, 2, 3, 4, 5, 6, 7))
    }

    /// Arbitrary per-lane counters as (low words, high words).
    @inline(__always)
    static func split(_ counters: U64x8) -> (U32x8, U32x8) {
        var c0 = U32x8(), c1 = U32x8()
        for j in 0..<8 {
            c0[j] = UInt32(truncatingIfNeeded: counters[j])
            c1[j] = UInt32(truncatingIfNeeded: counters[j] >> 32)
        }
        return (c0, c1)
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
    // Integer-only reduction (no lane selects, which the vectorizer would scalarize): offsetting the bits by
    // 1 − √½ makes the exponent field step at √½ instead of 1 (as in musl's logf).
    let ix = unsafeBitCast(x, to: U32x8.self) &+ (0x3F80_0000 &- 0x3F35_04F3)
    let e = SIMD8<Int32>(truncatingIfNeeded: ix &>> 23) &- 127
    let m = unsafeBitCast((ix & 0x007F_FFFF) &+ 0x3F35_04F3, to: F32x8.self)  // [√½, √2)
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
    // Round to nearest (even) by the 1.5·2²³ trick: exact for |x| < 2²², and the low mantissa bits of the
    // shifted value are q itself (mod 4 is all we need). Plain IEEE additions, so identical everywhere.
    let shifted = x + 12_582_912
    let q = shifted - 12_582_912
    let qi = unsafeBitCast(shifted, to: U32x8.self) & 3
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
    // Rotation by q quarter turns: swap for odd q, then sign flips (cos < 0 for q = 1, 2; sin < 0 for 2, 3),
    // applied as XOR of the sign bit.
    // Bitwise selects on integer masks: `replace(with:where:)` would be scalarized lane by lane.
    let swap = U32x8(repeating: 0) &- (qi & 1)  // all ones where q is odd
    let cb = unsafeBitCast(cosT, to: U32x8.self)
    let sb = unsafeBitCast(sinT, to: U32x8.self)
    let cosSign = ((qi &+ 1) & 2) &<< 30
    let sinSign = (qi & 2) &<< 30
    let c = ((cb & ~swap) | (sb & swap)) ^ cosSign
    let s = ((sb & ~swap) | (cb & swap)) ^ sinSign
    return (unsafeBitCast(c, to: F32x8.self), unsafeBitCast(s, to: F32x8.self))
}

/// √x for x ≥ 0 from IEEE operations only (an integer first guess for 1/√x, three Newton steps with FMAs,
/// then x·y with one more correction), so that it is the same on every machine and vectorizes (the
/// standard library's lane-wise `squareRoot()` calls `sqrtf` per lane). Relative error ≲ 2e-7; √0 = 0.
@inline(__always)
func vsqrt(_ x: F32x8) -> F32x8 {
    let bits = unsafeBitCast(x, to: U32x8.self)
    var y = unsafeBitCast(0x5F37_5A86 &- (bits &>> 1), to: F32x8.self)
    let half = x * 0.5
    for _ in 0..<3 {
        // y ← y·(1.5 − ½x·y²)
        y = y * F32x8(repeating: 1.5).addingProduct(-half * y, y)
    }
    // r = x·y, corrected once: r ← r + ½y·(x − r²).
    let r = x * y
    let residual = x.addingProduct(-r, r)
    return r.addingProduct(y * 0.5, residual)
}

/// Box–Muller on word pairs: (radius word, angle word) -> (r cos θ, r sin θ).
@inline(__always)
func boxMuller(_ wr: U32x8, _ wa: U32x8) -> (F32x8, F32x8) {
    let u1 = (top24(wr) + 1) * (1.0 / 16_777_216.0)  // (0, 1]
    let r = vsqrt(vlog(u1) * -2)
    let (c, s) = vcossinQuarter(top24(wa) * (1.0 / 4_194_304.0))  // 4·u2 ∈ [0, 4)
    return (r * c, r * s)
}

/// Stores one group: word w of the 8 blocks at dst + 8w (see the index convention).
@inline(__always)
func storeGroup(_ v0: F32x8, _ v1: F32x8, _ v2: F32x8, _ v3: F32x8, to out: UnsafeMutablePointer<Float>) {
    let d = UnsafeMutableRawPointer(out)
    d.storeBytes(of: v0, as: F32x8.self)
    d.storeBytes(of: v1, toByteOffset: 32, as: F32x8.self)
    d.storeBytes(of: v2, toByteOffset: 64, as: F32x8.self)
    d.storeBytes(of: v3, toByteOffset: 96, as: F32x8.self)
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
        let chunks = elementwiseChunks(count, threads: threads)
        if chunks == 1 {
            Philox.driveRange(base, offset: offset, count: count, generate)
            return
        }
        // Chunk boundaries at multiples of 32 indices (any boundary would give the same values).
        let chunk = ((count + chunks - 1) / chunks + 31) / 32 * 32
        withoutActuallyEscaping(generate) { generate in
            let job = FillJob(base: base, count: count, offset: offset, chunk: chunk, generate: generate)
            parallelFor(iterations: chunks, threads: threads) { w in job.run(w) }
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
                g &+= UInt64(n)
            }
            while count - i >= 32 {
                generate(g / 4, dst + i)
                i += 32
                g &+= 32
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
            let (c0, c1) = Philox.consecutive(block)
            let (w0, w1, w2, w3) = self.blocks8(c0, c1)
            @inline(__always) func map(_ w: U32x8) -> F32x8 {
                var v = lowV.addingProduct(width, top24(w) * (1.0 / 16_777_216.0))
                if clamp { v.replace(with: ceiling, where: v .> ceiling) }
                return v
            }
            storeGroup(map(w0), map(w1), map(w2), map(w3), to: dst)
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
            storeGroup(
                meanV.addingProduct(stdV, z0), meanV.addingProduct(stdV, z1),
                meanV.addingProduct(stdV, z2), meanV.addingProduct(stdV, z3), to: dst)
        }
    }

    /// Standard normals of 8 blocks, word by word.
    @inline(__always)
    func normals8(_ counters: (U32x8, U32x8)) -> (F32x8, F32x8, F32x8, F32x8) {
        let (w0, w1, w2, w3) = blocks8(counters.0, counters.1)
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
        // Pass 1, per group: attempt 0 for every element, standard (unscaled) values.
        drive(out, offset: offset, threads: threads) { block, dst in
            let z =
                uniformProposal
                ? self.uniformProposal8(Philox.consecutive(block), bound: bound)
                : self.normals8(Philox.consecutive(block))
            storeGroup(z.0, z.1, z.2, z.3, to: dst)
        }
        // Pass 2, per thread chunk: redraw the rejected elements eight at a time, then scale.
        guard let base = out.baseAddress else { return }
        let count = out.count
        let chunks = elementwiseChunks(count, threads: threads)
        let chunk = ((count + chunks - 1) / chunks + 31) / 32 * 32
        let job = TruncationJob(
            philox: self, base: base, count: count, offset: offset, chunk: chunk, bound: bound,
            uniformProposal: uniformProposal, mean: mean, std: std)
        if chunks == 1 {
            job.run(0)
        } else {
            parallelFor(iterations: chunks, threads: threads) { w in job.run(w) }
        }
    }

    /// Redraws, at attempts 1, 2, …, the elements at global indices `indices[0..<lanes]` (positions
    /// `positions` in `dst`) until each is accepted; an element's attempts depend only on its own index.
    func redraw(
        _ indices: U64x8, _ positions: SIMD8<Int>, lanes: Int, bound: Float, uniformProposal: Bool,
        into dst: UnsafeMutablePointer<Float>
    ) {
        var pendingLanes = (1 << lanes) - 1
        var attempt: UInt64 = 1
        while pendingLanes != 0 && attempt < 256 {
            var counters = U64x8(repeating: 0)
            for l in 0..<lanes {
                let g = indices[l]
                counters[l] = 8 &* (g / 32) &+ g % 8 &+ (attempt << 56)
            }
            let split = Philox.split(counters)
            let z = uniformProposal ? uniformProposal8(split, bound: bound) : normals8(split)
            var rest = pendingLanes
            while rest != 0 {
                let l = rest.trailingZeroBitCount
                rest &= rest - 1
                let v: Float
                switch (indices[l] % 32) / 8 {
                case 0: v = z.0[l]
                case 1: v = z.1[l]
                case 2: v = z.2[l]
                default: v = z.3[l]
                }
                if abs(v) <= bound {
                    dst[positions[l]] = v
                    pendingLanes &= ~(1 << l)
                }
            }
            attempt += 1
        }
        // 255 rejections in a row (probability < 1e-50): the value is the mean.
        while pendingLanes != 0 {
            dst[positions[pendingLanes.trailingZeroBitCount]] = 0
            pendingLanes &= pendingLanes - 1
        }
    }

    /// Bit j set where lane j is rejected: |z| > bound or NaN. For non-negative floats the order of the bit
    /// patterns is the order of the values (NaN above +∞), so this is integer arithmetic only.
    @inline(__always)
    func rejectionMask(_ z: F32x8, _ boundBits: U32x8) -> UInt32 {
        let magnitude = unsafeBitCast(z, to: U32x8.self) & 0x7FFF_FFFF
        let over = (boundBits &- magnitude) &>> 31  // 1 where magnitude > bound (both < 2³¹)
        return (over &<< U32x8(0, 1, 2, 3, 4, 5, 6, 7)).wrappedSum()
    }

    /// Uniform-proposal attempts for 8 blocks: z = bound·(2u − 1), or NaN where rejected.
    @inline(__always)
    func uniformProposal8(_ counters: (U32x8, U32x8), bound: Float) -> (F32x8, F32x8, F32x8, F32x8) {
        let (p0, p1, p2, p3) = blocks8(counters.0, counters.1)
        // Counter + 2⁵⁵: bit 23 of the high word (block counters stay below 2⁵³, so no carry).
        let (a0, a1, a2, a3) = blocks8(counters.0, counters.1 | (1 << 23))
        let b = F32x8(repeating: bound)
        @inline(__always) func one(_ wp: U32x8, _ wa: U32x8) -> F32x8 {
            let u = top24(wp) * (1.0 / 8_388_608.0) - 1  // 2u − 1 ∈ [−1, 1)
            let zv = b * u
            let ua = (top24(wa) + 1) * (1.0 / 16_777_216.0)
            // Rejected where z² − (−2 ln u') > 0, i.e. where that float's bit pattern is a positive Int32
            // (it is never −0 here); marked NaN. Integer masks again, to stay vectorized.
            let diff = (vlog(ua) * 2).addingProduct(zv, zv)
            let rejected = unsafeBitCast(
                (SIMD8<Int32>(repeating: 0) &- unsafeBitCast(diff, to: SIMD8<Int32>.self)) &>> 31, to: U32x8.self)
            let bits = (unsafeBitCast(zv, to: U32x8.self) & ~rejected) | (U32x8(repeating: 0x7FC0_0000) & rejected)
            return unsafeBitCast(bits, to: F32x8.self)
        }
        return (one(p0, a0), one(p1, a1), one(p2, a2), one(p3, a3))
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

/// One multi-threaded fill, shared by the workers of a `ComputePool` round. Holds a raw output pointer and a
/// generator closure that only reads immutable captures; each worker writes its own disjoint chunk, and
/// The round returns only after every worker has finished, so sharing it unchecked is sound.
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
            Philox.driveRange(base + start, offset: offset &+ UInt64(start), count: end - start, generate)
        }
    }
}

/// Pass 2 of a truncated-normal fill over one thread's chunk: finds rejected values (|z| > bound or NaN)
/// eight lanes at a time, redraws them in batches of eight (`Philox.redraw`), then applies mean + std·z.
/// Shared with a pool round's workers like `FillJob`: immutable, and chunks are disjoint.
struct TruncationJob: @unchecked Sendable {
    let philox: Philox
    let base: UnsafeMutablePointer<Float>
    let count: Int
    let offset: UInt64
    let chunk: Int
    let bound: Float
    let uniformProposal: Bool
    let mean: Float
    let std: Float

    func run(_ worker: Int) {
        let start = worker * chunk
        let end = min(count, start + chunk)
        guard start < end else { return }
        let boundBits = U32x8(repeating: bound.bitPattern)
        var indices = U64x8(repeating: 0)
        var positions = SIMD8<Int>(repeating: 0)
        var lanes = 0
        @inline(__always) func consider(_ i: Int) {
            indices[lanes] = offset &+ UInt64(i)
            positions[lanes] = i
            lanes += 1
            if lanes == 8 {
                philox.redraw(indices, positions, lanes: 8, bound: bound, uniformProposal: uniformProposal, into: base)
                lanes = 0
            }
        }
        var i = start
        while end - i >= 8 {
            let v = UnsafeRawPointer(base + i).loadUnaligned(as: F32x8.self)
            var rejected = philox.rejectionMask(v, boundBits)
            while rejected != 0 {
                consider(i + rejected.trailingZeroBitCount)
                rejected &= rejected - 1
            }
            i += 8
        }
        while i < end {
            if !(abs(base[i]) <= bound) { consider(i) }
            i += 1
        }
        if lanes > 0 {
            philox.redraw(indices, positions, lanes: lanes, bound: bound, uniformProposal: uniformProposal, into: base)
        }
        let meanV = F32x8(repeating: mean)
        let stdV = F32x8(repeating: std)
        i = start
        while end - i >= 8 {
            let d = UnsafeMutableRawPointer(base + i)
            d.storeBytes(of: meanV.addingProduct(stdV, d.loadUnaligned(as: F32x8.self)), as: F32x8.self)
            i += 8
        }
        while i < end {
            base[i] = mean.addingProduct(std, base[i])
            i += 1
        }
    }
}
