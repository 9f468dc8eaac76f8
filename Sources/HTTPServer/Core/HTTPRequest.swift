import Foundation

/// A complete request as handed to a handler: head, whole body (bounded by `maxBodyBytes`) and connection facts.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The request target exactly as received (origin-form `/path?query`, absolute-form, or `*`).
    public var target: String
    /// The path component of the target, still percent-encoded (route patterns match encoded segments;
    /// path parameters are decoded by the router).
    public var path: String
    /// The query as ordered, percent-decoded name/value pairs (`+` is a space, as in forms).
    public var query: [(String, String)]
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public var version: HTTPVersion
    /// The client's `X-Request-Id` when it is 1–128 safe characters (`A-Z a-z 0-9 - _ . : @ + = /`), else generated.
    public var requestID: String
    /// `host:port` of the peer (`[v6]:port` for IPv6).
    public var remoteAddress: String

    public init(
        method: HTTPMethod, target: String, headers: HTTPHeaders = [:], body: [UInt8] = [],
        version: HTTPVersion = .http1_1, requestID: String = RequestID.generate(), remoteAddress: String = ""
    ) {
        self.method = method
        self.target = target
        let (path, query) = RequestTarget.split(target)
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.version = version
        self.requestID = requestID
        self.remoteAddress = remoteAddress
    }

    /// The body as `Data` (e.g. for `JSONDecoder`).
    public var bodyData: Data { Data(body) }

    /// Every value of the query parameter `name`, in order.
    public func queryValues(_ name: String) -> [String] {
        query.filter { $0.0 == name }.map(\.1)
    }

    /// The first value of the query parameter `name`.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.0 == name }?.1
    }
}

/// Request-target helpers (RFC 9112 §3.2).
public enum RequestTarget {
    /// Splits a target into its encoded path and its decoded query pairs. Absolute-form targets
    /// (`http://host/path`) are reduced to their path; `*` is kept as the path.
    public static func split(_ target: String) -> (path: String, query: [(String, String)]) {
        var rest = Substring(target)
        if !rest.hasPrefix("/") && rest != "*" {
            // absolute-form: skip "scheme://authority"
            if let schemeEnd = rest.range(of: "://") {
                let afterAuthority = rest[schemeEnd.upperBound...]
                if let slash = afterAuthority.firstIndex(where: { $0 == "/" || $0 == "?" }) {
                    rest = afterAuthority[slash...]
                } else {
                    rest = "/"
                }
                if rest.hasPrefix("?") { rest = "/" + rest }
            }
        }
        guard let q = rest.firstIndex(of: "?") else { return (String(rest), []) }
        let path = String(rest[..<q])
        let queryString = rest[rest.index(after: q)...]
        var pairs: [(String, String)] = []
        for component in queryString.split(separator: "&", omittingEmptySubsequences: true) {
            if let eq = component.firstIndex(of: "=") {
                pairs.append((
                    percentDecode(component[..<eq], plusIsSpace: true),
                    percentDecode(component[component.index(after: eq)...], plusIsSpace: true)
                ))
            } else {
                pairs.append((percentDecode(component, plusIsSpace: true), ""))
            }
        }
        return (path, pairs)
    }

    /// Percent-decodes `s`; malformed escapes are kept literally, invalid UTF-8 becomes U+FFFD.
    public static func percentDecode(_ s: Substring, plusIsSpace: Bool = false) -> String {
        let utf8 = Array(s.utf8)
        if !utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) {
            return String(s)
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var i = 0
        while i < utf8.count {
            let b = utf8[i]
            if b == UInt8(ascii: "%"), i + 2 < utf8.count, let h = hexValue(utf8[i + 1]), let l = hexValue(utf8[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(plusIsSpace && b == UInt8(ascii: "+") ? UInt8(ascii: " ") : b)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
