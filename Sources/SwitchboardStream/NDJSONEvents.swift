import Foundation

/// Splits NDJSON bytes into lines and reads each as one event.
///
/// The line format (event stream v1, NDJSON form) is one JSON object per line:
///
///     {"id": 42, "type": "call.step", "data": {"call_id": "c-17", …}}
///
/// - `type` (string, required): the event type, as SSE's `event:`.
/// - `data` (object, required): the payload, as SSE's `data:`.
/// - `id` (integer or string, optional): the sequence number, as SSE's `id:`.
///
/// Lines end in LF (a CR before it is dropped); blank lines are skipped; other fields are
/// ignored. A line that is not such an object is malformed: counted, never fatal. A line
/// longer than `maxLineBytes` (1 MiB) is malformed too, and is skipped without being held.
/// Public for the fuzzer (`switchboard-bench fuzz`), which feeds it bytes directly.
public struct NDJSONLineReader {
    private var partial: [UInt8] = []
    private var reader = AgentEventReader()
    private var droppingLine = false
    public let maxLineBytes: Int

    public init(maxLineBytes: Int = 1 << 20) { self.maxLineBytes = maxLineBytes }

    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [EventStreamMessage] {
        var messages: [EventStreamMessage] = []
        for byte in bytes {
            guard byte == 0x0A else {
                if droppingLine { continue }
                guard partial.count < maxLineBytes else {
                    droppingLine = true
                    partial = []
                    messages.append(reader.malformedLine("a line longer than \(maxLineBytes) bytes was dropped"))
                    continue
                }
                partial.append(byte)
                continue
            }
            if droppingLine { droppingLine = false; continue }
            if partial.last == 0x0D { partial.removeLast() }
            if let message = read(partial) { messages.append(message) }
            partial.removeAll(keepingCapacity: true)
        }
        return messages
    }

    /// Drops a partial line (the file was truncated under us).
    public mutating func discardPartialLine() { partial = []; droppingLine = false }

    private mutating func read(_ line: [UInt8]) -> EventStreamMessage? {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return nil }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else {
            return reader.malformedLine("line is not a JSON object")
        }
        guard let type = object["type"] as? String else { return reader.malformedLine("line has no type") }
        guard let data = object["data"] as? [String: Any],
              let dataJSON = try? JSONSerialization.data(withJSONObject: data) else {
            return reader.malformedLine("\(type) line has no data object")
        }
        let id: String? = switch object["id"] {
        case let text as String: text
        case let number as NSNumber: number.stringValue
        default: nil
        }
        return reader.read(id: id, type: type, data: String(decoding: dataJSON, as: UTF8.self))
    }
}

/// Event streams read from NDJSON: a file followed as it grows, or a pipe such as stdin.
public enum NDJSONEventSource {
    /// Follows `path` like `tail -f`: reads what is there, then polls for appended lines.
    /// If the file shrinks (truncated) or is replaced (rotated), it is read again from the
    /// start and a `.reconcile` message says events may have been missed. A missing file
    /// is waited for.
    public static func follow(path: String, pollInterval: Duration = .milliseconds(250)) -> AsyncStream<EventStreamMessage> {
        AsyncStream { continuation in
            let task = Task {
                var lines = NDJSONLineReader()
                var handle: FileHandle?
                var identity: Int?
                var offset: UInt64 = 0
                continuation.yield(.connection(.connecting))
                while !Task.isCancelled {
                    let attributes = try? FileManager.default.attributesOfItem(atPath: path)
                    let size = (attributes?[.size] as? NSNumber)?.uint64Value
                    let fileNumber = (attributes?[.systemFileNumber] as? NSNumber)?.intValue
                    if let size, handle == nil || fileNumber != identity || size < offset {
                        let reopened = handle != nil
                        try? handle?.close()
                        handle = FileHandle(forReadingAtPath: path)
                        identity = fileNumber; offset = 0
                        lines.discardPartialLine()
                        if handle != nil { continuation.yield(reopened ? .reconcile : .connection(.live)) }
                    }
                    if let current = handle, let size, size > offset {
                        try? current.seek(toOffset: offset)
                        // 1 MiB at a time: a file that grew by a 100 MB line is never held whole.
                        let chunk = (try? current.read(upToCount: Int(min(size - offset, 1 << 20)))) ?? Data()
                        offset += UInt64(chunk.count)
                        for message in lines.feed(chunk) { continuation.yield(message) }
                        if !chunk.isEmpty { continue }
                    }
                    try? await Task.sleep(for: pollInterval)
                }
                try? handle?.close()
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Reads a pipe (`FileHandle.standardInput` for `--events -`) to its end, on a thread
    /// of its own because reads block.
    public static func read(_ handle: FileHandle) -> AsyncStream<EventStreamMessage> {
        AsyncStream { continuation in
            let thread = Thread {
                var lines = NDJSONLineReader()
                continuation.yield(.connection(.live))
                while true {
                    guard let chunk = try? handle.read(upToCount: 1 << 16), !chunk.isEmpty else { break }
                    for message in lines.feed(chunk) { continuation.yield(message) }
                }
                // A last line without a newline still counts.
                for message in lines.feed([0x0A]) { continuation.yield(message) }
                continuation.yield(.connection(.ended(reason: "end of input")))
                continuation.finish()
            }
            thread.name = "switchboard.events.stdin"
            thread.start()
        }
    }
}
