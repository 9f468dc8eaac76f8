/// An ordered list of header fields with case-insensitive lookup (RFC 9110 §5.1).
///
/// Order and duplicates are kept as received, because some fields (e.g. `Set-Cookie`) cannot be combined.
/// Names are compared ASCII-case-insensitively; values are stored as given (already validated by the parser for
/// requests, and checked for CR/LF/NUL by the serializer for responses).
public struct HTTPHeaders: Sendable, Sequence, Equatable, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    public typealias Element = (name: String, value: String)

    @usableFromInline
    var fields: [(name: String, value: String)]

    public init() { fields = [] }

    public init(_ fields: [(String, String)]) {
        self.fields = fields.map { (name: $0.0, value: $0.1) }
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }

    /// The first value of `name`, or nil. Setting replaces every field of that name (nil removes them).
    public subscript(name: String) -> String? {
        get { first(name: name) }
        set {
            if let newValue { replaceOrAdd(name: name, value: newValue) } else { remove(name: name) }
        }
    }

    public func first(name: String) -> String? {
        for field in fields where field.name.caseInsensitiveEquals(name) { return field.value }
        return nil
    }

    public func values(name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveEquals(name) }.map(\.value)
    }

    public func contains(name: String) -> Bool {
        fields.contains { $0.name.caseInsensitiveEquals(name) }
    }

    /// The comma-separated list elements of every `name` field, trimmed and lower-cased (RFC 9110 §5.6.1).
    public func tokens(name: String) -> [String] {
        values(name: name).flatMap { value in
            value.split(separator: ",").map { $0.trimmingOWS().lowercased() }.filter { !$0.isEmpty }
        }
    }

    public mutating func add(name: String, value: String) {
        fields.append((name: name, value: value))
    }

    public mutating func replaceOrAdd(name: String, value: String) {
        if let index = fields.firstIndex(where: { $0.name.caseInsensitiveEquals(name) }) {
            fields[index].value = value
            var i = fields.count - 1
            while i > index {
                if fields[i].name.caseInsensitiveEquals(name) { fields.remove(at: i) }
                i -= 1
            }
        } else {
            fields.append((name: name, value: value))
        }
    }

    /// Same as `replaceOrAdd(name:value:)`.
    public mutating func replace(name: String, value: String) {
        replaceOrAdd(name: name, value: value)
    }

    public mutating func remove(name: String) {
        fields.removeAll { $0.name.caseInsensitiveEquals(name) }
    }

    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    public var description: String {
        fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
    }
}

extension String {
    /// ASCII case-insensitive comparison, as header names require; cheaper than `lowercased()` on both sides.
    @usableFromInline
    func caseInsensitiveEquals(_ other: String) -> Bool {
        // Lengths first (O(1) for native strings): most comparisons, e.g. of every response field against the
        // four framing names, end here.
        guard self.utf8.count == other.utf8.count else { return false }
        var a = self.utf8.makeIterator()
        var b = other.utf8.makeIterator()
        while true {
            switch (a.next(), b.next()) {
            case (nil, nil): return true
            case let (x?, y?):
                if x != y && asciiLower(x) != asciiLower(y) { return false }
            default: return false
            }
        }
    }
}

extension Substring {
    func trimmingOWS() -> Substring {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}

@inlinable
func asciiLower(_ byte: UInt8) -> UInt8 {
    (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte
}
