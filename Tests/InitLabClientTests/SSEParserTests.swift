import Foundation
import Testing

@testable import InitLabClient

@Suite("SSE parser")
struct SSEParserTests {
    let stream = "retry: 25\nid: 1\nevent: progress\ndata: {\"a\":1}\n\n: heartbeat\n\nevent: layer\ndata: line one\ndata: line two\n\nid: 7\ndata:x\n\n"

    func parseWhole(_ text: String) -> [SSEEvent] {
        var parser = SSEParser()
        return parser.feed(Array(text.utf8))
    }

    @Test func eventsFieldsAndIdInheritance() {
        let events = parseWhole(stream)
        #expect(events == [
            SSEEvent(name: "progress", data: "{\"a\":1}", lastEventID: "1"),
            // No id of its own: the last one in effect.
            SSEEvent(name: "layer", data: "line one\nline two", lastEventID: "1"),
            // No event name: "message"; no space after the colon is fine.
            SSEEvent(name: "message", data: "x", lastEventID: "7"),
        ])
    }

    @Test func anyChunkingGivesTheSameEvents() {
        let bytes = Array(stream.utf8)
        for size in [1, 2, 3, 7, 64] {
            var parser = SSEParser()
            var events: [SSEEvent] = []
            var start = 0
            while start < bytes.count {
                events += parser.feed(bytes[start..<min(bytes.count, start + size)])
                start += size
            }
            #expect(events == parseWhole(stream), "chunks of \(size) bytes")
            #expect(parser.retryMilliseconds == 25)
            #expect(parser.lastEventID == "7")
        }
    }

    @Test func crlfAndCRLineEndsAndABOM() {
        let events = parseWhole("\u{FEFF}id: 3\r\nevent: done\rdata: ok\r\n\r\n")
        #expect(events == [SSEEvent(name: "done", data: "ok", lastEventID: "3")])
    }

    @Test func aCRLFSplitAcrossChunksIsOneLineEnd() {
        var parser = SSEParser()
        var events = parser.feed(Array("data: a\r".utf8))
        events += parser.feed(Array("\n\r\n".utf8))
        #expect(events == [SSEEvent(name: "message", data: "a", lastEventID: nil)])
    }

    @Test func commentsEmptyDataAndBadRetryAreIgnored() {
        var parser = SSEParser(lastEventID: "4")
        let events = parser.feed(Array(": only a comment\n\nevent: x\n\nretry: 1e3\nretry: -5\n\n".utf8))
        #expect(events.isEmpty)
        #expect(parser.retryMilliseconds == nil)
        #expect(parser.lastEventID == "4")
    }

    @Test func anIncompleteEventIsNotDispatched() {
        var parser = SSEParser()
        #expect(parser.feed(Array("data: half".utf8)).isEmpty)
        #expect(parser.feed(Array("\n".utf8)).isEmpty)
        #expect(parser.feed(Array("\n".utf8)) == [SSEEvent(name: "message", data: "half", lastEventID: nil)])
    }
}

@Suite("Remote exit codes")
struct RemoteExitCodeTests {
    func problem(_ status: Int, _ code: String) -> RemoteError {
        let body = "{\"type\":\"urn:initlab:problem:\(code)\",\"title\":\"t\",\"status\":\(status)}"
        guard let problem = RemoteProblem(status: status, body: Data(body.utf8)) else {
            return .unexpected(status: status, "not a problem")
        }
        return .problem(problem)
    }

    @Test func everyAnswerHasItsCode() {
        #expect(RemoteExitCode(problem(422, "invalid_spec")) == .invalidSpec)
        #expect(RemoteExitCode(problem(400, "invalid_json")) == .invalidSpec)
        #expect(RemoteExitCode(problem(404, "not_found")) == .notFound)
        #expect(RemoteExitCode(problem(401, "unauthorized")) == .unauthorized)
        #expect(RemoteExitCode(problem(409, "failed")) == .failed)
        #expect(RemoteExitCode(problem(409, "cancelled")) == .cancelled)
        #expect(RemoteExitCode(problem(409, "not_finished")) == .notFinished)
        #expect(RemoteExitCode(problem(503, "unavailable")) == .unreachable)
        #expect(RemoteExitCode(.unreachable("refused")) == .unreachable)
        #expect(RemoteExitCode(.unexpected(status: 502, "bad gateway")) == .unreachable)
        #expect(RemoteExitCode(.unexpected(status: 200, "not JSON")) == .unexpected)
        #expect(RemoteExitCode(terminalStatus: "succeeded") == .succeeded)
        #expect(RemoteExitCode(terminalStatus: "running") == nil)
    }

    @Test func codesAreDistinct() {
        #expect(Set(RemoteExitCode.allCases.map(\.rawValue)).count == RemoteExitCode.allCases.count)
    }
}
