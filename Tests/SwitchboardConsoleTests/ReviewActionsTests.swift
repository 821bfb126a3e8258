import Foundation
@testable import SwitchboardConsole
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import SwitchboardTesting
import Testing

/// Real SQLite files in a scratch directory, with a few flagged bookings.
private struct Clinic {
    let scratch: Scratch
    let audit: AuditStore
    let outbox: OutboxStore

    init(bookings: [String] = ["bk-1", "bk-2", "bk-3"], name: String = #function) throws {
        scratch = Scratch(name)
        audit = try AuditStore(path: scratch.path("audit.sqlite"), mode: .create)
        outbox = try OutboxStore(path: scratch.path("outbox.sqlite"), mode: .create)
        try audit.recordAgentWork(bookings: bookings.map { sampleBooking($0) })
    }

    func actions(_ user: String, _ role: OperatorRole = .reviewer, readOnly: Bool = false, outbox: Bool = true) -> ReviewActions {
        ReviewActions(audit: audit, outbox: outbox ? self.outbox : nil,
                      operator: OperatorIdentity(user: user, role: role, readOnly: readOnly), undoSeconds: 5)
    }

    func count(_ sql: String, in file: String = "audit.sqlite") throws -> Int {
        Int(try sqlite3(scratch.path(file), sql).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }
}

@Suite struct ReviewActionsTests {
    @Test func approveWritesTheDecisionAndOneAuditRowAndASecondApproveSaysWho() throws {
        let clinic = try Clinic(); defer { clinic.scratch.cleanUp() }
        let maria = clinic.actions("maria.g"), devon = clinic.actions("devon")

        guard case .recorded(let decision) = try maria.approve(bookingId: "bk-1", now: 1_000) else {
            Issue.record("first approve not recorded"); return
        }
        #expect(decision.operator == "maria.g" && decision.decision == .approved && decision.decidedAt == 1_000)
        #expect(try devon.approve(bookingId: "bk-1", now: 2_000) == .alreadyDecided(decision))
        #expect(try maria.approve(bookingId: "bk-1", now: 3_000) == .alreadyDecided(decision))
        #expect(try clinic.count("SELECT count(*) FROM review_decision") == 1)
        #expect(try clinic.count("SELECT count(*) FROM audit_event WHERE action = 'review.approve' AND actor = 'operator:maria.g'") == 1)
        #expect(try clinic.count("SELECT count(*) FROM audit_event") == 1)
        #expect(try maria.approve(bookingId: "bk-nope", now: 4_000) == .noSuchBooking("bk-nope"))
        #expect(try clinic.audit.verifyChain().isIntact)
    }

    @Test func viewersAndReadOnlyConsolesMayNotDecide() throws {
        let clinic = try Clinic(); defer { clinic.scratch.cleanUp() }
        let correction = Correction(bookingId: "bk-1", category: .shouldNotExist, cancel: true)
        for actions in [clinic.actions("val", .viewer), clinic.actions("olu", .operator, readOnly: true)] {
            guard case .notAllowed(let why) = try actions.approve(bookingId: "bk-1", now: 1) else {
                Issue.record("\(actions.operator) could approve"); continue
            }
            #expect(why.contains(actions.operator.readOnly ? "read-only" : "viewer"))
            #expect(try actions.correct(correction, now: 1) == .notAllowed(why))
            #expect(try actions.approveAll(["bk-1", "bk-2"], now: 1).notAllowed == why)
            #expect(try actions.undoApproval(bookingId: "bk-1", now: 1) == .refused(reason: why))
        }
        #expect(try clinic.count("SELECT count(*) FROM review_decision") == 0)
        #expect(try clinic.count("SELECT count(*) FROM audit_event") == 0)
        #expect(try clinic.count("SELECT count(*) FROM outbox_item", in: "outbox.sqlite") == 0)
    }

    @Test func undoWorksOnlyForTheSameOperatorWithinTheUndoTime() throws {
        let clinic = try Clinic(); defer { clinic.scratch.cleanUp() }
        let maria = clinic.actions("maria.g"), devon = clinic.actions("devon")
        _ = try maria.approve(bookingId: "bk-1", now: 10_000)
        guard case .refused = try devon.undoApproval(bookingId: "bk-1", now: 11_000) else {
            Issue.record("another operator undid maria's approval"); return
        }
        guard case .undone = try maria.undoApproval(bookingId: "bk-1", now: 14_999) else {
            Issue.record("maria could not undo within 5 s"); return
        }
        #expect(try clinic.audit.decision(bookingId: "bk-1") == nil)

        _ = try maria.approve(bookingId: "bk-2", now: 20_000)
        guard case .refused(let why) = try maria.undoApproval(bookingId: "bk-2", now: 25_001) else {
            Issue.record("undo after 5 s was allowed"); return
        }
        #expect(why.contains("older than 5 s"))
        #expect(try clinic.count("SELECT count(*) FROM audit_event WHERE action = 'review.undo'") == 1)
    }

    @Test func bulkApproveActsOnExactlyTheGivenIdsWhileNewBookingsArrive() throws {
        let clinic = try Clinic(bookings: ["bk-1", "bk-2", "bk-3", "bk-4"]); defer { clinic.scratch.cleanUp() }
        let selected = ["bk-1", "bk-2", "bk-3", "bk-gone", "bk-2"]
        // Meanwhile: the agent books more, and another reviewer takes one of the selection.
        try clinic.audit.recordAgentWork(bookings: [sampleBooking("bk-5"), sampleBooking("bk-6")])
        _ = try clinic.actions("devon").approve(bookingId: "bk-3", now: 500)

        let outcome = try clinic.actions("maria.g").approveAll(selected, now: 1_000)
        #expect(outcome.approved == ["bk-1", "bk-2"])
        #expect(outcome.alreadyDecided.map(\.operator) == ["devon"])
        #expect(outcome.alreadyDecided.map(\.bookingId) == ["bk-3"])
        #expect(outcome.missing == ["bk-gone"])
        #expect(outcome.notAllowed == nil)
        for untouched in ["bk-4", "bk-5", "bk-6"] { #expect(try clinic.audit.decision(bookingId: untouched) == nil) }
        #expect(try clinic.count("SELECT count(*) FROM audit_event WHERE action = 'review.approve'") == 3)
    }

    @Test func correctQueuesExactlyOneConditionalUpdateWithTheCorrectedFields() throws {
        let clinic = try Clinic(); defer { clinic.scratch.cleanUp() }
        let booking = try #require(try clinic.audit.booking(id: "bk-1"))
        let newStart = booking.startAt + 3_600_000
        let correction = Correction(bookingId: "bk-1", category: .wrongTime, note: "patient asked for the afternoon",
                                    newStart: newStart, newSlotRef: "Slot/s-42", newProviderRef: "Practitioner/dr-nguyen")
        guard case .recorded(let decision) = try clinic.actions("maria.g").correct(correction, now: 5_000) else {
            Issue.record("correction not recorded"); return
        }
        #expect(decision.decision == .corrected && decision.category == "wrong_time" && decision.note == "patient asked for the afternoon")
        let before = try json(decision.before), after = try json(decision.after)
        #expect(before["start_at"] as? Int64 == booking.startAt && before["provider_ref"] as? String == "Practitioner/dr-okafor")
        #expect(after["start_at"] as? Int64 == newStart)
        #expect(after["end_at"] as? Int64 == newStart + (booking.endAt - booking.startAt), "a new start keeps the length")
        #expect(after["provider_ref"] as? String == "Practitioner/dr-nguyen" && after["slot_ref"] as? String == "Slot/s-42")

        let items = try clinic.outbox.items(forBooking: "bk-1")
        #expect(items.count == 1)
        let item = try #require(items.first)
        #expect(item.operation == "appointment.update" && item.status == .pending && item.callId == booking.callId)
        #expect(item.nextAttemptAt == 5_000, "released for the worker once the decision is on record")
        #expect(item.idempotencyKey.hasPrefix("correction:bk-1"))
        let request = try json(item.request)
        #expect(request["method"] as? String == "PUT")
        #expect(request["url"] as? String == "Appointment/bk-1")
        #expect((request["headers"] as? [String: String])?["If-Match"] == #"W/"1""#)
        let body = try json(request["body"] as? String)
        #expect(body["resourceType"] as? String == "Appointment" && body["id"] as? String == "bk-1")
        #expect(body["status"] as? String == "booked")
        #expect(body["start"] as? String == iso8601(newStart).replacingOccurrences(of: "Z", with: ".000Z")
            || body["start"] as? String == iso8601(newStart))
        #expect((body["slot"] as? [[String: String]])?.first?["reference"] == "Slot/s-42")
        let actors = (body["participant"] as? [[String: Any]])?.compactMap { ($0["actor"] as? [String: String])?["reference"] }
        #expect(actors == ["Patient/p1", "Practitioner/dr-nguyen"])

        #expect(try clinic.count("SELECT count(*) FROM audit_event WHERE action = 'review.correct'") == 1)
        let status = try #require(try clinic.actions("maria.g").correctionStatus(bookingId: "bk-1"))
        #expect(CorrectionProgress(status) == .waiting(attempts: 0, lastError: nil))
    }

    /// A PUT replaces the whole appointment: what the correction does not change must be
    /// sent again as the agent wrote it, or the EHR would drop the slot and identifier.
    @Test func aCorrectionStartsFromTheAppointmentAsTheAgentWroteIt() throws {
        let clinic = try Clinic(); defer { clinic.scratch.cleanUp() }
        let agentBody = #"{"resourceType":"Appointment","status":"booked","identifier":[{"system":"urn:switchboard:booking","value":"bk-1"}],"description":"Booked by the phone agent","slot":[{"reference":"Slot/s-7"}],"participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"},{"actor":{"reference":"Practitioner/dr-okafor"},"status":"accepted"}]}"#
        var create = sampleOutboxItem("ob-agent-1", createdAt: 100)
        create.bookingId = "bk-1"
        create.request = OutboxRequest(method: "POST", url: "Appointment", body: agentBody).json
        try clinic.outbox.enqueue([create])
        let claimed = try #require(try clinic.outbox.claim(id: create.id, owner: "agent", leaseMillis: 1_000, now: 200))
        _ = try clinic.outbox.complete(id: claimed.id, owner: "agent", startedAt: 200, result: .succeeded(httpStatus: 201, ackCode: nil), now: 300)

        let retype = Correction(bookingId: "bk-1", category: .wrongType, newAppointmentType: "FOLLOWUP")
        guard case .recorded(let decision) = try clinic.actions("maria.g").correct(retype, now: 5_000) else {
            Issue.record("correction not recorded"); return
        }
        #expect(try json(decision.after)["slot_ref"] as? String == "Slot/s-7", "the decision says which slot the appointment keeps")
        let item = try #require(try clinic.outbox.items(forBooking: "bk-1").last)
        let body = try json(json(item.request)["body"] as? String)
        #expect(body["id"] as? String == "bk-1")
        #expect((body["slot"] as? [[String: String]])?.first?["reference"] == "Slot/s-7")
        #expect((body["identifier"] as? [[String: String]])?.first?["value"] == "bk-1")
        #expect(body["description"] as? String == "Booked by the phone agent")
        #expect(((body["appointmentType"] as? [String: Any])?["coding"] as? [[String: String]])?.first?["code"] == "FOLLOWUP")
        let actors = (body["participant"] as? [[String: Any]])?.compactMap { ($0["actor"] as? [String: String])?["reference"] }
        #expect(actors == ["Patient/p1", "Practitioner/dr-okafor"], "the provider stays: only the type was corrected")
    }

    @Test func aCancelAsksForStatusCancelled() throws {
        let clinic = try Clinic(); defer { clinic.scratch.cleanUp() }
        let outcome = try clinic.actions("maria.g").correct(Correction(bookingId: "bk-2", category: .shouldNotExist, cancel: true), now: 1)
        guard case .recorded = outcome else { Issue.record("\(outcome)"); return }
        let item = try #require(try clinic.outbox.items(forBooking: "bk-2").first)
        #expect(try json(json(item.request)["body"] as? String)["status"] as? String == "cancelled")
    }

    @Test func aCorrectionThatLosesTheRaceIsDiscardedSoNothingIsSent() throws {
        let clinic = try Clinic(); defer { clinic.scratch.cleanUp() }
        let booking = try #require(try clinic.audit.booking(id: "bk-1"))
        // Devon's approval lands after Maria's check but before her decision.
        _ = try clinic.actions("devon").approve(bookingId: "bk-1", now: 4_999)
        let outcome = try clinic.actions("maria.g").queueAndDecide(
            Correction(bookingId: "bk-1", category: .shouldNotExist, cancel: true), booking: booking, outbox: clinic.outbox, now: 5_000)
        guard case .alreadyDecided(let first) = outcome else { Issue.record("\(outcome)"); return }
        #expect(first.operator == "devon" && first.decision == .approved)
        let items = try clinic.outbox.items(forBooking: "bk-1")
        #expect(items.count == 1 && items.first?.status == .discarded)
        #expect(items.first?.lastError == "discarded: devon decided this booking first")
        #expect(try clinic.outbox.claimNext(owner: "agent", leaseMillis: 30_000, now: .max - 1) == nil, "nothing to send")
        #expect(try clinic.count("SELECT count(*) FROM audit_event WHERE action = 'review.correct'") == 0)
    }

    @Test func twoCorrectionsInOneMillisecondHaveTheirOwnKeys() throws {
        let clinic = try Clinic(); defer { clinic.scratch.cleanUp() }
        let booking = try #require(try clinic.audit.booking(id: "bk-1"))
        let correction = Correction(bookingId: "bk-1", category: .shouldNotExist, cancel: true)
        // The same operator in two consoles, the same millisecond: the first wins.
        let first = try clinic.actions("maria.g").queueAndDecide(correction, booking: booking, outbox: clinic.outbox, now: 7_000)
        let second = try clinic.actions("maria.g").queueAndDecide(correction, booking: booking, outbox: clinic.outbox, now: 7_000)
        guard case .recorded = first, case .alreadyDecided = second else { Issue.record("\(first) \(second)"); return }
        let items = try clinic.outbox.items(forBooking: "bk-1")
        #expect(items.count == 2, "both were queued, neither dropped as a duplicate")
        #expect(Set(items.map(\.idempotencyKey)).count == 2)
        #expect(items.filter { $0.status == .discarded }.count == 1, "only the loser's own item is discarded")
        #expect(items.filter { $0.status == .pending }.count == 1, "the winner's correction goes out")
    }

    @Test func correctingAndApprovingAtOnceNeverLeavesASendableLoser() throws {
        let clinic = try Clinic(); defer { clinic.scratch.cleanUp() }
        let devonsStore = try AuditStore(path: clinic.scratch.path("audit.sqlite"), mode: .readWrite)
        // Two connection pools on one file, as two processes would have.
        let rounds = 30
        try clinic.audit.recordAgentWork(bookings: (0..<rounds).map { sampleBooking("race-\($0)") })
        let correcting = ReviewActions(audit: clinic.audit, outbox: clinic.outbox,
                                       operator: OperatorIdentity(user: "maria.g", role: .reviewer), undoSeconds: 5)
        let approving = ReviewActions(audit: devonsStore, outbox: nil,
                                      operator: OperatorIdentity(user: "devon", role: .reviewer), undoSeconds: 5)
        var lost = 0
        for round in 0..<rounds {
            let id = "race-\(round)"
            let group = DispatchGroup()
            nonisolated(unsafe) var corrected: ReviewOutcome?
            group.enter()
            DispatchQueue.global().async {
                corrected = try? correcting.correct(Correction(bookingId: id, category: .shouldNotExist, cancel: true), now: 9_000)
                group.leave()
            }
            _ = try approving.approve(bookingId: id, now: 9_000)
            group.wait()
            let items = try clinic.outbox.items(forBooking: id)
            switch corrected {
            case .recorded?:
                #expect(items.map(\.status) == [.pending], "round \(round)")
            case .alreadyDecided(let first)?:
                lost += 1
                #expect(first.operator == "devon")
                // Lost before queueing (the early check) or after (discarded): never sendable.
                #expect(items.allSatisfy { $0.status == .discarded }, "round \(round): \(items.map(\.status))")
            default:
                Issue.record("round \(round): \(String(describing: corrected))")
            }
        }
        #expect(try clinic.count("SELECT count(*) FROM outbox_item WHERE status = 'pending'", in: "outbox.sqlite")
            == rounds - lost)
    }

    @Test func correctWithoutAnOutboxRefusesAndDecidesNothing() throws {
        let clinic = try Clinic(); defer { clinic.scratch.cleanUp() }
        let actions = clinic.actions("maria.g", outbox: false)
        #expect(throws: CorrectionError.noOutbox) {
            try actions.correct(Correction(bookingId: "bk-1", category: .wrongTime, newStart: 1), now: 1)
        }
        #expect(try clinic.audit.decision(bookingId: "bk-1") == nil)
        #expect(try actions.correctionStatus(bookingId: "bk-1") == nil)
    }

    @Test func aCorrectionMustChangeSomethingAndNeedsTheAgentsVersion() throws {
        let clinic = try Clinic(); defer { clinic.scratch.cleanUp() }
        var unversioned = sampleBooking("bk-nover")
        unversioned.appointmentVersion = nil
        try clinic.audit.recordAgentWork(bookings: [unversioned])
        let actions = clinic.actions("maria.g")
        #expect(throws: CorrectionError.nothingToChange(bookingId: "bk-1")) {
            try actions.correct(Correction(bookingId: "bk-1", category: .other, note: "looks odd"), now: 1)
        }
        #expect(throws: CorrectionError.cancelWithChanges(bookingId: "bk-1")) {
            try actions.correct(Correction(bookingId: "bk-1", category: .other, newSlotRef: "Slot/1", cancel: true), now: 1)
        }
        #expect(throws: CorrectionError.noVersion(bookingId: "bk-nover", appointmentRef: "Appointment/bk-nover")) {
            try actions.correct(Correction(bookingId: "bk-nover", category: .wrongTime, newStart: 5), now: 1)
        }
        #expect(try clinic.count("SELECT count(*) FROM review_decision") == 0)
        #expect(try clinic.count("SELECT count(*) FROM outbox_item", in: "outbox.sqlite") == 0)
    }

    @Test func a412MeansTheCorrectionNeedsANewDecision() throws {
        let clinic = try Clinic(); defer { clinic.scratch.cleanUp() }
        let actions = clinic.actions("maria.g")
        _ = try actions.correct(Correction(bookingId: "bk-1", category: .wrongType, newAppointmentType: "FOLLOWUP"), now: 1_000)
        let queued = try #require(try actions.correctionStatus(bookingId: "bk-1"))
        #expect(CorrectionProgress(queued).needsNewDecision == false)
        let claimed = try #require(try clinic.outbox.claimNext(owner: "agent", leaseMillis: 30_000, now: 2_000))
        #expect(claimed.id == queued.id)
        try clinic.outbox.complete(id: claimed.id, owner: "agent", startedAt: 2_000,
                                   result: .failed(error: "HTTP 412 Precondition Failed", httpStatus: 412, ackCode: nil, retryAt: nil),
                                   now: 2_100)
        let refused = try #require(try actions.correctionStatus(bookingId: "bk-1"))
        let progress = CorrectionProgress(refused)
        #expect(progress == .conflict && progress.needsNewDecision)
        #expect(progress.label.contains("412"))
    }
}

private func json(_ text: String?) throws -> [String: Any] {
    let data = Data(try #require(text).utf8)
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}
