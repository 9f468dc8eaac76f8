import Foundation

/// A JSON number as written: an integer literal that fits 64 bits stays exact (`int` for −2⁶³ … 2⁶³−1,
/// `uint` for 2⁶³ … 2⁶⁴−1); anything with a fraction or an exponent, or a wider integer, is a `double`.
/// `Double` would round every integer above 2⁵³ (a seed of 9007199254740993 became …992).
package enum JSONNumber: Sendable, Hashable {
    case int(Int64)
    case uint(UInt64)
    case double(Double)

    /// The value as a Double (rounded for integers above 2⁵³).
    package var double: Double {
        switch self {
        case .int(let i): Double(i)
        case .uint(let u): Double(u)
        case .double(let d): d
        }
    }

    /// The exact integer value, if it is one that fits Int64 (3, 3.0 and 3e0 all give 3; −0.0 gives 0).
    package var exactInt64: Int64? {
        switch self {
        case .int(let i): i
        case .uint: nil
        case .double(let d): Int64(exactly: d)
        }
    }

    /// The exact integer value, if it is one that fits UInt64.
    package var exactUInt64: UInt64? {
        switch self {
        case .int(let i): UInt64(exactly: i)
        case .uint(let u): u
        case .double(let d): UInt64(exactly: d)
        }
    }

    /// JSON text: integers in decimal, doubles in Swift's shortest round-trip form (never inf or NaN: the
    /// parser cannot produce them and `JSONValue.number(_:)` maps them to null).
    package var text: String {
        switch self {
        case .int(let i): String(i)
        case .uint(let u): String(u)
        case .double(let d): d.isFinite ? "\(d)" : "null"
        }
    }
}

/// Any JSON value (RFC 8259), as `JSONParser` reads it: the one JSON tree of the service. Objects cannot hold a
/// key twice (the parser refuses duplicates), so an object is a dictionary; `serialized()` writes keys sorted.
package enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// A Double as a JSON value; ±inf and NaN (which JSON lacks) become null.
    package static func number(_ d: Double) -> JSONValue { d.isFinite ? .number(.double(d)) : .null }
    package static func integer(_ i: Int) -> JSONValue { .number(.int(Int64(i))) }

    package subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    package var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    package var object: [String: JSONValue]? { if case .object(let o) = self { o } else { nil } }
    package var string: String? { if case .string(let s) = self { s } else { nil } }
    package var numberValue: JSONNumber? { if case .number(let n) = self { n } else { nil } }

    /// What kind of value this is, for messages ("got a string").
    package var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Compact JSON, keys sorted, `/` not escaped: equal values give equal bytes.
    package func serialized() -> Data {
        var out = ""
        write(to: &out)
        return Data(out.utf8)
    }

    package var serializedString: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n.text
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let values):
            out += "["
            for (i, v) in values.enumerated() {
                if i > 0 { out += "," }
                v.write(to: &out)
            }
            out += "]"
        case .object(let object):
            out += "{"
            for (i, key) in object.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                Self.writeString(key, to: &out)
                out += ":"
                object[key]?.write(to: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

/// Stored values (sweep members) go through Codable; integers stay exact because the single-value container
/// is asked for Int64 and UInt64 before Double.
extension JSONValue: Codable {
    package init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .number(.int(i))
        } else if let u = try? c.decode(UInt64.self) {
            self = .number(.uint(u))
        } else if let d = try? c.decode(Double.self) {
            self = .number(.double(d))
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(.int(let i)): try c.encode(i)
        case .number(.uint(let u)): try c.encode(u)
        case .number(.double(let d)): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}
