/// Mean and population standard deviation of a set of pixel values.
package struct PixelStatistics: Sendable, Equatable, Codable {
    package let mean: Double
    package let std: Double

    package init(mean: Double, std: Double) {
        self.mean = mean
        self.std = std
    }
}

/// Statistics of both splits before (pixels scaled to [0, 1]) and after normalization with the training set's mean
/// and standard deviation.
package struct NormalizationStats: Sendable, Equatable, Codable {
    /// Training pixels in [0, 1]: the mean and std used to normalize both splits.
    package let rawTrain: PixelStatistics
    package let rawTest: PixelStatistics
    /// After normalization: mean 0, std 1 for the training set (up to Float rounding); close to that for test.
    package let normalizedTrain: PixelStatistics
    package let normalizedTest: PixelStatistics
}

package enum Split: String, Sendable, Codable, CaseIterable {
    case train, test
}

/// One split of an image dataset, normalized.
package struct ImageSet: Sendable {
    package let count: Int
    package let rows: Int
    package let cols: Int
    /// `count × rows × cols` values, image after image, row-major: `(pixel / 255 − mean) / std` with the training
    /// set's mean and std.
    package let pixels: [Float]
    /// `count` labels.
    package let labels: [UInt8]

    package var pixelsPerImage: Int { rows * cols }

    package init(count: Int, rows: Int, cols: Int, pixels: [Float], labels: [UInt8]) {
        precondition(pixels.count == count * rows * cols && labels.count == count, "ImageSet: inconsistent sizes")
        self.count = count
        self.rows = rows
        self.cols = cols
        self.pixels = pixels
        self.labels = labels
    }

    /// The pixels of one image (`rows × cols` values).
    package func image(_ index: Int) -> ArraySlice<Float> {
        pixels[index * pixelsPerImage..<(index + 1) * pixelsPerImage]
    }

    /// A reproducible batch: `size` distinct indices drawn with `BatchSampler` from `seed`, their pixels
    /// (`size × rows × cols`, row-major, normalized) and labels.
    package func batch(size: Int, seed: UInt64) -> Batch {
        let indices = BatchSampler.indices(count: count, batchSize: size, seed: seed)
        var out = [Float]()
        out.reserveCapacity(indices.count * pixelsPerImage)
        var outLabels = [UInt8]()
        outLabels.reserveCapacity(indices.count)
        for i in indices {
            out.append(contentsOf: image(i))
            outLabels.append(labels[i])
        }
        return Batch(indices: indices, rows: rows, cols: cols, pixels: out, labels: outLabels)
    }
}

/// Images drawn from an `ImageSet`.
package struct Batch: Sendable, Equatable {
    package let indices: [Int]
    package let rows: Int
    package let cols: Int
    /// `indices.count × rows × cols` normalized pixel values, row-major.
    package let pixels: [Float]
    package let labels: [UInt8]
    package var count: Int { indices.count }
}

/// SplitMix64 (Steele, Lea & Flood 2014; the constants of Vigna's reference `splitmix64.c`): a tiny, fully specified
/// generator, so a sample seed names the same batch on every machine.
package struct SplitMix64: Sendable, RandomNumberGenerator {
    package private(set) var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound` by rejection (no modulo bias): draws `x = next()` until `x < 2^64 − (2^64 mod bound)`,
    /// then returns `x mod bound`.
    package mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        let limit = UInt64.max - (UInt64.max % bound + 1) % bound  // largest accepted value
        while true {
            let x = next()
            if x <= limit { return x % bound }
        }
    }
}

/// Deterministic batch indices: a partial Fisher–Yates shuffle of `0..<count` driven by `SplitMix64(seed)`. For
/// `i` in `0..<batchSize`: `j = i + next(below: count − i)`, swap positions `i` and `j`, take position `i`. The
/// indices are distinct; `batchSize` is clamped to `count`.
package enum BatchSampler {
    package static func indices(count: Int, batchSize: Int, seed: UInt64) -> [Int] {
        let size = max(0, min(batchSize, count))
        var rng = SplitMix64(seed: seed)
        var moved: [Int: Int] = [:]  // sparse permutation: position → value where it differs from identity
        var out: [Int] = []
        out.reserveCapacity(size)
        for i in 0..<size {
            let j = i + Int(rng.next(below: UInt64(count - i)))
            let vi = moved[i] ?? i
            let vj = moved[j] ?? j
            moved[j] = vi
            moved[i] = vj
            out.append(vj)
        }
        return out
    }
}

/// Scaling to [0, 1] and normalization with the training set's statistics. Uses a 256-bin histogram of the raw
/// bytes, so the means and variances are exact sums accumulated in Double.
package enum Normalizer {
    package static func histogram(_ bytes: ArraySlice<UInt8>) -> [Int] {
        var counts = [Int](repeating: 0, count: 256)
        counts.withUnsafeMutableBufferPointer { c in
            bytes.withUnsafeBufferPointer { b in
                for v in b { c[Int(v)] &+= 1 }
            }
        }
        return counts
    }

    /// Mean and population std of `value(v)` weighted by `counts[v]`.
    static func statistics(_ counts: [Int], value: (Int) -> Double) -> PixelStatistics {
        let n = Double(counts.reduce(0, +))
        guard n > 0 else { return PixelStatistics(mean: 0, std: 0) }
        var sum = 0.0
        for v in 0..<256 where counts[v] > 0 { sum += Double(counts[v]) * value(v) }
        let mean = sum / n
        var sq = 0.0
        for v in 0..<256 where counts[v] > 0 {
            let d = value(v) - mean
            sq += Double(counts[v]) * d * d
        }
        return PixelStatistics(mean: mean, std: (sq / n).squareRoot())
    }

    /// Normalizes both splits with the training pixels' mean and std and reports statistics before and after.
    package static func normalize(train: ArraySlice<UInt8>, test: ArraySlice<UInt8>)
        -> (train: [Float], test: [Float], stats: NormalizationStats)
    {
        let trainCounts = histogram(train)
        let testCounts = histogram(test)
        let rawTrain = statistics(trainCounts) { Double($0) / 255 }
        let rawTest = statistics(testCounts) { Double($0) / 255 }
        let std = rawTrain.std > 0 ? rawTrain.std : 1
        let table: [Float] = (0..<256).map { Float((Double($0) / 255 - rawTrain.mean) / std) }
        let stats = NormalizationStats(
            rawTrain: rawTrain, rawTest: rawTest,
            normalizedTrain: statistics(trainCounts) { Double(table[$0]) },
            normalizedTest: statistics(testCounts) { Double(table[$0]) })
        return (apply(table, to: train), apply(table, to: test), stats)
    }

    static func apply(_ table: [Float], to bytes: ArraySlice<UInt8>) -> [Float] {
        [Float](unsafeUninitializedCapacity: bytes.count) { out, initialized in
            table.withUnsafeBufferPointer { t in
                bytes.withUnsafeBufferPointer { b in
                    for i in 0..<b.count { out[i] = t[Int(b[i])] }
                }
            }
            initialized = bytes.count
        }
    }
}
