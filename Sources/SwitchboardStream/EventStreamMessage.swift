import Foundation
import SwitchboardCore

/// What an event stream tells a UI loop. Every source (SSE, NDJSON file, stdin) speaks this.
public enum EventStreamMessage: Sendable, Equatable {
    /// An event the console understands, with its stream id when the source gave one.
    case event(id: String?, AgentEvent)
    case connection(ConnectionState)
    case heartbeat(HeartbeatFreshness)
    /// A line or event that could not be read; `count` is the running total for this stream.
    case malformed(count: Int, reason: String)
    /// The stream was broken and is back: events may have been missed, so re-read the databases.
    case reconcile
}

public enum ConnectionState: Sendable, Equatable {
    case connecting
    case live
    /// Waiting `delayMillis` before try number `attempt` (1 after the first failure).
    case reconnecting(attempt: Int, reason: String, delayMillis: Int64)
    /// The source is finished (end of stdin, or the server said 204 No Content).
    case ended(reason: String)
}

public enum HeartbeatFreshness: Sendable, Equatable {
    case fresh
    /// No byte for longer than twice the heartbeat interval.
    case stale(silentMillis: Int64)
}

/// Turns (id, type, data) into messages: unknown types are dropped, bad data is counted.
struct AgentEventReader {
    private(set) var malformed = 0

    mutating func read(id: String?, type: String, data: String) -> EventStreamMessage? {
        do {
            guard let event = try AgentEvent.decode(type: type, data: data) else { return nil }
            return .event(id: id, event)
        } catch {
            return malformedLine(error.description)
        }
    }

    mutating func malformedLine(_ reason: String) -> EventStreamMessage {
        malformed += 1
        return .malformed(count: malformed, reason: reason)
    }
}

/// A value guarded by a lock, shared between a stream's reader and its watchdog.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R { lock.lock(); defer { lock.unlock() }; return body(&value) }
}
