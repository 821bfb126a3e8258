import Foundation
import SwitchboardCore
import SwitchboardStore

/// One figure for `switchboard metrics`: a name (without the `switchboard_` prefix), help
/// text, labels and a value. The formatter knows nothing of clinics; this list does.
public struct SiteFigure: Sendable, Equatable {
    public var name: String
    public var help: String
    public var labels: [(String, String)]
    public var value: Double

    public init(_ name: String, _ help: String, labels: [(String, String)] = [], _ value: Double) {
        self.name = name; self.help = help; self.labels = labels; self.value = value
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.name == b.name && a.help == b.help && a.value == b.value && a.labels.map(\.0) == b.labels.map(\.0) && a.labels.map(\.1) == b.labels.map(\.1)
    }
}

/// The go-live figures as metrics, from the one model the Go-live screen, `status` and
/// `report` show (GoLiveFigures, docs/go-live.md). A figure with no data yet is left out
/// rather than reported as 0; each rate carries its 95% Wilson bounds.
public func goLiveFigures(_ tally: GoLiveTally, now: UnixMillis) -> [SiteFigure] {
    let model = tally.figures(now: now)
    let c = model.all
    var figures: [SiteFigure] = [
        SiteFigure("golive_window_remaining_seconds", "Seconds left in the 48-hour go-live window.",
                   Double(tally.window.remaining(at: now)) / 1000),
        SiteFigure("golive_ehr_requests", "EHR requests in the go-live window (audit rows with a transport).", Double(tally.ehrRequests)),
        SiteFigure("golive_bookings_decided", "Flagged bookings decided in the window.", Double(c.bookingsDecided)),
        SiteFigure("golive_bookings_corrected", "Flagged bookings corrected in the window.", Double(c.bookingsCorrected)),
        SiteFigure("golive_bookings_undecided", "Flagged bookings in the window nobody has decided yet.", Double(model.undecided)),
        SiteFigure("golive_ready", "1 when the verdict is ready to go autonomous (docs/go-live.md), else 0.", model.verdict.ready ? 1 : 0),
    ]
    for figure in model.figures(.all) {
        guard let value = figure.value else { continue }
        let name = "golive_\(figure.id.rawValue)"
        if figure.isRate {
            figures.append(SiteFigure(name + "_ratio", "\(figure.label), over the window.", value))
            if let lower = figure.lower { figures.append(SiteFigure(name + "_ratio_lower_bound", "Lower bound of its 95% Wilson interval.", lower)) }
            if let upper = figure.upper { figures.append(SiteFigure(name + "_ratio_upper_bound", "Upper bound of its 95% Wilson interval.", upper)) }
        } else {
            figures.append(SiteFigure(name + "_average_seconds", "\(figure.label): the average, in seconds.", value / 1000))
        }
        figures.append(SiteFigure(name + "_met", "1 when \(figure.label.lowercased()) is met with its bound, else 0.", figure.status == .met ? 1 : 0))
    }
    return figures
}

/// The on-call figures of `metrics`: outbox, review backlog, EHR state, alert states.
public func onCallFigures(_ f: AlertFigures, evaluation: AlertEvaluation, settings: AlertSettings, now: UnixMillis) -> [SiteFigure] {
    var figures: [SiteFigure] = []
    if let outbox = f.outbox {
        for status in OutboxStatus.allCases {
            figures.append(SiteFigure("outbox_items", "Outbox items by status.", labels: [("status", status.rawValue)],
                                      Double(outbox.countsByStatus[status] ?? 0)))
        }
        figures.append(SiteFigure("outbox_oldest_pending_age_seconds", "Age of the oldest pending outbox item (0 when none).",
                                  outbox.oldestPendingCreatedAt.map { Double(max(0, millisBetween($0, now))) / 1000 } ?? 0))
    }
    if let review = f.review {
        figures.append(SiteFigure("review_undecided", "Flagged bookings nobody has decided yet.", Double(review.undecided)))
        figures.append(SiteFigure("review_overdue", "Undecided bookings older than overdue_minutes.", Double(review.overdue)))
        figures.append(SiteFigure("review_oldest_undecided_age_seconds", "Age of the oldest undecided booking (0 when none).",
                                  review.oldestUndecidedAt.map { Double(max(0, millisBetween($0, now))) / 1000 } ?? 0))
    }
    if let ehr = f.ehr {
        for state in EHRState.allCases {
            figures.append(SiteFigure("ehr_state", "The EHR link's state (1 for the current one), as the audit and outbox tell it.",
                                      labels: [("state", state.rawValue)], state == ehr.state ? 1 : 0))
        }
    }
    if let heard = f.streamLastHeard {
        figures.append(SiteFigure("event_stream_silent_seconds", "Seconds since the event stream was last heard.", Double(max(0, millisBetween(heard, now))) / 1000))
    }
    let on = Set(evaluation.active.map(\.rule))
    for rule in AlertRule.allCases where !settings.disabled.contains(rule) && evaluation.notEvaluated[rule] == nil {
        figures.append(SiteFigure("alert_active", "1 while the alert rule is on.", labels: [("rule", rule.rawValue), ("severity", settings.severity(rule).rawValue)],
                                  on.contains(rule) ? 1 : 0))
    }
    return figures
}
