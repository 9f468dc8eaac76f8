import Testing

@testable import HTTPServer

/// Feeds `input` whole and one byte at a time; both must give the same events (body pieces merged).
func parseBothWays(_ input: String, configuration: HTTPParserConfiguration = .init()) -> [HTTPParserEvent] {
    let bytes = Array(input.utf8)
    var whole = HTTPRequestParser(configuration: configuration)
    let a = normalize(whole.feed(bytes))
    var trickle = HTTPRequestParser(configuration: configuration)
    var events: [HTTPParserEvent] = []
    for byte in bytes { events += trickle.feed([byte]) }
    let b = normalize(events)
    #expect(a == b, "whole and byte-by-byte parses differ for \(input.debugDescription)")
    return a
}

/// Merges consecutive body events, whose split depends on how the bytes arrived.
func normalize(_ events: [HTTPParserEvent]) -> [HTTPParserEvent] {
    var out: [HTTPParserEvent] = []
    for event in events {
        if case .body(let more) = event, case .body(let previous)? = out.last {
            out[out.count - 1] = .body(previous + more)
        } else {
            out.append(event)
        }
    }
    return out
}

func head(of events: [HTTPParserEvent]) -> RequestHead? {
    for case .head(let h) in events { return h }
    return nil
}

@Suite("Request parser")
struct ParserTests {
    @Test func simpleGet() {
        let events = parseBothWays("GET /a?b=c HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n\r\n")
        #expect(events.count == 2)
        let h = head(of: events)
        #expect(h?.method == .GET)
        #expect(h?.target == "/a?b=c")
        #expect(h?.version == .http1_1)
        #expect(h?.keepAlive == true)
        #expect(h?.framing == BodyFraming.none)
        #expect(h?.headers["accept"] == "*/*")
        #expect(events.last == .end(trailers: [:]))
    }

    @Test func contentLengthBody() {
        let events = parseBothWays("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
        #expect(head(of: events)?.framing == .length(5))
        #expect(events.dropFirst().first == .body(Array("hello".utf8)))
        #expect(events.last == .end(trailers: [:]))
    }

    @Test func identicalDuplicateContentLengthIsAccepted() {
        let events = parseBothWays("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok")
        #expect(head(of: events)?.framing == .length(2))
    }

    @Test func chunkedBodyWithExtensionsAndTrailers() {
        let input =
            "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n"
        let events = parseBothWays(input)
        #expect(head(of: events)?.framing == .chunked)
        #expect(events.count == 3)
        #expect(events[1] == .body(Array("hello world".utf8)))
        #expect(events[2] == .end(trailers: ["X-Checksum": "abc"]))
    }

    @Test func keepAliveRules() {
        #expect(head(of: parseBothWays("GET / HTTP/1.0\r\n\r\n"))?.keepAlive == false)
        #expect(head(of: parseBothWays("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"))?.keepAlive == true)
        #expect(head(of: parseBothWays("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"))?.keepAlive == false)
        #expect(head(of: parseBothWays("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, Close\r\n\r\n"))?.keepAlive == false)
    }

    @Test func pipelinedRequestsComeOutInOrder() {
        let one = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
        let two = "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
        let three = "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n"
        let events = parseBothWays(one + two + three)
        let targets = events.compactMap { if case .head(let h) = $0 { h.target } else { nil } }
        #expect(targets == ["/1", "/2", "/3"])
        #expect(events.filter { if case .end = $0 { true } else { false } }.count == 3)
    }

    @Test func pausesAfterEachRequest() {
        var parser = HTTPRequestParser()
        parser.append(Array("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        #expect(head(of: [parser.next()].compactMap { $0 })?.target == "/1")
        #expect(parser.next() == .end(trailers: [:]))
        #expect(parser.isBetweenRequests)
        #expect(parser.bufferedByteCount > 0)
        #expect(head(of: [parser.next()].compactMap { $0 })?.target == "/2")
    }

    @Test func leadingEmptyLinesAreSkipped() {
        #expect(head(of: parseBothWays("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"))?.target == "/")
    }

    @Test func targetsForms() {
        #expect(head(of: parseBothWays("GET http://h/p?q=1 HTTP/1.1\r\nHost: h\r\n\r\n"))?.target == "http://h/p?q=1")
        #expect(head(of: parseBothWays("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"))?.target == "*")
    }

    @Test func headerValueWhitespaceIsTrimmedAndObsTextKept() {
        let h = head(of: parseBothWays("GET / HTTP/1.1\r\nHost: h\r\nX-A: \t spaced out \t\r\nX-B: caf\u{e9}\r\n\r\n"))
        #expect(h?.headers["x-a"] == "spaced out")
        #expect(h?.headers["x-b"] == "caf\u{e9}")
    }

    @Test func expectContinueIsReportedOnlyWithABody() {
        let withBody = head(of: parseBothWays("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"))
        #expect(withBody?.expectContinue == true)
        let without = head(of: parseBothWays("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n"))
        #expect(without?.expectContinue == false)
    }

    @Test func limitsAtTheirExactBoundariesAreAccepted() {
        let config = HTTPParserConfiguration(maxRequestLineBytes: 64, maxHeaderBytes: 64, maxHeaderCount: 2, maxBodyBytes: 4)
        let path = "/" + String(repeating: "a", count: 64 - "GET / HTTP/1.1\r\n".utf8.count)
        let line = "GET \(path) HTTP/1.1\r\n"
        #expect(line.utf8.count == 64)
        let events = parseBothWays(line + "Host: h\r\n\r\n", configuration: config)
        #expect(head(of: events)?.target == path)
        let body = parseBothWays("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd", configuration: config)
        #expect(body.last == .end(trailers: [:]))
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        var name: String
        var input: String
        var error: HTTPParserError
        var status: Int
        var testDescription: String { name }
    }

    static let small = HTTPParserConfiguration(maxRequestLineBytes: 64, maxHeaderBytes: 128, maxHeaderCount: 4, maxBodyBytes: 16)

    static let malformed: [Malformed] = [
        .init(name: "HTTP/0.9 line without version", input: "GET /\r\n\r\n", error: .invalidRequestLine, status: 400),
        .init(name: "double space", input: "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", error: .invalidRequestLine, status: 400),
        .init(name: "bad version token", input: "GET / HTTX/1.1\r\nHost: h\r\n\r\n", error: .invalidRequestLine, status: 400),
        .init(name: "HTTP/2.0 line", input: "GET / HTTP/2.0\r\nHost: h\r\n\r\n", error: .unsupportedVersion, status: 505),
        .init(name: "HTTP/0.9 versioned", input: "GET / HTTP/0.9\r\n\r\n", error: .unsupportedVersion, status: 505),
        .init(name: "unknown method", input: "BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n", error: .unknownMethod, status: 501),
        .init(name: "lower-case method", input: "get / HTTP/1.1\r\nHost: h\r\n\r\n", error: .unknownMethod, status: 501),
        .init(name: "TRACE is not implemented", input: "TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", error: .unknownMethod, status: 501),
        .init(name: "method with bad char", input: "GE(T / HTTP/1.1\r\nHost: h\r\n\r\n", error: .invalidRequestLine, status: 400),
        .init(name: "relative target", input: "GET foo HTTP/1.1\r\nHost: h\r\n\r\n", error: .invalidTarget, status: 400),
        .init(name: "asterisk with GET", input: "GET * HTTP/1.1\r\nHost: h\r\n\r\n", error: .invalidTarget, status: 400),
        .init(name: "control char in target", input: "GET /a\u{1}b HTTP/1.1\r\nHost: h\r\n\r\n", error: .invalidTarget, status: 400),
        .init(name: "request line too long", input: "GET /" + String(repeating: "a", count: 80) + " HTTP/1.1\r\nHost: h\r\n\r\n", error: .requestLineTooLong, status: 414),
        .init(name: "request line too long, no LF yet", input: "GET /" + String(repeating: "a", count: 80), error: .requestLineTooLong, status: 414),
        .init(name: "bare LF", input: "GET / HTTP/1.1\nHost: h\n\n", error: .invalidLineEnding, status: 400),
        .init(name: "bare LF in headers", input: "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", error: .invalidLineEnding, status: 400),
        .init(name: "missing Host on 1.1", input: "GET / HTTP/1.1\r\n\r\n", error: .invalidHost, status: 400),
        .init(name: "duplicate Host", input: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", error: .invalidHost, status: 400),
        .init(name: "duplicate Host on 1.0", input: "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", error: .invalidHost, status: 400),
        .init(name: "Host with space", input: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", error: .invalidHost, status: 400),
        .init(name: "Host with userinfo", input: "GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", error: .invalidHost, status: 400),
        .init(name: "whitespace before colon", input: "GET / HTTP/1.1\r\nHost : h\r\n\r\n", error: .whitespaceBeforeColon, status: 400),
        .init(name: "obs-fold", input: "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n  b\r\n\r\n", error: .obsoleteLineFolding, status: 400),
        .init(name: "NUL in value", input: "GET / HTTP/1.1\r\nHost: h\r\nX: a\u{0}b\r\n\r\n", error: .invalidHeaderValue, status: 400),
        .init(name: "CR in value", input: "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", error: .invalidHeaderValue, status: 400),
        .init(name: "DEL in value", input: "GET / HTTP/1.1\r\nHost: h\r\nX: a\u{7f}\r\n\r\n", error: .invalidHeaderValue, status: 400),
        .init(name: "bad token char in name", input: "GET / HTTP/1.1\r\nHost: h\r\nX(y): z\r\n\r\n", error: .invalidHeaderName, status: 400),
        .init(name: "empty name", input: "GET / HTTP/1.1\r\nHost: h\r\n: z\r\n\r\n", error: .invalidHeaderName, status: 400),
        .init(name: "no colon", input: "GET / HTTP/1.1\r\nHost: h\r\nnocolon\r\n\r\n", error: .invalidHeaderName, status: 400),
        .init(name: "headers too large", input: "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "v", count: 200) + "\r\n\r\n", error: .headersTooLarge, status: 431),
        .init(name: "headers too large, no LF yet", input: "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "v", count: 200), error: .headersTooLarge, status: 431),
        .init(name: "too many headers", input: "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", error: .tooManyHeaders, status: 431),
        .init(name: "CL and TE", input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", error: .contentLengthWithTransferEncoding, status: 400),
        .init(name: "differing CLs", input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", error: .invalidContentLength, status: 400),
        .init(name: "CL list differing", input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\n", error: .invalidContentLength, status: 400),
        .init(name: "negative CL", input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", error: .invalidContentLength, status: 400),
        .init(name: "signed CL", input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", error: .invalidContentLength, status: 400),
        .init(name: "hex CL", input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", error: .invalidContentLength, status: 400),
        .init(name: "huge CL", input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", error: .invalidContentLength, status: 400),
        .init(name: "empty CL", input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", error: .invalidContentLength, status: 400),
        .init(name: "TE gzip", input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", error: .unsupportedTransferEncoding, status: 501),
        .init(name: "TE gzip, chunked", input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", error: .unsupportedTransferEncoding, status: 501),
        .init(name: "TE chunked not last", input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", error: .invalidTransferEncoding, status: 400),
        .init(name: "TE chunked twice", input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", error: .invalidTransferEncoding, status: 400),
        .init(name: "TE on HTTP/1.0", input: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", error: .invalidTransferEncoding, status: 400),
        .init(name: "bad chunk size", input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", error: .invalidChunk, status: 400),
        .init(name: "empty chunk size", input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", error: .invalidChunk, status: 400),
        .init(name: "chunk size overflow", input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", error: .invalidChunk, status: 400),
        .init(name: "chunk size then junk", input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n", error: .invalidChunk, status: 400),
        .init(name: "chunk data without CRLF", input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY", error: .invalidChunk, status: 400),
        .init(name: "chunk size line bare LF", input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\nab\r\n", error: .invalidChunk, status: 400),
        .init(name: "bad trailer", input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Name: x\r\n\r\n", error: .invalidHeaderName, status: 400),
        .init(name: "CL above limit", input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 17\r\n\r\n", error: .bodyTooLarge, status: 413),
        .init(name: "chunked above limit", input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n1\r\n", error: .bodyTooLarge, status: 413),
        .init(name: "unknown expectation", input: "POST / HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx", error: .unsupportedExpectation, status: 417),
    ]

    @Test(arguments: malformed)
    func malformedRequestIsRejected(_ c: Malformed) {
        let events = parseBothWays(c.input, configuration: Self.small)
        #expect(events.last == .error(c.error))
        #expect(c.error.status.code == c.status)
        // After an error the parser is done: further bytes give nothing.
        var parser = HTTPRequestParser(configuration: Self.small)
        _ = parser.feed(Array(c.input.utf8))
        #expect(parser.hasFailed)
        #expect(parser.feed(Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8)).isEmpty)
    }
}

/// Inputs found by scripts/fuzz-parser.sh that once broke a parser property; each must now parse the same
/// whole and byte by byte.
@Suite("Fuzzer regressions")
struct FuzzRegressionTests {
    static let fuzzLimits = HTTPParserConfiguration(
        maxRequestLineBytes: 96, maxHeaderBytes: 256, maxHeaderCount: 8, maxBodyBytes: 128, maxChunkLineBytes: 32)

    /// crash-24d193a4: 96 × 0x1A, 0x03, LF. Whole input saw the bare LF first (400), byte-by-byte input hit the
    /// request-line limit first (414). Limits are now checked before the line ending, so both give 414.
    @Test func overlongLineWithBareLF() {
        let input = String(repeating: "\u{1a}", count: 96) + "\u{3}\n"
        #expect(parseBothWays(input, configuration: Self.fuzzLimits).last == .error(.requestLineTooLong))
    }

    @Test func overlongHeaderLineWithBareLF() {
        let input = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 300) + "\n"
        #expect(parseBothWays(input, configuration: Self.fuzzLimits).last == .error(.headersTooLarge))
    }
}
