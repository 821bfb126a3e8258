import SwitchboardCore
import SwitchboardOperations
import SwitchboardStream
import TerminalUI

/// What the live event stream says right now: the EHR's state as the agent sees it, the
/// stream's own health, and how many events arrived or could not be read. The databases
/// stay the source of truth; this only makes the header live.
struct LiveStatus {
    var ehr: EHRState? {
        didSet { if ehr != oldValue { ehrSince = nil } }
    }
    /// When the EHR's state last changed, as this console saw it (set by the console).
    var ehrSince: UnixMillis?
    var connection: ConnectionState?
    var stale = false
    var events = 0
    var malformed = 0
    var callsInProgress: Int?

    /// Applies a stream message; true when the screens should re-read the databases.
    mutating func apply(_ message: EventStreamMessage) -> Bool {
        switch message {
        case .event(_, let event):
            events += 1
            switch event {
            case .ehrState(let change): ehr = change.state
            case .agentHeartbeat(let beat):
                callsInProgress = beat.callsInProgress
                ehr = beat.ehrState ?? ehr
            default: break
            }
            return false
        case .connection(let state):
            connection = state
            return false
        case .heartbeat(let freshness):
            stale = freshness != .fresh
            return false
        case .malformed(let count, _):
            malformed = count
            return false
        case .reconcile:
            return true
        }
    }

    /// The EHR's state as the agent last reported it; nothing before the stream says.
    func ehrPart(now: UnixMillis, time: TimeText) -> (text: String, scope: String)? {
        // Queue mode says since when: how long the outbox has been holding the writes.
        let since = ehrSince.map { " since \(time.clock($0)) (\(formatDuration(millis: ClockWatch.elapsed(since: $0, now: now))))" } ?? ""
        switch ehr {
        case nil: return nil
        case .online?: return ("EHR online", "status.ok")
        case .degraded?: return ("EHR degraded", "status.warn")
        case .queueMode?: return ("EHR QUEUE MODE" + since, "status.error")
        case .recovering?: return ("EHR recovering", "status.warn")
        }
    }

    /// What the header's EHR states mean, for `?`.
    static let explained = HelpSection(title: "The header's EHR state", entries: [
        .init(keys: "online", help: "The agent reaches the EHR; writes go out as they are made."),
        .init(keys: "degraded", help: "The EHR answers slowly or with errors; writes are retried with backoff."),
        .init(keys: "QUEUE MODE", help: "The EHR has been unreachable for over 10 s: every write waits in the outbox (4) and goes out when it is back. Since when is shown."),
        .init(keys: "recovering", help: "The EHR is back; the outbox is draining what queued."),
    ])

    var streamText: String {
        guard let connection else { return "no live stream (databases only)" }
        var text: String
        switch connection {
        case .connecting: text = "stream: connecting"
        case .live: text = stale ? "stream: silent (stale)" : "stream: live"
        case .reconnecting(let attempt, let reason, _): text = "stream: reconnecting (try \(attempt): \(reason))"
        case .ended(let reason): text = "stream: ended (\(reason))"
        }
        text += " · \(events) events"
        if malformed > 0 { text += " · \(malformed) malformed" }
        return text
    }
}
