import HTTPServer

/// Small limits so the fuzzer reaches every limit branch with short inputs.
let limits = HTTPParserConfiguration(
    maxRequestLineBytes: 96, maxHeaderBytes: 256, maxHeaderCount: 8, maxBodyBytes: 128, maxChunkLineBytes: 32)

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

/// Properties checked on every input:
/// 1. the parser never crashes and its events are the same whether the bytes arrive whole, one at a time, or
///    split at a point taken from the input itself;
/// 2. events come in the order head, body*, end (or one error, last);
/// 3. the connection state machine, answering every request, never crashes, never goes negative on pending
///    output, and always closes after a protocol error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    var whole = HTTPRequestParser(configuration: limits)
    let a = normalize(whole.feed(bytes))

    var trickle = HTTPRequestParser(configuration: limits)
    var events: [HTTPParserEvent] = []
    for byte in bytes { events += trickle.feed([byte]) }
    let b = normalize(events)

    let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    var halves = HTTPRequestParser(configuration: limits)
    let c = normalize(halves.feed(bytes[..<split]) + halves.feed(bytes[split...]))

    precondition(a == b, "whole vs byte-by-byte differ")
    precondition(a == c, "whole vs split differ")

    var inMessage = false
    for (i, event) in a.enumerated() {
        switch event {
        case .head:
            precondition(!inMessage, "head inside a message")
            inMessage = true
        case .body:
            precondition(inMessage, "body outside a message")
        case .end:
            precondition(inMessage, "end outside a message")
            inMessage = false
        case .error:
            precondition(i == a.count - 1, "event after error")
        }
    }

    var machine = ConnectionStateMachine(limits: ConnectionLimits(parser: limits), now: 0)
    var queue = machine.start() + machine.received(bytes[..<split], now: 1) + machine.received(bytes[split...], now: 2)
    var sawError = false
    var closed = false
    var steps = 0
    while !queue.isEmpty && steps < 10_000 {
        steps += 1
        let action = queue.removeFirst()
        switch action {
        case .write(let out):
            queue += machine.didWrite(out.count, now: 3)
        case .dispatch:
            queue += machine.respond(status: .ok, headers: ["X": "y"], bytes: Array("ok".utf8), now: 3)
        case .respondWithError(let error):
            sawError = true
            queue += machine.respond(status: error.status, headers: [:], bytes: Array("{}".utf8), now: 3)
        case .close:
            closed = true
        default:
            break
        }
        precondition(machine.pendingOutput >= 0, "negative pending output")
    }
    precondition(!sawError || closed, "protocol error without close")
    return 0
}
