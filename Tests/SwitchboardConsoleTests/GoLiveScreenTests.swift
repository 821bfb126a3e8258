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
}

/// `12,345`, as the screen groups digits.
private func grouped(_ n: Int) -> String {
    let f = NumberFormatter()
    f.numberStyle = .decimal
    f.locale = Locale(identifier: "en_US")
    return f.string(from: NSNumber(value: n)) ?? String(n)
}
