import Foundation
import SwitchboardCore
import SwitchboardHTTP

/// Follows the agent's SSE event stream (`GET /events`) and keeps following it.
///
/// Reconnects after any disconnect with `Last-Event-ID` and jittered exponential backoff
/// (never less than the server's `retry:`), sends `.reconcile` once it is back, and
/// watches the heartbeat: no byte for twice the heartbeat interval makes the stream
/// `.stale`; four intervals of silence drop the connection and reconnect.
///
/// ```swift
/// let events = EventStreamClient(url: "http://127.0.0.1:7070/events", http: http)
/// for await message in events.messages() {
///     switch message {
///     case .event(_, let event): state.apply(event)
///     case .reconcile: state.reloadFromDatabases()
///     case .connection, .heartbeat, .malformed: state.statusLine(message)
///     }
/// }
/// ```
public struct EventStreamClient: Sendable {
    public let url: String
    private let http: HTTPClient
    private let backoff: BackoffPolicy
    private let heartbeatInterval: Duration

    public init(url: String, http: HTTPClient, backoff: BackoffPolicy = BackoffPolicy(baseMillis: 500, capMillis: 30_000),
                heartbeatInterval: Duration = .seconds(15)) {
        self.url = url; self.http = http; self.backoff = backoff; self.heartbeatInterval = heartbeatInterval
    }

    /// Connects and yields messages until the consumer stops iterating (or the server
    /// answers 204, which means "do not reconnect").
    public func messages() -> AsyncStream<EventStreamMessage> {
        AsyncStream { continuation in
            let task = Task {
                await follow { continuation.yield($0) }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private struct Liveness {
        var lastByte = ContinuousClock.now
        var connected = false
        var stale = false
    }

    /// What one connection after another reads: the parser and reader (the last event id
    /// and the malformed count go on across reconnects), the backoff and why it ended.
    private struct Reading {
        var parser = SSEParser()
        var reader = AgentEventReader()
        var attempt = 0
        var serverRetry: Int64 = 0
        var wasLive = false
        var reason = ""
        /// The server said 204: do not reconnect.
        var ended = false

        /// Takes one part of the response; false ends the connection (`reason` says why).
        mutating func take(_ part: HTTPStreamPart, liveness: Locked<Liveness>,
                           deliver: @Sendable (EventStreamMessage) -> Void) -> Bool {
            switch part {
            case .head(let status, let responseHeaders):
                if status == 204 {
                    deliver(.connection(.ended(reason: "server said no content (204)")))
                    ended = true
                    return false
                }
                guard status == 200 else { reason = "HTTP \(status)"; return false }
                guard responseHeaders["Content-Type"]?.lowercased().hasPrefix("text/event-stream") == true else {
                    reason = "not an event stream (\(responseHeaders["Content-Type"] ?? "no content type"))"
                    return false
                }
                liveness.withLock { $0.lastByte = .now; $0.connected = true }
                deliver(.connection(.live))
                if wasLive { deliver(.reconcile) }
                wasLive = true
            case .bytes(let bytes):
                let cameBack = liveness.withLock { state in
                    defer { state.lastByte = .now; state.stale = false }
                    return state.stale
                }
                if cameBack { deliver(.heartbeat(.fresh)) }
                for output in parser.feed(bytes) {
                    attempt = 0  // data flows: the next failure starts the backoff afresh
                    switch output {
                    case .event(let event):
                        if let message = reader.read(id: event.lastEventID.isEmpty ? nil : event.lastEventID,
                                                     type: event.type, data: event.data) {
                            deliver(message)
                        }
                    case .retry(let millis): serverRetry = Int64(millis)
                    case .comment: break
                    case .tooLarge(let what): deliver(reader.malformedLine(what))
                    }
                }
            }
            return true
        }
    }

    /// Connects and hands each message to `deliver` as it is read, until the task is
    /// cancelled (or the server answers 204). Messages are read and delivered on the HTTP
    /// client's thread as the bytes come, with no hop per event: a console following
    /// hundreds of events a second takes them here rather than through `messages()`.
    public func follow(_ deliver: @escaping @Sendable (EventStreamMessage) -> Void) async {
        let liveness = Locked(Liveness())
        let watchdog = Task { await watch(liveness, deliver) }
        defer { watchdog.cancel() }

        let reading = Locked(Reading())
        deliver(.connection(.connecting))
        while !Task.isCancelled {
            var headers: HTTPHeaders = ["Accept": "text/event-stream", "Cache-Control": "no-cache"]
            let lastEventID = reading.withLock { $0.parser.lastEventID }
            if !lastEventID.isEmpty { headers["Last-Event-ID"] = lastEventID }
            reading.withLock { $0.reason = "server closed the stream" }
            do {
                try await http.stream(HTTPRequest("GET", url, headers: headers, timeout: heartbeatInterval * 4)) { part in
                    reading.withLock { $0.take(part, liveness: liveness, deliver: deliver) }
                }
            } catch {
                reading.withLock { $0.reason = error.description }
            }
            liveness.withLock { $0.connected = false; $0.stale = false }
            if Task.isCancelled || reading.withLock({ $0.ended }) { return }
            let (attempt, reason, serverRetry) = reading.withLock { state in
                state.parser.reset()
                state.attempt += 1
                return (state.attempt, state.reason, state.serverRetry)
            }
            let delay = max(serverRetry, backoff.delay(forAttempt: attempt, unit: Double.random(in: 0..<1)))
            deliver(.connection(.reconnecting(attempt: attempt, reason: reason, delayMillis: delay)))
            try? await Task.sleep(for: .milliseconds(delay))
        }
    }

    /// Reports `.stale` once no byte came for two heartbeat intervals while connected.
    private func watch(_ liveness: Locked<Liveness>, _ deliver: @Sendable (EventStreamMessage) -> Void) async {
        let limit = heartbeatInterval * 2
        while !Task.isCancelled {
            try? await Task.sleep(for: heartbeatInterval / 4)
            let silent: Duration? = liveness.withLock { state in
                let silence = ContinuousClock.now - state.lastByte
                guard state.connected, !state.stale, silence > limit else { return nil }
                state.stale = true
                return silence
            }
            if let silent {
                let c = silent.components
                deliver(.heartbeat(.stale(silentMillis: c.seconds * 1000 + c.attoseconds / 1_000_000_000_000_000)))
            }
        }
    }
}
