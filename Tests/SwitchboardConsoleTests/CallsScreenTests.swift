import Foundation
import SwitchboardConsole
import SwitchboardCore
import SwitchboardSim
import SwitchboardStore
import SwitchboardTesting
import TerminalUI
import Testing

/// The Calls screen through the real loop on generated files: live calls first, their
/// time ticking, calls ending under the selection, details, filter and masking.
@Suite struct CallsScreenTests {
    typealias Practice = ReviewScreenTests.Practice

    /// The console on the Calls screen, on its own clock (elapsed times move with it).
    final class Session {
        let clock = ManualWallClock()
        let driver: ProgramDriver<Console>
        init(_ practice: Practice, role: OperatorRole = .reviewer) throws {
            let clock = clock
            let console = try ConsoleRunner.prepare(configuration: practice.configuration(role: role), warnings: [],
                                                    environment: practice.environment, now: { clock.now })
            driver = ProgramDriver(console, size: Size(width: 120, height: 30))
            driver.press("2")
        }
        /// The table's rows on screen (below the column titles, above the message line).
        var rows: [String] { driver.rows }
        func wait(_ seconds: Double) {
            clock.advance(seconds)
            driver.advance(by: seconds)
        }
    }

    /// `m:ss` as the Time column shows it.
    static func minutesSeconds(_ millis: Int64) -> String {
        let s = millis / 1000
        return "\(s / 60):" + String(format: "%02d", s % 60)
    }

    /// A live call's Time at `now`: as of the clock's last whole second (every row moves
    /// on the same tick).
    static func timeShown(at now: UnixMillis, since start: UnixMillis) -> String {
        minutesSeconds(now - now % 1000 - start)
    }

    @Test func liveCallsFirstOldestOnTopThenEndedNewestFirst() throws {
        let practice = try Practice()
        let session = try Session(practice)
        let live = try practice.audit.callsInProgress(limit: 100)
        let ended = try practice.audit.calls(.ended, after: nil, limit: 3)
        try #require(live.count >= 2 && ended.count == 3)
        #expect(session.driver.tabBar.contains("2 Calls") && session.driver.figures.contains("\(live.count) in progress"))
        // Just after midnight no call has ended today yet, and the header says so instead.
        let midnight = Int64(Calendar.current.startOfDay(for: Date()).timeIntervalSince1970 * 1000)
        let endedToday = (ended.compactMap(\.endedAt).max() ?? 0) >= midnight
        #expect(session.driver.figures.contains(endedToday ? "first-call resolution today" : "no call ended today"))
        for title in ["Started", "Caller", "Intent", "Time", "Steps", "Outcome", "1st", "Summary"] {
            #expect(session.driver.columnTitles.contains(title), "column \(title)")
        }
        let rows = session.rows
        for (index, call) in live.enumerated() {
            #expect(rows[index].contains(call.caller!) && rows[index].contains("● live"), "live call \(index) in start order")
        }
        #expect(rows[live.count].contains(ended[0].caller!) && rows[live.count].contains(ended[0].outcome!), "then the newest ended call")
        #expect(rows[live.count + 1].contains(ended[1].caller!))
        let steps = try practice.audit.stepCounts(ofCalls: [live[0].callId])[live[0].callId]!
        #expect(rows[0].contains(" \(steps) "), "steps so far")
    }

    @Test func elapsedTimeTicksWhileYouWatch() throws {
        let practice = try Practice()
        let session = try Session(practice)
        let oldest = try #require(try practice.audit.callsInProgress(limit: 1).first)
        #expect(session.rows[0].contains(Self.timeShown(at: session.clock.now, since: oldest.startedAt)))
        session.wait(65)
        #expect(session.rows[0].contains(Self.timeShown(at: session.clock.now, since: oldest.startedAt)), "65 s later")
    }

    /// Under load calls end all the time: the list stays where the user left it (the
    /// row of a call that ended goes to the next live call), and only open details
    /// follow a call as it ends.
    @Test func theViewStaysAmongLiveCallsAndOpenDetailsFollowTheCallThatEnds() throws {
        let practice = try Practice()
        let session = try Session(practice)
        let live = try practice.audit.callsInProgress(limit: 100)
        try #require(live.count >= 4)
        session.driver.press("j", "j")
        #expect(session.driver.rows[2].contains(live[2].caller!))
        // A call that started earlier shows up (a late write) above the selection, and the watched call ends.
        try practice.audit.recordAgentWork(calls: [
            Call(callId: "call-late", startedAt: live[0].startedAt - 1, caller: "***-***-9999", intent: "reschedule"),
            Call(callId: live[2].callId, startedAt: live[2].startedAt, endedAt: session.clock.now, caller: live[2].caller,
                 intent: live[2].intent, outcome: "resolved", firstCallResolved: true, summary: "Watched call ended."),
        ])
        session.driver.post(.databasesChanged)
        session.driver.press("enter")
        #expect(session.driver.screenText.contains("Call \(live[3].callId)"), "the next live call took the ended one's place")
        session.driver.press("esc", "g")
        #expect(session.rows[0].contains("***-***-9999") && session.rows[0].contains("● live"), "the late call is on top")

        // With its details open, a call is followed as it ends.
        session.driver.press("j", "j", "enter")
        let watched = live[1]  // under the late call and live[0]
        #expect(session.driver.screenText.contains("Call \(watched.callId)") && session.driver.screenText.contains("in progress"))
        try practice.audit.recordAgentWork(calls: [
            Call(callId: watched.callId, startedAt: watched.startedAt, endedAt: session.clock.now, caller: watched.caller,
                 intent: watched.intent, outcome: "resolved", firstCallResolved: true, summary: "Second watched call ended."),
        ])
        session.driver.post(.databasesChanged)
        let details = session.driver.screenText
        #expect(details.contains("Call \(watched.callId)") && details.contains("Second watched call ended."))
        #expect(details.contains("resolved on the first call"))
    }

    @Test func detailsTellTheCallWithItsBookingsAndEveryStep() throws {
        let practice = try Practice()
        let session = try Session(practice)
        let booking = try #require(try practice.undecided().first {
            try $0.booking.callId.flatMap { try practice.audit.call(id: $0) }?.endedAt != nil
        }).booking
        let callId = try #require(booking.callId)
        session.driver.press("/")
        session.driver.type(callId)
        session.driver.press("enter")
        #expect(session.rows.count == 1)
        session.driver.press("enter")
        let screen = session.driver.screenText
        #expect(screen.contains("Call \(callId)") && screen.contains("Summary") && screen.contains("Bookings"))
        #expect(screen.contains(booking.bookingId) && screen.contains("Steps (audit)"))
        let steps = try practice.audit.steps(ofCall: callId)
        let create = try #require(steps.first { $0.action == "appointment.create" })
        #expect(screen.contains("appointment.create  POST Appointment"))
        #expect(screen.contains("\(create.httpStatus ?? 0)  \(create.latencyMs ?? 0) ms  \(create.outcome.label)"))
        session.driver.press("esc")
        #expect(session.driver.columnTitles.contains("Started"), "Esc goes back to the list")
        session.driver.press("esc")
        #expect(!session.driver.screenText.contains("filter: \(callId)"), "a second Esc clears the filter")
    }

    /// An insurance check on the FHIR pathway: the payer's answer is on its step, as the
    /// agent kept it in the audit row's detail.
    @Test func anEligibilityStepShowsThePayersAnswer() throws {
        let practice = try Practice()
        let callId = try #require(try practice.undecided().compactMap(\.booking.callId).first)
        let at = try #require(try practice.audit.steps(ofCall: callId).last).at + 1
        _ = try practice.audit.append([AuditEvent(at: at, actor: "agent:test", callId: callId, action: "coverage.eligibility", transport: .fhir,
                                                  method: "POST", resourceType: "CoverageEligibilityRequest", resourceId: "cov-7",
                                                  httpStatus: 200, latencyMs: 12, attempt: 1,
                                                  detail: #"{"answer":"not in force","step":"eligibility"}"#)])
        let session = try Session(practice)
        session.driver.press("/")
        session.driver.type(callId)
        session.driver.press("enter", "enter")
        #expect(session.driver.screenText.contains("coverage.eligibility  POST CoverageEligibilityRequest/cov-7  200  12 ms"),
                "\(session.driver.screenText)")
        #expect(session.driver.screenText.contains("not in force"))
    }

    @Test func filterFindsCallsByOutcomeAndIntentAndSaysWhenNothingMatches() throws {
        let practice = try Practice()
        let session = try Session(practice)
        session.driver.press("/")
        session.driver.type("dropped")
        session.driver.press("enter")
        #expect(!session.rows.isEmpty && session.rows.allSatisfy { $0.contains("dropped") })
        #expect(session.driver.screenText.contains("filter: dropped"))
        session.driver.press("esc", "/")
        session.driver.type("new patient")
        session.driver.press("enter")
        #expect(!session.rows.isEmpty && session.rows.allSatisfy { $0.contains("new patient") })
        session.driver.press("esc", "/")
        session.driver.type("zzz-nobody")
        session.driver.press("enter")
        #expect(session.driver.screenText.contains("No call matches the filter."))
    }

    @Test func pagingReachesTheOldestCallAndBack() throws {
        let practice = try Practice()
        let session = try Session(practice)
        session.driver.press("G")
        #expect(session.rows.last?.contains(Roster.maskedCaller(0)) == true, "G: the oldest call is last")
        session.driver.press("enter")
        #expect(session.driver.screenText.contains("Call call-0000000"))
        session.driver.press("esc", "g")
        #expect(session.rows[0].contains("● live"))
        for _ in 0..<20 { session.driver.press("pagedown") }
        #expect(!session.rows.isEmpty && !session.rows[0].contains("● live"), "PgDn pages into the ended calls")
    }

    @Test func viewersSeeOnlyTheLastTwoDigitsOfACaller() throws {
        let practice = try Practice()
        let session = try Session(practice, role: .viewer)
        let caller = try #require(try practice.audit.callsInProgress(limit: 1).first?.caller)
        #expect(!session.driver.screenText.contains(caller))
        #expect(session.rows[0].contains("***-***-**" + caller.suffix(2)))
    }

    /// The header's "N in progress" comes with the rows, from the same read: a call that
    /// starts shows in both at once (it was counted every 5 s, so the header said 5 while
    /// 7 live rows showed).
    @Test func theInProgressCountMatchesTheLiveRowsAtOnce() throws {
        let practice = try Practice()
        let session = try Session(practice)
        let live = try practice.audit.callsInProgress(limit: 100)
        #expect(session.driver.figures.contains("\(live.count) in progress"))
        try practice.audit.recordAgentWork(calls: [
            Call(callId: "call-new", startedAt: session.clock.now, caller: "***-***-9999", intent: "reschedule"),
        ])
        session.driver.post(.databasesChanged)
        #expect(session.rows.filter { $0.contains("● live") }.count == live.count + 1)
        #expect(session.driver.figures.contains("\(live.count + 1) in progress"), "\(session.driver.figures)")
    }

    /// On its first row the list follows its top: with no call in progress the newest
    /// ended call is on top, and a call that starts then shows above it, selected, instead
    /// of being scrolled off above the view (the header said "2 in progress" over no live row).
    @Test func onTheFirstRowACallThatStartsIsShownOnTop() throws {
        let practice = try Practice()
        let session = try Session(practice)
        let live = try practice.audit.callsInProgress(limit: 100)
        try practice.audit.recordAgentWork(calls: live.map {
            Call(callId: $0.callId, startedAt: $0.startedAt, endedAt: session.clock.now, caller: $0.caller, intent: $0.intent,
                 outcome: "resolved", firstCallResolved: true, summary: "Ended.")
        })
        session.driver.post(.databasesChanged)
        #expect(!session.rows.contains { $0.contains("● live") } && session.driver.figures.contains("0 in progress"))
        try practice.audit.recordAgentWork(calls: [
            Call(callId: "call-new", startedAt: session.clock.now, caller: "***-***-9999", intent: "reschedule"),
        ])
        session.driver.post(.databasesChanged)
        #expect(session.rows[0].contains("***-***-9999") && session.rows[0].contains("● live"), "\(session.rows.prefix(2))")
        #expect(session.driver.figures.contains("1 in progress"))
        session.driver.press("enter")
        #expect(session.driver.screenText.contains("Call call-new"), "the new call is the one selected")
    }

    /// Every live call's Time moves on the clock's whole second, all together: a screen
    /// of live calls changes once a second, not once per row at each call's own phase
    /// (40 rows made 40 frames a second under load).
    @Test func liveCallTimesMoveTogetherOnTheWholeSecond() throws {
        let practice = try Practice()
        let session = try Session(practice)
        let live = try practice.audit.callsInProgress(limit: 100)
        try #require(Set(live.map { $0.startedAt % 1000 }).count >= 2, "calls started on different phases of the second")
        session.wait(Double(1000 - session.clock.now % 1000 + 1) / 1000)  // 1 ms past a whole second
        let wake = try #require(session.driver.loop.nextDeadline) - session.driver.time
        #expect(abs(wake - 0.999) < 0.0005, "the next frame comes at the next whole second: in \(wake) s")
        for (index, call) in live.enumerated() {
            #expect(session.rows[index].contains(Self.timeShown(at: session.clock.now, since: call.startedAt)), "\(session.rows[index])")
        }
    }

    /// Under a busy stream most frames change only the stream's counters on the status
    /// line, and are drawn as the last frame with a new status line: the clock, a key,
    /// the EHR's state and a prompt must still show as they do in a whole frame.
    @Test func streamCountersRedrawTheStatusLineAndNothingElseGoesStale() throws {
        let practice = try Practice()
        let session = try Session(practice)
        let driver = session.driver
        let oldest = try #require(try practice.audit.callsInProgress(limit: 1).first)
        func event(_ n: Int) -> ConsoleMessage {
            .stream(.event(id: "\(n)", .agentHeartbeat(.init(at: session.clock.now, agentId: "agent", callsInProgress: 3, outboxPending: 0))))
        }
        driver.post(.stream(.connection(.live)))
        let body = driver.body
        for n in 1...40 {
            driver.post(event(n))
            #expect(driver.statusLine.contains("stream: live · \(n) events"), "\(driver.statusLine)")
        }
        #expect(driver.body == body, "the counters change the status line alone")

        session.wait(3)  // the live call's Time moves with the clock between events
        driver.post(event(41))
        #expect(session.rows[0].contains(Self.timeShown(at: session.clock.now, since: oldest.startedAt)), "\(session.rows[0])")
        #expect(driver.statusLine.contains("41 events"))

        driver.post(.stream(.event(id: "42", .ehrState(.init(state: .queueMode, at: session.clock.now)))))
        #expect(driver.figures.contains("QUEUE MODE"), "\(driver.figures)")

        driver.press("enter")  // a key: the call's details, kept under later events
        driver.post(event(43))
        #expect(driver.screenText.contains("Call \(oldest.callId)") && driver.statusLine.contains("43 events"))

        driver.press("esc", "/")  // the filter prompt has the status line's place: events do not draw over it
        driver.type("zz")
        let prompt = driver.statusLine
        driver.post(event(44))
        #expect(driver.statusLine == prompt && prompt.contains("zz"), "\(driver.statusLine)")
    }
}
