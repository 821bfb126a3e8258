import SwitchboardCore
import SwitchboardStream

/// What the live event stream says right now: the EHR's state as the agent sees it, the
/// stream's own health, and how many events arrived or could not be read. The databases
/// stay the source of truth; this only makes the header live.
struct LiveStatus {
    var ehr: EHRState?
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
    var ehrPart: (text: String, scope: String)? {
        switch ehr {
        case nil: nil
        case .online?: ("EHR online", "status.ok")
        case .degraded?: ("EHR degraded", "status.warn")
        case .queueMode?: ("EHR QUEUE MODE", "status.error")
        case .recovering?: ("EHR recovering", "status.warn")
        }
    }

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
