import Foundation
import SwitchboardCore
import SwitchboardStore

/// What the incoming shift reads first: what was decided and by whom, what was corrected
/// and why, what is left, what is stuck and what was done about it, and which alerts came
/// and went. Built from the audit (and the alert state file), so it is right whoever was
/// at the keyboard.
///
///     let handoff = try ShiftHandoff.read(audit: audit, outbox: outbox, configuration: settings,
///                                         alerts: state, since: now - 8 * 3_600_000, now: now)
///     print(handoff.markdown(time: TimeText()))
public struct ShiftHandoff: Sendable, Equatable, Encodable {
    public var since: UnixMillis
    public var until: UnixMillis
    /// Per operator: approvals still standing, corrections, approvals taken back, other
    /// review actions (the EHR's version kept after a refused correction).
    public var decisionsByOperator: [OperatorDecisions]
    /// Correction category → count.
    public var corrections: [String: Int]
    public var undecided: Int
    public var overdue: Int
    public var oldestUndecided: [UndecidedBooking]
    public var windowEndsAt: UnixMillis
    public var windowLeftMillis: Int64
    public var stuck: [StuckItem]
    /// Operator actions on outbox items in the period, item by item.
    public var outboxActions: [OutboxActionRow]
    public var alerts: [AlertChange]
    /// Planned outages: nothing in the data contract records them yet (see docs/handoff.md).
    public var plannedOutages: [String]

    public struct OperatorDecisions: Sendable, Equatable, Encodable {
        public var `operator`: String
        public var approved: Int
        public var corrected: Int
        public var undone: Int
        public var other: Int
        // Decisions that stand, for the order of the list.
        var total: Int { approved + corrected + other }
    }

    public struct UndecidedBooking: Sendable, Equatable, Encodable {
        public var bookingId: String
        public var bookedAt: UnixMillis
        public var overdue: Bool
        enum CodingKeys: String, CodingKey { case overdue, bookingId = "booking_id", bookedAt = "booked_at" }
    }

    public struct StuckItem: Sendable, Equatable, Encodable {
        public var id: String
        public var status: String
        public var operation: String
        public var bookingId: String?
        public var lastError: String?
        enum CodingKeys: String, CodingKey { case id, status, operation, bookingId = "booking_id", lastError = "last_error" }
    }

    public struct OutboxActionRow: Sendable, Equatable, Encodable {
        public var at: UnixMillis
        public var `operator`: String
        public var action: String
        public var itemId: String
        public var reason: String?
        enum CodingKeys: String, CodingKey { case at, `operator`, action, reason, itemId = "item_id" }
    }

    enum CodingKeys: String, CodingKey {
        case since, until, corrections, undecided, overdue, stuck, alerts
        case decisionsByOperator = "decisions_by_operator", oldestUndecided = "oldest_undecided", windowEndsAt = "window_ends_at"
        case windowLeftMillis = "window_left_ms", outboxActions = "outbox_actions", plannedOutages = "planned_outages"
    }

    static let reviewActions = ["review.approve", "review.correct", "review.undo", "review.accept_ehr", "review.recorrect"]
    static let outboxActionNames = ["outbox.retry", "outbox.discard", "outbox.requeue"]

    /// Builds the hand-off from the audit rows of the period and the figures of now: a pure
    /// function, so a fixture with known decisions gives a known hand-off.
    public static func build(rows: [AuditEvent], undecided: (count: Int, overdue: Int), oldest: [(bookingId: String, bookedAt: UnixMillis)],
                             overdueMillis: Int64, window: GoLiveWindow, stuck: [OutboxItem], alerts: [AlertChange],
                             since: UnixMillis, now: UnixMillis) -> ShiftHandoff {
        var byOperator: [String: OperatorDecisions] = [:], corrections: [String: Int] = [:], actions: [OutboxActionRow] = []
        var outages: [String] = []
        for row in rows where row.at >= since {
            let who = row.actor.hasPrefix("operator:") ? String(row.actor.dropFirst("operator:".count)) : row.actor
            let detail = (try? JSONSerialization.jsonObject(with: Data((row.detail ?? "{}").utf8))) as? [String: Any] ?? [:]
            if reviewActions.contains(row.action) {
                var d = byOperator[who] ?? OperatorDecisions(operator: who, approved: 0, corrected: 0, undone: 0, other: 0)
                switch row.action {
                case "review.approve": d.approved += 1
                case "review.correct", "review.recorrect":
                    d.corrected += 1
                    corrections[(detail["category"] as? String) ?? "uncategorised", default: 0] += 1
                // Only one's own approval can be undone: it no longer stands.
                case "review.undo": d.approved = max(0, d.approved - 1); d.undone += 1
                default: d.other += 1
                }
                byOperator[who] = d
            } else if row.action == "outage.plan" {
                // `switchboard outage plan`: the range, why, and who planned it.
                let from = (detail["from"] as? NSNumber)?.int64Value, to = (detail["to"] as? NSNumber)?.int64Value
                outages.append("\(from.map(iso8601) ?? "?") to \(to.map(iso8601) ?? "?"): \((detail["reason"] as? String) ?? "no reason given") (planned by \(who))")
            } else if outboxActionNames.contains(row.action) {
                actions.append(OutboxActionRow(at: row.at, operator: who, action: String(row.action.dropFirst("outbox.".count)),
                                               itemId: (detail["item_id"] as? String) ?? "?", reason: detail["reason"] as? String))
            }
        }
        return ShiftHandoff(
            since: since, until: now,
            decisionsByOperator: byOperator.values.sorted { ($0.total, $1.operator) > ($1.total, $0.operator) },
            corrections: corrections, undecided: undecided.count, overdue: undecided.overdue,
            oldestUndecided: oldest.map { UndecidedBooking(bookingId: $0.bookingId, bookedAt: $0.bookedAt, overdue: millisBetween($0.bookedAt, now) > overdueMillis) },
            windowEndsAt: window.endsAt, windowLeftMillis: window.remaining(at: now),
            stuck: stuck.map { StuckItem(id: $0.id, status: $0.status.rawValue, operation: $0.operation, bookingId: $0.bookingId, lastError: $0.lastError) },
            outboxActions: actions, alerts: alerts.filter { $0.at >= since }, plannedOutages: outages)
    }

    /// The hand-off as `identity` may read it: stuck items' errors (the EHR's answers) and
    /// discard reasons are free text that can name the patient, hidden from a viewer.
    public func shown(to identity: OperatorIdentity) -> ShiftHandoff {
        var shown = self
        for i in shown.stuck.indices { shown.stuck[i].lastError = identity.freeText(stuck[i].lastError) }
        for i in shown.outboxActions.indices { shown.outboxActions[i].reason = identity.freeText(outboxActions[i].reason) }
        return shown
    }

    /// Reads the period's audit rows and the figures of now, then builds.
    public static func read(audit: AuditStore, outbox: OutboxStore?, configuration: ConsoleConfiguration, alerts: AlertState?,
                            since: UnixMillis, now: UnixMillis) throws -> ShiftHandoff {
        let overdueMillis = Int64(configuration.overdueMinutes) * 60_000
        let rows = try audit.rows(actions: reviewActions + outboxActionNames + ["outage.plan"], since: since)
        let undecided = try audit.undecidedFigures(overdueBefore: now - overdueMillis)
        let oldest = try audit.oldestUndecided(limit: 10)
        let clock = try GoLiveClock.resolve(configuration: configuration, audit: audit, now: now)
        var stuck: [OutboxItem] = []
        if let outbox { stuck = try outbox.items(matching: OutboxQuery(statuses: [.failed, .dead]), after: nil, limit: 50, now: now) }
        return build(rows: rows, undecided: (undecided.count, undecided.overdue), oldest: oldest, overdueMillis: overdueMillis,
                     window: clock.window, stuck: stuck, alerts: alerts?.history ?? [], since: since, now: now)
    }

    /// The hand-off as Markdown, for a ticket, a chat or the screen. Text from the databases
    /// is the caller's to sanitize before a terminal shows it.
    public func markdown(time: TimeText) -> String {
        var out = ["# Shift hand-off", "", "\(time.timestamp(since)) to \(time.timestamp(until)) (\(formatDuration(millis: until - since)))", ""]
        out.append("## Decisions")
        if decisionsByOperator.isEmpty { out.append("None in this period.") }
        for d in decisionsByOperator {
            out.append("- \(d.operator): \(d.approved) approved, \(d.corrected) corrected"
                       + (d.undone > 0 ? ", \(d.undone) approval\(d.undone == 1 ? "" : "s") undone" : "")
                       + (d.other > 0 ? ", \(d.other) kept the EHR's version" : ""))
        }
        out += ["", "## Corrections"]
        if corrections.isEmpty { out.append("None.") }
        for (category, count) in corrections.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
            // In the reviewer's words (`wrong time`); the JSON keeps the stored ones.
            out.append("- \(CorrectionCategory(rawValue: category)?.label ?? category): \(count)")
        }
        out += ["", "## Left undecided",
                "\(undecided) undecided, \(overdue) overdue; \(formatDuration(millis: windowLeftMillis)) of the go-live window left (ends \(time.timestamp(windowEndsAt)))."]
        for b in oldestUndecided {
            out.append("- \(b.bookingId), booked \(time.timestamp(b.bookedAt)) (\(formatDuration(millis: until - b.bookedAt)) ago)\(b.overdue ? " **overdue**" : "")")
        }
        out += ["", "## Stuck outbox items"]
        if stuck.isEmpty { out.append("None failed or dead.") }
        for s in stuck {
            let done = outboxActions.filter { $0.itemId == s.id }.map { "\($0.action) by \($0.operator)" }
            out.append("- \(s.id) \(s.status) \(s.operation)\(s.bookingId.map { " (booking \($0))" } ?? ""): \(s.lastError ?? "no error recorded")"
                       + (done.isEmpty ? "; nothing done yet" : "; " + done.joined(separator: ", ")))
        }
        out += ["", "## Outbox actions"]
        if outboxActions.isEmpty { out.append("None.") }
        for a in outboxActions {
            out.append("- \(time.timestamp(a.at)) \(a.operator) \(a.action) \(a.itemId)\(a.reason.map { ": \($0)" } ?? "")")
        }
        out += ["", "## Alerts"]
        if alerts.isEmpty { out.append("None started or cleared (as recorded by `switchboard check`).") }
        for c in alerts {
            out.append("- \(time.timestamp(c.at)) \(c.event.rawValue): \(c.alert.rule.rawValue) (\(c.alert.severity.rawValue)) \(c.alert.summary)")
        }
        out += ["", "## Planned outages", plannedOutages.isEmpty ? "None recorded." : plannedOutages.map { "- \($0)" }.joined(separator: "\n")]
        return out.joined(separator: "\n") + "\n"
    }
}
