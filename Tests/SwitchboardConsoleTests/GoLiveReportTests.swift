import Foundation
import SwitchboardCore
import SwitchboardOperations
import Testing

/// The report's text from the databases cannot break its tables or reach a terminal as an
/// escape sequence, and the HTML escapes it.
@Suite struct GoLiveReportTests {
    @Test func textFromTheDatabasesIsDefused() {
        var f = GoLiveFigures(window: GoLiveWindow(startsAt: 0), now: 1_000, all: GoLiveCounts())
        f.outboxFailed = 0
        f.outboxDead = 1
        f.stuckItems = [StuckItem(id: "o-1", status: "dead", operation: "appointment.create", attempts: 8,
                                  lastError: "HTTP 500 \u{1b}[31m<b>|boom\nnext", updatedAt: 500)]
        f.plannedOutages = [PlannedOutage(from: 100, to: 200, reason: "upgrade | <script>", plannedBy: "sam", plannedAt: 300)]
        let markdown = GoLiveReport.markdown(f)
        #expect(!markdown.unicodeScalars.contains { $0.value == 0x1b })
        #expect(markdown.contains("HTTP 500 [31m<b>\\|boom next"))
        #expect(markdown.contains("upgrade \\| <script>"))
        let html = GoLiveReport.html(f)
        #expect(!html.contains("<script>") && html.contains("upgrade | &lt;script&gt;") && html.contains("&lt;b&gt;|boom"))
        #expect(markdown.contains("2. outbox items not sent: 0 failed, 1 dead"), "the verdict's reasons are numbered in order")
    }
}
