import Foundation

/// Why a body is not JSON: where (a 0-based byte offset) and what. `description` is what a 400 problem says.
package struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 0-based offset of the offending byte in the input (the input's length for an unexpected end).
    package var offset: Int
    package var message: String
    /// For a duplicate key: the key and the JSON pointer of the object holding it.
    package var duplicateKey: (key: String, objectPointer: String)? {
        get { duplicate.map { ($0.key, $0.pointer) } }
        set { duplicate = newValue.map { Duplicate(key: $0.key, pointer: $0.objectPointer) } }
    }
    private var duplicate: Duplicate?
    private struct Duplicate: Sendable, Hashable { var key: String; var pointer: String }

    package init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }

    package var description: String { "\(message) at byte \(offset)" }
}

/// A strict RFC 8259 parser: exactly one value, optionally surrounded by whitespace (space, tab, LF, CR);
/// no trailing commas, no comments, no leading zeros, no NaN/Infinity, no unescaped control characters, no
/// lone surrogate escapes, valid UTF-8 only, and — stricter than the RFC's "SHOULD be unique" (§4) — no key
/// twice in one object (a client sending `{"depth": 3, "depth": 5}` means one of them; we refuse to guess).
/// Integers keep all 64 bits (`JSONNumber`). Nesting is limited to `maxDepth` levels (default 128).
package struct JSONParser {
    package var maxDepth = 128

    package init(maxDepth: Int = 128) { self.maxDepth = maxDepth }

    package func parse(_ data: Data) throws(JSONSyntaxError) -> JSONValue {
        try parse(Array(data))
    }

    package func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        var reader = Reader(bytes: bytes, maxDepth: maxDepth)
        reader.skipWhitespace()
        if reader.atEnd { throw reader.error(bytes.isEmpty ? "the body is empty" : "no JSON value") }
        let value = try reader.value(pointer: "", depth: 0)
        reader.skipWhitespace()
        if !reader.atEnd { throw reader.error("unexpected \(reader.describeCurrent) after the JSON value") }
        return value
    }
}

private struct Reader {
    let bytes: [UInt8]
    let maxDepth: Int
    var i = 0

    init(bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    var atEnd: Bool { i >= bytes.count }

    func error(_ message: String) -> JSONSyntaxError { JSONSyntaxError(offset: i, message: message) }

    var describeCurrent: String {
        guard i < bytes.count else { return "end of input" }
        let b = bytes[i]
        if b >= 0x21 && b < 0x7F { return "'\(Character(UnicodeScalar(b)))'" }
        return "byte 0x" + String(b, radix: 16, uppercase: true)
    }

    mutating func skipWhitespace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
    }

    mutating func value(pointer: String, depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard i < bytes.count else { throw error("unexpected end of input, expected a value") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object(pointer: pointer, depth: depth + 1)
        case UInt8(ascii: "["): return try array(pointer: pointer, depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("unexpected \(describeCurrent), expected a value")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let start = i
        let text = word.withUTF8Buffer { Array($0) }
        guard bytes.count - i >= text.count, Array(bytes[i..<(i + text.count)]) == text else {
            i = start
            throw error("invalid literal, expected \(word)")
        }
        i += text.count
    }

    mutating func object(pointer: String, depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth <= maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
        i += 1
        var result: [String: JSONValue] = [:]
        skipWhitespace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
            i += 1
            return .object(result)
        }
        while true {
            skipWhitespace()
            guard i < bytes.count else { throw error("unexpected end of input inside an object") }
            guard bytes[i] == UInt8(ascii: "\"") else {
                if bytes[i] == UInt8(ascii: "}") { throw error("trailing comma before '}'") }
                throw error("unexpected \(describeCurrent), expected a string key")
            }
            let keyOffset = i
            let key = try string()
            skipWhitespace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':' after an object key") }
            i += 1
            skipWhitespace()
            let member = try value(pointer: pointer + "/" + JSONPointer.escape(key), depth: depth)
            if result[key] != nil {
                var e = JSONSyntaxError(offset: keyOffset, message: "duplicate key \"\(key)\" in the object at \(pointer.isEmpty ? "the root" : pointer)")
                e.duplicateKey = (key, pointer)
                throw e
            }
            result[key] = member
            skipWhitespace()
            guard i < bytes.count else { throw error("unexpected end of input inside an object") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if bytes[i] == UInt8(ascii: "}") {
                i += 1
                return .object(result)
            }
            throw error("unexpected \(describeCurrent), expected ',' or '}'")
        }
    }

    mutating func array(pointer: String, depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth <= maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
        i += 1
        var result: [JSONValue] = []
        skipWhitespace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
            i += 1
            return .array(result)
        }
        while true {
            skipWhitespace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { throw error("trailing comma before ']'") }
            result.append(try value(pointer: pointer + "/\(result.count)", depth: depth))
            skipWhitespace()
            guard i < bytes.count else { throw error("unexpected end of input inside an array") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if bytes[i] == UInt8(ascii: "]") {
                i += 1
                return .array(result)
            }
            throw error("unexpected \(describeCurrent), expected ',' or ']'")
        }
    }

    /// RFC 8259 §7; the opening quote is at `i`.
    mutating func string() throws(JSONSyntaxError) -> String {
        i += 1
        var scalars = String.UnicodeScalarView()
        var runStart = i
        func flush(_ r: inout Reader, upTo end: Int) throws(JSONSyntaxError) {
            guard runStart < end else { return }
            guard let text = String(validating: r.bytes[runStart..<end], as: UTF8.self) else {
                r.i = runStart
                throw r.error("invalid UTF-8 in a string")
            }
            scalars.append(contentsOf: text.unicodeScalars)
        }
        while true {
            guard i < bytes.count else { throw error("unexpected end of input inside a string") }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                try flush(&self, upTo: i)
                i += 1
                return String(scalars)
            }
            if b < 0x20 { throw error("unescaped control character in a string") }
            if b != UInt8(ascii: "\\") {
                i += 1
                continue
            }
            try flush(&self, upTo: i)
            i += 1
            guard i < bytes.count else { throw error("unexpected end of input inside a string") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                let unit = try hex4()
                if (0xD800...0xDBFF).contains(unit) {
                    guard bytes.count - i >= 6, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw error("lone high surrogate escape")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("high surrogate not followed by a low one") }
                    let value = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    guard let scalar = Unicode.Scalar(value) else { throw error("invalid escape") }
                    scalars.append(scalar)
                } else {
                    guard let scalar = Unicode.Scalar(unit) else { throw error("lone low surrogate escape") }
                    scalars.append(scalar)
                }
            default:
                i -= 1
                throw error("invalid escape \\\(Character(UnicodeScalar(e)))")
            }
            runStart = i
        }
    }

    mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard bytes.count - i >= 4 else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[i]
            let d: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in a \\u escape")
            }
            v = v * 16 + d
            i += 1
        }
        return v
    }

    /// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    mutating func number() throws(JSONSyntaxError) -> JSONNumber {
        let start = i
        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count, isDigit(bytes[i]) else { throw error("expected a digit") }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            if i < bytes.count, isDigit(bytes[i]) { throw error("leading zero in a number") }
        } else {
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        var integral = true
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            guard i < bytes.count, isDigit(bytes[i]) else { throw error("expected a digit after the decimal point") }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            integral = false
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < bytes.count, isDigit(bytes[i]) else { throw error("expected a digit in the exponent") }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if integral {
            if let v = Int64(text) { return .int(v) }
            if let v = UInt64(text) { return .uint(v) }
        }
        guard let d = Double(text), d.isFinite else {
            i = start
            throw error("number \(text) is out of the range of a double")
        }
        return .double(d)
    }
}

/// RFC 6901 JSON pointers.
package enum JSONPointer {
    /// Escapes `~` and `/` in one reference token.
    package static func escape(_ token: String) -> String {
        token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}
