/// Exact order statistics by selection (introselect: quickselect with a three-way partition, falling back to
/// sorting the remaining range after too many unbalanced rounds), on a scratch buffer that it permutes.
enum Selection {
    /// The `k`-th smallest (0-based) of `v[0..<count]`; the values must not contain NaN.
    static func select(_ v: UnsafeMutablePointer<Float>, count: Int, k: Int) -> Float {
        var lo = 0, hi = count  // [lo, hi) holds rank k
        var budget = 2 * (Int.bitWidth - count.leadingZeroBitCount) + 8
        while hi - lo > 16 {
            if budget == 0 {
                var rest = UnsafeMutableBufferPointer(start: v + lo, count: hi - lo)
                rest.sort()
                return v[k]
            }
            budget -= 1
            // Median of three as the pivot.
            let a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1]
            let pivot = max(min(a, b), min(max(a, b), c))
            // Dutch-flag partition: [lo, lt) < pivot, [lt, i) == pivot, (gt, hi) > pivot.
            var lt = lo, i = lo, gt = hi - 1
            while i <= gt {
                let x = v[i]
                if x < pivot {
                    v.swapAt(lt, i); lt += 1; i += 1
                } else if x > pivot {
                    v.swapAt(i, gt); gt -= 1
                } else {
                    i += 1
                }
            }
            if k < lt { hi = lt } else if k > gt { lo = gt + 1 } else { return pivot }
        }
        var rest = UnsafeMutableBufferPointer(start: v + lo, count: hi - lo)
        rest.sort()
        return v[k]
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]
        self[i] = self[j]
        self[j] = t
    }
}
