import Foundation

/// A scheme parameter: a JSON number or a JSON string (`"mode": "fan_out"`, `"a": 0`).
public enum SchemeParam: Codable, Sendable, Hashable {
    case number(Double)
    case string(String)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else {
            throw SpecValidationError(pointer: JSONPointer.make(decoder.codingPath), detail: "must be a number or a string")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        }
    }

    /// The number, if this is one.
    public var number: Double? { if case .number(let d) = self { d } else { nil } }
    /// The string, if this is one.
    public var string: String? { if case .string(let s) = self { s } else { nil } }
}

/// The shared JSON shape of `InitScheme` and `ActivationSpec`: either a bare name (`"relu"`) or an object
/// `{"name": "leaky_relu", "slope": 0.1}` whose other keys are the parameters. Encoding always writes the object
/// form; `ExperimentSpec.validated()` fills in every parameter's default, giving the canonical form.
public protocol NamedScheme: Codable, Sendable, Hashable {
    var name: String { get }
    var params: [String: SchemeParam] { get }
    init(name: String, params: [String: SchemeParam])
}

struct SchemeKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension NamedScheme {
    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let s = try? single.decode(String.self) {
            self.init(name: s, params: [:])
            return
        }
        let pointer = JSONPointer.make(decoder.codingPath)
        guard let c = try? decoder.container(keyedBy: SchemeKey.self) else {
            throw SpecValidationError(pointer: pointer, detail: "must be a scheme name (string) or an object {\"name\": ..., params...}")
        }
        var errors: [FieldError] = []
        var name = ""
        var params: [String: SchemeParam] = [:]
        if let n = try? c.decode(String.self, forKey: SchemeKey("name")) {
            name = n
        } else {
            errors.append(FieldError(pointer: pointer + "/name", detail: "is required and must be a string"))
        }
        for key in c.allKeys where key.stringValue != "name" {
            if let d = try? c.decode(Double.self, forKey: key) {
                params[key.stringValue] = .number(d)
            } else if let s = try? c.decode(String.self, forKey: key) {
                params[key.stringValue] = .string(s)
            } else {
                errors.append(FieldError(pointer: pointer + "/" + JSONPointer.escape(key.stringValue), detail: "must be a number or a string"))
            }
        }
        if !errors.isEmpty { throw SpecValidationError(errors: errors) }
        self.init(name: name, params: params)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: SchemeKey.self)
        try c.encode(name, forKey: SchemeKey("name"))
        for (k, v) in params.sorted(by: { $0.key < $1.key }) {
            try c.encode(v, forKey: SchemeKey(k))
        }
    }

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

/// RFC 6901 JSON pointers built from coding paths.
public enum JSONPointer {
    /// Escapes `~` and `/` in one reference token.
    public static func escape(_ token: String) -> String {
        token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    /// The pointer of a coding path ("" for the document root).
    public static func make(_ path: [any CodingKey]) -> String {
        path.map { key in "/" + (key.intValue.map(String.init) ?? escape(key.stringValue)) }.joined()
    }
}
