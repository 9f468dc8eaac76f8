/// How a response body is delimited on the wire (RFC 9112 §6).
enum ResponseFraming: Equatable {
    /// No body at all (1xx, 204, 304) — and no Content-Length.
    case noBody
    /// `Content-Length: n`; for HEAD the length is announced but no bytes follow.
    case length(Int)
    /// `Transfer-Encoding: chunked`.
    case chunked
    /// No length: the body ends when the connection closes (streams to HTTP/1.0 clients).
    case untilClose
}

/// Writes response heads. Framing fields from handlers are ignored and unsafe fields dropped, so a handler
/// can neither desynchronize the connection nor split a response with CR/LF (RFC 9110 §5.5).
enum ResponseSerializer {
    static func head(
        status: HTTPStatus, headers: HTTPHeaders, framing: ResponseFraming, close: Bool, clientVersion: HTTPVersion
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(contentsOf: "HTTP/1.1 ".utf8)
        appendDecimal(status.code, to: &out)
        out.append(0x20)
        for b in status.reasonPhrase.utf8 where b == 0x09 || (b >= 0x20 && b != 0x7F) { out.append(b) }
        out.append(contentsOf: "\r\n".utf8)
        for field in headers {
            let n = field.name
            if n.caseInsensitiveEquals("content-length") || n.caseInsensitiveEquals("transfer-encoding")
                || n.caseInsensitiveEquals("connection") || n.caseInsensitiveEquals("keep-alive")
            {
                continue
            }
            guard !n.isEmpty, allBytes(of: n, satisfy: isTokenChar),
                allBytes(of: field.value, satisfy: { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) })
            else { continue }
            out.append(contentsOf: n.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: field.value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        switch framing {
        case .noBody, .untilClose: break
        case .length(let n):
            out.append(contentsOf: "Content-Length: ".utf8)
            appendDecimal(n, to: &out)
            out.append(contentsOf: "\r\n".utf8)
        case .chunked:
            out.append(contentsOf: "Transfer-Encoding: chunked\r\n".utf8)
        }
        if close {
            out.append(contentsOf: "Connection: close\r\n".utf8)
        } else if clientVersion.minor == 0 {
            out.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        return out
    }

    /// One chunk: `size-in-hex CRLF data CRLF` (RFC 9112 §7.1). Empty input gives nothing (an empty chunk
    /// would end the body).
    static func chunk(_ bytes: [UInt8]) -> [UInt8] {
        guard !bytes.isEmpty else { return [] }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 12)
        out.append(contentsOf: String(bytes.count, radix: 16).utf8)
        out.append(contentsOf: "\r\n".utf8)
        out.append(contentsOf: bytes)
        out.append(contentsOf: "\r\n".utf8)
        return out
    }

    static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)
    static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value == 0 {
            out.append(0x30)
            return
        }
        var v = value
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buf in
            while v > 0 && count < 20 {
                buf[count] = UInt8(v % 10) + 0x30
                v /= 10
                count += 1
            }
            for i in stride(from: count - 1, through: 0, by: -1) { out.append(buf[i]) }
        }
    }
}

/// Whether every UTF-8 byte of `text` satisfies `predicate`: over the contiguous bytes when the string has them
/// (native strings do), which is several times cheaper than the `UTF8View` iterator.
@inline(__always)
func allBytes(of text: String, satisfy predicate: (UInt8) -> Bool) -> Bool {
    text.utf8.withContiguousStorageIfAvailable { $0.allSatisfy(predicate) } ?? text.utf8.allSatisfy(predicate)
}
