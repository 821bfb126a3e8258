import SwitchboardCore
import SwitchboardOperations
import TerminalUI

/// The Go-live screen's lines from the figures: pure, no terminal (docs/go-live.md).
/// The verdict first, with what is missing in order; then each figure with its interval,
/// the last 15 minutes and hour, and a sparkline of the window's 15-minute buckets; then
/// what the figures were counted from.
public enum GoLivePresentation {
    public struct Line: Equatable, Sendable {
        public var text: String
        public var scope: String
    }

    /// `selectedGap`: the audit-coverage gap Enter opens.
    public static func lines(_ f: GoLiveFigures, width: Int, time: TimeText = TimeText(), selectedGap: Int? = nil) -> [Line] {
        var out: [Line] = []
        func add(_ text: String, _ scope: String = "base") { out.append(Line(text: text, scope: scope)) }
        let verdict = f.verdict
        add(verdict.ready ? "✓ Ready to go autonomous" : "✗ Not ready to go autonomous:", verdict.ready ? "status.ok" : "status.warn")
        // Whole, on as many lines as it takes: a reason cut at 80 columns lost its target.
        for (index, reason) in verdict.missing.enumerated() {
            let number = "  \(index + 1). "
            let hang = String(repeating: " ", count: number.count)
            for (n, part) in TerminalText.wrap(reason, width: max(10, width - number.count)).enumerated() {
                add((n == 0 ? number : hang) + part, "status.warn")
            }
        }
        if !f.plannedOutages.isEmpty { add("  judged on the \(verdict.basis)", "table.row.dim") }
        add("")

        add(cells("", "Figure", "Now", "95% interval", "Goal", "Status"), "table.header")
        let recent15 = GoLiveFigures.figures(of: f.lastQuarterHour)
        let recentHour = GoLiveFigures.figures(of: f.lastHour)
        let without = f.figures(.withoutPlannedOutages)
        for (index, figure) in f.figures(.all).enumerated() {
            let scope = figure.status == .missed ? "status.error" : "base"
            add(cells(mark(figure.status), figure.label, GoLiveFigures.valueText(figure), interval(figure),
                      GoLiveFigures.targetText(figure), statusText(figure, width: width - cellsWidth)), scope)
            let trend = Sparkline.text(f.trend(figure.id))
            let settle = figure.status.more.map { "\(grouped($0)) more \(figure.unit) would settle it · " } ?? ""
            let recent = "    \(grouped(figure.count)) of \(grouped(figure.of)) · \(settle)15 min \(GoLiveFigures.valueText(recent15[index]))"
                + " · 1 h \(GoLiveFigures.valueText(recentHour[index])) · "
            add(recent + String(trend.suffix(max(0, width - recent.count))), "table.row.dim")
            if !f.plannedOutages.isEmpty {
                let w = without[index]
                add("    without planned outages: \(GoLiveFigures.valueText(w)) \(interval(w)) \(statusText(w))", "table.row.dim")
            }
        }
        add("")
        let c = f.all
        add("First attempts of \(grouped(c.transactions)) transactions: \(grouped(c.succeeded)) succeeded · \(grouped(c.failed)) failed")
        add("  business answers, not successes: \(grouped(c.businessAnswers)) (\(grouped(c.slotTaken)) slot taken, \(grouped(c.noMatch)) no match)")
        add(latencyHeader, "table.header")
        for action in c.latency.keys.sorted() where OperationKind(action: action) == .schedulingQuery {
            add(latencyRow(action, c.latency[action]!))
        }
        for kind in [OperationKind.write, .note, .otherRead] {
            let l = c.latency(of: kind)
            if l.count > 0 { add(latencyRow(kind.label + " (beside)", l), "table.row.dim") }
        }
        if !c.corrections.isEmpty {
            add("Corrections: " + c.corrections.sorted { $0.value > $1.value }.map { "\($0.key.replacingOccurrences(of: "_", with: " ")) \($0.value)" }
                .joined(separator: " · "))
        }
        let queue = f.ehrSpans.filter { $0.state == .queueMode }
        let degraded = f.ehrSpans.filter { $0.state == .degraded }
        var ehr = "EHR: \(queue.count) queue-mode span\(queue.count == 1 ? "" : "s") (\(formatDuration(millis: EHRSpans.queueModeMillis(f.ehrSpans, now: f.now))))"
            + " · \(degraded.count) degraded"
        if let last = queue.last {
            ehr += " · last queue mode \(time.clockWithSeconds(last.from))–\(last.to.map(time.clockWithSeconds) ?? "now")"
            if let peak = last.backlogPeak { ehr += ", backlog \(peak)" }
            ehr += last.drainMillis.map { ", drained in \(formatDuration(millis: $0))" } ?? (last.to == nil ? "" : ", not drained yet")
        }
        add(ehr, queue.last?.to == nil && !queue.isEmpty ? "status.warn" : "base")
        for outage in f.plannedOutages {
            add("Planned outage \(time.timestamp(outage.from)) → \(time.timestamp(outage.to)): \(outage.reason) (by \(outage.plannedBy))", "table.row.dim")
        }
        if let failed = f.outboxFailed, let dead = f.outboxDead {
            add("Outbox: \(grouped(failed)) failed · \(grouped(dead)) dead", failed + dead > 0 ? "status.warn" : "base")
        }
        if !f.coverageGaps.isEmpty {
            add("Audit gaps: \(f.coverageGaps.count)" + (f.coverageGaps.count >= 50 ? "+" : "") + " (↑↓ choose, Enter opens the call)", "status.error")
            for (index, gap) in f.coverageGaps.enumerated() {
                add((index == selectedGap ? "▸ " : "  ") + gapText(gap, time: time), index == selectedGap ? selectedGapScope : "base")
            }
        }
        return out
    }

    /// The chosen audit-coverage gap's line is drawn in this scope (and found by it).
    static let selectedGapScope = "table.row.selected"

    /// `call-0042 · appointment.create · 14:02:11 · ob-9 try 2`: call, step, time.
    static func gapText(_ gap: CoverageGap, time: TimeText) -> String {
        "\(gap.callId ?? "no call") · \(gap.step) · \(time.clockWithSeconds(gap.at)) · \(gap.itemId) try \(gap.attempt)"
    }

    static func cells(_ mark: String, _ label: String, _ now: String, _ interval: String, _ goal: String, _ status: String) -> String {
        pad(mark, 2) + pad(label, 35) + pad(now, 9, right: true) + "  " + pad(interval, 13) + pad(goal, 9) + status
    }

    /// The columns before a figure's status.
    static let cellsWidth = cells("", "", "", "", "", "").count

    static let latencyHeader = pad("Latency (ms)", 32) + pad("n", 9, right: true) + pad("avg", 7, right: true) + pad("p50", 7, right: true)
        + pad("p95", 7, right: true) + pad("p99", 7, right: true)

    static func latencyRow(_ name: String, _ l: LatencyCounts) -> String {
        func ms(_ v: Int?) -> String { v.map { $0 >= LatencyCounts.limit ? "≥5000" : String($0) } ?? "—" }
        return pad("  " + name, 32) + pad(grouped(l.count), 9, right: true) + pad(l.average.map { String(Int($0.rounded())) } ?? "—", 7, right: true)
            + pad(ms(l.percentile(0.5)), 7, right: true) + pad(ms(l.percentile(0.95)), 7, right: true) + pad(ms(l.percentile(0.99)), 7, right: true)
    }

    static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let n = s.count
        if n >= width { return String(s.prefix(width - 1)) + " " }
        let space = String(repeating: " ", count: width - n)
        return right ? space + s : s + space
    }

    public static func mark(_ status: FigureStatus) -> String {
        switch status {
        case .met: "✓"
        case .missed: "✗"
        case .notEnoughEvidence: "?"
        case .noData: "·"
        }
    }

    /// `87.9–94.5 %`, spaced as every other figure is; `100.0–100.0%` only where the spaced
    /// form would not fit the column's 12 cells and its gap.
    public static func interval(_ f: GoLiveFigure) -> String {
        guard f.isRate, let lower = f.lower, let upper = f.upper else { return "" }
        let spaced = GoLiveFigures.percent(lower).replacingOccurrences(of: " %", with: "") + "–" + GoLiveFigures.percent(upper)
        return spaced.count <= 12 ? spaced : spaced.replacingOccurrences(of: " %", with: "%")
    }

    /// "met", "missed", "not enough evidence yet", "no data yet" (how many more is on the
    /// line below); in fewer than `width` columns (80 leave 8) "too few" and "no data".
    public static func statusText(_ f: GoLiveFigure, width: Int = .max) -> String {
        switch f.status {
        case .met: "met"
        case .missed: "missed"
        case .noData: width >= 11 ? "no data yet" : "no data"
        case .notEnoughEvidence: width >= 23 ? "not enough evidence yet" : "too few"
        }
    }
}
