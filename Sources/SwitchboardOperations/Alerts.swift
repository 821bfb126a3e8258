import Foundation
import SwitchboardCore
import SwitchboardStore

/// The alert rules on-call is paged by. Each reads one figure (see docs/alerts.md for
/// which database or stream it comes from).
public enum AlertRule: String, Sendable, Codable, CaseIterable, Comparable {
    /// An outbox item is dead: the agent gave up on it.
    case itemDead = "item_dead"
    /// An outbox item has been failing for longer than `failingMinutes`.
    case itemFailing = "item_failing"
    /// The EHR link has been in queue mode for longer than `queueModeMinutes`.
    case queueMode = "queue_mode"
    /// Nothing from the event stream for longer than `streamSilentSeconds`.
    case streamSilent = "stream_silent"
    /// The correction rate's upper 95% Wilson bound is over `correctionRateBound`.
    case correctionRate = "correction_rate"
    /// Undecided bookings and less than `windowHoursLeft` of the go-live window left.
    case windowClosing = "window_closing"
    /// An undecided booking is older than `overdue_minutes`.
    case bookingOverdue = "booking_overdue"

    public static func < (a: Self, b: Self) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
}

public enum AlertSeverity: String, Sendable, Codable, Comparable {
    case warning, critical
    public static func < (a: Self, b: Self) -> Bool { a == .warning && b == .critical }
}

/// The rules' thresholds and where their hook and state live: `[alerts]` in the config.
public struct AlertSettings: Sendable, Equatable {
    public var failingMinutes = 15
    public var queueModeMinutes = 5
    public var streamSilentSeconds = 30
    /// A share, 0.02 for 2%.
    public var correctionRateBound = GoLiveTargets.correctionRate
    public var windowHoursLeft = 6
    public var disabled: Set<AlertRule> = []
    /// Rules that page as critical; the rest are warnings.
    public var critical: Set<AlertRule> = [.itemDead, .queueMode]
    /// Run with `/bin/sh -c` once when an alert starts and once when it clears, the alert as
    /// JSON on standard input.
    public var hook: String?
    public var hookTimeoutSeconds = 10
    /// The console rings the terminal's bell when an alert starts.
    public var bell = false
    /// Where `check` remembers which alerts are on (nil: the default under XDG_STATE_HOME).
    public var stateFile: String?

    public init() {}

    public func severity(_ rule: AlertRule) -> AlertSeverity { critical.contains(rule) ? .critical : .warning }
}

/// One alert that is on.
public struct Alert: Sendable, Equatable, Codable {
    public var rule: AlertRule
    public var severity: AlertSeverity
    /// One line, no patient details: ids and counts only.
    public var summary: String
    /// Since when the condition holds (as near as the figures tell).
    public var since: UnixMillis
    /// What on-call should do about it.
    public var action: String

    public init(rule: AlertRule, severity: AlertSeverity, summary: String, since: UnixMillis, action: String) {
        self.rule = rule; self.severity = severity; self.summary = summary; self.since = since; self.action = action
    }
}

/// The EHR link's state as the databases tell it, for sites read without the event stream.
public struct EHRStateReading: Sendable, Equatable {
    public var state: EHRState
    public var since: UnixMillis?
    /// Which rows said so, for the docs' "what each rule reads".
    public var source: String

    public init(state: EHRState, since: UnixMillis?, source: String) {
        self.state = state; self.since = since; self.source = source
    }

    /// The agent's own `ehr.state` audit rows if it writes them; else its `ehr.probe` rows
    /// (it probes every 2 s only while the EHR does not answer, and goes to queue mode 10 s
    /// after the first failure); else outbox items past due with tries that got no answer.
    /// Nil when nothing says anything (no probe, nothing overdue).
    public static func derive(stateRow: (state: String, at: UnixMillis)?, probes: ProbeSignals?, outbox: OutboxFigures?,
                              now: UnixMillis) -> EHRStateReading? {
        if let row = stateRow, let state = EHRState(rawValue: row.state) {
            return EHRStateReading(state: state, since: row.at, source: "audit: ehr.state")
        }
        if let probes, millisBetween(probes.lastAt, now) <= 6_000 {
            if probes.lastFailed, let since = probes.failingSince {
                // Probes start at the first failed request; queue mode follows 10 s of silence.
                return millisBetween(since, now) > GoLiveTargets.queueModeAfterMillis
                    ? EHRStateReading(state: .queueMode, since: since + GoLiveTargets.queueModeAfterMillis, source: "audit: ehr.probe failing")
                    : EHRStateReading(state: .degraded, since: since, source: "audit: ehr.probe failing")
            }
            return EHRStateReading(state: .recovering, since: probes.lastAt, source: "audit: ehr.probe answered")
        }
        if let outbox, outbox.overduePending > 0, outbox.recentUnansweredAttempts > 0, let since = outbox.overdueSince {
            return EHRStateReading(state: .queueMode, since: since, source: "outbox: items past due, tries without an answer")
        }
        if probes != nil || outbox != nil {
            return EHRStateReading(state: .online, since: nil, source: "no failing probe, nothing held back")
        }
        return nil
    }

    public static func read(audit: AuditStore, outbox: OutboxStore?, now: UnixMillis) throws -> EHRStateReading? {
        derive(stateRow: try audit.lastEHRStateRow(), probes: try audit.probeSignals(),
               outbox: try outbox?.onCallFigures(now: now), now: now)
    }
}

/// Everything the rules look at, read at one moment; `evaluate` is a pure function of it.
public struct AlertFigures: Sendable, Equatable {
    /// Nil: no outbox database.
    public var outbox: OutboxFigures?
    /// Nil: nothing tells the EHR's state.
    public var ehr: EHRStateReading?
    /// Whether an event stream is configured, and when it was last heard.
    public var streamConfigured = false
    public var streamLastHeard: UnixMillis?
    /// Nil: no audit database.
    public var review: ReviewFigures?

    public struct ReviewFigures: Sendable, Equatable {
        public var decided: Int
        public var corrected: Int
        public var undecided: Int
        public var oldestUndecidedAt: UnixMillis?
        public var overdue: Int
        public var overdueMillis: Int64
        public var window: GoLiveWindow

        public init(decided: Int, corrected: Int, undecided: Int, oldestUndecidedAt: UnixMillis?, overdue: Int,
                    overdueMillis: Int64, window: GoLiveWindow) {
            self.decided = decided; self.corrected = corrected; self.undecided = undecided
            self.oldestUndecidedAt = oldestUndecidedAt; self.overdue = overdue; self.overdueMillis = overdueMillis; self.window = window
        }
    }

    public init(outbox: OutboxFigures? = nil, ehr: EHRStateReading? = nil, streamConfigured: Bool = false,
                streamLastHeard: UnixMillis? = nil, review: ReviewFigures? = nil) {
        self.outbox = outbox; self.ehr = ehr; self.streamConfigured = streamConfigured
        self.streamLastHeard = streamLastHeard; self.review = review
    }

    /// Reads the figures from the databases; the stream's last-heard time comes from the caller.
    public static func read(audit: AuditStore?, outbox: OutboxStore?, configuration: ConsoleConfiguration,
                            streamLastHeard: UnixMillis?, now: UnixMillis) throws -> AlertFigures {
        // Standard input ("-") is no stream a monitoring run can listen to.
        var figures = AlertFigures(streamConfigured: configuration.events.map { $0 != "-" } ?? false, streamLastHeard: streamLastHeard)
        figures.outbox = try outbox?.onCallFigures(now: now)
        if let audit {
            figures.ehr = EHRStateReading.derive(stateRow: try audit.lastEHRStateRow(), probes: try audit.probeSignals(),
                                                 outbox: figures.outbox, now: now)
            let overdueMillis = Int64(configuration.overdueMinutes) * 60_000
            let clock = try GoLiveClock.resolve(configuration: configuration, audit: audit, now: now)
            let counts = try audit.reviewCounts(in: clock.window)
            let undecided = try audit.undecidedFigures(overdueBefore: now - overdueMillis)
            figures.review = ReviewFigures(decided: counts.decided, corrected: counts.corrected, undecided: undecided.count,
                                           oldestUndecidedAt: undecided.oldestBookedAt, overdue: undecided.overdue,
                                           overdueMillis: overdueMillis, window: clock.window)
        }
        return figures
    }
}

/// Upper bound of the 95% Wilson score interval of `part` in `whole` (nil when whole is 0):
/// the rate the go-live has not yet ruled out.
public func wilsonUpperBound(_ part: Int, of whole: Int, z: Double = 1.959964) -> Double? {
    guard whole > 0 else { return nil }
    let n = Double(whole), p = Double(part) / n, z2 = z * z
    let centre = p + z2 / (2 * n)
    let spread = z * ((p * (1 - p) + z2 / (4 * n)) / n).squareRoot()
    return min(1, (centre + spread) / (1 + z2 / n))
}

/// What the rules say about the figures.
public struct AlertEvaluation: Sendable, Equatable {
    /// Alerts that are on, critical first.
    public var active: [Alert]
    /// Rules that could not be evaluated, and why (no database, no stream configured).
    public var notEvaluated: [AlertRule: String]
    /// When a rule turns on or off with time alone, the figures staying as they are (an
    /// item failing long enough, a silent stream, the window closing, a booking becoming
    /// overdue): evaluate again then. Nil: only new data can change the answer.
    public var nextChange: UnixMillis? = nil

    public var worst: AlertSeverity? { active.map(\.severity).max() }
}

/// The rules applied to one snapshot of figures at `now`: no I/O, so the screen, `check`
/// and the tests get the same answer from the same figures.
///
///     let evaluation = evaluateAlerts(settings.alerts, figures, now: Clock.nowMillis())
///     evaluation.active.first?.summary   // "2 outbox items dead (oldest ob-1a2b since 03:12Z)"
public func evaluateAlerts(_ settings: AlertSettings, _ f: AlertFigures, now: UnixMillis) -> AlertEvaluation {
    var active: [Alert] = [], skipped: [AlertRule: String] = [:]
    var next: UnixMillis?
    func changes(at instant: UnixMillis) {
        if instant > now, next.map({ instant < $0 }) ?? true { next = instant }
    }
    func on(_ rule: AlertRule, _ summary: String, since: UnixMillis, _ action: String) {
        active.append(Alert(rule: rule, severity: settings.severity(rule), summary: summary, since: since, action: action))
    }
    for rule in AlertRule.allCases where !settings.disabled.contains(rule) {
        switch rule {
        case .itemDead:
            guard let outbox = f.outbox else { skipped[rule] = "no outbox database"; continue }
            let dead = outbox.countsByStatus[.dead] ?? 0
            if dead > 0, let oldest = outbox.oldestDead {
                on(rule, "\(dead) outbox item\(dead == 1 ? "" : "s") dead (first: \(oldest.id))", since: oldest.since,
                   "look at each with `switchboard outbox show ID`: requeue it if the EHR was down, decide the booking again or discard it if the EHR refused it")
            }
        case .itemFailing:
            guard let outbox = f.outbox else { skipped[rule] = "no outbox database"; continue }
            let limit = Int64(settings.failingMinutes) * 60_000
            if let failing = outbox.longestFailing { changes(at: failing.since.addingClamped(limit).addingClamped(1)) }
            if let failing = outbox.longestFailing, millisBetween(failing.since, now) > limit {
                on(rule, "outbox item \(failing.id) failing for \(formatDuration(millis: millisBetween(failing.since, now)))", since: failing.since.addingClamped(limit),
                   "read its last error (`switchboard outbox show \(failing.id)`); if the EHR is fine again, retry it")
            }
        case .queueMode:
            guard let ehr = f.ehr else { skipped[rule] = "nothing tells the EHR's state (no audit database)"; continue }
            let limit = Int64(settings.queueModeMinutes) * 60_000
            if ehr.state == .queueMode, let since = ehr.since { changes(at: since.addingClamped(limit).addingClamped(1)) }
            if ehr.state == .queueMode, let since = ehr.since, millisBetween(since, now) > limit {
                on(rule, "EHR in queue mode for \(formatDuration(millis: millisBetween(since, now))); writes wait in the outbox", since: since.addingClamped(limit),
                   "check the EHR (or the interface engine) and the network to it; the agent sends the outbox when it answers")
            }
        case .streamSilent:
            guard f.streamConfigured else { skipped[rule] = "no event stream configured (events in the config)"; continue }
            let limit = Int64(settings.streamSilentSeconds) * 1_000
            let heard = f.streamLastHeard ?? .min
            if heard != .min { changes(at: heard.addingClamped(limit).addingClamped(1)) }
            if heard == .min || millisBetween(heard, now) > limit {
                on(rule, f.streamLastHeard.map { "event stream silent for \(formatDuration(millis: millisBetween($0, now)))" } ?? "event stream not heard",
                   since: f.streamLastHeard.map { $0 + limit } ?? now,
                   "is the agent running? The console still reads the databases, but live calls and EHR state stop")
            }
        case .correctionRate:
            guard let review = f.review else { skipped[rule] = "no audit database"; continue }
            if let bound = wilsonUpperBound(review.corrected, of: review.decided), bound > settings.correctionRateBound {
                on(rule, "correction rate \(review.corrected)/\(review.decided); its 95% upper bound \(percent(bound)) is over \(percent(settings.correctionRateBound))",
                   since: now, "not yet shown under the go-live target: keep reviewing; look at the correction categories (`switchboard handoff`)")
            }
        case .windowClosing:
            guard let review = f.review else { skipped[rule] = "no audit database"; continue }
            let limit = Int64(settings.windowHoursLeft) * 3_600_000
            let left = review.window.remaining(at: now)
            if review.undecided > 0 {
                changes(at: review.window.endsAt - limit)
                changes(at: review.window.endsAt)
            }
            if review.undecided > 0, !review.window.isOver(at: now), left < limit {
                on(rule, "\(review.undecided) booking\(review.undecided == 1 ? "" : "s") undecided, \(formatDuration(millis: left)) of the go-live window left",
                   since: review.window.endsAt - limit, "review the oldest first (`switchboard review list --undecided`)")
            }
        case .bookingOverdue:
            guard let review = f.review else { skipped[rule] = "no audit database"; continue }
            if review.overdue == 0, let oldest = review.oldestUndecidedAt {
                changes(at: oldest.addingClamped(review.overdueMillis).addingClamped(1))
            }
            if review.overdue > 0, let oldest = review.oldestUndecidedAt {
                on(rule, "\(review.overdue) undecided booking\(review.overdue == 1 ? "" : "s") overdue (oldest booked \(formatDuration(millis: millisBetween(oldest, now))) ago)",
                   since: oldest + review.overdueMillis, "decide them (`switchboard review list --undecided`), oldest first")
            }
        }
    }
    active.sort { ($1.severity, $0.rule) < ($0.severity, $1.rule) }
    return AlertEvaluation(active: active, notEvaluated: skipped, nextChange: next)
}

/// `0.0231` → `2.3%`.
public func percent(_ share: Double) -> String {
    String(format: "%.1f%%", share * 100)
}
