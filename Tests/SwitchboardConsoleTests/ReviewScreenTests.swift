import Foundation
import SwitchboardConsole
import SwitchboardCore
import SwitchboardOperations
import SwitchboardSim
import SwitchboardStore
import SwitchboardTesting
import TerminalUI
import Testing

/// The Review screen driven through the real loop (keys in, cell grid out) on real
/// SQLite files: what a manager sees and what each key writes.
@Suite struct ReviewScreenTests {
    /// A generated practice whose go-live window holds every booking, ending now.
    final class Practice: @unchecked Sendable {
        let scratch: Scratch
        let audit: AuditStore
        var auditPath: String { scratch.path("audit.sqlite") }
        var outboxPath: String { scratch.path("outbox.sqlite") }

        init(calls: Int = 400, hostile: Bool = false, name: String = #function) throws {
            scratch = Scratch(name)
            let now = Clock.nowMillis()
            audit = try AuditStore(path: scratch.path("audit.sqlite"), mode: .create)
            let outbox = try OutboxStore(path: scratch.path("outbox.sqlite"), mode: .create)
            _ = try HistoryGenerator(plan: HistoryPlan(calls: calls, seed: 11, endsAt: now, spanMillis: 30 * 3_600_000,
                                                       windowStart: now - 30 * 3_600_000, hostileData: hostile))
                .write(audit: audit, outbox: outbox)
        }

        func configuration(role: OperatorRole = .reviewer, readOnly: Bool = false) -> ConsoleConfiguration {
            var c = ConsoleConfiguration()
            c.auditPath = auditPath
            c.outboxPath = outboxPath
            c.defaultRole = role
            c.readOnly = readOnly
            c.theme = "default"
            return c
        }

        var environment: [String: String] { ["HOME": scratch.url.path, "XDG_CONFIG_HOME": scratch.url.path] }
        /// Who the console says is at the keyboard (the OS user running the tests).
        var user: String { OperatorIdentity.current(configuration: configuration(), environment: environment).user }

        func driver(role: OperatorRole = .reviewer, readOnly: Bool = false, size: Size = Size(width: 100, height: 30)) throws -> ProgramDriver<Console> {
            let console = try ConsoleRunner.prepare(configuration: configuration(role: role, readOnly: readOnly), warnings: [],
                                                    environment: environment)
            return ProgramDriver(console, size: size)
        }

        /// Undecided bookings in queue order, from the database itself.
        func undecided() throws -> [ReviewItem] { try audit.reviewQueue(ReviewFilter(undecidedOnly: true), limit: 1000) }
        func decision(_ id: String) throws -> ReviewDecision? { try audit.decision(bookingId: id) }
        func decisionCount() throws -> Int { try audit.summary(now: 0).bookingsDecided }
        deinit { scratch.cleanUp() }
    }

    @Test func firstFrameShowsTheQueueOldestUndecidedFirst() throws {
        let practice = try Practice()
        let driver = try practice.driver()
        #expect(driver.tabBar.contains("1 Review") && driver.tabBar.contains("5 Audit"))
        #expect(driver.figures.contains("window") && driver.figures.contains("undecided"))
        for title in ["Booked", "Patient", "Provider", "Type", "Appt", "Kind", "Why", "Age", "Status"] {
            #expect(driver.columnTitles.contains(title), "column \(title)")
        }
        let oldest = try #require(try practice.undecided().first)
        #expect(driver.rows[0].contains(String(oldest.booking.patientDisplay!.prefix(8))), "first row is the oldest undecided booking")
        #expect(driver.footer.contains("a approve") && driver.footer.contains("c correct") && driver.footer.contains("? help"))
        #expect(driver.figures.contains("\(try practice.undecided().count) undecided"))
    }

    /// At 80 columns Why has 3: words were cut to `ne…` (new patient and near-duplicate
    /// alike). It now gives each flag a letter, which `?` explains; wide, the words.
    @Test func atEightyColumnsWhySaysItInLettersThatHelpExplains() throws {
        let practice = try Practice()
        let queue = try practice.audit.reviewQueue(limit: 40)
        func flags(_ item: ReviewItem) -> [ReviewFlag] { ReviewFlag.decodeWords(item.booking.flags).compactMap(ReviewFlag.init).filter { $0 != .goLive } }
        /// Each row's Why cell, read from the grid between the Why and Age titles (Age is right-aligned, 6 wide).
        func whyCells(_ driver: ProgramDriver<Console>) -> [String] {
            let header = driver.columnTitles
            let whyX = header.distance(from: header.startIndex, to: header.range(of: "Why")!.lowerBound)
            let ageX = header.distance(from: header.startIndex, to: header.range(of: "Age")!.upperBound) - 6
            return (3..<(driver.grid.size.height - 3)).map { y in
                (whyX..<(ageX - 1)).map { driver.grid[$0, y].text }.joined().trimmingCharacters(in: .whitespaces)
            }
        }
        let narrow = try practice.driver(size: Size(width: 80, height: 24))
        let letters = whyCells(narrow)
        let legend = Set(ReviewFlag.allCases.map(\.letter) + PitfallFlag.allCases.map(\.letter) + ["?", "…"])
        for (cell, item) in zip(letters, queue) {
            #expect(cell.hasPrefix(flags(item).map(\.letter).joined()), "row \(item.id): \(cell)")
            #expect(cell.allSatisfy { legend.contains(String($0)) }, "row \(item.id): \(cell)")
        }
        #expect(Set(letters.joined()).count >= 2, "the rows' flags told apart: \(letters)")
        narrow.press("?")
        var scrolled = 0
        while !narrow.screenText.contains("N            new patient"), scrolled < 80 { narrow.press("j"); scrolled += 1 }
        #expect(narrow.screenText.contains("new patient") && narrow.screenText.contains("near-duplicate"), "\(narrow.screenText)")

        let wide = try practice.driver(size: Size(width: 200, height: 50))
        for (cell, item) in zip(whyCells(wide), queue) {
            #expect(cell.hasPrefix(flags(item).map(\.label).joined(separator: ", ")), "row \(item.id): \(cell)")
        }
    }

    @Test func approveWritesOnceMovesOnAndUndoTakesItBack() throws {
        let practice = try Practice()
        let driver = try practice.driver()
        let queue = try practice.undecided()
        driver.press("a")
        let decided = try #require(try practice.decision(queue[0].id))
        #expect(decided.decision == .approved && decided.operator == practice.user)
        #expect(driver.messageLine.contains("Approved \(queue[0].booking.patientDisplay!)'s booking"), "names the patient, not an id")
        #expect(driver.messageLine.contains("u undoes"))
        // The selection moved on to the next booking: a second `a` approves that one.
        driver.press("a")
        #expect(try practice.decision(queue[1].id) != nil)
        driver.press("u")
        #expect(try practice.decision(queue[1].id) == nil, "undo takes back the last approval")
        #expect(try practice.decision(queue[0].id) != nil, "and only that one")
        #expect(driver.screenText.contains("undone"))
        let actions = try practice.audit.auditEvents(matching: AuditFilter(actor: "operator:\(practice.user)"), limit: 10).reversed().map(\.action)
        #expect(actions == ["review.approve", "review.approve", "review.undo"])
    }

    @Test func newBookingsArriveWithoutMovingTheSelection() throws {
        let practice = try Practice()
        let driver = try practice.driver()
        let queue = try practice.undecided()
        driver.press("j", "j")
        // The agent books more while the manager looks: older ones sort above the selection.
        try practice.audit.recordAgentWork(bookings: (0..<5).map {
            sampleBooking("bk-late-\($0)", bookedAt: queue[0].booking.bookedAt + 1 + Int64($0))
        })
        driver.post(.databasesChanged)
        driver.waitUntilIdle()
        #expect(driver.screenText.contains("Ann Lee"), "the new bookings are on screen")
        driver.press("a")
        #expect(try practice.decision(queue[2].id) != nil, "the key hit the row that was selected, not the one now at its index")
        #expect(try practice.decision(queue[1].id) == nil && practice.decision("bk-late-0") == nil)
    }

    @Test func bulkApproveActsOnExactlyTheSelectionAfterAConfirmThatDefaultsToCancel() throws {
        let practice = try Practice()
        let driver = try practice.driver()
        let queue = try practice.undecided()
        let before = try practice.decisionCount()
        driver.press("space", "j", "space", "j", "space")
        #expect(driver.screenText.contains("3 selected"))
        driver.press("A")
        #expect(driver.screenText.contains("Approve 3 selected bookings?"))
        driver.press("enter")  // the focused choice is Cancel
        #expect(try practice.decisionCount() == before)
        driver.press("A", "y")
        let after = try practice.decisionCount()
        #expect(after == before + 3)
        for item in queue.prefix(3) { #expect(try practice.decision(item.id)?.operator == practice.user) }
        #expect(try practice.decision(queue[3].id) == nil)
    }

    @Test func viewersSeeInitialsAndCannotDecide() throws {
        let practice = try Practice()
        let driver = try practice.driver(role: .viewer)
        let first = try #require(try practice.undecided().first?.booking.patientDisplay)
        #expect(!driver.screenText.contains(first))
        let before = try practice.decisionCount()
        driver.press("a")
        #expect(try practice.decisionCount() == before)
        #expect(driver.screenText.contains("viewer"))
    }

    @Test func readOnlyHasNoWritingKeys() throws {
        let practice = try Practice()
        let driver = try practice.driver(readOnly: true)
        let footer = driver.screenText.split(separator: "\n").last!
        #expect(!footer.contains("approve") && footer.contains("details"))
        let before = try practice.decisionCount()
        driver.press("a")
        #expect(try practice.decisionCount() == before)
        #expect(driver.screenText.contains("read-only"))
    }

    @Test func detailsShowTheCallStepByStep() throws {
        let practice = try Practice()
        let driver = try practice.driver()
        driver.press("enter")
        let screen = driver.screenText
        #expect(screen.contains("Booking ") && screen.contains("Steps (audit)") && screen.contains("patient.search"))
        driver.press("esc")
        #expect(driver.screenText.contains("Booked") && !driver.screenText.contains("Steps (audit)"))
    }

    @Test func filterNarrowsTheListAndEscClearsIt() throws {
        let practice = try Practice()
        let driver = try practice.driver()
        driver.press("/")
        driver.type("tanaka")
        driver.press("enter")
        let rows = driver.rows
        #expect(!rows.isEmpty && rows.allSatisfy { $0.contains("dr-tanaka") })
        #expect(driver.screenText.contains("filter: tanaka"))
        driver.press("esc")
        #expect(!driver.screenText.contains("filter: tanaka"))
        // Esc on the open filter line clears it too, as its footer says.
        driver.press("/")
        driver.type("tanaka")
        #expect(driver.rows.allSatisfy { $0.contains("dr-tanaka") })
        driver.press("esc")
        #expect(!driver.screenText.contains("filter: tanaka") && !driver.rows.allSatisfy { $0.contains("dr-tanaka") })
    }

    @Test func twoManagersOnOneBookingExactlyOneDecisionTheOtherIsTold() throws {
        let practice = try Practice()
        let maria = try practice.driver()
        let devon = try practice.driver()
        let first = try #require(try practice.undecided().first)
        maria.press("a")
        devon.press("a")
        #expect(try practice.decision(first.id)?.operator == practice.user)
        #expect(try practice.audit.reviewItem(bookingId: first.id)?.decision?.operator == practice.user)
        #expect(devon.screenText.contains("already approved by \(practice.user)"))
    }

    @Test func hostileNamesAreDrawnInert() throws {
        let practice = try Practice(calls: 1500, hostile: true)
        let driver = try practice.driver()
        driver.press("/")
        driver.type("Mallory")
        driver.press("enter")
        let screen = driver.screenText
        #expect(screen.contains("␛"), "the escape is shown as a visible glyph")
        #expect(!screen.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || (0x80...0x9F).contains($0.value) || $0 == "\u{202E}" })
        driver.press("enter")
        #expect(!driver.screenText.unicodeScalars.contains { $0.value == 0x1B })
    }

    @Test func commandLineSwitchesByNameWithCompletionAndHelpListsTheLiveKeys() throws {
        let practice = try Practice()
        let driver = try practice.driver()
        driver.press(":")
        driver.type("rev")
        driver.press("tab")
        #expect(driver.screenText.contains(":review"))
        driver.press("enter")
        driver.press(":")
        driver.type("nope")
        driver.press("enter")
        #expect(driver.screenText.contains("No such screen or command: nope"))
        driver.press("?")
        #expect(driver.screenText.contains("Approve the booking") && driver.screenText.contains("Keys"))
        driver.press("esc", "q")
        #expect(driver.isFinished)
    }

    @Test func aTooSmallTerminalSaysWhatItNeeds() throws {
        let practice = try Practice()
        let driver = try practice.driver(size: Size(width: 60, height: 20))
        #expect(driver.screenText.contains("Terminal too small") && driver.screenText.contains("need 80x24, have 60x20"))
        driver.resize(to: Size(width: 80, height: 24))
        #expect(driver.tabBar.contains("1 Review") && driver.columnTitles.contains("Patient"))
    }
}

extension ReviewScreenTests {
    /// The lock takes a password (PAM) from here on: ConsoleLockTests; Enter alone no longer unlocks.
    @Test func idleConsoleLocksAndHidesPatientsAndEnterAloneDoesNotUnlock() throws {
        let practice = try Practice()
        let clock = ManualWallClock()
        let console = try ConsoleRunner.prepare(configuration: practice.configuration(), warnings: [],
                                                environment: practice.environment, now: { clock.now })
        let driver = ProgramDriver(console, size: Size(width: 100, height: 30))
        func wait(_ seconds: Double) {
            clock.advance(seconds)
            driver.advance(by: seconds)
        }
        let name = try #require(try practice.undecided().first?.booking.patientDisplay)
        #expect(driver.screenText.contains(String(name.prefix(8))))
        wait(14 * 60)
        driver.press("j")
        wait(14 * 60)
        #expect(!driver.screenText.contains("locked"), "a key restarts the idle time")
        wait(61)
        #expect(driver.screenText.contains("Switchboard is locked") && !driver.screenText.contains(String(name.prefix(8))))
        let before = try practice.decisionCount()
        driver.press("a")
        #expect(try practice.decisionCount() == before)
        #expect(driver.screenText.contains("locked"), "keys do nothing while locked (they are the password)")
        driver.press("esc", "enter")
        #expect(driver.screenText.contains("Switchboard is locked") && !driver.screenText.contains(String(name.prefix(8))))
        #expect(driver.screenText.contains("Type your password, then Enter."))
    }

    @Test func remappedKeysReachTheHandlerTheFooterAndHelp() throws {
        let practice = try Practice()
        var configuration = practice.configuration()
        configuration.keys = ["approve": ["x"]]
        let console = try ConsoleRunner.prepare(configuration: configuration, warnings: [], environment: practice.environment)
        let driver = ProgramDriver(console, size: Size(width: 100, height: 30))
        let first = try #require(try practice.undecided().first)
        #expect(driver.screenText.contains("x approve"))
        driver.press("a")
        #expect(try practice.decision(first.id) == nil, "the old key no longer approves")
        driver.press("x")
        #expect(try practice.decision(first.id) != nil)
        driver.press("?")
        #expect(driver.screenText.contains("x            Approve the booking"))
    }
}

extension ReviewScreenTests {
    @Test func commandLineRemembersEarlierCommands() throws {
        let practice = try Practice()
        let driver = try practice.driver()
        driver.press(":")
        driver.type("review")
        driver.press("enter", ":", "up")
        #expect(driver.screenText.contains(":review"), "Up brings back the last command")
    }
}

/// Wall-clock time a test moves by hand, for the console's `now`.
final class ManualWallClock: @unchecked Sendable {
    private let lock = NSLock()
    private var millis = Clock.nowMillis()
    var now: UnixMillis { lock.withLock { millis } }
    func advance(_ seconds: Double) { lock.withLock { millis += UnixMillis(seconds * 1000) } }
}

extension ReviewScreenTests {
    /// A console on `bookings` (in a go-live window that started an hour ago) with an EHR
    /// configured that nobody answers at: what it would say comes as posted messages.
    static func consoleWithSilentEHR(_ scratch: Scratch, bookings: [Booking], size: Size) throws -> ProgramDriver<Console> {
        let audit = try AuditStore(path: scratch.path("audit.sqlite"), mode: .create)
        _ = try OutboxStore(path: scratch.path("outbox.sqlite"), mode: .create)
        try audit.recordAgentWork(bookings: bookings)
        var configuration = ConsoleConfiguration()
        configuration.auditPath = scratch.path("audit.sqlite")
        configuration.outboxPath = scratch.path("outbox.sqlite")
        configuration.goLiveStart = Clock.nowMillis() - 3_600_000
        configuration.theme = "default"
        configuration.ehrBaseURL = "http://127.0.0.1:9/fhir"
        let environment = ["HOME": scratch.url.path, "XDG_CONFIG_HOME": scratch.url.path]
        return ProgramDriver(try ConsoleRunner.prepare(configuration: configuration, warnings: [], environment: environment), size: size)
    }

    /// bk-1, then bk-2 that moves or cancels bk-1's appointment (a later call), then bk-3
    /// that nobody changed.
    static func bookingChangedLater(by kind: BookingKind) -> [Booking] {
        let now = Clock.nowMillis()
        var later = sampleBooking("bk-2", bookedAt: now - 60_000)
        later.kind = kind
        later.appointmentRef = "Appointment/bk-1"
        later.appointmentVersion = "2"
        if kind == .reschedule {
            later.startAt += 3_600_000
            later.endAt += 3_600_000
        }
        return [sampleBooking("bk-1", bookedAt: now - 120_000), later, sampleBooking("bk-3", bookedAt: now - 30_000)]
    }

    /// A later call moved the appointment: correcting the first booking would be refused
    /// (412), so `c` says so and selects the later booking, which `c` then corrects.
    @Test func aBookingMovedByALaterCallPointsToThatOne() throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        // The check and the form need none of the EHR's answers.
        let driver = try Self.consoleWithSilentEHR(scratch, bookings: Self.bookingChangedLater(by: .reschedule), size: Size(width: 120, height: 30))
        driver.press("c")
        #expect(driver.messageLine.contains("That appointment was moved by a later call"), "\(driver.screenText)")
        #expect(!driver.screenText.contains("Correct bk-1"))
        driver.press("c")
        #expect(driver.screenText.contains("Correct bk-2"), "the later booking is selected and corrected")
        // A booking nobody changed since opens the form at once.
        driver.press("esc", "j", "c")
        #expect(driver.screenText.contains("Correct bk-3"))
    }

    /// `c` in a booking's details (the footer offers it there) did nothing: the check's
    /// answer was dropped unless the list was showing.
    @Test func correctingFromTheDetailsWorksAsFromTheList() throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let driver = try Self.consoleWithSilentEHR(scratch, bookings: Self.bookingChangedLater(by: .cancel), size: Size(width: 120, height: 30))
        driver.press("enter")
        #expect(driver.screenText.contains("Booking bk-1"))
        driver.press("c")
        #expect(driver.messageLine.contains("That appointment was cancelled by a later call"), "\(driver.screenText)")
        #expect(!driver.screenText.contains("Booking bk-1"), "the list, with the later booking selected, takes the details' place")
        driver.press("enter")
        #expect(driver.screenText.contains("Booking bk-2"), "\(driver.screenText)")
        driver.press("esc", "j", "enter", "c")
        #expect(driver.screenText.contains("Correct bk-3"), "\(driver.screenText)")
    }

    /// At 80 columns a message's end (what to do next) was cut off: a long one goes on
    /// onto the status line while it shows, never over the rows.
    @Test func atEightyColumnsALongMessageIsReadWhole() throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let driver = try Self.consoleWithSilentEHR(scratch, bookings: Self.bookingChangedLater(by: .reschedule), size: Size(width: 80, height: 24))
        let rowsBefore = driver.rows.count
        driver.press("c")
        let message = driver.messageLine.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        #expect(message.hasPrefix("That appointment was moved by a later call") && message.hasSuffix("it is now selected."), "\(driver.screenText)")
        #expect(driver.rows.count == rowsBefore, "the rows keep their place")
        #expect(!driver.statusLine.contains("/3"), "the status line lends its row meanwhile")
    }
}
