import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import Testing

/// The alert rules as a pure function of figures and now: each rule on just past its
/// threshold, off just before it, and the state file's transitions.
@Suite struct AlertRuleTests {
    static let now: UnixMillis = 1_800_000_000_000
    static let minute: Int64 = 60_000

    static func review(decided: Int = 0, corrected: Int = 0, undecided: Int = 0, oldest: UnixMillis? = nil, overdue: Int = 0,
                       windowStart: UnixMillis = now - 3_600_000) -> AlertFigures.ReviewFigures {
        .init(decided: decided, corrected: corrected, undecided: undecided, oldestUndecidedAt: oldest, overdue: overdue,
              overdueMillis: 120 * minute, window: GoLiveWindow(startsAt: windowStart))
    }

    static func rules(_ figures: AlertFigures, _ settings: AlertSettings = AlertSettings(), at now: UnixMillis = now) -> [AlertRule] {
        evaluateAlerts(settings, figures, now: now).active.map(\.rule)
    }

    @Test func aDeadItemIsCriticalAndSaysWhichItem() {
        var outbox = OutboxFigures(countsByStatus: [.dead: 2])
        outbox.oldestDead = ("ob-1", Self.now - Self.minute)
        let evaluation = evaluateAlerts(AlertSettings(), AlertFigures(outbox: outbox), now: Self.now)
        #expect(evaluation.active.map(\.rule) == [.itemDead])
        #expect(evaluation.worst == .critical)
        #expect(evaluation.active[0].summary == "2 outbox items dead (first: ob-1)")
        #expect(evaluation.active[0].since == Self.now - Self.minute)
        #expect(Self.rules(AlertFigures(outbox: OutboxFigures(countsByStatus: [.dead: 0]))).isEmpty)
    }

    @Test func aFailingItemAlertsOnlyAfterTheConfiguredMinutes() {
        var outbox = OutboxFigures(countsByStatus: [.failed: 1])
        outbox.longestFailing = ("ob-2", Self.now - 15 * Self.minute + 1_000)
        #expect(Self.rules(AlertFigures(outbox: outbox)).isEmpty)
        outbox.longestFailing = ("ob-2", Self.now - 15 * Self.minute - 1_000)
        #expect(Self.rules(AlertFigures(outbox: outbox)) == [.itemFailing])
        var settings = AlertSettings()
        settings.failingMinutes = 30
        #expect(Self.rules(AlertFigures(outbox: outbox), settings).isEmpty)
    }

    @Test func queueModeAlertsAfterItsMinutesAndIsReadFromProbesWithoutAStream() {
        // Failing probes since 6 minutes ago, the last one 1 s ago: queue mode since 10 s after the first.
        let probes = ProbeSignals(lastAt: Self.now - 1_000, lastFailed: true, failingSince: Self.now - 6 * Self.minute)
        let ehr = EHRStateReading.derive(stateRow: nil, probes: probes, outbox: nil, now: Self.now)
        #expect(ehr?.state == .queueMode && ehr?.since == Self.now - 6 * Self.minute + 10_000)
        #expect(Self.rules(AlertFigures(ehr: ehr)) == [.queueMode])
        // 8 s of failing probes: degraded, not queue mode.
        let early = EHRStateReading.derive(stateRow: nil, probes: ProbeSignals(lastAt: Self.now, lastFailed: true, failingSince: Self.now - 8_000),
                                           outbox: nil, now: Self.now)
        #expect(early?.state == .degraded)
        // The agent's own ehr.state rows win when it writes them.
        let told = EHRStateReading.derive(stateRow: ("online", Self.now - 5_000), probes: probes, outbox: nil, now: Self.now)
        #expect(told?.state == .online)
        // Probes stopped (the EHR answers again): not queue mode.
        let old = EHRStateReading.derive(stateRow: nil, probes: ProbeSignals(lastAt: Self.now - 60_000, lastFailed: true, failingSince: Self.now - 9 * Self.minute),
                                         outbox: OutboxFigures(), now: Self.now)
        #expect(old?.state == .online)
        // No probes, but items past due and tries with no answer: queue mode from the outbox.
        var outbox = OutboxFigures()
        outbox.overduePending = 4; outbox.overdueSince = Self.now - 7 * Self.minute; outbox.recentUnansweredAttempts = 3
        #expect(EHRStateReading.derive(stateRow: nil, probes: nil, outbox: outbox, now: Self.now)?.state == .queueMode)
    }

    @Test func aSilentStreamAlertsAfter30sAndOnlyWhenOneIsConfigured() {
        #expect(Self.rules(AlertFigures(streamConfigured: true, streamLastHeard: Self.now - 29_000)).isEmpty)
        #expect(Self.rules(AlertFigures(streamConfigured: true, streamLastHeard: Self.now - 31_000)) == [.streamSilent])
        #expect(Self.rules(AlertFigures(streamConfigured: true, streamLastHeard: nil)) == [.streamSilent])
        let none = evaluateAlerts(AlertSettings(), AlertFigures(streamConfigured: false), now: Self.now)
        #expect(none.active.isEmpty && none.notEvaluated[.streamSilent] != nil)
    }

    @Test func theCorrectionRateAlertsOnItsUpperWilsonBound() throws {
        // 0 of 200: the bound is about 1.9%, under 2%. 1 of 50: 2% measured, bound ~10.5%.
        #expect(try #require(wilsonUpperBound(0, of: 200)) < 0.02)
        #expect(abs(try #require(wilsonUpperBound(1, of: 50)) - 0.1050) < 0.001)
        #expect(Self.rules(AlertFigures(review: Self.review(decided: 200, corrected: 0))).isEmpty)
        #expect(Self.rules(AlertFigures(review: Self.review(decided: 50, corrected: 1))) == [.correctionRate])
        #expect(Self.rules(AlertFigures(review: Self.review(decided: 0))).isEmpty)
    }

    @Test func undecidedBookingsNearTheWindowsEndAndOverdueOnes() {
        // 48 h window started 43 h ago: 5 h left, under the default 6.
        let closing = Self.review(decided: 500, undecided: 3, oldest: Self.now - 30 * Self.minute, windowStart: Self.now - 43 * 3_600_000)
        #expect(Self.rules(AlertFigures(review: closing)) == [.windowClosing])
        let roomy = Self.review(decided: 500, undecided: 3, oldest: Self.now - 30 * Self.minute, windowStart: Self.now - 41 * 3_600_000)
        #expect(Self.rules(AlertFigures(review: roomy)).isEmpty)
        let allDecided = Self.review(decided: 500, undecided: 0, windowStart: Self.now - 47 * 3_600_000)
        #expect(Self.rules(AlertFigures(review: allDecided)).isEmpty)
        let overdue = Self.review(decided: 500, undecided: 1, oldest: Self.now - 3 * 3_600_000, overdue: 1)
        let evaluation = evaluateAlerts(AlertSettings(), AlertFigures(review: overdue), now: Self.now)
        #expect(evaluation.active.map(\.rule) == [.bookingOverdue])
        #expect(evaluation.active[0].since == Self.now - 3 * 3_600_000 + 120 * Self.minute)
    }

    @Test func disabledRulesAndSeveritiesFollowTheSettings() {
        var outbox = OutboxFigures(countsByStatus: [.dead: 1])
        outbox.oldestDead = ("ob-1", Self.now)
        var settings = AlertSettings()
        settings.disabled = [.itemDead]
        #expect(Self.rules(AlertFigures(outbox: outbox), settings).isEmpty)
        settings.disabled = []
        settings.critical = []
        #expect(evaluateAlerts(settings, AlertFigures(outbox: outbox), now: Self.now).worst == .warning)
    }

    @Test func anAlertStartsOnceAndClearsOnceAcrossRepeatedEvaluations() {
        var outbox = OutboxFigures(countsByStatus: [.dead: 1])
        outbox.oldestDead = ("ob-1", Self.now)
        let on = evaluateAlerts(AlertSettings(), AlertFigures(outbox: outbox), now: Self.now)
        let off = evaluateAlerts(AlertSettings(), AlertFigures(outbox: OutboxFigures()), now: Self.now)
        let unknown = evaluateAlerts(AlertSettings(), AlertFigures(), now: Self.now)
        var state = AlertState(), events: [String] = []
        for evaluation in [on, on, unknown, on, off, off, on] {
            let (next, changes) = state.applying(evaluation, now: Self.now)
            state = next
            events += changes.map { "\($0.event.rawValue) \($0.alert.rule.rawValue)" }
        }
        // A rule that could not be read (no outbox) does not clear what was on.
        #expect(events == ["started item_dead", "cleared item_dead", "started item_dead"])
        #expect(state.history.count == 3)
    }

    @Test func durationsReadAsOnCallTypesThem() {
        #expect(parseDuration("8h") == 28_800_000)
        #expect(parseDuration("90m") == 5_400_000)
        #expect(parseDuration("30s") == 30_000)
        #expect(parseDuration("500ms") == 500)
        #expect(parseDuration("2d") == 172_800_000)
        #expect(parseDuration("45") == 45_000)
        #expect(parseDuration("-1h") == nil && parseDuration("soon") == nil && parseDuration("") == nil)
    }

    @Test func theScheduleSaysWhenNotDue() {
        var item = OutboxItem(id: "ob-1", createdAt: Self.now - 60_000, callId: nil, bookingId: nil, ehrSystem: "x", transport: .fhir,
                              operation: "appointment.create", request: "{}", idempotencyKey: "k", status: .failed, attempts: 2,
                              nextAttemptAt: Self.now + 4_000, updatedAt: Self.now)
        #expect(OutboxSchedule.text(item, now: Self.now, ehr: .online) == "next try in 4s")
        #expect(OutboxSchedule.text(item, now: Self.now, ehr: .queueMode) == "paused: EHR in queue mode")
        item.nextAttemptAt = Self.now - 1
        #expect(OutboxSchedule.text(item, now: Self.now, ehr: nil) == "due now")
        item.nextAttemptAt = OutboxItem.heldUntilDecided; item.status = .pending
        #expect(OutboxSchedule.text(item, now: Self.now, ehr: .queueMode) == "held: waiting for its decision")
    }

    @Test func permanentAnswersAreToldApartFromPassingOnes() {
        let item = OutboxItem(id: "ob-9", createdAt: Self.now, callId: "c-1", bookingId: "bk-7", ehrSystem: "x", transport: .fhir,
                              operation: "appointment.update", request: "{}", idempotencyKey: "k", status: .dead, attempts: 1,
                              lastHttpStatus: 412, updatedAt: Self.now)
        let refusal = PermanentRefusal(item, lastAttempt: nil)
        #expect(refusal?.answer == "HTTP 412")
        // The agent's own write has no decision to take again (`review again` said "no such
        // booking" for a refused cancel): the EHR is where to look.
        #expect(refusal?.warning.contains("the agent's change was not made") == true, "\(refusal?.warning ?? "")")
        #expect(refusal?.warning.contains("look at the appointment in the EHR, then discard this item") == true)
        #expect(refusal?.warning.contains("decide booking") == false)
        var correction = item
        correction.idempotencyKey = OutboxItem.correctionKeyPrefix + "bk-7:ann:1:ab12"
        let refusedCorrection = PermanentRefusal(correction, lastAttempt: nil)
        #expect(refusedCorrection?.warning.contains("decide booking bk-7 again") == true)
        #expect(refusedCorrection?.warning.contains("or discard this item") == true)
        for passing in [500, 503, 429, 408] {
            var i = item; i.lastHttpStatus = passing
            #expect(PermanentRefusal(i, lastAttempt: nil) == nil, "HTTP \(passing) is worth a retry")
        }
        let hl7 = OutboxAttempt(itemId: "ob-9", attempt: 1, startedAt: Self.now, endedAt: Self.now, outcome: "permanent", ackCode: "AR")
        var noStatus = item; noStatus.lastHttpStatus = nil
        #expect(PermanentRefusal(noStatus, lastAttempt: hl7)?.answer == "HL7 AR (application reject)")
    }
}

@Suite struct AlertConfigurationTests {
    @Test func theAlertsTableIsReadWithWarningsForBadValues() throws {
        let text = """
            [alerts]
            hook = "logger -t switchboard"
            failing_minutes = 30
            correction_rate_bound = 0.05
            critical = ["item_dead", "booking_overdue"]
            disabled = ["stream_silent", "no_such_rule"]
            window_hours_left = 100
            token = "s3cret"
            """
        let (c, warnings) = try ConsoleConfiguration.parse(text, file: "config.toml", isKeyName: { _ in true })
        #expect(c.alerts.hook == "logger -t switchboard")
        #expect(c.alerts.failingMinutes == 30)
        #expect(c.alerts.correctionRateBound == 0.05)
        #expect(c.alerts.critical == [.itemDead, .bookingOverdue])
        #expect(c.alerts.disabled == [.streamSilent])
        #expect(c.alerts.windowHoursLeft == 6)
        #expect(warnings.count == 3, "\(warnings)")
        #expect(warnings.contains { $0.hasPrefix("config.toml:6:") && $0.contains("no_such_rule") })
        #expect(warnings.contains { $0.hasPrefix("config.toml:7:") && $0.contains("window_hours_left") })
        #expect(warnings.contains { $0.contains("\"token\" refused") } && !warnings.joined().contains("s3cret"))
    }
}
