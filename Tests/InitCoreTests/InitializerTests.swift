import TestSupport
import Testing
@testable import InitCore
import InitLabContract

/// Each initializer's empirical std against its formula.
///
/// Tolerance: the sample std of N i.i.d. values has relative standard error √((κ − 1)/(4N)) (κ the kurtosis:
/// 3 for the normal, less for the uniform and truncated normal). With κ ≤ 3 that is ≤ √(1/(2N)): 0.07% for the
/// 1024×1024 draw, 0.14% for 512×512 and 0.2% for 512×256 (out × in, used where fan_in ≠ fan_out matters);
/// we allow 5 standard errors, so a correct scheme fails with probability < 1e-6 (and the seed is fixed),
/// while a wrong fan or gain (≥ 3% off) always fails. (Smaller draws than 1024² keep the debug suite fast.)
@Suite("Initializers: std vs formula", .offCooperativePool)
struct InitializerTests {
    static func draw(_ scheme: InitScheme, out: Int, in fanIn: Int, layer: Int = 1, depth: Int = 1, blockSize: Int = 1) -> [Float] {
        var errors: [FieldProblem] = []
        let resolved = ValidatedSpec.resolve(scheme, catalog: SchemeCatalog.initializers, pointer: "/init", errors: &errors)
        #expect(errors.isEmpty, "\(errors)")
        let d = WeightInitializer(resolved, depth: depth, blockSize: blockSize).distribution(layer: layer, fanIn: fanIn, fanOut: out)
        var w = [Float](repeating: .nan, count: out * fanIn)
        w.withUnsafeMutableBufferPointer { d.fill($0, rows: out, cols: fanIn, philox: Philox(seed: 7, stream: UInt64(layer)), threads: 2) }
        return w
    }

    static func moments(_ w: [Float]) -> (mean: Double, std: Double) {
        var s = 0.0, ss = 0.0
        for x in w { s += Double(x); ss += Double(x) * Double(x) }
        let m = s / Double(w.count)
        return (m, (ss / Double(w.count) - m * m).squareRoot())
    }

    static let r2 = 2.0.squareRoot()

    // (scheme, out, in, expected std, expected mean)
    static let cases: [(InitScheme, Int, Int, Double, Double)] = [
        (InitScheme(name: "kaiming_normal", params: ["nonlinearity": .string("relu")]), 1024, 1024, r2 / 32, 0),
        (InitScheme(name: "normal", params: ["mean": .number(0.5), "std": .number(2)]), 512, 512, 2, 0.5),
        (InitScheme(name: "uniform", params: ["low": .number(-1), "high": .number(3)]), 512, 512, 4 / 12.0.squareRoot(), 1),
        (InitScheme(name: "scaled_normal", params: ["factor": .number(0.01)]), 512, 512, 0.01, 0),
        (InitScheme(name: "xavier_uniform", params: ["gain": .number(2)]), 512, 256, 2 * (2.0 / 768).squareRoot(), 0),
        (InitScheme(name: "xavier_normal"), 512, 256, (2.0 / 768).squareRoot(), 0),
        (InitScheme(name: "kaiming_normal"), 512, 256, r2 / 256.0.squareRoot(), 0),
        (InitScheme(name: "kaiming_normal", params: ["mode": .string("fan_out")]), 512, 256, r2 / 512.0.squareRoot(), 0),
        (InitScheme(name: "kaiming_normal", params: ["nonlinearity": .string("tanh")]), 512, 512, (5.0 / 3) / 512.0.squareRoot(), 0),
        (InitScheme(name: "kaiming_normal", params: ["a": .number(0.2)]), 512, 512, (2 / 1.04).squareRoot() / 512.0.squareRoot(), 0),
        (InitScheme(name: "kaiming_normal", params: ["nonlinearity": .string("selu")]), 512, 512, 0.75 / 512.0.squareRoot(), 0),
        (InitScheme(name: "kaiming_uniform", params: ["nonlinearity": .string("relu")]), 512, 256, r2 / 256.0.squareRoot(), 0),
        (InitScheme(name: "lecun_uniform"), 512, 256, 1 / 256.0.squareRoot(), 0),
        (InitScheme(name: "lecun_normal"), 512, 256, 1 / 256.0.squareRoot(), 0),
        (InitScheme(name: "truncated_normal", params: ["std": .number(0.5)]), 512, 512, 0.5 * 0.87962566103423978, 0),
        (InitScheme(name: "torch_default"), 512, 256, 1 / (3 * 256.0).squareRoot(), 0),
        (InitScheme(name: "variance_scaling"), 512, 256, 1 / 256.0.squareRoot(), 0),
        (InitScheme(name: "variance_scaling", params: ["scale": .number(2), "mode": .string("fan_avg"), "distribution": .string("normal")]),
         512, 256, (2 / 384.0).squareRoot(), 0),
        (InitScheme(name: "variance_scaling", params: ["mode": .string("fan_out"), "distribution": .string("uniform")]), 512, 256,
         1 / 512.0.squareRoot(), 0),
    ]

    @Test(arguments: 0..<cases.count)
    func stdMatchesFormula(_ i: Int) {
        let (scheme, out, fanIn, std, mean) = Self.cases[i]
        let w = Self.draw(scheme, out: out, in: fanIn)
        let (m, s) = Self.moments(w)
        let se = (1 / (2 * Double(w.count))).squareRoot()
        #expect(abs(s / std - 1) < 5 * se, "\(scheme.name) \(scheme.params): std \(s) vs \(std)")
        #expect(abs(m - mean) < 5 * std / Double(w.count).squareRoot(), "\(scheme.name): mean \(m) vs \(mean)")
        #expect(w.allSatisfy { $0.isFinite })
    }

    @Test func boundsOfBoundedSchemes() {
        let t = Self.draw(InitScheme(name: "truncated_normal", params: ["std": .number(0.5), "mean": .number(1)]), out: 256, in: 256)
        #expect(t.allSatisfy { abs($0 - 1) <= 1.0 + 1e-6 })
        let vs = Self.draw(InitScheme(name: "variance_scaling"), out: 256, in: 256)
        #expect(vs.allSatisfy { abs(Double($0)) <= 2 / 16 / 0.87962566103423978 + 1e-6 })
        let u = Self.draw(InitScheme(name: "torch_default"), out: 256, in: 64)
        #expect(u.allSatisfy { abs($0) <= 0.125 })
    }

    @Test func exactSchemes() {
        #expect(Self.draw(InitScheme(name: "zeros"), out: 8, in: 4).allSatisfy { $0 == 0 })
        #expect(Self.draw(InitScheme(name: "constant", params: ["value": .number(0.25)]), out: 8, in: 4).allSatisfy { $0 == 0.25 })
        let id = Self.draw(InitScheme(name: "identity"), out: 3, in: 5)
        #expect(id == [1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0])
    }

    /// Orthogonal: W·Wᵀ = gain²·I for wide matrices, Wᵀ·W = gain²·I for tall ones (to 1e-5, float32 rounding of
    /// a double-precision Q).
    @Test(arguments: [(64, 128), (128, 64), (96, 96)])
    func orthogonalIsOrthogonal(out: Int, fanIn: Int) {
        let gain = 1.5
        let w = Self.draw(InitScheme(name: "orthogonal", params: ["gain": .number(gain)]), out: out, in: fanIn)
        let k = min(out, fanIn)
        var worst = 0.0
        for i in 0..<k {
            for j in 0..<k {
                var dot = 0.0
                for p in 0..<max(out, fanIn) {
                    // Rows of a wide W, columns of a tall W.
                    dot += out <= fanIn ? Double(w[i * fanIn + p]) * Double(w[j * fanIn + p]) : Double(w[p * fanIn + i]) * Double(w[p * fanIn + j])
                }
                worst = max(worst, abs(dot - (i == j ? gain * gain : 0)))
            }
        }
        #expect(worst < 1e-5)
        let (_, s) = Self.moments(w)
        #expect(abs(s - gain * (Double(k) / Double(out * fanIn)).squareRoot()) < 1e-3)
    }

    @Test func fixupScalesBranchesAndZeroesTheLastLayer() {
        // 8 layers in blocks of 2: L = 4 branches, scale 4^(−1/(2·2−2)) = 1/2.
        let first = Self.draw(InitScheme(name: "fixup"), out: 512, in: 512, layer: 1, depth: 8, blockSize: 2)
        let last = Self.draw(InitScheme(name: "fixup"), out: 512, in: 512, layer: 2, depth: 8, blockSize: 2)
        let (_, s) = Self.moments(first)
        #expect(abs(s / ((2.0 / 512).squareRoot() * 0.5) - 1) < 5 * (1 / (2 * 262144.0)).squareRoot())
        #expect(last.allSatisfy { $0 == 0 })
    }

    @Test func gains() {
        #expect(calculateGain("linear") == 1 && calculateGain("sigmoid") == 1 && calculateGain("identity") == 1)
        #expect(calculateGain("tanh") == 5.0 / 3)
        #expect(calculateGain("relu") == 2.0.squareRoot())
        #expect(abs(calculateGain("leaky_relu", a: 0.1) - (2 / 1.01).squareRoot()) < 1e-15)
        #expect(calculateGain("selu") == 0.75)
        #expect(abs(WeightDistribution.truncatedUnitStd2 - truncatedUnitVariance(bound: 2).squareRoot()) < 1e-12)
    }
}
