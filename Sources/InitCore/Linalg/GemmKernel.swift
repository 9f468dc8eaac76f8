import Dispatch

// The packed, cache-blocked SGEMM behind `Matmul` (GotoBLAS / BLIS structure):
//
//   for jc in n by NC            (a column block of C and B)
//     for pc in k by KC          (a slice of the reduction)
//       pack op(B)[pc.., jc..]   into KC×NR panels (zero-padded past n)
//       for ic in m by MC        (a row block of C and A)
//         pack op(A)[ic.., pc..] into MR×KC panels (zero-padded past m)
//         for every MR×NR tile:  micro-kernel (4×24), 12 SIMD8<Float> accumulators, one FMA per (lane, p)
//
// Packing absorbs the transposes, so the three layouts share one micro-kernel. Every element of C is
// computed the same way whatever the tiling around it: for each KC slice in increasing order, a fused
// multiply-add chain over p (in increasing order) starting from 0, then one addition into C (or a store for
// the first slice when not accumulating). Threads split C into disjoint rectangles only, never k, so the
// result is bit-identical for any thread count.

/// Block sizes. MR×NR is the register tile (4 rows × 3 SIMD8 = 12 accumulators + 3 B vectors + 1 broadcast
/// = the 16 ymm registers); a KC×NR B panel (24 KiB) stays in L1, an MC×KC A block (128 KiB) in L2, a
/// KC×NC B block (2 MiB) in L3. MC is a multiple of MR, NC of NR.
@usableFromInline
enum GemmBlocking {
    static let mr = 4
    static let nr = 24
    static let kc = 256
    static let mc = 128
    static let nc = 2016
    /// Below this many multiply-adds per thread, extra threads cost more than they save.
    static let minWorkPerThread = 48 * 48 * 48
}

/// The operands of one product. Raw pointers make it non-Sendable; it is shared read-only with the worker
/// closures of `DispatchQueue.concurrentPerform`, and the workers write disjoint rectangles of `c`, so the
/// unchecked conformance is sound for the duration of one `run` call (which does not return before all
/// workers have finished).
struct GemmProblem: @unchecked Sendable {
    let layout: MatmulLayout
    let m: Int
    let n: Int
    let k: Int
    let a: UnsafePointer<Float>
    let b: UnsafePointer<Float>
    let c: UnsafeMutablePointer<Float>
    let accumulate: Bool

    /// A rectangle of C owned by one worker: rows `rows`, columns `cols`.
    struct Task {
        let rows: Range<Int>
        let cols: Range<Int>
    }

    func run(threads: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if !accumulate { c.update(repeating: 0, count: m * n) }
            return
        }
        let tasks = GemmProblem.partition(m: m, n: n, k: k, threads: threads)
        if tasks.count == 1 {
            compute(tasks[0])
        } else {
            let problem = self
            DispatchQueue.concurrentPerform(iterations: tasks.count) { t in
                problem.compute(tasks[t])
            }
        }
    }

    /// Splits C into `tm × tn ≤ threads` rectangles aligned to the register tile, choosing the grid that
    /// minimises the largest rectangle (in tiles). Depends on the shape and `threads` only; the numbers do
    /// not depend on it at all (see the file comment).
    static func partition(m: Int, n: Int, k: Int, threads: Int) -> [Task] {
        let mr = GemmBlocking.mr, nr = GemmBlocking.nr
        let mTiles = (m + mr - 1) / mr
        let nTiles = (n + nr - 1) / nr
        let work = m * n * k
        let useful = max(1, min(threads, work / GemmBlocking.minWorkPerThread))
        var best = (tm: 1, tn: 1, area: mTiles * nTiles)
        if useful > 1 {
            for tm in 1...min(useful, mTiles) {
                let tn = min(nTiles, useful / tm)
                let area = ((mTiles + tm - 1) / tm) * ((nTiles + tn - 1) / tn)
                // Prefer splitting columns (B is packed once per rectangle and is the larger panel).
                if area < best.area { best = (tm, tn, area) }
            }
        }
        var tasks: [Task] = []
        tasks.reserveCapacity(best.tm * best.tn)
        for i in 0..<best.tm {
            let r0 = min(m, (mTiles * i / best.tm) * mr)
            let r1 = min(m, (mTiles * (i + 1) / best.tm) * mr)
            for j in 0..<best.tn {
                let c0 = min(n, (nTiles * j / best.tn) * nr)
                let c1 = min(n, (nTiles * (j + 1) / best.tn) * nr)
                if r0 < r1 && c0 < c1 { tasks.append(Task(rows: r0..<r1, cols: c0..<c1)) }
            }
        }
        return tasks
    }

    /// The blocked loop nest over one rectangle of C, with private packing buffers.
    func compute(_ task: Task) {
        let mr = GemmBlocking.mr, nr = GemmBlocking.nr
        let kcMax = min(GemmBlocking.kc, k)
        let ncMax = min(GemmBlocking.nc, (task.cols.count + nr - 1) / nr * nr)
        let mcMax = min(GemmBlocking.mc, (task.rows.count + mr - 1) / mr * mr)
        // Rounded up to 16 floats so that every panel stays 64-byte aligned (the kernel loads B aligned).
        let aCount = (mcMax * kcMax + 15) / 16 * 16
        let bCount = (ncMax * kcMax + 15) / 16 * 16
        let tileCount = mr * nr
        // One 64-byte-aligned allocation: A block, B block, edge-tile scratch.
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: (aCount + bCount + tileCount) * MemoryLayout<Float>.stride, alignment: 64)
        defer { raw.deallocate() }
        let packedA = raw.bindMemory(to: Float.self, capacity: aCount + bCount + tileCount)
        let packedB = packedA + aCount
        let scratch = packedB + bCount

        var jc = task.cols.lowerBound
        while jc < task.cols.upperBound {
            let nc = min(GemmBlocking.nc, task.cols.upperBound - jc)
            var pc = 0
            while pc < k {
                let kc = min(GemmBlocking.kc, k - pc)
                let addToC = accumulate || pc > 0
                packB(into: packedB, pc: pc, kc: kc, jc: jc, nc: nc)
                var ic = task.rows.lowerBound
                while ic < task.rows.upperBound {
                    let mc = min(GemmBlocking.mc, task.rows.upperBound - ic)
                    packA(into: packedA, ic: ic, mc: mc, pc: pc, kc: kc)
                    var jr = 0
                    while jr < nc {
                        let w = min(nr, nc - jr)
                        let bPanel = UnsafePointer(packedB + jr * kc)
                        var ir = 0
                        while ir < mc {
                            let h = min(mr, mc - ir)
                            let aPanel = UnsafePointer(packedA + ir * kc)
                            let cTile = c + (ic + ir) * n + (jc + jr)
                            if h == mr && w == nr {
                                gemmMicroKernel4x24(kc, aPanel, bPanel, cTile, n, addToC)
                            } else {
                                // Edge tile: full kernel into scratch (padded lanes are zeros × zeros),
                                // then the same addition/store per element, lane by lane.
                                gemmMicroKernel4x24(kc, aPanel, bPanel, scratch, nr, false)
                                for i in 0..<h {
                                    let src = scratch + i * nr
                                    let dst = cTile + i * n
                                    if addToC {
                                        for j in 0..<w { dst[j] = dst[j] + src[j] }
                                    } else {
                                        for j in 0..<w { dst[j] = src[j] }
                                    }
                                }
                            }
                            ir += mr
                        }
                        jr += nr
                    }
                    ic += mc
                }
                pc += kc
            }
            jc += nc
        }
    }

    /// Packs op(B)[pc..<pc+kc, jc..<jc+nc] as consecutive KC×NR panels: panel q holds columns
    /// jc+q·NR ..< jc+(q+1)·NR, row p of the panel at offset p·NR; columns past `nc` are zero.
    @inline(__always)
    func packB(into dst: UnsafeMutablePointer<Float>, pc: Int, kc: Int, jc: Int, nc: Int) {
        let nr = GemmBlocking.nr
        var jp = 0
        while jp < nc {
            let w = min(nr, nc - jp)
            let panel = dst + jp * kc
            switch layout {
            case .nn, .tn:
                // B is k×n row-major: a panel row is contiguous in B.
                var src = b + pc * n + jc + jp
                if w == nr {
                    for p in 0..<kc {
                        let s = UnsafeRawPointer(src)
                        let d = UnsafeMutableRawPointer(panel + p * nr)
                        d.storeBytes(of: s.loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
                        d.storeBytes(of: s.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self), toByteOffset: 32, as: SIMD8<Float>.self)
                        d.storeBytes(of: s.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self), toByteOffset: 64, as: SIMD8<Float>.self)
                        src += n
                    }
                } else {
                    for p in 0..<kc {
                        let row = panel + p * nr
                        for j in 0..<w { row[j] = src[j] }
                        for j in w..<nr { row[j] = 0 }
                        src += n
                    }
                }
            case .nt:
                // B is n×k row-major: panel column j is row jc+jp+j of B, contiguous over p.
                for j in 0..<w {
                    let src = b + (jc + jp + j) * k + pc
                    var d = panel + j
                    for p in 0..<kc {
                        d.pointee = src[p]
                        d += nr
                    }
                }
                if w < nr {
                    for p in 0..<kc {
                        for j in w..<nr { panel[p * nr + j] = 0 }
                    }
                }
            }
            jp += nr
        }
    }

    /// Packs op(A)[ic..<ic+mc, pc..<pc+kc] as consecutive MR×KC panels: panel q holds rows
    /// ic+q·MR ..< ic+(q+1)·MR, column p of the panel at offset p·MR; rows past `mc` are zero.
    @inline(__always)
    func packA(into dst: UnsafeMutablePointer<Float>, ic: Int, mc: Int, pc: Int, kc: Int) {
        let mr = GemmBlocking.mr
        var ip = 0
        while ip < mc {
            let h = min(mr, mc - ip)
            let panel = dst + ip * kc
            switch layout {
            case .nn, .nt:
                // A is m×k row-major: panel row i is row ic+ip+i of A, contiguous over p.
                if h == mr {
                    let r0 = a + (ic + ip) * k + pc
                    let r1 = r0 + k, r2 = r1 + k, r3 = r2 + k
                    var d = panel
                    for p in 0..<kc {
                        d[0] = r0[p]; d[1] = r1[p]; d[2] = r2[p]; d[3] = r3[p]
                        d += mr
                    }
                } else {
                    for i in 0..<mr {
                        var d = panel + i
                        if i < h {
                            let src = a + (ic + ip + i) * k + pc
                            for p in 0..<kc { d.pointee = src[p]; d += mr }
                        } else {
                            for _ in 0..<kc { d.pointee = 0; d += mr }
                        }
                    }
                }
            case .tn:
                // A is k×m row-major: a panel column is contiguous in A.
                var src = a + pc * m + ic + ip
                var d = panel
                for _ in 0..<kc {
                    for i in 0..<h { d[i] = src[i] }
                    for i in h..<mr { d[i] = 0 }
                    src += m
                    d += mr
                }
            }
            ip += mr
        }
    }
}

/// The register-tiled micro-kernel: C[0..<4, 0..<24] (+)= Apanel(4×kc) · Bpanel(kc×24).
///
/// `a` is a packed MR×KC panel (column p at a + 4p), `b` a packed KC×NR panel (row p at b + 24p, 32-byte
/// aligned), `c` the top-left of a full 4×24 tile of C with row stride `ldc`. Each of the 96 accumulators is
/// a fused multiply-add chain over p = 0..<kc starting from zero; the tile is then added to C (`add`) or
/// stored. 4×24 rather than 6×16: the same 12 accumulators, but LLVM keeps 3 B vectors + 1 broadcast in the
/// 4 remaining registers without spilling, while with 6×16 it hoisted the 6 broadcasts and spilled.
/// Kept out of line so that it is one symbol in the disassembly (Benchmarks/DISASSEMBLY.md).
@inline(never)
func gemmMicroKernel4x24(
    _ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ add: Bool
) {
    typealias V = SIMD8<Float>
    var c00 = V(), c01 = V(), c02 = V(), c10 = V(), c11 = V(), c12 = V()
    var c20 = V(), c21 = V(), c22 = V(), c30 = V(), c31 = V(), c32 = V()
    var ap = a
    var bp = UnsafeRawPointer(b)
    var p = 0
    while p < kc {
        let b0 = bp.load(as: V.self)
        let b1 = bp.load(fromByteOffset: 32, as: V.self)
        let b2 = bp.load(fromByteOffset: 64, as: V.self)
        var av = V(repeating: ap[0])
        c00.addProduct(av, b0); c01.addProduct(av, b1); c02.addProduct(av, b2)
        av = V(repeating: ap[1])
        c10.addProduct(av, b0); c11.addProduct(av, b1); c12.addProduct(av, b2)
        av = V(repeating: ap[2])
        c20.addProduct(av, b0); c21.addProduct(av, b1); c22.addProduct(av, b2)
        av = V(repeating: ap[3])
        c30.addProduct(av, b0); c31.addProduct(av, b1); c32.addProduct(av, b2)
        ap += 4
        bp += 96
        p += 1
    }
    @inline(__always)
    func update(_ row: Int, _ v0: V, _ v1: V, _ v2: V) {
        let dst = UnsafeMutableRawPointer(c + row * ldc)
        if add {
            let src = UnsafeRawPointer(dst)
            dst.storeBytes(of: src.loadUnaligned(as: V.self) + v0, as: V.self)
            dst.storeBytes(of: src.loadUnaligned(fromByteOffset: 32, as: V.self) + v1, toByteOffset: 32, as: V.self)
            dst.storeBytes(of: src.loadUnaligned(fromByteOffset: 64, as: V.self) + v2, toByteOffset: 64, as: V.self)
        } else {
            dst.storeBytes(of: v0, as: V.self)
            dst.storeBytes(of: v1, toByteOffset: 32, as: V.self)
            dst.storeBytes(of: v2, toByteOffset: 64, as: V.self)
        }
    }
    update(0, c00, c01, c02)
    update(1, c10, c11, c12)
    update(2, c20, c21, c22)
    update(3, c30, c31, c32)
}
