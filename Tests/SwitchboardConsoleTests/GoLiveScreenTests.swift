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
        let driver = ProgramDriver(console, size: Size(width: 130, height: 30))
        driver.press("3")
        #expect(await driver.settle())
        let screen = driver.screenText
        #expect(driver.currentScreen == "Go-live")
        for label in ["EHR latency (average)", "First-attempt success", "Audit coverage", "First-call resolution", "Bookings corrected"] {
            #expect(screen.contains(label), "\(label) on screen")
        }

        var tally = GoLiveTally(window: GoLiveWindow(startsAt: start))
        try tally.advance(audit: practice.audit, outbox: try OutboxStore(path: practice.outboxPath, mode: .readOnly))
        #expect(tally.callsEnded > 0 && tally.latencyCount > 0)
        #expect(screen.contains("\(tally.callsResolvedFirstTime) of \(tally.callsEnded) ended calls"), "\(screen)")
        #expect(screen.contains("over \(tally.latencyCount) requests"))
        let coverageLine = try #require(screen.split(separator: "\n").first { $0.contains("Audit coverage") })
        #expect(coverageLine.contains("100.00 %") && coverageLine.contains("✓"), "every generated send has its audit row: \(coverageLine)")
        let verdict = tally.firstCallResolution.map { $0 < GoLiveTargets.firstCallResolution } == true
            ? "first-call resolution" : ""
        #expect(screen.contains("Not yet") || screen.contains("Not enough data") || screen.contains("On target"), "a verdict is shown")
        if !verdict.isEmpty { #expect(screen.contains("Not yet: ") && screen.contains(verdict)) }

        // Back to Review and forth by name: each screen keeps its place.
        driver.press("1")
        #expect(driver.currentScreen == "Review")
        driver.press(":")
        driver.type("gol")
        driver.press("tab", "enter")
        #expect(await driver.settle())
        #expect(driver.currentScreen == "Go-live")
        driver.press("tab")
        #expect(driver.currentScreen == "Outbox", "Tab goes to the next screen")
        driver.press("backtab", "backtab")
        #expect(driver.currentScreen == "Calls", "and Shift-Tab back")
        // The screen's title as written works too, and a typo gets a suggestion.
        driver.press(":")
        driver.type("go-live")
        driver.press("enter")
        #expect(driver.currentScreen == "Go-live")
        driver.press(":")
        driver.type("reveiw")
        driver.press("enter")
        #expect(driver.messageLine.contains("Did you mean :review?"))
    }
}
