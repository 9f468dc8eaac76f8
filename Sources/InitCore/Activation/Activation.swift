#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Elementary functions the activations need, for Float (the network) and Double (theory, tests).
public protocol ActivationScalar: BinaryFloatingPoint, Sendable {
    static func fExp(_ x: Self) -> Self
    static func fExpm1(_ x: Self) -> Self
    static func fLog1p(_ x: Self) -> Self
    static func fTanh(_ x: Self) -> Self
    static func fErf(_ x: Self) -> Self
}

extension Float: ActivationScalar {
    @inlinable public static func fExp(_ x: Float) -> Float { expf(x) }
    @inlinable public static func fExpm1(_ x: Float) -> Float { expm1f(x) }
    @inlinable public static func fLog1p(_ x: Float) -> Float { log1pf(x) }
    @inlinable public static func fTanh(_ x: Float) -> Float { tanhf(x) }
    @inlinable public static func fErf(_ x: Float) -> Float { erff(x) }
}

extension Double: ActivationScalar {
    @inlinable public static func fExp(_ x: Double) -> Double { exp(x) }
    @inlinable public static func fExpm1(_ x: Double) -> Double { expm1(x) }
    @inlinable public static func fLog1p(_ x: Double) -> Double { log1p(x) }
    @inlinable public static func fTanh(_ x: Double) -> Double { tanh(x) }
    @inlinable public static func fErf(_ x: Double) -> Double { erf(x) }
}

/// An activation function φ with its derivative φ′, resolved from a validated `ActivationSpec`.
/// Formulas are listed in `SchemeCatalog.activations`; at kinks φ′ follows PyTorch (relu′(0) = 0,
/// leaky_relu′(0) = slope).
public enum Activation: Sendable, Hashable {
    case identity
    case relu
    case leakyRelu(slope: Double)
    case tanh
    case sigmoid
    /// Exact erf form x·Φ(x).
    case gelu
    case selu
    case elu(alpha: Double)
    /// PyTorch softplus with threshold 20 (linear when βx > 20).
    case softplus(beta: Double)
    case silu
    /// fast.ai GeneralRelu: min(leaky_relu(x, leak) − sub, maxv).
    case generalRelu(leak: Double, sub: Double, maxv: Double)

    public static let seluLambda = 1.0507009873554805
    public static let seluAlpha = 1.6732632423543772

    /// Resolves a (validated) spec; nil for an unknown name.
    public init?(_ spec: ActivationSpec) {
        switch spec.name {
        case "identity": self = .identity
        case "relu": self = .relu
        case "leaky_relu": self = .leakyRelu(slope: spec.number("slope", default: 0.01))
        case "tanh": self = .tanh
        case "sigmoid": self = .sigmoid
        case "gelu": self = .gelu
        case "selu": self = .selu
        case "elu": self = .elu(alpha: spec.number("alpha", default: 1))
        case "softplus": self = .softplus(beta: spec.number("beta", default: 1))
        case "silu": self = .silu
        case "general_relu":
            self = .generalRelu(leak: spec.number("leak", default: 0.1), sub: spec.number("sub", default: 0.4),
                                maxv: spec.number("maxv", default: 6))
        default: return nil
        }
    }

    @inlinable static func sigmoid<T: ActivationScalar>(_ x: T) -> T { 1 / (1 + T.fExp(-x)) }

    /// φ(x).
    @inlinable public func value<T: ActivationScalar>(_ x: T) -> T {
        switch self {
        case .identity: return x
        case .relu: return x < 0 ? 0 : x
        case .leakyRelu(let s): return x < 0 ? x * T(s) : x
        case .tanh: return T.fTanh(x)
        case .sigmoid: return Self.sigmoid(x)
        case .gelu: return x * (1 + T.fErf(x * T(0.70710678118654752440))) / 2
        case .selu: return T(Self.seluLambda) * (x > 0 ? x : T(Self.seluAlpha) * T.fExpm1(x))
        case .elu(let a): return x > 0 ? x : T(a) * T.fExpm1(x)
        case .softplus(let b):
            let bx = T(b) * x
            return bx > 20 ? x : T.fLog1p(T.fExp(bx)) / T(b)
        case .silu: return x * Self.sigmoid(x)
        case .generalRelu(let leak, let sub, let maxv):
            let y = (x < 0 ? x * T(leak) : x) - T(sub)
            return y > T(maxv) ? T(maxv) : y
        }
    }

    /// φ′(x).
    @inlinable public func derivative<T: ActivationScalar>(_ x: T) -> T {
        switch self {
        case .identity: return 1
        case .relu: return x > 0 ? 1 : 0
        case .leakyRelu(let s): return x > 0 ? 1 : T(s)
        case .tanh:
            let t = T.fTanh(x)
            return 1 - t * t
        case .sigmoid:
            let s = Self.sigmoid(x)
            return s * (1 - s)
        case .gelu:
            let cdf = (1 + T.fErf(x * T(0.70710678118654752440))) / 2
            let pdf = T.fExp(-x * x / 2) * T(0.39894228040143267794)
            return cdf + x * pdf
        case .selu: return T(Self.seluLambda) * (x > 0 ? 1 : T(Self.seluAlpha) * T.fExp(x))
        case .elu(let a): return x > 0 ? 1 : T(a) * T.fExp(x)
        case .softplus(let b):
            let bx = T(b) * x
            return bx > 20 ? 1 : Self.sigmoid(bx)
        case .silu:
            let s = Self.sigmoid(x)
            return s * (1 + x * (1 - s))
        case .generalRelu(let leak, let sub, let maxv):
            let y = (x < 0 ? x * T(leak) : x) - T(sub)
            if y > T(maxv) { return 0 }
            return x > 0 ? 1 : T(leak)
        }
    }

    /// a[i] = φ(h[i]).
    public func apply(_ h: UnsafePointer<Float>, _ a: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .identity: a.update(from: h, count: count)
        case .relu: for i in 0..<count { let x = h[i]; a[i] = x < 0 ? 0 : x }
        case .leakyRelu(let s):
            let sf = Float(s)
            for i in 0..<count { let x = h[i]; a[i] = x < 0 ? x * sf : x }
        default: for i in 0..<count { a[i] = value(h[i]) }
        }
    }

    /// g[i] *= φ′(h[i]).
    public func multiplyDerivative(_ h: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .identity: return
        case .relu: for i in 0..<count { g[i] = h[i] > 0 ? g[i] : 0 }
        case .leakyRelu(let s):
            let sf = Float(s)
            for i in 0..<count { g[i] = h[i] > 0 ? g[i] : g[i] * sf }
        default: for i in 0..<count { g[i] *= derivative(h[i]) }
        }
    }

    /// PyTorch calculate_gain name used by fixup / theory labels.
    var isPiecewiseLinearAtZero: Bool {
        switch self {
        case .identity, .relu, .leakyRelu: true
        default: false
        }
    }
}
