/// The request methods this server understands (RFC 9110 §9).
///
/// Any other method token on a request line is answered `501 Not Implemented` by the parser, before routing.
/// `CONNECT` and `TRACE` are deliberately absent: a generic JSON service has no use for tunnels or loop-back,
/// and rejecting them early keeps authority-form targets out of the router.
public enum HTTPMethod: String, Sendable, Hashable, CaseIterable {
    case GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS

    /// Parses a method token exactly (methods are case-sensitive, RFC 9110 §9.1).
    @inlinable
    init?(bytes: ArraySlice<UInt8>) {
        switch bytes.count {
        case 3:
            if bytes.elementsEqual("GET".utf8) { self = .GET; return }
            if bytes.elementsEqual("PUT".utf8) { self = .PUT; return }
        case 4:
            if bytes.elementsEqual("POST".utf8) { self = .POST; return }
            if bytes.elementsEqual("HEAD".utf8) { self = .HEAD; return }
        case 5:
            if bytes.elementsEqual("PATCH".utf8) { self = .PATCH; return }
        case 6:
            if bytes.elementsEqual("DELETE".utf8) { self = .DELETE; return }
        case 7:
            if bytes.elementsEqual("OPTIONS".utf8) { self = .OPTIONS; return }
        default: break
        }
        return nil
    }
}
