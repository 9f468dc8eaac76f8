/// One Server-Sent Event as a client sees it (HTML Living Standard §9.2.6, "Interpreting an event stream").
package struct SSEEvent: Sendable, Equatable {
    /// The `event:` field; "message" when the event has none.
    package var name: String
    package var data: String
    /// The last event id in effect when the event was dispatched (an event without `id:` inherits it).
    package var lastEventID: String?

    package init(name: String, data: String, lastEventID: String?) {
        self.name = name
        self.data = data
        self.lastEventID = lastEventID
    }
}

/// An incremental event-stream parser: feed it bytes in chunks of any size, get the complete events.
///
/// Lines end at CRLF, LF or CR; a line starting with `:` is a comment (heartbeats); `field: value` drops one
/// leading space of the value; an empty line dispatches the event, unless its data is empty; `retry:` with
/// digits only sets the reconnection delay; an `id` containing NUL is ignored.
package struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var sawCR = false
    private var eventName = ""
    private var data = ""
    private var hasData = false
    private var bomChecked = false
    package private(set) var lastEventID: String?
    /// The server's `retry:` reconnection delay, in milliseconds.
    package private(set) var retryMilliseconds: Int?

    package init(lastEventID: String? = nil) { self.lastEventID = lastEventID }

    package mutating func feed(_ bytes: some Sequence<UInt8>) -> [SSEEvent] {
        var events: [SSEEvent] = []
        for byte in bytes {
            if sawCR {
                sawCR = false
                if byte == 0x0A { continue }
            }
            switch byte {
            case 0x0D:
                sawCR = true
                if let event = endLine() { events.append(event) }
            case 0x0A:
                if let event = endLine() { events.append(event) }
            default:
                line.append(byte)
            }
        }
        return events
    }

    private mutating func endLine() -> SSEEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        var text = String(decoding: line, as: UTF8.self)
        if !bomChecked {
            bomChecked = true
            if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        }
        if text.isEmpty { return dispatch() }
        if text.hasPrefix(":") { return nil }
        let field: Substring
        var value: Substring
        if let colon = text.firstIndex(of: ":") {
            field = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            field = text[...]
            value = ""
        }
        switch field {
        case "event": eventName = String(value)
        case "data":
            if hasData { data += "\n" }
            data += value
            hasData = true
        case "id": if !value.contains("\0") { lastEventID = String(value) }
        case "retry": if !value.isEmpty, value.allSatisfy(\.isASCIIDigit), let ms = Int(value) { retryMilliseconds = ms }
        default: break
        }
        return nil
    }

    private mutating func dispatch() -> SSEEvent? {
        defer {
            eventName = ""
            data = ""
            hasData = false
        }
        guard hasData else { return nil }
        return SSEEvent(name: eventName.isEmpty ? "message" : eventName, data: data, lastEventID: lastEventID)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
