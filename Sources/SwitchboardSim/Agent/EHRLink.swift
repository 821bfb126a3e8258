import Foundation
import SwitchboardCore

/// The agent's view of the EHR connection, from what its requests meet:
/// `online` → `degraded` (errors, slow answers, or unreachable) → `queue_mode` once the
/// EHR has been unreachable for longer than `GoLiveTargets.queueModeAfterMillis` →
/// `recovering` at the first answer after that (the outbox drains) → `online` when the
/// outbox has caught up.
final class EHRLink: @unchecked Sendable {
    /// An answer slower than this counts against the link.
    static let slowMillis = 2_000
    private let lock = NSLock()
    private let queueModeAfter: Int64
    private let onChange: @Sendable (EHRState, String) -> Void
    private var current: EHRState = .online
    private var unreachableSince: UnixMillis?
    /// The last outcomes (true = fine), newest last.
    private var recent: [Bool] = []

    init(queueModeAfterMillis: Int64 = GoLiveTargets.queueModeAfterMillis,
         onChange: @escaping @Sendable (EHRState, String) -> Void) {
        queueModeAfter = queueModeAfterMillis
        self.onChange = onChange
    }

    var state: EHRState { lock.withLock { current } }

    /// Whether new writes stay in the outbox (in queue mode only the probe goes out).
    var isQueueing: Bool { state == .queueMode }

    /// No answer since the last failure to connect: retrying the outbox now would only use up attempts.
    var isUnreachable: Bool { lock.withLock { unreachableSince != nil || current == .queueMode } }

    enum Observation { case answered(latencyMs: Int), failed, unreachable }

    func observe(_ observation: Observation, now: UnixMillis = Clock.nowMillis()) {
        let change: (EHRState, String)? = lock.withLock {
            switch observation {
            case .answered(let latency):
                let fine = latency < Self.slowMillis
                remember(fine)
                unreachableSince = nil
                switch current {
                case .queueMode: return move(to: .recovering, "the EHR answers again; sending the outbox")
                case .online where !fine: return move(to: .degraded, "answers slower than \(Self.slowMillis) ms")
                case .degraded where recent.suffix(10).allSatisfy { $0 } && recent.count >= 10:
                    return move(to: .online, "the last 10 requests went well")
                default: return nil
                }
            case .failed:
                remember(false)
                return current == .online ? move(to: .degraded, "the EHR answers with errors") : nil
            case .unreachable:
                remember(false)
                if unreachableSince == nil { unreachableSince = now }
                return escalate(now: now) ?? (current == .online || current == .recovering
                    ? move(to: .degraded, "the EHR does not answer") : nil)
            }
        }
        if let change { onChange(change.0, change.1) }
    }

    /// Called on a timer, so queue mode starts on time even when no request is under way.
    func tick(now: UnixMillis = Clock.nowMillis()) {
        let change = lock.withLock { escalate(now: now) }
        if let change { onChange(change.0, change.1) }
    }

    /// The outbox has nothing left from the outage.
    func caughtUp() {
        let change: (EHRState, String)? = lock.withLock {
            current == .recovering ? move(to: .online, "outbox drained") : nil
        }
        if let change { onChange(change.0, change.1) }
    }

    private func escalate(now: UnixMillis) -> (EHRState, String)? {
        guard let since = unreachableSince, current != .queueMode, now - since > queueModeAfter else { return nil }
        return move(to: .queueMode, "the EHR has been unreachable for \(formatDuration(millis: now - since)); writes wait in the outbox")
    }

    private func remember(_ fine: Bool) {
        recent.append(fine)
        if recent.count > 20 { recent.removeFirst(recent.count - 20) }
    }

    private func move(to state: EHRState, _ reason: String) -> (EHRState, String)? {
        guard state != current else { return nil }
        current = state
        if state == .online { recent = [] }
        return (state, reason)
    }
}
