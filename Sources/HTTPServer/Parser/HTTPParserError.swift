/// A protocol violation found while parsing a request, with the status it is answered with.
///
/// Every parser error ends the connection (`Connection: close`): after a framing or syntax error the
/// server can no longer tell where the next request would start (RFC 9112 §11.2, request smuggling).
public enum HTTPParserError: Error, Sendable, Hashable {
    /// Request line not `method SP target SP version CRLF`, or an HTTP/0.9 line without version (400).
    case invalidRequestLine
    /// Request target empty, containing control/space characters, or not origin/absolute/asterisk form (400).
    case invalidTarget
    /// Request line longer than `maxRequestLineBytes` (414, RFC 9112 §3).
    case requestLineTooLong
    /// Major version other than 1 (505, RFC 9110 §15.6.6).
    case unsupportedVersion
    /// A syntactically valid method this server does not implement (501, RFC 9110 §9.1).
    case unknownMethod
    /// A line not ending in CRLF (bare LF or bare CR) (400, RFC 9112 §2.2 — strict on purpose).
    case invalidLineEnding
    /// Field name with a non-token character, empty, or missing its colon (400, RFC 9110 §5.1).
    case invalidHeaderName
    /// Whitespace between field name and colon (400, RFC 9112 §5.1).
    case whitespaceBeforeColon
    /// A field line beginning with whitespace: obsolete line folding (400, RFC 9112 §5.2).
    case obsoleteLineFolding
    /// CR, LF, NUL or another control character inside a field value (400, RFC 9110 §5.5).
    case invalidHeaderValue
    /// Header block over `maxHeaderBytes` (431, RFC 6585 §5).
    case headersTooLarge
    /// More than `maxHeaderCount` fields (431).
    case tooManyHeaders
    /// HTTP/1.1 request without exactly one valid Host (400, RFC 9112 §3.2).
    case invalidHost
    /// Content-Length not a decimal number, or several different values (400, RFC 9112 §6.3).
    case invalidContentLength
    /// Both Content-Length and Transfer-Encoding (400, RFC 9112 §6.3 item 3, treated as an attack).
    case contentLengthWithTransferEncoding
    /// Transfer-Encoding malformed, chunked not last, or sent on HTTP/1.0 (400, RFC 9112 §6.1).
    case invalidTransferEncoding
    /// A transfer coding other than chunked (501, RFC 9112 §6.1).
    case unsupportedTransferEncoding
    /// Malformed chunk size, extension, or missing CRLF after chunk data (400, RFC 9112 §7.1).
    case invalidChunk
    /// Declared or received body above `maxBodyBytes` (413, RFC 9110 §15.5.14).
    case bodyTooLarge
    /// An `Expect` other than `100-continue` (417, RFC 9110 §10.1.1).
    case unsupportedExpectation

    /// The response status for this error.
    public var status: HTTPStatus {
        switch self {
        case .requestLineTooLong: .uriTooLong
        case .unsupportedVersion: .httpVersionNotSupported
        case .unknownMethod, .unsupportedTransferEncoding: .notImplemented
        case .headersTooLarge, .tooManyHeaders: .requestHeaderFieldsTooLarge
        case .bodyTooLarge: .contentTooLarge
        case .unsupportedExpectation: .expectationFailed
        default: .badRequest
        }
    }

    /// A stable machine-readable code for problem+json.
    public var code: String {
        switch self {
        case .invalidRequestLine: "invalid_request_line"
        case .invalidTarget: "invalid_target"
        case .requestLineTooLong: "request_line_too_long"
        case .unsupportedVersion: "http_version_not_supported"
        case .unknownMethod: "method_not_implemented"
        case .invalidLineEnding: "invalid_line_ending"
        case .invalidHeaderName: "invalid_header_name"
        case .whitespaceBeforeColon: "whitespace_before_colon"
        case .obsoleteLineFolding: "obsolete_line_folding"
        case .invalidHeaderValue: "invalid_header_value"
        case .headersTooLarge: "headers_too_large"
        case .tooManyHeaders: "too_many_headers"
        case .invalidHost: "invalid_host"
        case .invalidContentLength: "invalid_content_length"
        case .contentLengthWithTransferEncoding: "content_length_with_transfer_encoding"
        case .invalidTransferEncoding: "invalid_transfer_encoding"
        case .unsupportedTransferEncoding: "transfer_encoding_not_implemented"
        case .invalidChunk: "invalid_chunk"
        case .bodyTooLarge: "body_too_large"
        case .unsupportedExpectation: "expectation_failed"
        }
    }

    /// A human-readable explanation that reveals nothing beyond the request itself.
    public var detail: String {
        switch self {
        case .invalidRequestLine: "The request line must be 'METHOD SP target SP HTTP/1.x CRLF'."
        case .invalidTarget: "The request target is malformed."
        case .requestLineTooLong: "The request line is longer than the server accepts."
        case .unsupportedVersion: "Only HTTP/1.0 and HTTP/1.1 are supported."
        case .unknownMethod: "The request method is not implemented by this server."
        case .invalidLineEnding: "Lines must end with CRLF."
        case .invalidHeaderName: "A header field name is malformed."
        case .whitespaceBeforeColon: "Whitespace between a header field name and its colon is not allowed."
        case .obsoleteLineFolding: "Obsolete line folding is not allowed."
        case .invalidHeaderValue: "A header field value contains a forbidden character."
        case .headersTooLarge: "The header block is larger than the server accepts."
        case .tooManyHeaders: "The request has more header fields than the server accepts."
        case .invalidHost: "An HTTP/1.1 request needs exactly one valid Host header."
        case .invalidContentLength: "Content-Length is invalid or given with different values."
        case .contentLengthWithTransferEncoding: "Content-Length and Transfer-Encoding must not both be present."
        case .invalidTransferEncoding: "Transfer-Encoding is malformed or not allowed here."
        case .unsupportedTransferEncoding: "Only the chunked transfer coding is implemented."
        case .invalidChunk: "The chunked body is malformed."
        case .bodyTooLarge: "The request body is larger than the server accepts."
        case .unsupportedExpectation: "Only 'Expect: 100-continue' is supported."
        }
    }
}
