import Foundation

/// A time range an operator marked as a planned outage (an `outage.plan` audit row).
public struct PlannedOutage: Sendable, Equatable, Codable {
    public var from: UnixMillis
    public var to: UnixMillis
    public var reason: String
    public var plannedBy: String
    public var plannedAt: UnixMillis

    public init(from: UnixMillis, to: UnixMillis, reason: String, plannedBy: String, plannedAt: UnixMillis) {
        self.from = from; self.to = to; self.reason = reason; self.plannedBy = plannedBy; self.plannedAt = plannedAt
    }

    public func contains(_ t: UnixMillis) -> Bool { t >= from && t < to }
}

/// One stretch of the EHR's state, rebuilt from the audit and the outbox.
public struct EHRSpan: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable { case online, degraded, queueMode = "queue_mode" }
    public var state: State
    public var from: UnixMillis
    /// Nil while it lasts.
    public var to: UnixMillis?
    /// Queue mode: the most outbox items waiting at once, and how long after the EHR came
    /// back the last of them was sent (nil: not drained yet).
    public var backlogPeak: Int?
    public var drainMillis: Int64?
    /// Whether a planned outage covers its start.
    public var planned: Bool = false

    public init(state: State, from: UnixMillis, to: UnixMillis?, backlogPeak: Int? = nil, drainMillis: Int64? = nil, planned: Bool = false) {
        self.state = state; self.from = from; self.to = to; self.backlogPeak = backlogPeak; self.drainMillis = drainMillis; self.planned = planned
    }
}

/// An outbox send with no audit row.
public struct CoverageGap: Sendable, Equatable, Codable {
    public var callId: String?
    public var step: String
    public var at: UnixMillis
    public var itemId: String
    public var attempt: Int

    public init(callId: String?, step: String, at: UnixMillis, itemId: String, attempt: Int) {
        self.callId = callId; self.step = step; self.at = at; self.itemId = itemId; self.attempt = attempt
    }
}

/// An outbox item that is failed or dead, for the report.
public struct StuckItem: Sendable, Equatable, Codable {
    public var id: String
    public var status: String
    public var operation: String
    public var attempts: Int
    public var lastError: String?
    public var updatedAt: UnixMillis

    public init(id: String, status: String, operation: String, attempts: Int, lastError: String?, updatedAt: UnixMillis) {
        self.id = id; self.status = status; self.operation = operation; self.attempts = attempts; self.lastError = lastError; self.updatedAt = updatedAt
    }
}

/// One figure against its target (docs/go-live.md).
public struct GoLiveFigure: Sendable, Equatable, Codable {
    public enum ID: String, Sendable, Codable, CaseIterable {
        case schedulingLatency = "scheduling_latency"
        case firstAttemptSuccess = "first_attempt_success"
        case auditCoverage = "audit_coverage"
        case firstCallResolution = "first_call_resolution"
        case corrections
    }

    public var id: ID
    public var label: String
    public var target: Double
    public var side: TargetSide
    /// A rate (0…1), or milliseconds for latency; nil without data.
    public var value: Double?
    /// The 95 % Wilson interval, for sampled rates.
    public var lower: Double?
    public var upper: Double?
    /// k of n (n: requests for latency).
    public var count: Int
    public var of: Int
    public var status: FigureStatus
    /// What `of` counts, and so what "more" would be: "reviewed bookings".
    public var unit: String

    public var isRate: Bool { id != .schedulingLatency }
}

/// The go-live figures and the verdict: one pure model the Go-live screen, `switchboard
/// status --json` and `switchboard report` all show. Fed by `GoLiveTally` (Store).
///
///     let figures = GoLiveFigures(window: w, now: now, all: counts)
///     figures.verdict.ready   // false while the window is open
public struct GoLiveFigures: Sendable, Equatable {
    public static let bucketMillis: Int64 = 15 * 60_000

    public var window: GoLiveWindow
    public var now: UnixMillis
    /// The whole window.
    public var all: GoLiveCounts
    /// What happened inside planned outages (EHR requests and calls only).
    public var inPlannedOutages = GoLiveCounts()
    public var plannedOutages: [PlannedOutage] = []
    /// 15-minute buckets from the window's start, the last one `now`'s.
    public var buckets: [GoLiveCounts] = []
    public var lastQuarterHour = GoLiveCounts()
    public var lastHour = GoLiveCounts()
    /// Flagged bookings in the window not yet decided.
    public var undecided = 0
    /// Outbox items failed and dead right now (nil: no outbox database).
    public var outboxFailed: Int?
    public var outboxDead: Int?
    public var stuckItems: [StuckItem] = []
    public var coverageGaps: [CoverageGap] = []
    public var reviewers: [String: Int] = [:]
    public var ehrSpans: [EHRSpan] = []

    public init(window: GoLiveWindow, now: UnixMillis, all: GoLiveCounts) {
        self.window = window; self.now = now; self.all = all
    }

    public enum Column: String, Sendable, Codable, CaseIterable {
        case all
        case withoutPlannedOutages = "without_planned_outages"
    }

    public func counts(_ column: Column) -> GoLiveCounts {
        column == .all ? all : all - inPlannedOutages
    }

    public func figures(_ column: Column) -> [GoLiveFigure] { Self.figures(of: counts(column)) }

    /// The figures of any stretch of counts (the window, the last hour, a bucket).
    public static func figures(of c: GoLiveCounts) -> [GoLiveFigure] {
        let scheduling = c.latency(of: .schedulingQuery)
        let latencyStatus: FigureStatus = scheduling.average.map { $0 < GoLiveTargets.ehrLatencyMillis ? .met : .missed } ?? .noData
        func rate(_ id: GoLiveFigure.ID, _ label: String, _ k: Int, _ n: Int, _ target: Double, _ side: TargetSide, _ unit: String) -> GoLiveFigure {
            let r = Rate(k, of: n)
            return GoLiveFigure(id: id, label: label, target: target, side: side, value: r.value, lower: r.lower, upper: r.upper,
                                count: k, of: n, status: FigureStatus.judge(r, target: target, side: side), unit: unit)
        }
        let sends = c.sends ?? 0
        let audited = min(c.auditedSends, sends)
        let coverageStatus: FigureStatus = c.sends == nil || sends == 0 ? .noData : audited == sends ? .met : .missed
        return [
            GoLiveFigure(id: .schedulingLatency, label: "Scheduling-query latency (average)", target: GoLiveTargets.ehrLatencyMillis,
                         side: .under, value: scheduling.average, lower: nil, upper: nil, count: scheduling.count, of: scheduling.count,
                         status: latencyStatus, unit: "scheduling queries"),
            rate(.firstAttemptSuccess, "First-attempt success", c.succeeded, c.transactions, GoLiveTargets.firstAttemptSuccess, .atLeast, "transactions"),
            GoLiveFigure(id: .auditCoverage, label: "Audit coverage", target: GoLiveTargets.auditCoverage, side: .atLeast,
                         value: sends == 0 ? nil : Double(audited) / Double(sends), lower: nil, upper: nil,
                         count: audited, of: sends, status: coverageStatus, unit: "outbox sends"),
            rate(.firstCallResolution, "First-call resolution", c.callsResolved, c.callsEnded, GoLiveTargets.firstCallResolution, .atLeast, "ended calls"),
            rate(.corrections, "Bookings corrected", c.bookingsCorrected, c.bookingsDecided, GoLiveTargets.correctionRate, .under, "reviewed bookings"),
        ]
    }

    /// The column the verdict is judged on: without planned outages when there are any.
    public var verdictColumn: Column { plannedOutages.isEmpty ? .all : .withoutPlannedOutages }

    public var verdict: GoLiveVerdict {
        var missing: [String] = []
        if !window.isOver(at: now) {
            missing.append("the window is still open: \(formatDuration(millis: window.remaining(at: now))) left (ends \(iso8601(window.endsAt)))")
        }
        if undecided > 0 { missing.append("\(undecided) flagged booking\(undecided == 1 ? "" : "s") not yet decided") }
        if let failed = outboxFailed, let dead = outboxDead {
            if failed + dead > 0 { missing.append("outbox items not sent: \(failed) failed, \(dead) dead") }
        } else {
            missing.append("no outbox database: failed and dead items cannot be checked")
        }
        for figure in figures(verdictColumn) where !figure.status.isMet {
            missing.append(Self.reason(figure))
        }
        let basis = plannedOutages.isEmpty ? "all figures"
            : "figures without \(plannedOutages.count) planned outage\(plannedOutages.count == 1 ? "" : "s"): "
                + plannedOutages.map { "\(iso8601($0.from))–\(iso8601($0.to)) \"\($0.reason)\"" }.joined(separator: "; ")
        return GoLiveVerdict(ready: missing.isEmpty, missing: missing, basis: basis)
    }

    /// Why a figure is not met, in one line.
    public static func reason(_ f: GoLiveFigure) -> String {
        let name = f.label.lowercased()
        switch f.status {
        case .met: return "\(name): met"
        case .noData: return "\(name): no data yet"
        case .missed:
            if f.isRate, f.lower != nil {
                let bound = f.side == .atLeast ? f.upper : f.lower
                return "\(name): missed, \(percent(f.value)) (95 % bound \(percent(bound))) against \(targetText(f))"
            }
            return "\(name): missed, \(valueText(f)) against \(targetText(f))"
        case .notEnoughEvidence(let more):
            let settle = more.map { "\($0) more \(f.unit) at the current rate would settle it" } ?? "at exactly the target rate no number of \(f.unit) settles it"
            return "\(name): not enough evidence yet, \(percent(f.value)) of \(f.of) (95 % interval \(percent(f.lower))–\(percent(f.upper))); \(settle)"
        }
    }

    public static func percent(_ value: Double?, digits: Int = 1) -> String {
        value.map { String(format: "%.\(digits)f %%", $0 * 100) } ?? "—"
    }

    public static func valueText(_ f: GoLiveFigure) -> String {
        guard let v = f.value else { return "—" }
        return f.isRate ? percent(v, digits: f.id == .firstAttemptSuccess || f.id == .auditCoverage ? 2 : 1) : "\(Int(v.rounded())) ms"
    }

    public static func targetText(_ f: GoLiveFigure) -> String {
        let number: String
        if f.isRate {
            let v = f.target * 100
            number = v == v.rounded() ? "\(Int(v)) %" : String(format: "%.1f %%", v)
        } else {
            number = "\(Int(f.target)) ms"
        }
        return (f.side == .under ? "< " : f.target >= 1 && f.isRate ? "" : "≥ ") + number
    }

    /// A figure's values across the buckets, for a trend line.
    public func trend(_ id: GoLiveFigure.ID) -> [Double?] {
        buckets.map { Self.figures(of: $0).first { $0.id == id }?.value }
    }
}

/// Whether the agent may go autonomous, and if not, everything that is missing, in order.
public struct GoLiveVerdict: Sendable, Equatable, Codable {
    public var ready: Bool
    public var missing: [String]
    /// Which figures it was judged on (and which planned outages were left out).
    public var basis: String

    public var headline: String { ready ? "Ready to go autonomous" : "Not ready: \(missing.count) thing\(missing.count == 1 ? "" : "s") missing" }
}

/// Block-character sparklines, readable in monochrome: one character a value, space for
/// no data, scaled between the smallest and largest value shown.
public enum Sparkline {
    static let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    public static func text(_ values: [Double?]) -> String {
        let present = values.compactMap { $0 }
        guard let low = present.min(), let high = present.max() else { return String(repeating: " ", count: values.count) }
        return String(values.map { value -> Character in
            guard let value else { return " " }
            if high == low { return blocks[3] }
            let index = Int(((value - low) / (high - low) * Double(blocks.count - 1)).rounded())
            return blocks[min(blocks.count - 1, max(0, index))]
        })
    }
}

/// The EHR's state across the window as spans (docs/go-live.md): queue mode from the
/// agent's probes, degraded where a 15-minute bucket's first attempts failed more than
/// 5 % (at least 3), online elsewhere.
public enum EHRSpans {
    public static func isDegraded(_ c: GoLiveCounts) -> Bool {
        c.failed >= 3 && Double(c.failed) > 0.05 * Double(c.transactions)
    }

    public static func rebuild(window: GoLiveWindow, now: UnixMillis, buckets: [GoLiveCounts], queueSpans: [EHRSpan]) -> [EHRSpan] {
        let end = min(now, window.endsAt)
        guard end > window.startsAt else { return [] }
        // Each bucket's state, then queue mode laid over it.
        var marks: [(from: UnixMillis, to: UnixMillis, state: EHRSpan.State)] = []
        for (index, counts) in buckets.enumerated() {
            let from = window.startsAt + Int64(index) * GoLiveFigures.bucketMillis
            guard from < end else { break }
            let state: EHRSpan.State = isDegraded(counts) ? .degraded : .online
            if let last = marks.last, last.state == state { marks[marks.count - 1].to = min(end, from + GoLiveFigures.bucketMillis) }
            else { marks.append((from, min(end, from + GoLiveFigures.bucketMillis), state)) }
        }
        var spans: [EHRSpan] = []
        var cursor = window.startsAt
        for queue in queueSpans.sorted(by: { $0.from < $1.from }) {
            let queueEnd = queue.to ?? end
            for mark in marks where mark.to > cursor && mark.from < queue.from {
                spans.append(EHRSpan(state: mark.state, from: max(mark.from, cursor), to: min(mark.to, queue.from)))
            }
            spans.append(queue)
            cursor = max(cursor, queueEnd)
        }
        for mark in marks where mark.to > cursor {
            spans.append(EHRSpan(state: mark.state, from: max(mark.from, cursor), to: mark.to))
        }
        if var last = spans.last, last.to == end, now < window.endsAt, last.state != .queueMode {
            last.to = nil
            spans[spans.count - 1] = last
        }
        // Neighbours of the same state (split by a queue span's edges) stay apart: each is a stretch of its own.
        return spans.filter { ($0.to ?? end) > $0.from || $0.state == .queueMode }
    }

    public static func queueModeMillis(_ spans: [EHRSpan], now: UnixMillis) -> Int64 {
        spans.filter { $0.state == .queueMode }.reduce(0) { $0 + (($1.to ?? now) - $1.from) }
    }
}

/// The figures as one JSON document, for `switchboard status --json` and
/// `switchboard report --format json`: the same values the screen shows.
public struct GoLiveDocument: Sendable, Equatable, Codable {
    public struct Figure: Sendable, Equatable, Codable {
        public var id: String
        public var label: String
        public var target: Double
        public var side: String
        /// What `of` counts (and "more" would be).
        public var unit: String
        public var all: Column
        /// Only when there are planned outages.
        public var withoutPlannedOutages: Column?
        public var lastQuarterHour: Double?
        public var lastHour: Double?
        /// By 15-minute bucket from the window's start.
        public var trend: [Double?]
    }

    /// One figure in one column: the value (a rate, or milliseconds), its 95 % Wilson
    /// interval for rates, k of n, and where it stands.
    public struct Column: Sendable, Equatable, Codable {
        public var value: Double?
        public var lower: Double?
        public var upper: Double?
        public var count: Int
        public var of: Int
        /// `met`, `missed`, `not_enough_evidence`, `no_data`.
        public var status: String
        /// Not enough evidence: how many more at the current rate would settle it.
        public var more: Int?

        init(_ f: GoLiveFigure) {
            value = f.value; lower = f.lower; upper = f.upper; count = f.count; of = f.of; status = f.status.word; more = f.status.more
        }
    }

    public struct Latency: Sendable, Equatable, Codable {
        public var operation: String
        public var kind: String
        public var count: Int
        public var averageMillis: Double?
        public var p50Millis: Int?
        public var p95Millis: Int?
        public var p99Millis: Int?
    }

    public var windowStart: String
    public var windowEnd: String
    public var at: String
    public var windowElapsed: Bool
    public var verdict: GoLiveVerdict
    public var figures: [Figure]
    public var latency: [Latency]
    public var firstAttempts: [String: Int]
    public var corrections: [String: Int]
    public var reviewers: [String: Int]
    public var undecided: Int
    public var outboxFailed: Int?
    public var outboxDead: Int?
    public var stuckItems: [StuckItem]
    public var plannedOutages: [PlannedOutage]
    public var ehrSpans: [EHRSpan]
    public var queueModeMillis: Int64
    public var coverageGaps: [CoverageGap]
}

extension FigureStatus {
    public var word: String {
        switch self {
        case .met: "met"
        case .missed: "missed"
        case .notEnoughEvidence: "not_enough_evidence"
        case .noData: "no_data"
        }
    }

    public var more: Int? { if case .notEnoughEvidence(let more) = self { more } else { nil } }
}

extension GoLiveFigures {
    public var document: GoLiveDocument {
        let without = figures(.withoutPlannedOutages)
        let recent15 = Self.figures(of: lastQuarterHour), recentHour = Self.figures(of: lastHour)
        let figures = figures(.all).enumerated().map { index, f in
            GoLiveDocument.Figure(
                id: f.id.rawValue, label: f.label, target: f.target, side: f.side.rawValue, unit: f.unit, all: .init(f),
                withoutPlannedOutages: plannedOutages.isEmpty ? nil : .init(without[index]),
                lastQuarterHour: recent15[index].value, lastHour: recentHour[index].value, trend: trend(f.id))
        }
        var latency: [GoLiveDocument.Latency] = all.latency.keys.sorted().map { action in
            let l = all.latency[action]!
            return .init(operation: action, kind: OperationKind(action: action).rawValue, count: l.count, averageMillis: l.average,
                         p50Millis: l.percentile(0.5), p95Millis: l.percentile(0.95), p99Millis: l.percentile(0.99))
        }
        latency.sort { ($0.kind == OperationKind.schedulingQuery.rawValue ? 0 : 1, $0.kind, $0.operation) < ($1.kind == OperationKind.schedulingQuery.rawValue ? 0 : 1, $1.kind, $1.operation) }
        let c = all
        return GoLiveDocument(
            windowStart: iso8601(window.startsAt), windowEnd: iso8601(window.endsAt), at: iso8601(now), windowElapsed: window.isOver(at: now),
            verdict: verdict, figures: figures, latency: latency,
            firstAttempts: ["transactions": c.transactions, "succeeded": c.succeeded, "slot_taken": c.slotTaken, "no_match": c.noMatch, "failed": c.failed],
            corrections: c.corrections, reviewers: reviewers, undecided: undecided, outboxFailed: outboxFailed, outboxDead: outboxDead,
            stuckItems: stuckItems, plannedOutages: plannedOutages, ehrSpans: ehrSpans,
            queueModeMillis: EHRSpans.queueModeMillis(ehrSpans, now: now), coverageGaps: coverageGaps)
    }
}
