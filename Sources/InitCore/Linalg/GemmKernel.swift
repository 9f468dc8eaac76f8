import CPUHints
import Dispatch
import Synchronization

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
// the first slice when not accumulating). Threads share the packing and then split C into disjoint tiles,
// never k (see `ParallelGemm`), so the result is bit-identical for any thread count.
//
// `nn` and `nt` products with few rows of C (m ≤ 256) pack only B, per panel where it is used, and the
// micro-kernel reads A in place (`GemmProblem.runDirect`), with the same k-slices and so the same bits.

/// Block sizes. MR×NR is the register tile (4 rows × 3 SIMD8 = 12 accumulators + 3 B vectors + 1 broadcast
/// = the 16 ymm registers); a KC×NR B panel (24 KiB) stays in L1, an MC×KC A block (128 KiB) in L2, a
/// KC×NC B block (2 MiB) in L3. MC is a multiple of MR, NC of NR.
@usableFromInline
enum GemmBlocking {
    static let mr = 4
    static let nr = 24
    /// A panel of at most this many columns takes the 4×16 kernels (`gemmMicroKernel4x16`).
    static let narrow = 16
    static let kc = 256
    static let mc = 128
    static let nc = 2016
    /// Below this many multiply-adds per thread, extra threads cost more than they save (two
    /// parallel rounds per k-slice (`ComputePool`) cost µs when its helpers are awake, tens of µs when they
    /// must be woken). Measured on 2 cores (`initlab bench matmul --shape …`): at 2²⁰, 64×256×256 (a training
    /// step's products at width 256, batch 64) runs 0.074 ms on 2 threads against 0.108 ms on 1, while
    /// 32×128×128 is still faster on one; the earlier 2²² kept the former single-threaded.
    static let minWorkPerThread = 1 << 20
    /// `nn` and `nt` products with at most this many rows of C take the in-place path (`GemmProblem.runDirect`).
    static let directMaxRows = 256
}

/// The operands of one product. Raw pointers make it non-Sendable; it is shared read-only with the worker
/// closures of a `ComputePool` round, and the workers write disjoint rectangles of `c`, so the
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
    /// C holds weights that plain SGD's step updates with the product as their gradient, which is never stored
    /// (`Matmul.sgdStep`); one k-slice only, on the packed path.
    var sgd: MatmulSGDStep? = nil

    /// A rectangle of C: rows `rows`, columns `cols`.
    struct Task {
        let rows: Range<Int>
        let cols: Range<Int>
    }

    /// - Parameters:
    ///   - minWorkPerThread: threading threshold (tests lower it to exercise the parallel path on small shapes).
    ///   - directMaxRows: products with at most this many rows take the in-place path (tests set it to 0 or
    ///     `Int.max` to compare the two paths bit for bit).
    ///   - side: independent work items to run in the same pool round, handed out first (see
    ///     `Matmul.multiply(_:m:n:k:a:b:c:accumulate:alongside:_:)`); run first, in order, when the product
    ///     does not take the direct path.
    func run(
        threads: Int, minWorkPerThread: Int = GemmBlocking.minWorkPerThread,
        directMaxRows: Int = GemmBlocking.directMaxRows, alongside side: (count: Int, body: (Int) -> Void)? = nil
    ) {
        precondition(sgd == nil || (k <= GemmBlocking.kc && !accumulate), "an SGD step takes one k-slice and overwrites nothing else")
        let direct = m <= directMaxRows && layout != .tn && m > 0 && n > 0 && k > 0 && sgd == nil
        if let side, !direct { for i in 0..<side.count { side.body(i) } }
        if m == 0 || n == 0 { return }
        if k == 0 {
            if !accumulate { c.update(repeating: 0, count: m * n) }
            return
        }
        let workers = max(1, min(threads, m * n * k / max(1, minWorkPerThread)))
        if direct {
            // Side items are more work: worth a second thread whatever the product's size.
            runDirect(workers: (side?.count ?? 0) == 0 ? workers : min(threads, max(2, workers)), alongside: side)
        } else if workers == 1 {
            compute(Task(rows: 0..<m, cols: 0..<n))
        } else {
            ParallelGemm(problem: self, workers: workers).run()
        }
    }

    /// The path for `nn` and `nt` products with few rows (m ≤ `GemmBlocking.directMaxRows`: a training step's
    /// forward and input-gradient products at a batch of 64 or 256). There a packed B panel serves only m/4
    /// micro-kernel calls, packing A (a 4×4 transpose per 16 floats) cost as much as packing B, and the
    /// two-round structure (pack, then compute) a barrier per product. Here a work item is one B panel × a
    /// range of row tiles: it packs its B panel (KC×NR, in L1) and reads A in place through the strided
    /// micro-kernel (a tile's four rows stream; only edge rows past m are packed, zero-padded). Each item runs
    /// every k-slice in order, so a product is one pool round. Items take a panel's whole height, except the
    /// last panels, which are split in two when several workers share the product, so that the round ends
    /// evenly. Each worker owns a contiguous range of the items (`WorkQueues`) and takes it from the front, so it
    /// knows its next panel and asks for that panel's rows of B (from memory into L2) while it computes the
    /// current one; a worker whose range is empty takes items from the back of another's. With `side`, the side
    /// items are taken first, from a shared counter, and the product's items follow. The same k-slices and the
    /// same kernel on the same values as the packed path: the same bits. (`tn` stays packed: its A has four floats per row of A, and reading them in place, or
    /// packing them per item, measured slower than packing once.)
    func runDirect(workers: Int, alongside side: (count: Int, body: (Int) -> Void)? = nil) {
        let mr = GemmBlocking.mr
        let panels = (n + GemmBlocking.nr - 1) / GemmBlocking.nr
        let rowTiles = (m + mr - 1) / mr
        let kcMax = min(GemmBlocking.kc, k)
        let split = workers > 1 && rowTiles >= 2 ? min(panels, workers - 1) : 0
        let whole = panels - split
        let items = whole + 2 * split
        /// Item t: a whole panel, or a half of one of the last panels.
        func item(_ t: Int) -> (rows: Range<Int>, panel: Int) {
            if t < whole { return (0..<rowTiles, t) }
            let half = (t - whole) % 2
            return ((rowTiles * half / 2)..<(rowTiles * (half + 1) / 2), whole + (t - whole) / 2)
        }
        if workers == 1 {
            if let side { for i in 0..<side.count { side.body(i) } }
            for t in 0..<items {
                let (rows, q) = item(t)
                directItem(rowTiles: rows, panel: q, kcMax: kcMax, prefetch: t + 1 < items ? item(t + 1).panel : nil)
            }
            return
        }
        // Each worker owns a contiguous range of the items and takes them from its front, so it knows its next
        // panel and fetches it while computing this one, and its columns of C are contiguous; a worker whose range
        // is empty takes the last item of another's. Side items first, from a shared counter.
        let queues = WorkQueues(items: items, workers: workers)
        let sideNext = Atomic<Int>(0)
        parallelFor(iterations: workers, threads: workers) { w in
            if let side {
                while true {
                    let i = sideNext.wrappingAdd(1, ordering: .relaxed).oldValue
                    if i >= side.count { break }
                    side.body(i)
                }
            }
            while let (t, next) = queues.take(worker: w) {
                let (rows, q) = item(t)
                let nextPanel = next.map { item($0).panel }
                directItem(rowTiles: rows, panel: q, kcMax: kcMax, prefetch: nextPanel == q ? nil : nextPanel)
            }
        }
    }

    /// Row tiles `rowTiles` (of MR rows) of B panel `q` (NR columns) of C, over every k-slice in order; see
    /// `runDirect`.
    func directItem(rowTiles: Range<Int>, panel q: Int, kcMax: Int, prefetch next: Int? = nil) {
        let mr = GemmBlocking.mr, nr = GemmBlocking.nr
        let jr = q * nr, w = min(nr, n - jr)
        var fetched = 0
        let floats = mr * nr + mr * kcMax + nr * kcMax
        withUnsafeTemporaryAllocation(byteCount: floats * MemoryLayout<Float>.stride, alignment: 64) { raw in
            guard let base = raw.baseAddress else { return }
            let scratch = base.bindMemory(to: Float.self, capacity: floats)
            let aEdge = scratch + mr * nr
            let bPanel = aEdge + mr * kcMax
            var pc = 0
            while pc < k {
                let kc = min(GemmBlocking.kc, k - pc)
                let addToC = accumulate || pc > 0
                packB(into: bPanel, pc: pc, kc: kc, jc: jr, nc: w)
                for rowTile in rowTiles {
                    let ir = rowTile * mr, h = min(mr, m - ir)
                    if let next {
                        // A share of the next panel's rows of B per tile, so that all are asked for by the last.
                        let goal = (rowTile - rowTiles.lowerBound + 1) * kcMax / rowTiles.count
                        prefetchPanel(next, pc: pc, from: fetched, to: goal)
                        fetched = goal
                    }
                    let ap: UnsafePointer<Float>, aRow: Int, aStep: Int
                    if h < mr {
                        packA(into: aEdge, ic: ir, mc: h, pc: pc, kc: kc)
                        (ap, aRow, aStep) = (UnsafePointer(aEdge), 1, mr)
                    } else {
                        (ap, aRow, aStep) = (a + ir * k + pc, k, 1)
                    }
                    tile(kc, ap, aRow, aStep, packedA: false, bPanel, c + ir * n + jr, rows: h, cols: w, add: addToC,
                         scratch: scratch)
                }
                pc += kc
                fetched = 0
            }
        }
    }

    /// Asks for rows `from ..< to` (of k-slice `pc`) of B panel `q` to come into L2 (`runDirect`'s next item): for
    /// `nn` a row of the panel is 24 floats of a row of B, for `nt` row p is column p of 24 rows of B, so the panel
    /// is 24 rows of B, of which the same share is asked for.
    @inline(__always)
    func prefetchPanel(_ q: Int, pc: Int, from: Int, to: Int) {
        let nr = GemmBlocking.nr
        let jr = q * nr, w = min(nr, n - jr)
        let kc = min(GemmBlocking.kc, k - pc)
        let (lo, hi) = (min(from, kc), min(to, kc))
        if lo >= hi { return }
        switch layout {
        case .nn, .tn:
            for p in lo..<hi {
                let row = b + (pc + p) * n + jr
                initlab_prefetch_read_later(row)
                initlab_prefetch_read_later(row + w - 1)
            }
        case .nt:
            // Lines of 16 floats along each of the panel's w rows of B.
            var p = lo / 16 * 16
            while p < hi {
                for j in 0..<w { initlab_prefetch_read_later(b + (jr + j) * k + pc + p) }
                p += 16
            }
        }
    }

    /// One tile of C (`rows` ≤ MR × `cols` ≤ NR at `cTile`, row stride n) from A at `a` (strides `aRow`, `aStep`)
    /// and a B panel: the one place where a tile's kernel is chosen. A full tile goes straight to C through the
    /// 4×24 kernel, or the 4×16 one for a last panel of 16 columns; a partial tile through the kernel that covers
    /// its columns into `scratch` (the padded lanes are zeros × zeros), then element by element. `packedA` selects
    /// the packed kernels (A in MR×KC panels, strides 1 and MR as constants) over the in-place ones. With `sgd`
    /// (the packed path only) the tile is the weights' gradient and updates them instead of being stored.
    @inline(__always)
    func tile(
        _ kc: Int, _ a: UnsafePointer<Float>, _ aRow: Int, _ aStep: Int, packedA: Bool, _ b: UnsafePointer<Float>,
        _ cTile: UnsafeMutablePointer<Float>, rows h: Int, cols w: Int, add: Bool, scratch: UnsafeMutablePointer<Float>
    ) {
        let (mr, nr, narrow) = (GemmBlocking.mr, GemmBlocking.nr, GemmBlocking.narrow)
        if h == mr && (w == nr || w == narrow) {
            switch (w == nr, packedA, sgd) {
            case (true, true, let sgd?): gemmMicroKernel4x24SGD(kc, a, b, cTile, n, sgd)
            case (false, true, let sgd?): gemmMicroKernel4x16SGD(kc, a, b, cTile, n, sgd)
            case (true, true, nil): gemmMicroKernel4x24(kc, a, b, cTile, n, add)
            case (false, true, nil): gemmMicroKernel4x16(kc, a, b, cTile, n, add)
            case (true, false, _): gemmMicroKernel4x24Strided(kc, a, aRow, aStep, b, cTile, n, add)
            case (false, false, _): gemmMicroKernel4x16Strided(kc, a, aRow, aStep, b, cTile, n, add)
            }
            return
        }
        switch (w <= narrow, packedA) {
        case (true, true): gemmMicroKernel4x16(kc, a, b, scratch, nr, false)
        case (false, true): gemmMicroKernel4x24(kc, a, b, scratch, nr, false)
        case (true, false): gemmMicroKernel4x16Strided(kc, a, aRow, aStep, b, scratch, nr, false)
        case (false, false): gemmMicroKernel4x24Strided(kc, a, aRow, aStep, b, scratch, nr, false)
        }
        if let sgd {
            for i in 0..<h { sgd.apply(w: cTile + i * n, g: scratch + i * nr, count: w) }
        } else {
            storeEdgeTile(scratch, into: cTile, rows: h, cols: w, add: add)
        }
    }

    /// An edge tile computed whole into `scratch` (row stride NR; the padded lanes are zeros × zeros): its
    /// `rows` × `cols` corner is added to C (or stored) element by element, the same addition as the kernel's.
    @inline(__always)
    func storeEdgeTile(_ scratch: UnsafePointer<Float>, into cTile: UnsafeMutablePointer<Float>, rows: Int, cols: Int, add: Bool) {
        for i in 0..<rows {
            let src = scratch + i * GemmBlocking.nr
            let dst = cTile + i * n
            if add {
                for j in 0..<cols { dst[j] = dst[j] + src[j] }
            } else {
                for j in 0..<cols { dst[j] = src[j] }
            }
        }
    }

    /// The single-threaded blocked loop nest over one rectangle of C, with private packing buffers.
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
                    computeBlock(
                        packedA: packedA, packedB: packedB, ic: ic, mc: mc, jc: jc, panels: 0..<((nc + nr - 1) / nr),
                        nc: nc, kc: kc, addToC: addToC, scratch: scratch)
                    ic += mc
                }
                pc += kc
            }
            jc += nc
        }
    }

    /// All MR×NR tiles of C in rows ic ..< ic+mc and B panels `panels` of the column block at jc (width nc),
    /// from the packed A block (rows ic…, at `packedA`) and the packed B block (panel q at packedB + q·NR·kc).
    @inline(__always)
    func computeBlock(
        packedA: UnsafeMutablePointer<Float>, packedB: UnsafeMutablePointer<Float>, ic: Int, mc: Int, jc: Int,
        panels: Range<Int>, nc: Int, kc: Int, addToC: Bool, scratch: UnsafeMutablePointer<Float>
    ) {
        let mr = GemmBlocking.mr, nr = GemmBlocking.nr
        for q in panels {
            let jr = q * nr
            let w = min(nr, nc - jr)
            let bPanel = UnsafePointer(packedB + jr * kc)
            var ir = 0
            while ir < mc {
                let h = min(mr, mc - ir)
                let aPanel = UnsafePointer(packedA + ir * kc)
                tile(kc, aPanel, 1, mr, packedA: true, bPanel, c + (ic + ir) * n + (jc + jr), rows: h, cols: w, add: addToC,
                     scratch: scratch)
                ir += mr
            }
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
            case .nt where w == nr:
                // B is n×k row-major: panel column j is row jc+jp+j of B, contiguous over p. Four rows and
                // four p at a time: a 4×4 transpose in registers, four 16-byte stores into panel rows.
                let first = b + (jc + jp) * k + pc
                var jb = 0
                while jb < nr {
                    let s0 = first + jb * k
                    let s1 = s0 + k, s2 = s1 + k, s3 = s2 + k
                    var p = 0
                    while p + 4 <= kc {
                        let (t0, t1, t2, t3) = transpose4(load4(s0 + p), load4(s1 + p), load4(s2 + p), load4(s3 + p))
                        let d = panel + p * nr + jb
                        store4(t0, d); store4(t1, d + nr); store4(t2, d + 2 * nr); store4(t3, d + 3 * nr)
                        p += 4
                    }
                    while p < kc {
                        let d = panel + p * nr + jb
                        d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p]; d[3] = s3[p]
                        p += 1
                    }
                    jb += 4
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
                    // Four p at a time: a 4×4 transpose in registers, 64 contiguous bytes out.
                    let r0 = a + (ic + ip) * k + pc
                    let r1 = r0 + k, r2 = r1 + k, r3 = r2 + k
                    var d = panel
                    var p = 0
                    while p + 4 <= kc {
                        let (t0, t1, t2, t3) = transpose4(load4(r0 + p), load4(r1 + p), load4(r2 + p), load4(r3 + p))
                        store4(t0, d); store4(t1, d + 4); store4(t2, d + 8); store4(t3, d + 12)
                        d += 16
                        p += 4
                    }
                    while p < kc {
                        d[0] = r0[p]; d[1] = r1[p]; d[2] = r2[p]; d[3] = r3[p]
                        d += mr
                        p += 1
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
                if h == mr {
                    for _ in 0..<kc {
                        UnsafeMutableRawPointer(d).storeBytes(
                            of: UnsafeRawPointer(src).loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
                        src += m
                        d += mr
                    }
                } else {
                    for _ in 0..<kc {
                        for i in 0..<h { d[i] = src[i] }
                        for i in h..<mr { d[i] = 0 }
                        src += m
                        d += mr
                    }
                }
            }
            ip += mr
        }
    }
}

@inline(__always) func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self)
}

@inline(__always) func store4(_ v: SIMD4<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<Float>.self)
}

/// Rows (a, b, c, d) → columns: the classic unpack/move-halves 4×4 transpose (LLVM emits shuffles for it).
@inline(__always) func transpose4(_ a: SIMD4<Float>, _ b: SIMD4<Float>, _ c: SIMD4<Float>, _ d: SIMD4<Float>)
    -> (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>)
{
    (SIMD4(a[0], b[0], c[0], d[0]), SIMD4(a[1], b[1], c[1], d[1]),
     SIMD4(a[2], b[2], c[2], d[2]), SIMD4(a[3], b[3], c[3], d[3]))
}

/// The register-tiled micro-kernel on packed panels: C[0..<4, 0..<24] (+)= Apanel(4×kc) · Bpanel(kc×24).
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
    microKernel4x24(kc, a, 1, GemmBlocking.mr, b, c, ldc, add)
}

/// The same kernel with A read in place: element (i, p) of A at `a + i·aRow + p·aStep` (a row-major A is
/// (lda, 1)); B is a packed panel as above. The strides are the only difference, so the bits are the same.
@inline(never)
func gemmMicroKernel4x24Strided(
    _ kc: Int, _ a: UnsafePointer<Float>, _ aRow: Int, _ aStep: Int, _ b: UnsafePointer<Float>,
    _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ add: Bool
) {
    microKernel4x24(kc, a, aRow, aStep, b, c, ldc, add)
}

/// The kernels on a panel's first 16 columns only: C[0..<4, 0..<16] (+)= A · Bpanel[.., 0..<16] (B's rows still
/// 24 apart), for a last panel of 16 columns or fewer (a width of 256 is 10 panels of 24 and one of 16): 8
/// accumulators instead of 12 on lanes that would only multiply the panel's zero padding, and a full 4×16 tile
/// goes straight to C instead of through the edge scratch. Each element is the same chain as in the 4×24
/// kernels: the same bits.
@inline(never)
func gemmMicroKernel4x16(
    _ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ add: Bool
) {
    microKernel4x24(kc, a, 1, GemmBlocking.mr, b, c, ldc, add, narrow: true)
}

/// The packed kernels with plain SGD's step as their write (`MatmulSGDStep`): the tile of a weight gradient, whole
/// after one k-slice, updates the weights in C from the registers and is never stored.
@inline(never)
func gemmMicroKernel4x24SGD(
    _ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ sgd: MatmulSGDStep
) {
    microKernel4x24(kc, a, 1, GemmBlocking.mr, b, c, ldc, false, sgd: sgd)
}

/// `gemmMicroKernel4x24SGD` on a panel's first 16 columns.
@inline(never)
func gemmMicroKernel4x16SGD(
    _ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ sgd: MatmulSGDStep
) {
    microKernel4x24(kc, a, 1, GemmBlocking.mr, b, c, ldc, false, narrow: true, sgd: sgd)
}

/// `gemmMicroKernel4x16` with A read in place (as `gemmMicroKernel4x24Strided`).
@inline(never)
func gemmMicroKernel4x16Strided(
    _ kc: Int, _ a: UnsafePointer<Float>, _ aRow: Int, _ aStep: Int, _ b: UnsafePointer<Float>,
    _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ add: Bool
) {
    microKernel4x24(kc, a, aRow, aStep, b, c, ldc, add, narrow: true)
}

/// The body of every kernel (specialized into each: the packed ones get constant strides, the 4×16 ones a constant
/// `narrow`, which drops the third column of accumulators and its B vector).
@inline(__always)
func microKernel4x24(
    _ kc: Int, _ a: UnsafePointer<Float>, _ aRow: Int, _ aStep: Int, _ b: UnsafePointer<Float>,
    _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ add: Bool, narrow: Bool = false, sgd: MatmulSGDStep? = nil
) {
    typealias V = SIMD8<Float>
    // The C tile is read and written after the k-loop: ask for its lines now (each row is 96 bytes, so its
    // first and last float cover the two or three lines it spans), so that the update hits the cache even
    // when C is larger than L2 (n = 1024: 4 MiB, updated once per k-slice).
    for row in 0..<4 {
        initlab_prefetch_write(c + row * ldc)
        initlab_prefetch_write(c + row * ldc + 12)
        initlab_prefetch_write(c + row * ldc + (narrow ? 15 : 23))
    }
    var c00 = V(), c01 = V(), c02 = V(), c10 = V(), c11 = V(), c12 = V()
    var c20 = V(), c21 = V(), c22 = V(), c30 = V(), c31 = V(), c32 = V()
    var ap = a
    var bp = UnsafeRawPointer(b)
    let r1 = aRow, r2 = 2 * aRow, r3 = 3 * aRow
    // A `for` over a range, not `while p < kc`: with the latter LLVM peeled an iteration and kept the 12
    // accumulators on the stack (checked with objdump; see Benchmarks/DISASSEMBLY.md).
    for _ in 0..<kc {
        let b0 = bp.load(as: V.self)
        let b1 = bp.load(fromByteOffset: 32, as: V.self)
        if narrow {
            var av = V(repeating: ap[0])
            c00.addProduct(av, b0); c01.addProduct(av, b1)
            av = V(repeating: ap[r1])
            c10.addProduct(av, b0); c11.addProduct(av, b1)
            av = V(repeating: ap[r2])
            c20.addProduct(av, b0); c21.addProduct(av, b1)
            av = V(repeating: ap[r3])
            c30.addProduct(av, b0); c31.addProduct(av, b1)
        } else {
            let b2 = bp.load(fromByteOffset: 64, as: V.self)
            var av = V(repeating: ap[0])
            c00.addProduct(av, b0); c01.addProduct(av, b1); c02.addProduct(av, b2)
            av = V(repeating: ap[r1])
            c10.addProduct(av, b0); c11.addProduct(av, b1); c12.addProduct(av, b2)
            av = V(repeating: ap[r2])
            c20.addProduct(av, b0); c21.addProduct(av, b1); c22.addProduct(av, b2)
            av = V(repeating: ap[r3])
            c30.addProduct(av, b0); c31.addProduct(av, b1); c32.addProduct(av, b2)
        }
        ap += aStep
        bp += 96
    }
    @inline(__always)
    func update(_ row: Int, _ v0: V, _ v1: V, _ v2: V) {
        let dst = UnsafeMutableRawPointer(c + row * ldc)
        if let sgd {
            // C is the weights, the tile their gradient: `MatmulSGDStep.apply`'s operations, lane by lane.
            @inline(__always) func step(_ offset: Int, _ g: V) {
                let w = UnsafeRawPointer(dst).loadUnaligned(fromByteOffset: offset, as: V.self)
                dst.storeBytes(of: w - sgd.rate * (g + sgd.weightDecay * w), toByteOffset: offset, as: V.self)
            }
            step(0, v0)
            step(32, v1)
            if !narrow { step(64, v2) }
        } else if add {
            let src = UnsafeRawPointer(dst)
            dst.storeBytes(of: src.loadUnaligned(as: V.self) + v0, as: V.self)
            dst.storeBytes(of: src.loadUnaligned(fromByteOffset: 32, as: V.self) + v1, toByteOffset: 32, as: V.self)
            if !narrow { dst.storeBytes(of: src.loadUnaligned(fromByteOffset: 64, as: V.self) + v2, toByteOffset: 64, as: V.self) }
        } else {
            dst.storeBytes(of: v0, as: V.self)
            dst.storeBytes(of: v1, toByteOffset: 32, as: V.self)
            if !narrow { dst.storeBytes(of: v2, toByteOffset: 64, as: V.self) }
        }
    }
    update(0, c00, c01, c02)
    update(1, c10, c11, c12)
    update(2, c20, c21, c22)
    update(3, c30, c31, c32)
}

/// The multi-threaded loop nest. Per (column block jc, k-slice pc): phase 1 packs the B block (in chunks of
/// panels) and every MC-row block of A into shared buffers, phase 2 computes (row block × panel chunk)
/// tiles of C, at least 4 per worker so that the pool's dynamic hand-out balances the load when
/// a core is shared. Each element of C is computed exactly as in the serial `compute` (same k-slices, same
/// kernel), so results do not depend on `workers`.
///
/// Holds raw pointers (hence the unchecked Sendable): the buffers are written in phase 1 at disjoint
/// offsets, read-only in phase 2, C is written at disjoint tiles, and each pool round returns
/// only when all its iterations are done.
struct ParallelGemm: @unchecked Sendable {
    let problem: GemmProblem
    let workers: Int
    let packedA: UnsafeMutablePointer<Float>
    let packedB: UnsafeMutablePointer<Float>
    let raw: UnsafeMutableRawPointer

    init(problem: GemmProblem, workers: Int) {
        self.problem = problem
        self.workers = workers
        let nr = GemmBlocking.nr, mr = GemmBlocking.mr
        let kcMax = min(GemmBlocking.kc, problem.k)
        let ncMax = min(GemmBlocking.nc, (problem.n + nr - 1) / nr * nr)
        let mAll = (problem.m + mr - 1) / mr * mr
        let localA = Self.packsALocally(m: problem.m, n: problem.n, workers: workers)
        let aCount = localA ? 0 : (mAll * kcMax + 15) / 16 * 16
        let bCount = (ncMax * kcMax + 15) / 16 * 16
        raw = UnsafeMutableRawPointer.allocate(
            byteCount: (aCount + bCount) * MemoryLayout<Float>.stride, alignment: 64)
        packedB = raw.bindMemory(to: Float.self, capacity: aCount + bCount)
        packedA = packedB + bCount
    }

    /// Tall products (m ≥ 8n, and at least four row blocks per worker: an im2col product) pack each A block
    /// where it is used; the others (square layers, tuned on them) pack all of A first.
    static func packsALocally(m: Int, n: Int, workers: Int) -> Bool {
        (m + GemmBlocking.mc - 1) / GemmBlocking.mc >= 4 * workers && m >= 8 * n
    }

    func run() {
        defer { raw.deallocate() }
        let (m, n, k) = (problem.m, problem.n, problem.k)
        let nr = GemmBlocking.nr, mc = GemmBlocking.mc
        let mBlocks = (m + mc - 1) / mc
        var jc = 0
        while jc < n {
            let nc = min(GemmBlocking.nc, n - jc)
            let nPanels = (nc + nr - 1) / nr
            let bChunks = min(nPanels, 2 * workers)
            let nChunks = min(nPanels, max(1, (4 * workers + mBlocks - 1) / mBlocks))
            var pc = 0
            while pc < k {
                let kc = min(GemmBlocking.kc, k - pc)
                let addToC = problem.accumulate || pc > 0
                let (jcNow, pcNow) = (jc, pc)
                if Self.packsALocally(m: m, n: n, workers: workers) {
                    // Tall C (an im2col product: tens of thousands of rows, few columns): B is packed first,
                    // then each row block packs its own A block (MC×KC, in L2) just before using it, instead of
                    // all of A (tens of MB) being packed and then read back from memory. Same packed values, same
                    // kernel calls: the same bits.
                    parallelFor(iterations: bChunks, threads: workers) { t in
                        let q0 = nPanels * t / bChunks, q1 = nPanels * (t + 1) / bChunks
                        problem.packB(
                            into: packedB + q0 * nr * kc, pc: pcNow, kc: kc, jc: jcNow + q0 * nr,
                            nc: min(nc, q1 * nr) - q0 * nr)
                    }
                    parallelFor(iterations: mBlocks, threads: workers) { t in
                        let ic = t * mc, rows = min(mc, m - ic)
                        let floats = mc * kc + GemmBlocking.mr * nr
                        withUnsafeTemporaryAllocation(byteCount: floats * MemoryLayout<Float>.stride, alignment: 64) { raw in
                            guard let base = raw.baseAddress else { return }
                            let block = base.bindMemory(to: Float.self, capacity: floats)
                            problem.packA(into: block, ic: ic, mc: rows, pc: pcNow, kc: kc)
                            problem.computeBlock(
                                packedA: block, packedB: packedB, ic: ic, mc: rows, jc: jcNow, panels: 0..<nPanels, nc: nc,
                                kc: kc, addToC: addToC, scratch: block + mc * kc)
                        }
                    }
                    pc += kc
                    continue
                }
                parallelFor(iterations: bChunks + mBlocks, threads: workers) { t in
                    if t < bChunks {
                        let q0 = nPanels * t / bChunks, q1 = nPanels * (t + 1) / bChunks
                        problem.packB(
                            into: packedB + q0 * nr * kc, pc: pcNow, kc: kc, jc: jcNow + q0 * nr,
                            nc: min(nc, q1 * nr) - q0 * nr)
                    } else {
                        let ic = (t - bChunks) * mc
                        problem.packA(into: packedA + ic * kc, ic: ic, mc: min(mc, m - ic), pc: pcNow, kc: kc)
                    }
                }
                parallelFor(iterations: mBlocks * nChunks, threads: workers) { t in
                    let ic = (t / nChunks) * mc
                    let j = t % nChunks
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: GemmBlocking.mr * nr) { scratch in
                        guard let tile = scratch.baseAddress else { return }
                        problem.computeBlock(
                            packedA: packedA + ic * kc, packedB: packedB, ic: ic, mc: min(mc, m - ic), jc: jcNow,
                            panels: (nPanels * j / nChunks)..<(nPanels * (j + 1) / nChunks), nc: nc, kc: kc,
                            addToC: addToC, scratch: tile)
                    }
                }
                pc += kc
            }
            jc += nc
        }
    }
}

/// `runDirect`'s work queues: items 0..<items split into `workers` contiguous ranges. A worker takes the front of
/// its own range, and when that is empty, the back of another's: each range is one atomic word (front << 32 | end),
/// changed by compare-exchange, so every item is taken exactly once.
final class WorkQueues: @unchecked Sendable {
    private let ranges: UnsafeMutablePointer<Atomic<Int>>
    private let workers: Int

    init(items: Int, workers: Int) {
        self.workers = workers
        ranges = .allocate(capacity: workers)
        for w in 0..<workers {
            (ranges + w).initialize(to: Atomic((items * w / workers) << 32 | (items * (w + 1) / workers)))
        }
    }

    deinit {
        ranges.deinitialize(count: workers)
        ranges.deallocate()
    }

    /// The next item for `worker`, and the item after it in its own range if it has one (to fetch ahead); nil when
    /// every range is empty.
    func take(worker: Int) -> (Int, Int?)? {
        while true {
            let v = ranges[worker].load(ordering: .relaxed)
            let (front, end) = (v >> 32, v & 0xFFFF_FFFF)
            if front >= end { break }
            if ranges[worker].compareExchange(expected: v, desired: (front + 1) << 32 | end, ordering: .relaxed).exchanged {
                return (front, front + 1 < end ? front + 1 : nil)
            }
        }
        for offset in 1..<max(1, workers) {
            let other = (worker + offset) % workers
            while true {
                let v = ranges[other].load(ordering: .relaxed)
                let (front, end) = (v >> 32, v & 0xFFFF_FFFF)
                if front >= end { break }
                if ranges[other].compareExchange(expected: v, desired: front << 32 | (end - 1), ordering: .relaxed).exchanged {
                    return (end - 1, nil)
                }
            }
        }
        return nil
    }
}
