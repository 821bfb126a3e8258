import Foundation
import SwitchboardConsole
import SwitchboardCore
import SwitchboardSim
import SwitchboardStore
import SwitchboardStream
import SwitchboardTesting
import TerminalUI
import Testing

/// The Outbox screen driven through the real loop on a generated practice (items in every
/// status): what on-call staff see, and what each key writes to both databases.
@Suite struct OutboxScreenTests {
    typealias Practice = ReviewScreenTests.Practice

    static func outbox(_ practice: Practice) throws -> OutboxStore { try OutboxStore(path: practice.outboxPath, mode: .readWrite) }

    static let stuck = OutboxListing(statuses: [.failed, .dead], held: .include)

    /// The console on the Outbox screen.
    static func driver(_ practice: Practice, role: OperatorRole = .operator, readOnly: Bool = false) throws -> ProgramDriver<Console> {
        let driver = try practice.driver(role: role, readOnly: readOnly)
        driver.press("4")
        return driver
    }

    static func operatorActions(_ practice: Practice) throws -> [AuditEvent] {
        try practice.audit.auditEvents(matching: AuditFilter(actor: "operator:\(practice.user)"), limit: 50).reversed()
    }

    @Test func stuckComesFirstThenEachViewWithItsCounts() throws {
        let practice = try Practice()
        let outbox = try Self.outbox(practice)
        let driver = try Self.driver(practice)
        let counts = try outbox.countsByStatus()
        var lines = driver.screenText.lines
        #expect(lines[0].contains("4 Outbox") && lines[1].contains("\(counts[.failed]!) failed · \(counts[.dead]!) dead"))
        #expect(lines[2].contains("Stuck \(counts[.failed]! + counts[.dead]!)") && lines[2].contains("Succeeded \(counts[.succeeded]!)"))
        for title in ["Created", "Operation", "Booking", "Status", "Tries", "Next", "HTTP", "Error"] {
            #expect(lines[3].contains(title), "column \(title)")
        }
        let oldestStuck = try #require(try outbox.items(Self.stuck, after: nil, limit: 1).first)
        #expect(lines[4].contains(oldestStuck.operation) && lines[4].contains(oldestStuck.status.rawValue))
        let rows = lines[4..<(lines.count - 3)].filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        #expect(rows.allSatisfy { $0.contains("failed") || $0.contains("dead") })

        driver.press("v")
        lines = driver.screenText.lines
        #expect(lines[4].contains("pending") && (lines[4].contains(" in ") || lines[4].contains(" due ")), "pending items say when they are due")
        driver.press("v")
        #expect(driver.screenText.lines[4].contains("in flight") && driver.screenText.lines[4].contains("lease"))
        driver.press("V", "V")
        #expect(driver.screenText.contains("view: stuck"))
    }

    /// At 80 columns `appointment.update` was cut to `appointment.upd…` (update or create?)
    /// and `communication.create` to `communication.c…`. The operation is whole, and the
    /// last error keeps a column.
    @Test func atEightyColumnsTheOperationIsWhole() throws {
        let practice = try Practice()
        let driver = try practice.driver(role: .operator, size: Size(width: 80, height: 24))
        driver.press("4")
        let lines = driver.screenText.lines
        let rows = lines[4..<(lines.count - 3)].filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        let stuck = try Self.outbox(practice).items(Self.stuck, after: nil, limit: rows.count)
        #expect(stuck.contains { $0.operation.count > 18 }, "an operation the old width cut: \(stuck.map(\.operation))")
        #expect(rows.count == stuck.count)
        for (row, item) in zip(rows, stuck) {
            #expect(row.contains(" \(item.operation) "), "\(row)")
        }
        #expect(lines[3].contains("HTTP Error"), "\(lines[3])")
    }

    @Test func retryNowHandsTheItemBackAndAuditsIt() throws {
        let practice = try Practice()
        let outbox = try Self.outbox(practice)
        let driver = try Self.driver(practice)
        let stuck = try outbox.items(Self.stuck, after: nil, limit: 2)
        driver.press("r")
        // An item the EHR refused for good is retried only after the warning (tested below).
        if driver.screenText.contains("Retry a refused item?") { driver.press("y") }
        let item = try #require(try outbox.item(id: stuck[0].id))
        #expect(item.status == .pending && item.nextAttemptAt! <= Clock.nowMillis())
        #expect(driver.screenText.contains("Retrying \(stuck[0].id) now"))
        let audit = try #require(try Self.operatorActions(practice).last)
        #expect(audit.action == "outbox.retry" && audit.detail?.contains(stuck[0].id) == true)
        // The item left the stuck view; the selection is on the one that took its place.
        driver.press("r")
        if driver.screenText.contains("Retry a refused item?") { driver.press("y") }
        #expect(try outbox.item(id: stuck[1].id)?.status == .pending)
    }

    @Test func bulkRetryActsOnExactlyTheSelectionAfterAConfirmThatDefaultsToCancel() throws {
        let practice = try Practice()
        let outbox = try Self.outbox(practice)
        let driver = try Self.driver(practice)
        let stuck = try outbox.items(Self.stuck, after: nil, limit: 3)
        driver.press("space", "j", "space")
        #expect(driver.screenText.contains("2 selected"))
        driver.press("R")
        #expect(driver.screenText.contains("Retry 2 selected items now?"))
        driver.press("enter")  // Cancel has the focus
        #expect(try outbox.item(id: stuck[0].id)?.status == stuck[0].status)
        #expect(try Self.operatorActions(practice).isEmpty)
        driver.press("R", "y")
        #expect(driver.screenText.contains("Retrying 2 of 2 now."))
        #expect(try outbox.item(id: stuck[0].id)?.status == .pending && outbox.item(id: stuck[1].id)?.status == .pending)
        #expect(try outbox.item(id: stuck[2].id)?.status == stuck[2].status, "an unselected item is left alone")
        #expect(try Self.operatorActions(practice).map(\.action) == ["outbox.retry", "outbox.retry"])
    }

    @Test func discardAsksWhyThenConfirmsAndRecordsTheReason() throws {
        let practice = try Practice()
        let outbox = try Self.outbox(practice)
        let driver = try Self.driver(practice)
        let first = try #require(try outbox.items(Self.stuck, after: nil, limit: 1).first)
        driver.press("x")
        driver.type("booked by the front desk")
        driver.press("enter")
        #expect(driver.screenText.contains("Discard \(first.id)?"))
        driver.press("enter")  // Cancel
        #expect(try outbox.item(id: first.id)?.status == first.status)
        driver.press("x")
        driver.type("booked by the front desk")
        driver.press("enter", "y")
        let item = try #require(try outbox.item(id: first.id))
        #expect(item.status == .discarded && item.lastError?.contains("booked by the front desk") == true)
        let audit = try #require(try Self.operatorActions(practice).last)
        #expect(audit.action == "outbox.discard" && audit.detail?.contains("booked by the front desk") == true)
    }

    /// Enter with no reason keeps the prompt open, and what is typed next is still the
    /// reason: it never reaches the list as keys (it once retried two items).
    @Test func anEmptyReasonKeepsThePromptAndTypedTextNeverBecomesCommands() throws {
        let practice = try Practice()
        let outbox = try Self.outbox(practice)
        let driver = try Self.driver(practice)
        let stuck = try outbox.items(Self.stuck, after: nil, limit: 3)
        driver.press("x", "enter")
        #expect(driver.messageLine.contains("A discard needs a reason"))
        #expect(driver.statusLine.contains("Why discard \(stuck[0].id)?"), "the prompt is still open")
        driver.type("rRjx")
        #expect(driver.statusLine.contains("rRjx"))
        for item in stuck { #expect(try outbox.item(id: item.id)?.status == item.status, "nothing was retried or discarded") }
        driver.press("esc")
        #expect(driver.messageLine.contains("Nothing discarded"))
        #expect(try Self.operatorActions(practice).isEmpty)
    }

    /// After `r` in details the details show the item as it is now; Esc says where it went.
    @Test func detailsFollowTheRetriedItemAndEscSaysWhereItWent() throws {
        let practice = try Practice()
        let outbox = try Self.outbox(practice)
        let driver = try Self.driver(practice)
        let first = try #require(try outbox.items(Self.stuck, after: nil, limit: 1).first)
        driver.press("enter")
        #expect(driver.screenText.contains("Outbox item \(first.id)"))
        driver.press("r")
        if driver.screenText.contains("Retry a refused item?") { driver.press("y") }
        #expect(driver.screenText.contains("Outbox item \(first.id)") && driver.screenText.contains("pending"), "details re-read")
        driver.press("esc")
        #expect(driver.messageLine.contains("no longer in Stuck"))
        let stuckCount = try outbox.countsByStatus()
        #expect(driver.figures.contains("\(stuckCount[.failed, default: 0]) failed"), "the counts agree with the database")
    }

    /// `x` in an item's details asks why over the details and goes back to them, cancelled
    /// or done (it went back to the list, away from the item being looked at).
    @Test func discardingFromDetailsStaysInTheDetails() throws {
        let practice = try Practice()
        let outbox = try Self.outbox(practice)
        let driver = try Self.driver(practice)
        let first = try #require(try outbox.items(Self.stuck, after: nil, limit: 1).first)
        driver.press("enter", "x")
        #expect(driver.statusLine.contains("Why discard \(first.id)?"))
        #expect(driver.screenText.contains("Outbox item \(first.id)"), "the details stay behind the prompt")
        driver.press("esc")
        #expect(driver.messageLine.contains("Nothing discarded"))
        #expect(driver.screenText.contains("Outbox item \(first.id)"), "\(driver.screenText)")
        driver.press("x")
        driver.type("the front desk rebooked it")
        driver.press("enter")
        #expect(driver.screenText.contains("Discard \(first.id)?") && driver.screenText.contains("Outbox item \(first.id)"))
        driver.press("y")
        #expect(try outbox.item(id: first.id)?.status == .discarded)
        #expect(driver.screenText.contains("Outbox item \(first.id)") && driver.screenText.contains("discarded"), "\(driver.screenText)")
    }

    /// A correction held for a decision never recorded (a crash between queueing and
    /// deciding) is released only once its own decision is on record; discard is allowed.
    @Test func aHeldCorrectionIsReleasedOnlyWithItsDecision() throws {
        let practice = try Practice()
        let outbox = try Self.outbox(practice)
        let booking = try #require(try practice.undecided().first)
        let at: UnixMillis = 1_700_000_000_000
        var held = sampleOutboxItem("ob-correction-held", createdAt: at)
        held.bookingId = booking.id
        held.idempotencyKey = "correction:\(booking.id):\(practice.user):\(at)"
        held.nextAttemptAt = OutboxItem.heldUntilDecided
        try outbox.enqueue([held])

        let driver = try Self.driver(practice)
        driver.press("/")
        driver.type("ob-correction-held")
        driver.press("enter")
        #expect(driver.screenText.lines[4].contains("held"))
        driver.press("r")
        #expect(driver.screenText.contains("no decision on booking \(booking.id) was recorded"))
        #expect(try outbox.item(id: held.id)?.isHeld == true)

        _ = try practice.audit.decide(ReviewDecision(bookingId: booking.id, decision: .corrected, category: "wrong_time",
                                                     operator: practice.user, decidedAt: at))
        driver.press("r")
        let released = try #require(try outbox.item(id: held.id))
        #expect(released.status == .pending && !released.isHeld)
    }

    @Test func onlyOperatorsActAndReadOnlyHasNoWritingKeys() throws {
        let practice = try Practice()
        let outbox = try Self.outbox(practice)
        let first = try #require(try outbox.items(Self.stuck, after: nil, limit: 1).first)

        let reviewer = try Self.driver(practice, role: .reviewer)
        reviewer.press("r")
        #expect(reviewer.screenText.contains("need the operator role"))
        reviewer.press("x")
        #expect(!reviewer.screenText.contains("Why discard"))

        let readOnly = try Self.driver(practice, readOnly: true)
        let footer = try #require(readOnly.screenText.lines.last)
        #expect(!footer.contains("retry") && !footer.contains("discard") && footer.contains("details"))
        readOnly.press("r", "x")
        #expect(try outbox.item(id: first.id)?.status == first.status)
        #expect(try Self.operatorActions(practice).isEmpty)
    }

    @Test func detailsShowTheRequestEveryAttemptAndTheBooking() throws {
        let practice = try Practice()
        let outbox = try Self.outbox(practice)
        let driver = try Self.driver(practice)
        driver.press("/")
        driver.type("bk-")
        driver.press("enter", "enter")
        let screen = driver.screenText
        #expect(screen.contains("Outbox item ob-") && screen.contains("Request") && screen.contains("Method")
                && screen.contains("Idempotency-Key"))
        #expect(screen.contains("Attempts") && screen.contains("#1"))
        driver.press("G")
        #expect(driver.screenText.contains("Booking bk-"), "the booking is at the end of the details")
        let id = try #require(screen.firstMatch(of: /Outbox item (\S+)/).map { String($0.1) })
        #expect(try !outbox.attempts(ofItem: id).isEmpty)
        driver.press("esc")
        #expect(driver.screenText.contains("HTTP Error"), "back on the list")
    }

    @Test func filterFindsErrorTextAndEscClearsIt() throws {
        let practice = try Practice()
        let driver = try Self.driver(practice)
        driver.press("/")
        driver.type("slot is NOT")
        driver.press("enter")
        let rows = driver.screenText.lines.dropFirst(4).dropLast(3).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        #expect(!rows.isEmpty && rows.allSatisfy { $0.contains("dead") && $0.contains("422") })
        #expect(driver.screenText.contains("filter: slot is NOT"))
        driver.press("esc")
        #expect(!driver.screenText.contains("filter:"))
    }

    @Test func withoutAnOutboxDatabaseTheScreenSaysSo() throws {
        let practice = try Practice(calls: 50)
        var configuration = practice.configuration(role: .operator)
        configuration.outboxPath = nil
        let console = try ConsoleRunner.prepare(configuration: configuration, warnings: [], environment: practice.environment)
        let driver = ProgramDriver(console, size: Size(width: 100, height: 30))
        driver.press("4")
        #expect(driver.screenText.contains("No outbox database is configured"))
        driver.press("r", "v", "enter", "/")
        #expect(driver.tabBar.contains("4 Outbox") && driver.screenText.contains("No outbox database is configured"))
    }
}

private extension String {
    /// The screen's lines.
    var lines: [String] { components(separatedBy: "\n") }
}

/// The Outbox screen's on-call tools (issue 11): the whole view in one confirm, the warning
/// before retrying what the EHR refused for good, and "paused" while the EHR is in queue mode.
@Suite struct OutboxOnCallTests {
    typealias Practice = ReviewScreenTests.Practice

    @Test func withNothingSelectedRRetriesTheWholeViewAfterAConfirmWithTheCount() throws {
        let practice = try Practice()
        let outbox = try OutboxScreenTests.outbox(practice)
        let driver = try OutboxScreenTests.driver(practice)
        let stuck = try outbox.items(OutboxScreenTests.stuck, after: nil, limit: 1_000).filter { !$0.isHeld }
        try #require(stuck.count > 2)
        driver.press("R")
        #expect(driver.screenText.contains("Retry all \(stuck.count) items in Stuck now?"), "\(driver.screenText)")
        driver.press("y")
        for item in stuck { #expect(try outbox.item(id: item.id)?.status == .pending, "\(item.id) retried") }
    }

    @Test func retryingWhatTheEHRRefusedForGoodAsksFirstAndSaysWhatToDoInstead() throws {
        let practice = try Practice()
        let outbox = try OutboxScreenTests.outbox(practice)
        let driver = try OutboxScreenTests.driver(practice)
        let refused = try #require(try outbox.items(OutboxScreenTests.stuck, after: nil, limit: 1_000).first {
            ($0.lastHttpStatus ?? 0) >= 400 && ($0.lastHttpStatus ?? 0) < 500 && ![408, 429].contains($0.lastHttpStatus ?? 0)
        })
        driver.press("/")
        driver.type(refused.id)
        driver.press("enter", "r")
        #expect(driver.screenText.contains("Retry a refused item?") && driver.screenText.contains("Instead:"), "\(driver.screenText)")
        driver.press("enter")  // Cancel has the focus
        #expect(try outbox.item(id: refused.id)?.status == refused.status)
        driver.press("r", "y")
        #expect(try outbox.item(id: refused.id)?.status == .pending)
    }

    @Test func xCapitalDiscardsTheWholeFilteredViewWithAReason() throws {
        let practice = try Practice()
        let outbox = try OutboxScreenTests.outbox(practice)
        let driver = try OutboxScreenTests.driver(practice)
        driver.press("/")
        driver.type("slot is NOT")
        driver.press("enter")
        let matching = try outbox.items(OutboxScreenTests.stuck, after: nil, limit: 1_000)
            .filter { $0.lastError?.range(of: "slot is NOT", options: .caseInsensitive) != nil }
        try #require(!matching.isEmpty)
        driver.press("X")
        #expect(driver.statusLine.contains("Why discard all \(matching.count) item"), "\(driver.statusLine)")
        driver.type("booked by phone")
        driver.press("enter", "y")
        for item in matching { #expect(try outbox.item(id: item.id)?.status == .discarded) }
    }

    @Test func waitingItemsArePausedWhileTheEHRIsInQueueMode() throws {
        let practice = try Practice()
        let driver = try OutboxScreenTests.driver(practice)
        driver.press("v")  // pending
        driver.post(.stream(.event(id: "1", .ehrState(.init(state: .queueMode, at: Clock.nowMillis())))))
        #expect(driver.rows.contains { $0.contains("paused") }, "\(driver.rows)")
        #expect(driver.figures.contains("QUEUE MODE since"), "\(driver.figures)")
    }
}

extension OutboxOnCallTests {
    /// `*` selects every item the view holds (again: none); R then asks with their count.
    @Test func starSelectsTheViewAndRAsksWithItsCount() throws {
        let practice = try Practice()
        let driver = try OutboxScreenTests.driver(practice)
        let shown = driver.rows.count - 1  // under the view tabs, the column titles
        driver.press("*")
        let selected = try #require(driver.statusLine.firstMatch(of: /(\d+) selected/).map { Int($0.1)! })
        #expect(selected >= shown, "every row on screen, and those held around them: \(driver.statusLine)")
        driver.press("R")
        #expect(driver.screenText.contains("Retry \(selected) selected items now?"))
        driver.press("esc", "*")
        #expect(!driver.statusLine.contains("selected"))
    }

    /// `[alerts] bell = true`: the terminal's bell rings when an alert starts.
    @Test func theBellRingsWhenAnAlertStarts() throws {
        let practice = try Practice()
        var configuration = practice.configuration(role: .operator)
        configuration.alerts.bell = true
        let console = try ConsoleRunner.prepare(configuration: configuration, warnings: [], environment: practice.environment)
        let driver = ProgramDriver(console, size: Size(width: 120, height: 30))
        #expect(driver.figures.contains("alert"))
        #expect(driver.terminal.bells == 1, "once for the alerts that started")
        let quiet = try practice.driver(role: .operator)
        #expect(quiet.terminal.bells == 0, "no bell unless asked for")
    }
}
