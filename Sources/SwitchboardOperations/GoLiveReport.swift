import Foundation
import SwitchboardCore

/// The go-live sign-off report (`switchboard report`): the same `GoLiveFigures` the
/// Go-live screen shows, as Markdown (sparklines), JSON (`status --json`'s `go_live`) or
/// one self-contained HTML file with SVG trend charts, to forward to a manager.
public enum GoLiveReport {
    public static func json(_ f: GoLiveFigures, rehearsal: RehearsalReport? = nil) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return (try? encoder.encode(Document(figures: f.document, rehearsal: rehearsal))).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// The figures' document with the rehearsal's result beside them, under `rehearsal`.
    struct Document: Encodable {
        var figures: GoLiveDocument
        var rehearsal: RehearsalReport?
        enum Key: String, CodingKey { case rehearsal }
        func encode(to encoder: any Encoder) throws {
            try figures.encode(to: encoder)
            var c = encoder.container(keyedBy: Key.self)
            try c.encodeIfPresent(rehearsal, forKey: .rehearsal)
        }
    }

    /// The rehearsal's rows as table cells: name, kind, calls, expected, happened, EHR
    /// requests, failures, audit rows, result.
    static let rehearsalColumns = ["row", "kind", "calls", "expected", "happened", "EHR requests", "failures", "audit rows", "result"]
    static func rehearsalCells(_ r: RehearsalRow) -> [String] {
        [r.name, r.kind, String(r.calls), r.expected, r.happened, String(r.ehrRequests), String(r.failures), String(r.auditRows), r.pass ? "pass" : "FAIL"]
    }
    static func rehearsalSummary(_ r: RehearsalReport) -> String {
        "\(r.rows.filter(\.pass).count) of \(r.rows.count) rows pass (\(r.pass ? "passed" : "failed")); \(r.calls) calls over \(r.transport.rawValue), seed \(r.seed)."
    }

    // MARK: Markdown

    public static func markdown(_ f: GoLiveFigures, rehearsal: RehearsalReport? = nil) -> String {
        let d = f.document
        var out: [String] = []
        out.append("# Go-live sign-off report")
        out.append("")
        out.append("Window: \(d.windowStart) → \(d.windowEnd) (\(d.windowElapsed ? "elapsed" : "still open")); counted at \(d.at).")
        out.append("")
        out.append("## Verdict: \(d.verdict.ready ? "ready to go autonomous" : "not ready to go autonomous")")
        out.append("")
        if !d.verdict.missing.isEmpty {
            out.append("Missing, in order:")
            out.append("")
            out += d.verdict.missing.enumerated().map { "\($0.offset + 1). \(escape($0.element))" }
            out.append("")
        }
        out.append("Judged on \(escape(d.verdict.basis)).")
        out.append("")
        out.append("## Figures")
        out.append("")
        let withOutages = !f.plannedOutages.isEmpty
        out.append("| figure | target | now | 95 % interval | status |" + (withOutages ? " without planned outages |" : "") + " last 15 min | last hour | trend (15-min buckets) |")
        out.append("|---|---|---|---|---|" + (withOutages ? "---|" : "") + "---|---|---|")
        let figures = f.figures(.all), without = f.figures(.withoutPlannedOutages)
        let recent15 = GoLiveFigures.figures(of: f.lastQuarterHour), recentHour = GoLiveFigures.figures(of: f.lastHour)
        for (i, figure) in figures.enumerated() {
            var row = "| \(figure.label) | \(GoLiveFigures.targetText(figure)) | \(GoLiveFigures.valueText(figure)) (\(figure.count) of \(figure.of)) | \(interval(figure)) | \(statusText(figure)) |"
            if withOutages { row += " \(GoLiveFigures.valueText(without[i])) \(interval(without[i])) \(statusText(without[i])) |" }
            row += " \(GoLiveFigures.valueText(recent15[i])) | \(GoLiveFigures.valueText(recentHour[i])) | `\(Sparkline.text(f.trend(figure.id)))` |"
            out.append(row)
        }
        out.append("")
        out.append("First attempts: \(d.firstAttempts["succeeded"] ?? 0) succeeded, \(d.firstAttempts["slot_taken"] ?? 0) slot taken and "
                   + "\(d.firstAttempts["no_match"] ?? 0) no match (business answers, not successes), \(d.firstAttempts["failed"] ?? 0) failed, "
                   + "of \(d.firstAttempts["transactions"] ?? 0) transactions.")
        out.append("")
        out.append("### Latency by operation (ms)")
        out.append("")
        out.append("| operation | kind | requests | average | p50 | p95 | p99 |")
        out.append("|---|---|---|---|---|---|---|")
        for l in d.latency {
            out.append("| \(l.operation) | \(l.kind.replacingOccurrences(of: "_", with: " ")) | \(l.count) | \(l.averageMillis.map { String(Int($0.rounded())) } ?? "—") | \(ms(l.p50Millis)) | \(ms(l.p95Millis)) | \(ms(l.p99Millis)) |")
        }
        out.append("")
        out.append("## Corrections by category")
        out.append("")
        out += d.corrections.isEmpty ? ["None."] : d.corrections.sorted { $0.value > $1.value }.map { "- \(escape((CorrectionCategory(rawValue: $0.key)?.label ?? $0.key))): \($0.value)" }
        out.append("")
        out.append("## Reviewers")
        out.append("")
        out += d.reviewers.isEmpty ? ["No decisions yet."] : d.reviewers.sorted { $0.key < $1.key }.map { "- \(escape($0.key)): \($0.value) decided" }
        out.append("")
        out.append("\(d.undecided) flagged booking\(d.undecided == 1 ? "" : "s") still undecided.")
        out.append("")
        out.append("## Outages")
        out.append("")
        out += outageLines(f).map { "- " + escape($0) }
        out.append("")
        out.append("## Audit coverage gaps")
        out.append("")
        out += d.coverageGaps.isEmpty ? ["None."] : d.coverageGaps.map { escape("- \($0.callId ?? "no call") · \($0.step) · \(iso8601($0.at)) · \($0.itemId) try \($0.attempt)") }
        out.append("")
        out.append("## Outbox items failed or dead")
        out.append("")
        if let failed = d.outboxFailed, let dead = d.outboxDead { out.append("\(failed) failed, \(dead) dead.") } else { out.append("No outbox database.") }
        out += d.stuckItems.map { "- \(escape($0.id)) (\($0.status), \(escape($0.operation)), \($0.attempts) tries): \(escape($0.lastError ?? "—"))" }
        out.append("")
        if let rehearsal {
            out.append("## Day-4 rehearsal (\(escape(rehearsal.protocolName)))")
            out.append("")
            out.append(rehearsalSummary(rehearsal))
            out.append("")
            out.append("| " + rehearsalColumns.joined(separator: " | ") + " |")
            out.append("|" + String(repeating: "---|", count: rehearsalColumns.count))
            for row in rehearsal.rows {
                out.append("| " + rehearsalCells(row).map(escape).joined(separator: " | ") + " |")
                out += row.problems.map { "|  | problem: \(escape($0)) |" + String(repeating: "  |", count: rehearsalColumns.count - 2) }
            }
            out.append("")
        }
        out.append("Definitions: docs/go-live.md.")
        return out.joined(separator: "\n") + "\n"
    }

    /// Planned outages, then the EHR's queue-mode and degraded spans with their drain times.
    static func outageLines(_ f: GoLiveFigures) -> [String] {
        var lines = f.plannedOutages.map { "planned: \(iso8601($0.from)) → \(iso8601($0.to)), \($0.reason) (marked by \($0.plannedBy))" }
        for span in f.ehrSpans where span.state != .online {
            var text = "\(span.state == .queueMode ? "queue mode" : "degraded")\(span.planned ? " (planned)" : ""): \(iso8601(span.from)) → \(span.to.map(iso8601) ?? "now")"
            if let peak = span.backlogPeak { text += ", backlog peak \(peak)" }
            if span.state == .queueMode { text += span.drainMillis.map { ", drained in \(formatDuration(millis: $0))" } ?? ", not drained yet" }
            lines.append(text)
        }
        lines.append("time in queue mode: \(formatDuration(millis: EHRSpans.queueModeMillis(f.ehrSpans, now: f.now)))")
        return lines
    }

    static func interval(_ f: GoLiveFigure) -> String {
        guard f.isRate, let lower = f.lower, let upper = f.upper else { return "—" }
        return "\(GoLiveFigures.percent(lower))–\(GoLiveFigures.percent(upper))"
    }

    /// Where a figure stands, in words (`not enough evidence yet (237 more bookings)`); the
    /// JSON and the page's classes keep the machine's word (`not_enough_evidence`).
    public static func statusText(_ f: GoLiveFigure) -> String {
        switch f.status {
        case .met: "met"
        case .missed: "missed"
        case .noData: "no data yet"
        case .notEnoughEvidence(let more): "not enough evidence yet" + (more.map { " (\($0) more \(f.unit))" } ?? "")
        }
    }

    static func ms(_ v: Int?) -> String { v.map { $0 >= LatencyCounts.limit ? "≥ 5000" : String($0) } ?? "—" }

    /// Text from the databases in Markdown: a pipe or a line break must not break a table,
    /// and control characters (an escape sequence reaching a terminal) are dropped.
    static func escape(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0 == "\n" || $0 == "\t" ? " " : $0 }
            .filter { !(($0.value < 0x20) || (0x7F...0x9F).contains($0.value)) }))
            .replacingOccurrences(of: "|", with: "\\|")
    }

    // MARK: HTML

    public static func html(_ f: GoLiveFigures, rehearsal: RehearsalReport? = nil) -> String {
        let d = f.document
        var body = ""
        body += "<h1>Go-live sign-off report</h1>\n"
        body += "<p>Window \(h(d.windowStart)) → \(h(d.windowEnd)) (\(d.windowElapsed ? "elapsed" : "still open")); counted at \(h(d.at)).</p>\n"
        body += "<div class=\"verdict \(d.verdict.ready ? "ready" : "not-ready")\"><h2>\(d.verdict.ready ? "✓ Ready to go autonomous" : "✗ Not ready to go autonomous")</h2>\n"
        if !d.verdict.missing.isEmpty { body += "<ol>" + d.verdict.missing.map { "<li>\(h($0))</li>" }.joined() + "</ol>\n" }
        body += "<p class=\"dim\">Judged on \(h(d.verdict.basis)).</p></div>\n"
        body += "<h2>Figures</h2>\n<table><tr><th>figure</th><th>target</th><th>now</th><th>95 % interval</th><th>status</th>"
        let withOutages = !f.plannedOutages.isEmpty
        if withOutages { body += "<th>without planned outages</th>" }
        body += "<th>last 15 min</th><th>last hour</th><th>trend (15-min buckets)</th></tr>\n"
        let figures = f.figures(.all), without = f.figures(.withoutPlannedOutages)
        let recent15 = GoLiveFigures.figures(of: f.lastQuarterHour), recentHour = GoLiveFigures.figures(of: f.lastHour)
        for (i, figure) in figures.enumerated() {
            body += "<tr class=\"\(figure.status.word)\"><td>\(h(figure.label))</td><td>\(h(GoLiveFigures.targetText(figure)))</td>"
            body += "<td>\(h(GoLiveFigures.valueText(figure)))<br><span class=\"dim\">\(figure.count) of \(figure.of)</span></td>"
            body += "<td>\(h(interval(figure)))</td><td>\(h(statusText(figure)))</td>"
            if withOutages { body += "<td>\(h(GoLiveFigures.valueText(without[i]))) \(h(interval(without[i])))<br>\(h(statusText(without[i])))</td>" }
            body += "<td>\(h(GoLiveFigures.valueText(recent15[i])))</td><td>\(h(GoLiveFigures.valueText(recentHour[i])))</td>"
            body += "<td>\(chart(f.trend(figure.id), target: figure.isRate ? figure.target : figure.target, label: figure.label))</td></tr>\n"
        }
        body += "</table>\n"
        body += "<p>First attempts: \(d.firstAttempts["succeeded"] ?? 0) succeeded · \(d.firstAttempts["slot_taken"] ?? 0) slot taken · \(d.firstAttempts["no_match"] ?? 0) no match (business answers, not successes) · \(d.firstAttempts["failed"] ?? 0) failed · of \(d.firstAttempts["transactions"] ?? 0) transactions.</p>\n"
        body += "<h3>Latency by operation (ms)</h3>\n<table><tr><th>operation</th><th>kind</th><th>requests</th><th>average</th><th>p50</th><th>p95</th><th>p99</th></tr>\n"
        for l in d.latency {
            body += "<tr><td>\(h(l.operation))</td><td>\(h(l.kind.replacingOccurrences(of: "_", with: " ")))</td><td>\(l.count)</td><td>\(l.averageMillis.map { String(Int($0.rounded())) } ?? "—")</td><td>\(h(ms(l.p50Millis)))</td><td>\(h(ms(l.p95Millis)))</td><td>\(h(ms(l.p99Millis)))</td></tr>\n"
        }
        body += "</table>\n"
        func list(_ title: String, _ items: [String], empty: String) {
            body += "<h2>\(h(title))</h2>\n" + (items.isEmpty ? "<p>\(h(empty))</p>\n" : "<ul>" + items.map { "<li>\(h($0))</li>" }.joined() + "</ul>\n")
        }
        list("Corrections by category", d.corrections.sorted { $0.value > $1.value }.map { "\((CorrectionCategory(rawValue: $0.key)?.label ?? $0.key)): \($0.value)" }, empty: "None.")
        list("Reviewers", d.reviewers.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value) decided" } + ["\(d.undecided) still undecided"], empty: "")
        list("Outages", outageLines(f), empty: "None.")
        list("Audit coverage gaps", d.coverageGaps.map { "\($0.callId ?? "no call") · \($0.step) · \(iso8601($0.at)) · \($0.itemId) try \($0.attempt)" }, empty: "None.")
        list("Outbox items failed or dead", d.stuckItems.map { "\($0.id) (\($0.status), \($0.operation), \($0.attempts) tries): \($0.lastError ?? "—")" },
             empty: d.outboxFailed == nil ? "No outbox database." : "None.")
        if let rehearsal {
            body += "<h2>Day-4 rehearsal (\(h(rehearsal.protocolName)))</h2>\n<p>\(h(rehearsalSummary(rehearsal)))</p>\n<table><tr>"
                + rehearsalColumns.map { "<th>\(h($0))</th>" }.joined() + "</tr>\n"
            for row in rehearsal.rows {
                body += "<tr class=\"\(row.pass ? "met" : "missed")\">" + rehearsalCells(row).map { "<td>\(h($0))</td>" }.joined() + "</tr>\n"
                body += row.problems.map { "<tr><td></td><td colspan=\"\(rehearsalColumns.count - 1)\">problem: \(h($0))</td></tr>\n" }.joined()
            }
            body += "</table>\n"
        }
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Go-live sign-off report</title>
        <style>
        body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #1b1b1b; max-width: 1100px; }
        table { border-collapse: collapse; margin: .5em 0 1em; }
        th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
        th { background: #f0f0f0; }
        tr.met td:first-child { border-left: 4px solid #2e7d32; }
        tr.missed td:first-child { border-left: 4px solid #c62828; }
        tr.not_enough_evidence td:first-child, tr.no_data td:first-child { border-left: 4px solid #f9a825; }
        .verdict { padding: .5em 1em; border: 2px solid; margin: 1em 0; }
        .verdict.ready { border-color: #2e7d32; } .verdict.not-ready { border-color: #c62828; }
        .dim { color: #666; }
        svg { display: block; }
        </style></head><body>
        \(body)<p class="dim">Definitions: docs/go-live.md.</p>
        </body></html>

        """
    }

    /// A small SVG line of the buckets' values with the target as a dashed line.
    static func chart(_ values: [Double?], target: Double, label: String) -> String {
        let width = 240.0, height = 48.0
        let present = values.compactMap { $0 }
        guard !present.isEmpty else { return "<span class=\"dim\">no data</span>" }
        let low = min(present.min()!, target), high = max(present.max()!, target)
        let span = high - low == 0 ? 1 : high - low
        func y(_ v: Double) -> Double { height - 4 - (v - low) / span * (height - 8) }
        let step = values.count > 1 ? width / Double(values.count - 1) : 0
        var path = "", pen = false
        for (i, v) in values.enumerated() {
            guard let v else { pen = false; continue }
            path += String(format: "%@%.1f,%.1f ", pen ? "L" : "M", Double(i) * step, y(v))
            pen = true
        }
        let targetY = String(format: "%.1f", y(target))
        return """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="\(h(label)) by 15-minute bucket"><line x1="0" y1="\(targetY)" x2="\(Int(width))" y2="\(targetY)" stroke="#c62828" stroke-dasharray="4 3" stroke-width="1"/><path d="\(path)" fill="none" stroke="#1565c0" stroke-width="1.5"/></svg>
        """
    }

    static func h(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
