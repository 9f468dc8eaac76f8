#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// TEMPORARY: Box–Muller fills on `Philox.block`, used until the `core` branch's Philox fills are merged.
// Delete this file and point `RandomFill` at `Philox.fillNormal/fillUniform/fillTruncatedNormal` then.
enum TemporaryRandomFill {
    @inline(__always) static func unit(_ w: UInt32) -> Double { (Double(w >> 8) + 0.5) * 0x1p-24 }

    static func uniform(_ p: Philox, _ out: UnsafeMutableBufferPointer<Float>, low: Float, high: Float) {
        let n = out.count
        var i = 0
        var c: UInt64 = 0
        while i < n {
            let b = p.block(c)
            c += 1
            for w in [b.0, b.1, b.2, b.3] where i < n {
                out[i] = low + (high - low) * Float(unit(w))
                i += 1
            }
        }
    }

    static func normal(_ p: Philox, _ out: UnsafeMutableBufferPointer<Float>, mean: Float, std: Float) {
        let n = out.count
        var i = 0
        var c: UInt64 = 0
        while i < n {
            let b = p.block(c)
            c += 1
            for (u1, u2) in [(b.0, b.1), (b.2, b.3)] {
                let r = (-2 * log(unit(u1))).squareRoot(), t = 2 * Double.pi * unit(u2)
                if i < n { out[i] = mean + std * Float(r * cos(t)); i += 1 }
                if i < n { out[i] = mean + std * Float(r * sin(t)); i += 1 }
            }
        }
    }

    static func truncatedNormal(_ p: Philox, _ out: UnsafeMutableBufferPointer<Float>, mean: Float, std: Float, bound: Float) {
        for i in 0..<out.count {
            var t: UInt64 = 0
            while true {
                let b = p.block(t << 40 | UInt64(i))
                let z = (-2 * log(unit(b.0))).squareRoot() * cos(2 * Double.pi * unit(b.1))
                if abs(z) <= Double(bound) {
                    out[i] = mean + std * Float(z)
                    break
                }
                t += 1
            }
        }
    }
}
