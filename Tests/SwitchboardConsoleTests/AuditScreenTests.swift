import Foundation
import SwitchboardConsole
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import SwitchboardTesting
import TerminalUI
import Testing

/// The Audit screen through the real loop on generated files: the chain newest first,
/// paging both ways, filter tokens, every field of a row, and verifying the chain, intact
/// and after tampering with a copy.
@Suite struct AuditScreenTests {
    typealias Practice = ReviewScreenTests.Practice

    static func driver(_ configuration: ConsoleConfiguration, _ practice: Practice) throws -> ProgramDriver<Console> {
        let console = try ConsoleRunner.prepare(configuration: configuration, warnings: [], environment: practice.environment)
        let driver = ProgramDriver(console, size: Size(width: 120, height: 30))
        driver.press("5")
        return driver
    }

    /// The seq of each row on screen, top to bottom.
    static func seqs(_ driver: ProgramDriver<Console>) -> [Int64] {
        driver.rows.compactMap {
            $0.split(separator: " ").first.flatMap { Int64($0) }
        }
    }

    static func lastSeq(_ practice: Practice) throws -> Int64 {
        try #require(try practice.audit.auditEvents(limit: 1).first?.seq)
    }

    @Test func newestFirstPagesOlderAndBackAndReachesBothEnds() throws {
        let practice = try Practice()
        let driver = try Self.driver(practice.configuration(), practice)
        let last = try Self.lastSeq(practice)
        #expect(driver.currentScreen == "Audit")
        for title in ["Seq", "Time", "Actor", "Action", "Resource", "HTTP", "ms", "Out", "Call"] {
            #expect(driver.columnTitles.contains(title), "column \(title)")
        }
        let first = Self.seqs(driver)
        #expect(first.first == last && first == Array(stride(from: last, to: last - Int64(first.count), by: -1)), "newest first, one by one")
        driver.press("pagedown", "pagedown", "pagedown")
        let older = Self.seqs(driver)
        #expect(older.max()! < first.min()!, "PgDn reads older rows")
        driver.press("pageup", "pageup", "pageup")
        #expect(Self.seqs(driver).contains(last), "PgUp comes back to the newest")
        driver.press("G")
        #expect(Self.seqs(driver).last == 1, "G: the first row of the chain is last")
        driver.press("g")
        #expect(Self.seqs(driver).first == last)
        // The agent appends while the list is open: the new row is on top, the selection stays.
        driver.press("j")
        try practice.audit.append([AuditEvent(at: Clock.nowMillis(), actor: "agent:test", action: "slot.search", outcome: .success)])
        driver.post(.databasesChanged)
        driver.press("g")
        #expect(Self.seqs(driver).first == last + 1)
        // On the newest row, the list follows what arrives, as tail -f does.
        try practice.audit.append([AuditEvent(at: Clock.nowMillis(), actor: "agent:test", action: "slot.search", outcome: .success)])
        driver.post(.databasesChanged)
        #expect(Self.seqs(driver).first == last + 2, "followed to the newest row")
        // Anywhere else, the selection stays where the operator put it.
        driver.press("j", "j")
        let watched = Self.seqs(driver)
        try practice.audit.append([AuditEvent(at: Clock.nowMillis(), actor: "agent:test", action: "slot.search", outcome: .success)])
        driver.post(.databasesChanged)
        #expect(Self.seqs(driver).first == watched.first, "the watched rows stay where they were")
    }

    /// At 80 columns the action was cut to `communicatio…` and `appointment.…` (create,
    /// update or cancel?) while the call column kept 12 columns of an id.
    @Test func atEightyColumnsTheActionIsWhole() throws {
        let practice = try Practice()
        try practice.audit.append([AuditEvent(at: Clock.nowMillis(), actor: "agent:test", action: "communication.create", outcome: .success)])
        let console = try ConsoleRunner.prepare(configuration: practice.configuration(), warnings: [], environment: practice.environment)
        let driver = ProgramDriver(console, size: Size(width: 80, height: 24))
        driver.press("5")
        #expect(driver.rows.first?.contains(" communication.create ") == true, "\(driver.screenText)")
        #expect(!driver.columnTitles.contains("Call"), "the call gives way: \(driver.columnTitles)")
        driver.press("enter")
        #expect(driver.screenText.contains("communication.create"))
    }

    @Test func filterTokensNarrowTheChainAndABadTokenIsRefusedByName() throws {
        let practice = try Practice()
        let driver = try Self.driver(practice.configuration(), practice)
        let call = try #require(try practice.audit.auditEvents(matching: AuditFilter(action: "appointment.create"), limit: 1).first?.callId)
        driver.press("/")
        driver.type("action:appointment.create call:\(call)")
        driver.press("enter")
        let expected = try practice.audit.auditEvents(matching: AuditFilter(callId: call, action: "appointment.create"), limit: 50).compactMap(\.seq)
        #expect(!expected.isEmpty && Self.seqs(driver) == expected)
        #expect(driver.screenText.contains("filter: action:appointment.create call:\(call)"))

        driver.press("esc", "/")
        driver.type("outcome:8")
        driver.press("enter")
        let failures = Self.seqs(driver)
        let worst = try practice.audit.auditEvents(matching: AuditFilter(minimumOutcome: .seriousFailure), limit: 200).compactMap(\.seq)
        #expect(!failures.isEmpty && failures == Array(worst.prefix(failures.count)), "outcome:8 is serious failures or worse")

        driver.press("/")
        driver.type("action:slot.search colour:blue")
        driver.press("enter")
        #expect(driver.screenText.contains("“colour:blue” not understood"))
        #expect(Self.seqs(driver) == failures, "a bad token leaves the list as it was")
        #expect(driver.screenText.contains("filter: outcome:8"))

        driver.press("/")
        driver.type("actor:operator:nobody")
        driver.press("enter")
        #expect(driver.screenText.contains("No audit row matches the filter."))
        driver.press("esc")
        #expect(Self.seqs(driver).first == (try Self.lastSeq(practice)), "Esc clears the filter")
    }

    @Test func enterShowsEveryFieldWithTheDetailPrettyPrintedAndTheHashes() throws {
        let practice = try Practice()
        let driver = try Self.driver(practice.configuration(), practice)
        let search = try #require(try practice.audit.auditEvents(matching: AuditFilter(action: "patient.search"), limit: 1).first)
        driver.press("/")
        driver.type("action:patient.search")
        driver.press("enter", "enter")
        let screen = driver.screenText
        #expect(screen.contains("Audit row \(search.seq!)"))
        #expect(screen.contains(search.actor) && screen.contains("GET Patient") && screen.contains("\(search.latencyMs ?? 0) ms"))
        #expect(screen.contains(#""by" : "#), "the detail JSON is pretty-printed")
        #expect(screen.contains(search.prevHash) && screen.contains(search.hash))
        driver.press("esc")
        #expect(driver.screenText.contains("Seq"))
    }

    @Test func verifyReportsTheChainIntactThroughItsLastRow() throws {
        let practice = try Practice()
        let driver = try Self.driver(practice.configuration(), practice)
        #expect(driver.screenText.contains("v verify chain"), "the footer offers it")
        driver.press("v")
        let last = try Self.lastSeq(practice)
        #expect(driver.figures.contains("chain intact through seq \(last)"))
    }

    @Test func vAgainOrEscStopsAVerificationUnderWay() throws {
        let practice = try Practice()
        let driver = try Self.driver(practice.configuration(), practice)
        for second in [Key.char("v"), .escape] {
            // Both keys in one batch: the second is handled before the first chunk can answer.
            driver.terminal.push([.char("v"), second])
            driver.waitUntilIdle()
            let screen = driver.screenText
            #expect(screen.contains("Chain verification cancelled") && !screen.contains("chain intact"), "stopped by \(second)")
        }
    }

    @Test func verifySaysBrokenAtTheRowSomeoneEdited() throws {
        let practice = try Practice()
        let copy = practice.scratch.path("tampered.sqlite")
        _ = try sqlite3(practice.auditPath, ".backup '\(copy)'")
        let target = try Self.lastSeq(practice) / 2
        // The append-only triggers stop accidents, not someone with the file.
        _ = try sqlite3(copy, """
            DROP TRIGGER audit_event_is_append_only_update;
            UPDATE audit_event SET latency_ms = coalesce(latency_ms, 0) + 1 WHERE seq = \(target);
            """)
        var configuration = practice.configuration()
        configuration.auditPath = copy
        let driver = try Self.driver(configuration, practice)
        driver.press("v")
        let screen = driver.screenText
        #expect(driver.figures.contains("BROKEN at seq \(target): hash does not match the row's content"))
        #expect(screen.contains("Audit chain BROKEN at seq \(target)"))
    }

    /// `v` checks the agent's signed checkpoints too: rows deleted at the end, which the
    /// walk alone cannot see, are named.
    @Test func verifySaysBrokenWhereRowsWereDeletedAtTheEnd() throws {
        let practice = try Practice()
        let copy = practice.scratch.path("signed.sqlite")
        _ = try sqlite3(practice.auditPath, ".backup '\(copy)'")
        let keys = practice.scratch.url.appendingPathComponent("agent")
        try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
        let signed = try AuditStore(path: copy, mode: .readWrite)
        try CheckpointSigner(audit: signed, keyDirectory: keys, everyRows: 100).signHistory()
        try signed.close()
        let last = try Self.lastSeq(practice)
        _ = try sqlite3(copy, "DROP TRIGGER audit_event_is_append_only_delete; DELETE FROM audit_event WHERE seq > \(last - 5);")
        var configuration = practice.configuration()
        configuration.auditPath = copy
        configuration.auditKeyPath = keys.appendingPathComponent(CheckpointKeys.publicName).path
        let driver = try Self.driver(configuration, practice)
        driver.press("v")
        let screen = driver.screenText
        #expect(driver.figures.contains("BROKEN at seq \(last - 4)"), "\(screen)")
        #expect(screen.contains("missing at the end"))
    }
}
