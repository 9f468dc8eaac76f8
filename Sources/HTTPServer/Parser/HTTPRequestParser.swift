/// An incremental HTTP/1.1 request parser: bytes in, events out. A pure value type that performs no I/O.
///
/// Feed it with `append(_:)` and pull events with `next()`; it stops after each request's `.end` until asked
/// again, so a connection can answer pipelined requests one at a time, in order (RFC 9112 §9.3.2), while
/// the following requests wait in the buffer. After an `.error` the parser stays failed: every error is a
/// framing or syntax error after which the connection must close.
///
/// Strictness, each rule with its source:
/// - lines end in CRLF; a bare LF or CR is rejected (RFC 9112 §2.2 allows, but does not require, leniency);
/// - empty lines before a request line are skipped (RFC 9112 §2.2);
/// - `method SP target SP HTTP/x.y` with single spaces (§3); a line without version (HTTP/0.9) is a 400;
/// - field names are tokens immediately followed by `:` (§5.1), values may not contain CTLs (RFC 9110 §5.5),
///   obs-fold is rejected (§5.2);
/// - body length per §6.3, with Content-Length + Transfer-Encoding rejected outright.
public struct HTTPRequestParser: Sendable {
    public let configuration: HTTPParserConfiguration

    private enum State: Sendable {
        case requestLine
        case headers
        case body(remaining: Int)
        case endPending
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataCRLF
        case trailers
        case failed
    }

    private var state: State = .requestLine
    private var buffer: [UInt8] = []
    /// Index of the first unconsumed byte in `buffer`.
    private var start = 0
    /// Where the search for the next LF resumes, so byte-at-a-time input stays linear.
    private var scanFrom = 0

    // The request being assembled.
    private var method: HTTPMethod = .GET
    private var target = ""
    private var version = HTTPVersion.http1_1
    private var headers = HTTPHeaders()
    private var headerBytes = 0
    private var bodyBytes = 0
    private var trailers = HTTPHeaders()

    public init(configuration: HTTPParserConfiguration = .init()) {
        self.configuration = configuration
        buffer.reserveCapacity(4096)
    }

    /// Bytes received but not consumed yet (at most one request's worth of head plus pipelined data).
    public var bufferedByteCount: Int { buffer.count - start }

    /// Whether the parser sits between requests with nothing buffered.
    public var isIdle: Bool {
        if case .requestLine = state { return buffer.count == start }
        return false
    }

    /// Whether the parser is between requests (possibly with bytes of the next one buffered).
    public var isBetweenRequests: Bool {
        if case .requestLine = state { return true }
        return false
    }

    /// The method and target of the request that failed, when its request line had been read (e.g. a 413 for
    /// its declared length): for the error's log line and problem `instance`.
    public private(set) var failedRequestLine: (method: HTTPMethod, target: String)?

    public var hasFailed: Bool {
        if case .failed = state { return true }
        return false
    }

    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            scanFrom -= start
            start = 0
        } else if start >= 4096 && start * 2 >= buffer.count {
            buffer.removeSubrange(0..<start)
            scanFrom -= start
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Appends `bytes` and returns every event they complete (for tests and fuzzing; ignores the
    /// one-request-at-a-time pause by continuing past `.end`).
    public mutating func feed<C: Collection>(_ bytes: C) -> [HTTPParserEvent] where C.Element == UInt8 {
        append(bytes)
        var events: [HTTPParserEvent] = []
        while let event = next() { events.append(event) }
        return events
    }

    /// The next event the buffered bytes allow, or nil when more bytes are needed (or the parser failed).
    public mutating func next() -> HTTPParserEvent? {
        switch state {
        case .failed:
            return nil
        case .requestLine:
            return parseRequestLine()
        case .headers:
            return parseHeaders()
        case .endPending:
            state = .requestLine
            return .end(trailers: HTTPHeaders())
        case .body(let remaining):
            let available = buffer.count - start
            guard available > 0 else { return nil }
            let n = min(available, remaining)
            let piece = Array(buffer[start..<(start + n)])
            consume(n)
            state = remaining == n ? .endPending : .body(remaining: remaining - n)
            return .body(piece)
        case .chunkSize:
            return parseChunkSize()
        case .chunkData(let remaining):
            let available = buffer.count - start
            guard available > 0 else { return nil }
            let n = min(available, remaining)
            let piece = Array(buffer[start..<(start + n)])
            consume(n)
            state = remaining == n ? .chunkDataCRLF : .chunkData(remaining: remaining - n)
            return .body(piece)
        case .chunkDataCRLF:
            guard buffer.count - start >= 2 else {
                if buffer.count - start == 1 && buffer[start] != UInt8(ascii: "\r") { return fail(.invalidChunk) }
                return nil
            }
            guard buffer[start] == UInt8(ascii: "\r"), buffer[start + 1] == UInt8(ascii: "\n") else {
                return fail(.invalidChunk)
            }
            consume(2)
            state = .chunkSize
            return parseChunkSize()
        case .trailers:
            return parseTrailers()
        }
    }

    // MARK: - Steps

    private mutating func fail(_ error: HTTPParserError) -> HTTPParserEvent {
        if case .requestLine = state { failedRequestLine = nil } else { failedRequestLine = (method, target) }
        state = .failed
        buffer = []
        start = 0
        scanFrom = 0
        return .error(error)
    }

    private mutating func consume(_ n: Int) {
        start += n
        if scanFrom < start { scanFrom = start }
    }

    /// A complete line in the buffer: `content` excludes the line ending, `after` is the index past the LF,
    /// `bareLF` is true when no CR precedes the LF. Size limits are checked by callers *before* the line
    /// ending, so the same input gives the same error however it is split into reads.
    private struct Line {
        var content: Range<Int>
        var after: Int
        var bareLF: Bool
    }

    /// The next complete line, or nil if no LF has arrived yet.
    private mutating func nextLine() -> Line? {
        var i = max(scanFrom, start)
        let end = buffer.count
        let found: Int? = buffer.withUnsafeBufferPointer { p in
            while i < end {
                if p[i] == UInt8(ascii: "\n") { return i }
                i += 1
            }
            return nil
        }
        guard let lf = found else {
            scanFrom = end
            return nil
        }
        scanFrom = lf + 1
        let hasCR = lf > start && buffer[lf - 1] == UInt8(ascii: "\r")
        return Line(content: start..<(hasCR ? lf - 1 : lf), after: lf + 1, bareLF: !hasCR)
    }

    private mutating func parseRequestLine() -> HTTPParserEvent? {
        // Skip empty lines before the request line (RFC 9112 §2.2), strictly as CRLF pairs.
        while buffer.count - start >= 2 && buffer[start] == UInt8(ascii: "\r") && buffer[start + 1] == UInt8(ascii: "\n") {
            consume(2)
        }
        guard let line = nextLine() else {
            if buffer.count - start > configuration.maxRequestLineBytes { return fail(.requestLineTooLong) }
            return nil
        }
        let range = line.content
        let after = line.after
        if after - start > configuration.maxRequestLineBytes { return fail(.requestLineTooLong) }
        if line.bareLF { return fail(.invalidLineEnding) }
        let bytes = buffer[range]
        // Exactly "method SP target SP version".
        guard let sp1 = bytes.firstIndex(of: UInt8(ascii: " ")) else { return fail(.invalidRequestLine) }
        let rest = bytes[(sp1 + 1)...]
        guard let sp2 = rest.firstIndex(of: UInt8(ascii: " ")) else {
            return fail(.invalidRequestLine)  // HTTP/0.9 simple request or junk
        }
        let methodBytes = bytes[bytes.startIndex..<sp1]
        let targetBytes = bytes[(sp1 + 1)..<sp2]
        let versionBytes = bytes[(sp2 + 1)...]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(isTokenChar) else { return fail(.invalidRequestLine) }
        guard let parsedVersion = parseVersion(versionBytes) else { return fail(.invalidRequestLine) }
        guard parsedVersion.major == 1 else { return fail(.unsupportedVersion) }
        guard !targetBytes.isEmpty, targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return fail(.invalidTarget)
        }
        let first = targetBytes[targetBytes.startIndex]
        let isOrigin = first == UInt8(ascii: "/")
        let isAsterisk = targetBytes.count == 1 && first == UInt8(ascii: "*")
        let isAbsolute = !isOrigin && !isAsterisk && hasHTTPScheme(targetBytes)
        guard isOrigin || isAsterisk || isAbsolute else { return fail(.invalidTarget) }
        guard let parsedMethod = HTTPMethod(bytes: methodBytes) else { return fail(.unknownMethod) }
        if isAsterisk && parsedMethod != .OPTIONS { return fail(.invalidTarget) }
        method = parsedMethod
        target = String(decoding: targetBytes, as: UTF8.self)
        version = HTTPVersion(major: 1, minor: min(parsedVersion.minor, 1))
        headers = HTTPHeaders()
        headerBytes = 0
        bodyBytes = 0
        consume(after - start)
        state = .headers
        return parseHeaders()
    }

    private func parseVersion(_ v: ArraySlice<UInt8>) -> HTTPVersion? {
        guard v.count == 8, v.starts(with: "HTTP/".utf8) else { return nil }
        let i = v.startIndex
        let major = v[i + 5]
        let dot = v[i + 6]
        let minor = v[i + 7]
        guard isDigit(major), dot == UInt8(ascii: "."), isDigit(minor) else { return nil }
        return HTTPVersion(major: Int(major - 48), minor: Int(minor - 48))
    }

    private func hasHTTPScheme(_ t: ArraySlice<UInt8>) -> Bool {
        let lower = t.prefix(8).map(asciiLower)
        return lower.starts(with: "http://".utf8) || lower.starts(with: "https://".utf8)
    }

    /// Parses field lines into `headers` until the empty line; then validates and emits the head.
    private mutating func parseHeaders() -> HTTPParserEvent? {
        switch readFieldLines(trailers: false) {
        case .complete: return finishHead()
        case .needMoreInput: return nil
        case .failed(let event): return event
        }
    }

    private enum FieldLines {
        case complete, needMoreInput
        case failed(HTTPParserEvent)
    }

    /// Reads field lines into `headers` (or, for a chunked body's trailer section, `trailers`) up to and
    /// including the empty line. Both count against the same `maxHeaderBytes` and `maxHeaderCount`; a bare LF
    /// is `invalidLineEnding` in the head and `invalidChunk` in the trailers.
    private mutating func readFieldLines(trailers isTrailer: Bool) -> FieldLines {
        while true {
            guard let line = nextLine() else {
                if headerBytes + (buffer.count - start) > configuration.maxHeaderBytes + 2 {
                    return .failed(fail(.headersTooLarge))
                }
                return .needMoreInput
            }
            let range = line.content
            let lineLength = line.after - start
            if range.isEmpty && !line.bareLF {
                consume(lineLength)
                return .complete
            }
            headerBytes += lineLength
            if headerBytes > configuration.maxHeaderBytes { return .failed(fail(.headersTooLarge)) }
            if line.bareLF { return .failed(fail(isTrailer ? .invalidChunk : .invalidLineEnding)) }
            if (isTrailer ? trailers.count : headers.count) >= configuration.maxHeaderCount {
                return .failed(fail(.tooManyHeaders))
            }
            switch parseField(buffer[range]) {
            case .success(let field):
                if isTrailer { trailers.fields.append(field) } else { headers.fields.append(field) }
            case .failure(let error): return .failed(fail(error))
            }
            consume(lineLength)
        }
    }

    private func parseField(_ line: ArraySlice<UInt8>) -> Result<(name: String, value: String), HTTPParserError> {
        let first = line[line.startIndex]
        if first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { return .failure(.obsoleteLineFolding) }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return .failure(.invalidHeaderName) }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty else { return .failure(.invalidHeaderName) }
        if let last = name.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") {
            return .failure(.whitespaceBeforeColon)
        }
        for b in name where !isTokenChar(b) { return .failure(.invalidHeaderName) }
        var vs = colon + 1
        var ve = line.endIndex
        while vs < ve && (line[vs] == UInt8(ascii: " ") || line[vs] == UInt8(ascii: "\t")) { vs += 1 }
        while ve > vs && (line[ve - 1] == UInt8(ascii: " ") || line[ve - 1] == UInt8(ascii: "\t")) { ve -= 1 }
        let value = line[vs..<ve]
        for b in value where !(b == 0x09 || (b >= 0x20 && b != 0x7F)) {
            return .failure(.invalidHeaderValue)
        }
        return .success((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
    }

    /// Applies the message-level rules (RFC 9112 §3.2, §6, §9.3; RFC 9110 §10.1.1) and emits the head.
    private mutating func finishHead() -> HTTPParserEvent? {
        var hostCount = 0
        var contentLengths: [Substring] = []
        var transferEncodings: [String] = []
        var hasTransferEncoding = false
        var connectionClose = false
        var connectionKeepAlive = false
        var expectContinue = false
        var otherExpectation = false
        for field in headers.fields {
            let name = field.name
            switch name.utf8.count {
            case 4 where name.caseInsensitiveEquals("host"):
                hostCount += 1
                if !isValidHost(field.value) { return fail(.invalidHost) }
            case 6 where name.caseInsensitiveEquals("expect"):
                if field.value.lowercased() == "100-continue" { expectContinue = true } else { otherExpectation = true }
            case 10 where name.caseInsensitiveEquals("connection"):
                for token in field.value.split(separator: ",") {
                    let t = token.trimmingOWS().lowercased()
                    if t == "close" { connectionClose = true }
                    if t == "keep-alive" { connectionKeepAlive = true }
                }
            case 14 where name.caseInsensitiveEquals("content-length"):
                for element in field.value.split(separator: ",", omittingEmptySubsequences: false) {
                    contentLengths.append(element.trimmingOWS())
                }
            case 17 where name.caseInsensitiveEquals("transfer-encoding"):
                hasTransferEncoding = true
                for element in field.value.split(separator: ",", omittingEmptySubsequences: false) {
                    transferEncodings.append(element.trimmingOWS().lowercased())
                }
            default:
                break
            }
        }
        if version.minor >= 1 && hostCount != 1 { return fail(.invalidHost) }
        if hostCount > 1 { return fail(.invalidHost) }

        var framing = BodyFraming.none
        if hasTransferEncoding {
            if !contentLengths.isEmpty { return fail(.contentLengthWithTransferEncoding) }
            if version.minor == 0 { return fail(.invalidTransferEncoding) }
            if transferEncodings.contains(where: { $0.isEmpty }) { return fail(.invalidTransferEncoding) }
            if transferEncodings.contains(where: { $0 != "chunked" }) {
                // gzip etc. are unknown to us (501) unless the list is not even well-formed around chunked.
                if transferEncodings.last != "chunked" && transferEncodings.contains("chunked") {
                    return fail(.invalidTransferEncoding)
                }
                return fail(.unsupportedTransferEncoding)
            }
            if transferEncodings.count != 1 { return fail(.invalidTransferEncoding) }
            framing = .chunked
        } else if !contentLengths.isEmpty {
            var length: Int?
            for element in contentLengths {
                guard let n = parseDecimal(element) else { return fail(.invalidContentLength) }
                if let l = length, l != n { return fail(.invalidContentLength) }
                length = n
            }
            let n = length ?? 0
            if n > configuration.maxBodyBytes { return fail(.bodyTooLarge) }
            framing = n > 0 ? .length(n) : .none
        }
        if otherExpectation { return fail(.unsupportedExpectation) }

        let keepAlive = version.minor >= 1 ? !connectionClose : (connectionKeepAlive && !connectionClose)
        let head = RequestHead(
            method: method, target: target, version: version, headers: headers, framing: framing,
            keepAlive: keepAlive, expectContinue: expectContinue && framing != .none
        )
        switch framing {
        case .none: state = .endPending
        case .length(let n): state = .body(remaining: n)
        case .chunked:
            state = .chunkSize
            trailers = HTTPHeaders()
        }
        headers = HTTPHeaders()
        return .head(head)
    }

    private mutating func parseChunkSize() -> HTTPParserEvent? {
        guard let line = nextLine() else {
            if buffer.count - start > configuration.maxChunkLineBytes { return fail(.invalidChunk) }
            return nil
        }
        if line.after - start > configuration.maxChunkLineBytes || line.bareLF { return fail(.invalidChunk) }
        let after = line.after
        let bytes = buffer[line.content]
        var size = 0
        var digits = 0
        var i = bytes.startIndex
        while i < bytes.endIndex, let h = RequestTarget.hexValue(bytes[i]) {
            size = size << 4 | Int(h)
            digits += 1
            if digits > 15 { return fail(.invalidChunk) }
            i += 1
        }
        guard digits > 0 else { return fail(.invalidChunk) }
        // chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ); only checked for forbidden bytes.
        while i < bytes.endIndex && (bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\t")) { i += 1 }
        if i < bytes.endIndex {
            guard bytes[i] == UInt8(ascii: ";") else { return fail(.invalidChunk) }
            for b in bytes[i...] where !(b == 0x09 || (b >= 0x20 && b != 0x7F)) { return fail(.invalidChunk) }
        }
        consume(after - start)
        if size == 0 {
            state = .trailers
            return parseTrailers()
        }
        bodyBytes += size
        if bodyBytes > configuration.maxBodyBytes { return fail(.bodyTooLarge) }
        state = .chunkData(remaining: size)
        return next()
    }

    private mutating func parseTrailers() -> HTTPParserEvent? {
        switch readFieldLines(trailers: true) {
        case .complete:
            state = .requestLine
            let t = trailers
            trailers = HTTPHeaders()
            return .end(trailers: t)
        case .needMoreInput: return nil
        case .failed(let event): return event
        }
    }

    // MARK: - Character classes

    private func parseDecimal(_ s: Substring) -> Int? {
        guard !s.isEmpty, s.utf8.count <= 18, s.utf8.allSatisfy(isDigit) else { return nil }
        return Int(s)
    }

    private func isValidHost(_ host: String) -> Bool {
        // uri-host [ ":" port ] (RFC 9110 §7.2): reg-name / IP-literal characters; no whitespace, comma or "@".
        host.utf8.allSatisfy { b in
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "!"),
                UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
                UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: ":"),
                UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "%"):
                true
            default: false
            }
        }
    }
}

@inline(__always)
func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

/// tchar (RFC 9110 §5.6.2): "!#$%&'*+-.^_`|~", DIGIT, ALPHA.
@inline(__always)
func isTokenChar(_ b: UInt8) -> Bool {
    tokenTable[Int(b)]
}

private let tokenTable: [Bool] = (0..<256).map { i in
    let b = UInt8(i)
    switch b {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    default:
        return "!#$%&'*+-.^_`|~".utf8.contains(b)
    }
}
