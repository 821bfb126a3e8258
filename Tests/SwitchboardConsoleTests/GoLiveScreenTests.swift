import Foundation
import SwitchboardConsole
import SwitchboardCore
import SwitchboardStore
import SwitchboardTesting
import TerminalUI
import Testing

/// The Go-live screen through the real loop on generated files: the five targets, with
/// figures the store counts for the same window.
@Suite struct GoLiveScreenTests {
    @Test func figuresAgainstTheTargetsForTheWindow() async throws {
        let practice = try ReviewScreenTests.Practice()
        var configuration = practice.configuration()
        let start = Clock.nowMillis() - 20 * 3_600_000
        configuration.goLiveStart = start
        let console = try ConsoleRunner.prepare(configuration: configuration, warnings: [], environment: practice.environment)
        let driver = ProgramDriver(console, size: Size(width: 130, height: 40))
        driver.press("3")
        #expect(await driver.settle())
        let screen = driver.screenText
        #expect(screen.contains("Switchboard │ Go-live"))
        for label in ["Scheduling-query latency", "First-attempt success", "Audit coverage", "First-call resolution", "Bookings corrected"] {
            #expect(screen.contains(label), "\(label) on screen")
        }

        // The same figures the store counts for the window, through the same model.
        var tally = GoLiveTally(window: GoLiveWindow(startsAt: start))
        let now = Clock.nowMillis()
        try tally.advance(audit: practice.audit, outbox: try OutboxStore(path: practice.outboxPath, mode: .readOnly), now: now)
        let figures = tally.figures(now: now)
        #expect(figures.all.callsEnded > 0 && figures.all.transactions > 0)
        let fcr = try #require(figures.figures(.all).first { $0.id == .firstCallResolution })
        let fcrLines = screen.split(separator: "\n").drop { !$0.contains("First-call resolution") }.prefix(2).joined(separator: "\n")
        #expect(fcrLines.contains(GoLivePresentation.statusText(fcr)) && fcrLines.contains("\(grouped(fcr.count)) of \(grouped(fcr.of))"), "\(screen)")
        let coverageLine = try #require(screen.split(separator: "\n").first { $0.contains("Audit coverage") })
        #expect(coverageLine.contains("100.00 %") && coverageLine.contains("✓"), "every generated send has its audit row: \(coverageLine)")
        // The window is open: never ready, and the reason comes first.
        #expect(screen.contains("✗ Not ready to go autonomous:"))
        #expect(screen.contains("1. the window is still open"), "\(screen)")
        #expect(screen.contains("First attempts of ") && screen.contains("business answers, not successes"))

        // At 80 columns a figure's status is whole ("no data yet" was cut to "no data…").
        let eighty = GoLivePresentation.lines(figures, width: 78)
        for figure in figures.figures(.all) {
            let row = try #require(eighty.first { $0.text.contains(figure.label) }?.text)
            #expect(TerminalText.width(row) <= 78, "\(row)")
            let interval = GoLivePresentation.interval(figure)
            #expect(interval.isEmpty || row.contains(interval), "the interval whole: \(row)")
        }
        // An interval is spaced as the other figures are ("87.9–94.5%" was not), and loses
        // the space only where it would not fit its column.
        var spread = fcr
        (spread.lower, spread.upper) = (0.879, 0.945)
        #expect(GoLivePresentation.interval(spread) == "87.9–94.5 %")
        (spread.lower, spread.upper) = (0.952, 1)
        #expect(GoLivePresentation.interval(spread) == "95.2–100.0 %")
        (spread.lower, spread.upper) = (1, 1)
        #expect(GoLivePresentation.interval(spread) == "100.0–100.0%")
        #expect(figures.figures(.all).contains { $0.status != .met && $0.status != .missed },
                "a figure without a verdict yet, whose words were the long ones")

        // However narrow, each reason is there whole, on more lines if it needs them (at 80
        // columns "… against ≥ 99.7…" lost its target).
        let narrow = GoLivePresentation.lines(figures, width: 50)
        let verdict = narrow.dropFirst().prefix { !$0.text.isEmpty }.map(\.text)
        #expect(verdict.count > figures.verdict.missing.count, "some reason wraps at 50 columns: \(verdict)")
        #expect(verdict.allSatisfy { TerminalText.width($0) <= 50 && !$0.contains("…") }, "\(verdict)")
        func words(_ text: String) -> String { text.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
        let reasons = figures.verdict.missing.enumerated().map { "\($0.offset + 1). \($0.element)" }
        #expect(words(verdict.joined(separator: " ")) == words(reasons.joined(separator: " ")), "\(verdict)")

        // Back to Review and forth by name: each screen keeps its place.
        driver.press("1")
        #expect(driver.screenText.contains("Switchboard │ Review"))
        driver.press(":")
        driver.type("gol")
        driver.press("tab", "enter")
        #expect(await driver.settle())
        #expect(driver.screenText.contains("Switchboard │ Go-live"))
        driver.press("tab")
        #expect(driver.screenText.contains("Switchboard │ Outbox"), "Tab goes to the next screen")
        driver.press("backtab", "backtab")
        #expect(driver.screenText.contains("Switchboard │ Calls"), "and Shift-Tab back")
    }

    /// The Go-live screen on a practice 20 hours into its window, then two outbox sends with
    /// no audit row written while it is open (the two latest calls': two coverage gaps).
    static func screenWithTwoGaps(size: Size, _ check: (ProgramDriver<Console>) -> Void = { _ in }) async throws
        -> (driver: ProgramDriver<Console>, calls: [String], practice: ReviewScreenTests.Practice) {
        let practice = try ReviewScreenTests.Practice(calls: 200)
        var configuration = practice.configuration()
        configuration.goLiveStart = Clock.nowMillis() - 20 * 3_600_000
        let calls = try sqlite3(practice.auditPath, "SELECT call_id FROM call WHERE ended_at IS NOT NULL ORDER BY started_at DESC LIMIT 2")
            .split(separator: "\n").map(String.init)
        try #require(calls.count == 2)
        let clock = ManualWallClock()
        let console = try ConsoleRunner.prepare(configuration: configuration, warnings: [], environment: practice.environment,
                                                now: { clock.now })
        let driver = ProgramDriver(console, size: size)
        driver.press("3")
        #expect(await driver.settle())
        check(driver)

        let at = Clock.nowMillis() - 10 * 60_000
        for (n, call) in calls.enumerated() {
            _ = try sqlite3(practice.outboxPath, """
                INSERT INTO outbox_item (id, created_at, call_id, ehr_system, transport, operation, request, idempotency_key, status, attempts, max_attempts, updated_at)
                VALUES ('ob-gap\(n)', \(at + Int64(n)), '\(call)', 'ehr', 'fhir', 'communication.create', '{}', 'k-gap\(n)', 'succeeded', 1, 8, \(at));
                INSERT INTO outbox_attempt (item_id, attempt, started_at, outcome) VALUES ('ob-gap\(n)', 1, \(at + Int64(n) * 1_000), 'success');
                """)
        }
        // What the database watch posts when another process commits; calls, bookings and
        // sends are recounted at most every 10 s (the console's own clock, moved by hand).
        driver.post(.databasesChanged)
        _ = await driver.settle()
        clock.advance(11)
        driver.advance(by: 11)
        _ = await driver.settle()
        return (driver, calls, practice)
    }

    /// Outbox sends with no audit row, written while the screen is open, are listed as gaps
    /// (call, step, time); Enter opens the chosen gap's call in place, Esc goes back.
    @Test func enterOnAnAuditGapOpensItsCall() async throws {
        let (driver, calls, practice) = try await Self.screenWithTwoGaps(size: Size(width: 130, height: 60)) { driver in
            #expect(driver.screenText.contains("Audit coverage") && !driver.screenText.contains("Audit gaps"))
        }
        #expect(driver.screenText.contains("Audit gaps: 2"), "\(driver.screenText)")
        #expect(driver.screenText.contains("▸ \(calls[0]) · communication.create · "), "the first gap chosen")
        driver.press("j")
        #expect(driver.screenText.contains("▸ \(calls[1]) · communication.create · "), "j chooses the next")
        driver.press("enter")
        #expect(await driver.settle())
        let details = driver.screenText
        #expect(details.contains("Call \(calls[1])") && details.contains("Steps (audit)") && !details.contains("Audit gaps"), "\(details)")
        let steps = try sqlite3(practice.auditPath, "SELECT count(*) FROM audit_event WHERE call_id = '\(calls[1])'")
        #expect(Int(steps.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 > 0 && !details.contains("No audit rows for this call."))
        driver.press("escape")
        #expect(driver.screenText.contains("▸ \(calls[1]) · communication.create · "), "back to the figures, the same gap chosen")
    }

    /// At 80x24 the page is longer than the screen: the figures below the fold, and the
    /// audit-coverage gaps on-call acts on, could not be reached.
    @Test func atEightyByTwentyFourTheWholePageIsReachable() async throws {
        let (driver, calls, _) = try await Self.screenWithTwoGaps(size: Size(width: 80, height: 24))
        let top = driver.screenText
        #expect(top.contains("Go-live window") && !top.contains("Audit gaps"), "\(top)")
        #expect(driver.statusLine.contains("lines 1–17 of "), "\(driver.statusLine)")
        driver.press("G")
        let end = driver.screenText
        #expect(end.contains("Audit gaps: 2") && end.contains("▸ \(calls[0])") && !end.contains("Go-live window"), "\(end)")
        driver.press("g")
        #expect(driver.screenText.contains("Go-live window"))
        // Choosing a gap brings it into view.
        driver.press("j")
        #expect(driver.screenText.contains("▸ \(calls[1]) · communication.create"), "\(driver.screenText)")
        driver.press("pageup", "pageup", "pageup")
        #expect(driver.screenText.contains("Go-live window"))
        driver.press("pagedown")
        #expect(!driver.screenText.contains("Go-live window") && driver.statusLine.contains("lines 17–"), "\(driver.statusLine)")
    }
}

/// `12,345`, as the screen groups digits.
private func grouped(_ n: Int) -> String {
    let f = NumberFormatter()
    f.numberStyle = .decimal
    f.locale = Locale(identifier: "en_US")
    return f.string(from: NSNumber(value: n)) ?? String(n)
}
