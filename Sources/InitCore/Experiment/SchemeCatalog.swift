/// One parameter of a scheme.
public struct ParameterDescriptor: Sendable, Hashable {
    public var name: String
    /// "number" or "string".
    public var type: String
    public var `default`: SchemeParam
    public var minimum: Double?
    public var maximum: Double?
    /// The allowed values of a string parameter.
    public var allowed: [String]?
    public var description: String
    /// Whether a number must be a whole number (stated in `description`).
    public var integer: Bool = false

    static func number(_ name: String, _ d: Double, min: Double?, max: Double?, integer: Bool = false, _ description: String) -> Self {
        ParameterDescriptor(name: name, type: "number", default: .number(d), minimum: min, maximum: max, allowed: nil,
                            description: description, integer: integer)
    }

    static func choice(_ name: String, _ d: String, _ allowed: [String], _ description: String) -> Self {
        ParameterDescriptor(name: name, type: "string", default: .string(d), minimum: nil, maximum: nil, allowed: allowed,
                            description: description)
    }
}

/// One initializer or activation: name, formula and parameters.
public struct SchemeDescriptor: Sendable, Hashable {
    public var name: String
    /// "init" or "activation".
    public var kind: String
    public var formula: String
    public var summary: String
    public var parameters: [ParameterDescriptor]
    /// Whether the scheme may be used as `bias_init`.
    public var bias: Bool = false

}

/// Every initializer and activation InitLab knows, with formulas. Drives validation, `initlab schemes` and
/// GET /v1/schemes. Fans follow PyTorch's (out, in) layout: fan_in = in features, fan_out = out features.
public enum SchemeCatalog {
    public static let gainNames = ["linear", "identity", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
    /// The range bound of unbounded number parameters.
    public static let bound = 1e6

    public static let initializers: [SchemeDescriptor] = [
        .init(name: "zeros", kind: "init", formula: "W = 0", summary: "All zeros: every unit computes the same thing.",
              parameters: [], bias: true),
        .init(name: "constant", kind: "init", formula: "W = value", summary: "Every entry equal.",
              parameters: [.number("value", 0, min: -bound, max: bound, "the constant")], bias: true),
        .init(name: "normal", kind: "init", formula: "W ~ N(mean, std²)", summary: "Plain Gaussian.",
              parameters: [.number("mean", 0, min: -bound, max: bound, "mean"),
                           .number("std", 1, min: 0, max: bound, "standard deviation")], bias: true),
        .init(name: "uniform", kind: "init", formula: "W ~ U(low, high); Var = (high − low)²/12", summary: "Plain uniform.",
              parameters: [.number("low", -1, min: -bound, max: bound, "lower bound (≤ high)"),
                           .number("high", 1, min: -bound, max: bound, "upper bound (≥ low)")], bias: true),
        .init(name: "scaled_normal", kind: "init", formula: "W = N(0, 1) · factor",
              summary: "The lesson's torch.randn(n, n) * factor: factor 1 explodes, 0.01 vanishes.",
              parameters: [.number("factor", 1, min: 0, max: bound, "multiplier of a unit Gaussian")]),
        .init(name: "xavier_uniform", kind: "init", formula: "W ~ U(±gain·√(6/(fan_in + fan_out)))",
              summary: "Glorot & Bengio 2010, uniform; Var = gain²·2/(fan_in + fan_out).",
              parameters: [.number("gain", 1, min: 0, max: 1e3, "multiplier (PyTorch calculate_gain values)")]),
        .init(name: "xavier_normal", kind: "init", formula: "W ~ N(0, gain²·2/(fan_in + fan_out))",
              summary: "Glorot & Bengio 2010, Gaussian.",
              parameters: [.number("gain", 1, min: 0, max: 1e3, "multiplier (PyTorch calculate_gain values)")]),
        .init(name: "kaiming_uniform", kind: "init", formula: "W ~ U(±√3·gain/√fan), gain = calculate_gain(nonlinearity, a)",
              summary: "He et al. 2015, uniform. fan_in preserves the forward pass, fan_out the backward.",
              parameters: kaimingParams),
        .init(name: "kaiming_normal", kind: "init", formula: "W ~ N(0, gain²/fan), gain = calculate_gain(nonlinearity, a)",
              summary: "He et al. 2015, Gaussian. With relu and fan_in: Var = 2/fan_in, the edge of chaos.",
              parameters: kaimingParams),
        .init(name: "lecun_uniform", kind: "init", formula: "W ~ U(±√(3/fan_in))", summary: "LeCun 1998; Var = 1/fan_in.",
              parameters: []),
        .init(name: "lecun_normal", kind: "init", formula: "W ~ N(0, 1/fan_in)",
              summary: "LeCun 1998; with selu gives the self-normalizing fixed point (mean 0, variance 1).", parameters: []),
        .init(name: "truncated_normal", kind: "init",
              formula: "W = mean + std·z, z ~ N(0,1) redrawn while |z| > 2; resulting std = 0.87962566·std",
              summary: "Keras TruncatedNormal convention: std is that of the untruncated normal, cut at 2 std (not PyTorch's absolute a, b).",
              parameters: [.number("mean", 0, min: -bound, max: bound, "mean"),
                           .number("std", 1, min: 0, max: bound, "std of the normal before truncation")]),
        .init(name: "orthogonal", kind: "init",
              formula: "W = gain·Q, A = QR for A ~ N(0,1) (tall), Q·sign(diag R); transposed for wide matrices",
              summary: "Saxe et al. 2014: Haar-distributed orthonormal rows (or columns). QR by modified Gram–Schmidt in double.",
              parameters: [.number("gain", 1, min: 0, max: 1e3, "multiplier")]),
        .init(name: "delta_orthogonal", kind: "init",
              formula: "conv: W[:, :, centre] = gain·Q (Q an orthogonal out × in matrix, as orthogonal), 0 at every other tap; dense: gain·Q",
              summary: "Xiao et al. 2018 (CNNs of 10,000 layers): each conv layer starts as an orthogonal 1×1 map at its kernel's centre.",
              parameters: [.number("gain", 1, min: 0, max: 1e3, "multiplier")]),
        .init(name: "identity", kind: "init", formula: "W_ij = 1 if i = j else 0; conv: 1 at the centre tap of channel o → o (PyTorch dirac_)",
              summary: "The identity (leading diagonal for rectangular matrices).", parameters: []),
        .init(name: "torch_default", kind: "init", formula: "W ~ U(±1/√fan_in) (kaiming_uniform, a = √5); Var = 1/(3·fan_in)",
              summary: "PyTorch nn.Linear's default for weights and biases: loses 2/3 of the second moment per linear layer.",
              parameters: [], bias: true),
        .init(name: "variance_scaling", kind: "init",
              formula: "σ² = scale/n, n = fan_in | fan_out | (fan_in+fan_out)/2; normal N(0, σ²); truncated_normal: z cut at ±2 × σ/0.87962566103423978; uniform U(±√(3σ²))",
              summary: "Keras/JAX VarianceScaling: every distribution has exactly variance scale/n.",
              parameters: [.number("scale", 1, min: 0, max: bound, "variance multiplier"),
                           .choice("mode", "fan_in", ["fan_in", "fan_out", "fan_avg"], "which fan divides"),
                           .choice("distribution", "truncated_normal", ["normal", "truncated_normal", "uniform"], "distribution")]),
        .init(name: "lsuv", kind: "init",
              formula: "W = orthonormal; per layer in order: W ← W / std(h) on the actual batch until |std(h) − 1| < tol",
              summary: "Mishkin & Matas 2016 (weights only; biases keep bias_init). Iterations per layer are reported as lsuv_iterations.",
              parameters: [.number("tol", 0.1, min: 1e-6, max: 1, "stop when |std − 1| < tol"),
                           .number("max_iterations", 10, min: 1, max: 100, integer: true, "at most this many rescalings per layer (integer)")]),
        .init(name: "fixup", kind: "init",
              formula: "last layer of each branch W = 0; other branch layers W ~ N(0, 2/fan_in)·L^(−1/(2m−2)), L blocks of m layers",
              summary: "Zhang, Dauphin & Ma 2019, for architecture residual with block_size ≥ 2 (He with the relu gain √2; scalar multiplier 1, biases from bias_init).",
              parameters: []),
    ]

    static let kaimingParams: [ParameterDescriptor] = [
        .number("a", 0, min: 0, max: 1e3, "negative slope used by leaky_relu's gain √(2/(1+a²))"),
        .choice("mode", "fan_in", ["fan_in", "fan_out"], "fan_in keeps the forward variance, fan_out the backward"),
        .choice("nonlinearity", "leaky_relu", gainNames,
                "gain as PyTorch calculate_gain: linear/identity/sigmoid 1, tanh 5/3, relu √2, leaky_relu √(2/(1+a²)), selu 3/4 (PyTorch default leaky_relu, a = 0 ⇒ √2)"),
    ]

    public static let activations: [SchemeDescriptor] = [
        .init(name: "identity", kind: "activation", formula: "φ(x) = x; φ′ = 1", summary: "No activation.", parameters: []),
        .init(name: "relu", kind: "activation", formula: "φ(x) = max(0, x); φ′ = [x > 0]", summary: "Rectified linear unit (φ′(0) = 0 as PyTorch).", parameters: []),
        .init(name: "leaky_relu", kind: "activation", formula: "φ(x) = x if x > 0 else slope·x; φ′ = 1 or slope",
              summary: "Leaky ReLU.", parameters: [.number("slope", 0.01, min: 0, max: 1e3, "negative slope")]),
        .init(name: "tanh", kind: "activation", formula: "φ(x) = tanh x; φ′ = 1 − tanh² x", summary: "Hyperbolic tangent.", parameters: []),
        .init(name: "sigmoid", kind: "activation", formula: "φ(x) = 1/(1 + e^(−x)); φ′ = φ(1 − φ)", summary: "Logistic sigmoid.", parameters: []),
        .init(name: "gelu", kind: "activation", formula: "φ(x) = x·Φ(x) = x·(1 + erf(x/√2))/2; φ′ = Φ(x) + x·ϕ(x)",
              summary: "GELU, exact erf form (not the tanh approximation).", parameters: []),
        .init(name: "selu", kind: "activation", formula: "φ(x) = λx if x > 0 else λα(eˣ − 1), λ = 1.0507009873554805, α = 1.6732632423543772",
              summary: "Klambauer et al. 2017: self-normalizing with lecun_normal.", parameters: []),
        .init(name: "elu", kind: "activation", formula: "φ(x) = x if x > 0 else α(eˣ − 1); φ′ = 1 or α·eˣ",
              summary: "Exponential linear unit.", parameters: [.number("alpha", 1, min: 0, max: 1e3, "α")]),
        .init(name: "softplus", kind: "activation", formula: "φ(x) = log(1 + e^(βx))/β, = x when βx > 20; φ′ = sigmoid(βx)",
              summary: "Softplus with PyTorch's threshold 20.", parameters: [.number("beta", 1, min: 1e-3, max: 1e3, "β")]),
        .init(name: "silu", kind: "activation", formula: "φ(x) = x·sigmoid(x); φ′ = s(1 + x(1 − s))", summary: "SiLU / swish.", parameters: []),
        .init(name: "general_relu", kind: "activation", formula: "φ(x) = min(leaky_relu(x, leak) − sub, maxv)",
              summary: "fast.ai GeneralRelu (lesson defaults leak 0.1, sub 0.4, maxv 6); φ′ = 0 where clamped (x − sub > maxv).",
              parameters: [.number("leak", 0.1, min: 0, max: 1e3, "negative slope"),
                           .number("sub", 0.4, min: -bound, max: bound, "subtracted after the leaky ReLU"),
                           .number("maxv", 6, min: -bound, max: 1e30, "upper clamp (use a huge value for none)")]),
    ]

    public static func initializer(named name: String) -> SchemeDescriptor? { initializers.first { $0.name == name } }
    public static func activation(named name: String) -> SchemeDescriptor? { activations.first { $0.name == name } }
}
