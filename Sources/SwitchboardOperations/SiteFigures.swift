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

/// The go-live figures as metrics. The one place that turns today's `GoLiveTally` into
/// figures: when the go-live definitions move (docs/go-live.md), swap this function and
/// `metrics` follows. A figure with no data yet (no decided booking) is left out rather
/// than reported as 0.
public func goLiveFigures(_ tally: GoLiveTally, now: UnixMillis) -> [SiteFigure] {
    var figures: [SiteFigure] = [
        SiteFigure("golive_window_remaining_seconds", "Seconds left in the 48-hour go-live window.",
                   Double(tally.window.remaining(at: now)) / 1000),
        SiteFigure("golive_ehr_requests", "EHR requests in the go-live window (audit rows with a transport).", Double(tally.ehrRequests)),
        SiteFigure("golive_bookings_flagged", "Bookings flagged for review in the window.", Double(tally.bookingsFlagged)),
        SiteFigure("golive_bookings_decided", "Flagged bookings decided in the window.", Double(tally.bookingsDecided)),
        SiteFigure("golive_bookings_corrected", "Flagged bookings corrected in the window.", Double(tally.bookingsCorrected)),
    ]
    func ratio(_ name: String, _ help: String, _ value: Double?) {
        if let value { figures.append(SiteFigure(name, help, value)) }
    }
    ratio("golive_ehr_latency_average_seconds", "Average EHR request latency in the window.", tally.averageLatencyMillis.map { $0 / 1000 })
    ratio("golive_ehr_latency_p95_seconds", "95th percentile EHR request latency in the window.", tally.p95LatencyMillis.map { Double($0) / 1000 })
    ratio("golive_first_attempt_success_ratio", "Share of EHR requests that succeeded on their first attempt (target 0.997).", tally.firstAttemptSuccessRate)
    ratio("golive_audit_coverage_ratio", "Share of outbox sends with their audit row (target 1).", tally.auditCoverage)
    ratio("golive_first_call_resolution_ratio", "Share of ended calls resolved on the first call (target 0.92).", tally.firstCallResolution)
    ratio("golive_correction_ratio", "Share of decided bookings that needed a correction (target under 0.02).", tally.correctionRate)
    ratio("golive_correction_ratio_upper_bound", "Upper bound of the 95% Wilson interval of the correction ratio.",
          wilsonUpperBound(tally.bookingsCorrected, of: tally.bookingsDecided))
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
                                  outbox.oldestPendingCreatedAt.map { Double(max(0, now - $0)) / 1000 } ?? 0))
    }
    if let review = f.review {
        figures.append(SiteFigure("review_undecided", "Flagged bookings nobody has decided yet.", Double(review.undecided)))
        figures.append(SiteFigure("review_overdue", "Undecided bookings older than overdue_minutes.", Double(review.overdue)))
        figures.append(SiteFigure("review_oldest_undecided_age_seconds", "Age of the oldest undecided booking (0 when none).",
                                  review.oldestUndecidedAt.map { Double(max(0, now - $0)) / 1000 } ?? 0))
    }
    if let ehr = f.ehr {
        for state in EHRState.allCases {
            figures.append(SiteFigure("ehr_state", "The EHR link's state (1 for the current one), as the audit and outbox tell it.",
                                      labels: [("state", state.rawValue)], state == ehr.state ? 1 : 0))
        }
    }
    if let heard = f.streamLastHeard {
        figures.append(SiteFigure("event_stream_silent_seconds", "Seconds since the event stream was last heard.", Double(max(0, now - heard)) / 1000))
    }
    let on = Set(evaluation.active.map(\.rule))
    for rule in AlertRule.allCases where !settings.disabled.contains(rule) && evaluation.notEvaluated[rule] == nil {
        figures.append(SiteFigure("alert_active", "1 while the alert rule is on.", labels: [("rule", rule.rawValue), ("severity", settings.severity(rule).rawValue)],
                                  on.contains(rule) ? 1 : 0))
    }
    return figures
}
