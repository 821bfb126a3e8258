/// One dispatched server-sent event.
public struct SSEEvent: Sendable, Equatable {
    /// The last event ID in effect when this event was dispatched (may be carried over).
    public var lastEventID: String
    /// The `event:` field, `message` when absent.
    public var type: String
    /// The `data:` lines joined with `\n`.
    public var data: String

    public init(lastEventID: String = "", type: String = "message", data: String) {
        self.lastEventID = lastEventID; self.type = type; self.data = data
    }
}

/// An incremental `text/event-stream` parser, per the WHATWG HTML "Server-sent events"
/// interpretation rules: LF, CR and CRLF line ends, a leading BOM, `:` comments,
/// `event`, `data`, `id` (ignored if it contains NUL) and `retry` (digits only).
/// Bytes may be split anywhere between `feed` calls, even inside a UTF-8 character:
/// lines are cut on bytes and decoded whole, with invalid UTF-8 replaced by U+FFFD.
///
/// ```swift
/// var parser = SSEParser()
/// for output in parser.feed(chunk) {
///     if case .event(let event) = output { … }
/// }
/// ```
public struct SSEParser: Sendable {
    public enum Output: Sendable, Equatable {
        case event(SSEEvent)
        /// A comment line (text after `:`): servers send these as heartbeats.
        case comment(String)
        /// A `retry:` field: the reconnection time in milliseconds.
        case retry(Int)
        /// A line or an event over the limit was dropped (why, in words): a server that never
        /// ends a line must not grow the console's memory without bound.
        case tooLarge(String)
    }

    /// The longest line and the largest event kept (1 MiB each by default).
    public let maxLineBytes: Int
    public let maxEventBytes: Int
    private var droppingLine = false
    private var droppingEvent = false

    private var line: [UInt8] = []
    private var lastByteWasCR = false
    private var bomChecked = false
    private var pendingStart: [UInt8] = []
    /// The `data:` lines so far, each followed by LF (bytes: decoded once, at dispatch).
    private var dataBuffer: [UInt8] = []
    private var hasData = false
    private var eventType = ""
    private var lastEventIDBuffer = ""
    /// The last event ID seen, to send as `Last-Event-ID` when reconnecting.
    public private(set) var lastEventID = ""

    public init(lastEventID: String = "", maxLineBytes: Int = 1 << 20, maxEventBytes: Int = 1 << 20) {
        self.maxLineBytes = maxLineBytes; self.maxEventBytes = maxEventBytes
        self.lastEventID = lastEventID
        lastEventIDBuffer = lastEventID
    }

    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Output] {
        var outputs: [Output] = []
        if bytes.withContiguousStorageIfAvailable({ feed($0, into: &outputs) }) == nil {
            Array(bytes).withUnsafeBufferPointer { feed($0, into: &outputs) }
        }
        return outputs
    }

    /// Line ends one by one, the bytes between them a run at a time (a busy stream is
    /// mostly those: appending them byte by byte was most of reading it).
    private mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, into outputs: inout [Output]) {
        var at = 0
        while at < bytes.count && !bomChecked {
            // Hold the first bytes until they can be told apart from EF BB BF.
            pendingStart.append(bytes[at])
            at += 1
            let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
            if pendingStart == bom { bomChecked = true; pendingStart = []; continue }
            if bom.starts(with: pendingStart) { continue }
            bomChecked = true
            let held = pendingStart
            pendingStart = []
            for b in held { consume(b, into: &outputs) }
        }
        while at < bytes.count {
            let byte = bytes[at]
            if byte == 0x0A || byte == 0x0D {
                consume(byte, into: &outputs)
                at += 1
                continue
            }
            var end = at + 1
            while end < bytes.count, bytes[end] != 0x0A, bytes[end] != 0x0D { end += 1 }
            append(UnsafeBufferPointer(rebasing: bytes[at..<end]), into: &outputs)
            at = end
        }
    }

    /// The stream ended: a partial line is dropped and an undispatched event discarded,
    /// as the spec says. The parser is ready for a new connection (keeping `lastEventID`).
    public mutating func reset() {
        line = []; lastByteWasCR = false; bomChecked = false; pendingStart = []
        dataBuffer = []; hasData = false; eventType = ""; lastEventIDBuffer = lastEventID
        droppingLine = false; droppingEvent = false
    }

    private mutating func consume(_ byte: UInt8, into outputs: inout [Output]) {
        switch byte {
        case 0x0A where lastByteWasCR:
            lastByteWasCR = false  // the LF of a CRLF
        case 0x0A, 0x0D:
            lastByteWasCR = byte == 0x0D
            if droppingLine { droppingLine = false } else { processLine(into: &outputs) }
            line.removeAll(keepingCapacity: true)
        default:
            [byte].withUnsafeBufferPointer { append($0, into: &outputs) }
        }
    }

    /// Bytes of a line (no CR or LF among them).
    private mutating func append(_ run: UnsafeBufferPointer<UInt8>, into outputs: inout [Output]) {
        lastByteWasCR = false
        guard !droppingLine else { return }
        guard line.count + run.count <= maxLineBytes else {
            // The rest of the line is skipped, and so is the event it belonged to.
            droppingLine = true; droppingEvent = true
            line = []
            outputs.append(.tooLarge("a line longer than \(maxLineBytes) bytes was dropped"))
            return
        }
        line.append(contentsOf: run)
    }

    /// A whole line, read on its bytes: only the values kept become strings (the field
    /// names are ASCII, so cutting at the colon never splits a UTF-8 character, and each
    /// part decodes as the whole line would).
    private mutating func processLine(into outputs: inout [Output]) {
        if line.isEmpty { dispatch(into: &outputs); return }
        let colon = UInt8(ascii: ":")
        if line[0] == colon { outputs.append(.comment(String(decoding: line[1...], as: UTF8.self))); return }
        let fieldEnd = line.firstIndex(of: colon) ?? line.count
        var valueStart = min(fieldEnd + 1, line.count)
        if fieldEnd < line.count, valueStart < line.count, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let field = line[..<fieldEnd], value = line[valueStart...]
        if field.elementsEqual("event".utf8) {
            eventType = String(decoding: value, as: UTF8.self)
        } else if field.elementsEqual("data".utf8) {
            guard !droppingEvent else { return }
            guard dataBuffer.count + value.count < maxEventBytes else {
                droppingEvent = true
                dataBuffer = []
                outputs.append(.tooLarge("an event larger than \(maxEventBytes) bytes was dropped"))
                return
            }
            dataBuffer.append(contentsOf: value)
            dataBuffer.append(0x0A)
            hasData = true
        } else if field.elementsEqual("id".utf8) {
            if !value.contains(0) { lastEventIDBuffer = String(decoding: value, as: UTF8.self) }
        } else if field.elementsEqual("retry".utf8) {
            if !value.isEmpty, value.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
               let millis = Int(String(decoding: value, as: UTF8.self)) {
                outputs.append(.retry(millis))
            }
        }
    }

    private mutating func dispatch(into outputs: inout [Output]) {
        lastEventID = lastEventIDBuffer
        defer { dataBuffer.removeAll(keepingCapacity: true); hasData = false; eventType = ""; droppingEvent = false }
        guard hasData, !droppingEvent else { return }
        let data = dataBuffer.last == 0x0A ? dataBuffer.dropLast() : dataBuffer[...]
        outputs.append(.event(SSEEvent(lastEventID: lastEventID, type: eventType.isEmpty ? "message" : eventType,
                                       data: String(decoding: data, as: UTF8.self))))
    }
}
