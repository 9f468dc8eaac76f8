/// A scheme parameter: a number or a string (`"mode": "fan_out"`, `"a": 0`).
public enum SchemeParam: Sendable, Hashable {
    case number(Double)
    case string(String)

    /// The number, if this is one.
    public var number: Double? { if case .number(let d) = self { d } else { nil } }
    /// The string, if this is one.
    public var string: String? { if case .string(let s) = self { s } else { nil } }
}

/// The shared shape of `InitScheme` and `ActivationSpec`: a name and its parameters (on the wire a bare name
/// `"relu"` or an object `{"name": "leaky_relu", "slope": 0.1}`; see InitLabContract). A validated spec has
/// every parameter of its scheme filled in.
public protocol NamedScheme: Sendable, Hashable {
    var name: String { get }
    var params: [String: SchemeParam] { get }
    init(name: String, params: [String: SchemeParam])
}

extension NamedScheme {
    /// The number parameter `key` (present after validation).
    func number(_ key: String, default d: Double) -> Double { params[key]?.number ?? d }
    /// The string parameter `key` (present after validation).
    func string(_ key: String, default d: String) -> String { params[key]?.string ?? d }
}

/// An initialization scheme for weights or biases, e.g. `"kaiming_normal"` or
/// `{"name": "kaiming_normal", "mode": "fan_out", "nonlinearity": "relu", "a": 0}`. See `SchemeCatalog.initializers`.
public struct InitScheme: NamedScheme {
    public var name: String
    public var params: [String: SchemeParam]
    public init(name: String, params: [String: SchemeParam] = [:]) {
        self.name = name
        self.params = params
    }
}

/// An activation function, e.g. `"relu"` or `{"name": "leaky_relu", "slope": 0.1}`. See `SchemeCatalog.activations`.
public struct ActivationSpec: NamedScheme {
    public var name: String
    public var params: [String: SchemeParam]
    public init(name: String, params: [String: SchemeParam] = [:]) {
        self.name = name
        self.params = params
    }
}
