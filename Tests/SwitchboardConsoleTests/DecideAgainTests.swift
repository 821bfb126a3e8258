import Foundation
import SwitchboardConsole
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import SwitchboardTesting
import Testing

/// After the EHR refuses a correction with 412, the manager decides again on the
/// appointment as it is now: never a blind retry of the refused change.
@Suite struct DecideAgainTests {
    struct Refused {
        let scratch = Scratch("decide-again")
        let audit: AuditStore
        let outbox: OutboxStore
        let actions: ReviewActions
        let refusedId: String

        init() throws {
            audit = try AuditStore(path: scratch.path("audit.sqlite"), mode: .create)
            outbox = try OutboxStore(path: scratch.path("outbox.sqlite"), mode: .create)
            try audit.recordAgentWork(bookings: [sampleBooking("bk-1")])
            actions = ReviewActions(audit: audit, outbox: outbox, operator: OperatorIdentity(user: "maria.g", role: .reviewer), undoSeconds: 5)
            _ = try actions.correct(Correction(bookingId: "bk-1", category: .wrongTime, newStart: 1_800_090_000_000), now: 1_000)
            let claimed = try #require(try outbox.claimNext(owner: "agent", leaseMillis: 30_000, now: 2_000))
            try outbox.complete(id: claimed.id, owner: "agent", startedAt: 2_000,
                                result: .failed(error: "HTTP 412", httpStatus: 412, ackCode: nil, retryAt: nil), now: 2_100)
            refusedId = claimed.id
        }
    }

    let movedByFrontDesk = AppointmentNow(version: "3", status: "booked", start: 1_800_100_000_000, end: 1_800_101_200_000,
                                          providerRef: "Practitioner/dr-okafor", appointmentType: "ROUTINE")

    @Test func keepingTheEHRsVersionDropsTheRefusedChangeAndSaysSoInTheChain() throws {
        let c = try Refused(); defer { c.scratch.cleanUp() }
        #expect(try c.actions.decideAgain(bookingId: "bk-1", current: movedByFrontDesk, choice: .keepEHR, now: 5_000).isRecorded)
        let refused = try #require(try c.outbox.item(id: c.refusedId))
        #expect(refused.status == .discarded && refused.lastError?.contains("kept the EHR's version 3") == true)
        #expect(try c.outbox.claimNext(owner: "agent", leaseMillis: 1_000, now: 10_000) == nil, "nothing left to send")
        #expect(try c.audit.auditEvents(limit: 1).first?.action == "review.accept_ehr")
        #expect(try c.audit.verifyChain().isIntact)
        // Once decided again, there is nothing more to decide.
        if case .notAllowed = try c.actions.decideAgain(bookingId: "bk-1", current: movedByFrontDesk, choice: .keepEHR, now: 6_000) {} else {
            Issue.record("a second decide-again must be refused")
        }
    }

    @Test func reapplyingQueuesAFreshChangeAgainstTheCurrentVersion() throws {
        let c = try Refused(); defer { c.scratch.cleanUp() }
        let correction = Correction(bookingId: "bk-1", category: .wrongTime, newSlotRef: "Slot/s9")
        var withTime = correction
        withTime.newStart = 1_800_200_000_000
        #expect(try c.actions.decideAgain(bookingId: "bk-1", current: movedByFrontDesk, choice: .reapply(withTime), now: 5_000).isRecorded)
        let next = try #require(try c.outbox.claimNext(owner: "agent", leaseMillis: 1_000, now: 10_000))
        #expect(next.id != c.refusedId)
        #expect(next.request.contains(#""If-Match":"W/\"3\"""#), "conditional on the version the manager saw")
        #expect(try c.outbox.item(id: c.refusedId)?.status == .discarded)
        #expect(try c.audit.auditEvents(limit: 1).first?.action == "review.recorrect")
    }

    @Test func withoutARefusalThereIsNothingToDecideAgain() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let audit = try AuditStore(path: scratch.path("audit.sqlite"), mode: .create)
        let outbox = try OutboxStore(path: scratch.path("outbox.sqlite"), mode: .create)
        try audit.recordAgentWork(bookings: [sampleBooking("bk-1")])
        let actions = ReviewActions(audit: audit, outbox: outbox, operator: OperatorIdentity(user: "maria.g", role: .reviewer), undoSeconds: 5)
        _ = try actions.correct(Correction(bookingId: "bk-1", category: .wrongType, newAppointmentType: "FOLLOWUP"), now: 1_000)
        if case .notAllowed = try actions.decideAgain(bookingId: "bk-1", current: movedByFrontDesk, choice: .keepEHR, now: 2_000) {} else {
            Issue.record("a correction still on its way is not decided again")
        }
        let viewer = ReviewActions(audit: audit, outbox: outbox, operator: OperatorIdentity(user: "v", role: .viewer), undoSeconds: 5)
        if case .notAllowed = try viewer.decideAgain(bookingId: "bk-1", current: movedByFrontDesk, choice: .keepEHR, now: 2_000) {} else {
            Issue.record("viewers may not decide")
        }
    }
}

extension ReviewOutcome {
    var isRecorded: Bool { if case .recorded = self { true } else { false } }
}
