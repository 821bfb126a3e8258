import Foundation
import SwitchboardCore
import SwitchboardStore

/// Marking a planned outage (docs/go-live.md): an `outage.plan` audit row naming the
/// operator, the range and the reason. The go-live figures then show each figure with and
/// without it, side by side; nothing is left out silently.
public enum OutagePlanning {
    public enum Outcome: Equatable, Sendable {
        case recorded(PlannedOutage)
        case notAllowed(String)
        case invalid(String)
    }

    public static func plan(audit: AuditStore, operator me: OperatorIdentity, from: UnixMillis, to: UnixMillis,
                            reason: String, now: UnixMillis) throws -> Outcome {
        if let refusal = me.outageRefusal { return .notAllowed(refusal) }
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard to > from else { return .invalid("the outage must end after it starts") }
        guard !reason.isEmpty else { return .invalid("give a reason (--reason)") }
        guard !reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            return .invalid("the reason must be one line of plain text")
        }
        guard to - from <= GoLiveTargets.windowMillis else { return .invalid("a planned outage longer than the 48-hour window is not an outage") }
        _ = try audit.append([AuditEvent(
            at: now, actor: "operator:\(me.user)", callId: nil, action: "outage.plan", outcome: .success,
            detail: me.auditDetail(["from": from, "to": to, "reason": reason]))])
        return .recorded(PlannedOutage(from: from, to: to, reason: reason, plannedBy: me.user, plannedAt: now))
    }
}
