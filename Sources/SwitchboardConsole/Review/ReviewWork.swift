import Foundation
import SwitchboardCore
import SwitchboardEHR
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

/// What the Review screen asks the operations runner to do.
enum ReviewWork: Sendable {
    /// Everything the screen shows, read in one transaction.
    case snapshot(ReviewRead)
    /// More rows for the table, past the edge it holds.
    case page(ReviewFilter, TableNeed<ReviewItem>, limit: Int)
    case approve([ReviewItem])
    case undo([ReviewItem])
    /// `c` on a booking: whether a later call moved it, or its correction needs a new decision.
    case checkCorrection(ReviewItem)
    case correct(Correction, item: ReviewItem)
    case decideAgain(ReviewItem, current: AppointmentNow, SecondDecision)
    case searchSlots(bookingId: String, providerRef: String, from: UnixMillis)
    case readAppointment(ReviewItem)
    /// A viewer's `P` in a booking's details: the `phi.reveal` audit row, then the details unmasked.
    case reveal(bookingId: String, callId: String?)
}

/// What one Review read covers: the rows around the selection, the header's figures,
/// correction progress for the rows in view, and the open details.
struct ReviewRead: Sendable {
    var filter: ReviewFilter
    var anchor: ReviewItem?
    /// Whether the selection follows the anchor's booking wherever it moved (someone
    /// else decided it); false right after this operator's own approval, when the
    /// selection goes on to the booking that took its place.
    var follows: Bool
    var chunk: Int
    var counts: Bool
    /// Whether the header's backlog is read too: not on the very first read, so the
    /// first frame shows rows without waiting for counts over millions of bookings.
    var backlog = true
    /// The booking whose details are open, re-read with the rows.
    var details: String?
    /// A booking to select wherever it is (after an undo, or a later booking).
    var reveal: String?
    var windowStart: UnixMillis?
}

struct ReviewSnapshot: Sendable {
    var read: ReviewRead
    var window: TableWindow<ReviewItem>
    /// Nil when the read left it out (the first one).
    var backlog: ReviewBacklog?
    var corrections: [String: CorrectionProgress]
    /// The guide's pitfalls for the rows in view (type, schedule, lead time, not in the EHR yet).
    var pitfalls: [String: [PitfallFinding]] = [:]
    var details: (item: ReviewItem, call: CallRecord?)?
}

/// What a decision did, for the screen to fold in and say.
struct ReviewActed: Sendable {
    enum What: Sendable { case approved, undone, corrected, decidedAgain }
    var what: What
    /// Bookings whose decision this one recorded (approved ones can be undone).
    var done: [ReviewItem] = []
    var text: String
    var isError = false
    /// For a correction form: the problem to show in the form, which stays open.
    var formProblem: String?
}

extension OperationsRunner {
    func perform(_ work: ReviewWork) async -> ConsoleMessage? {
        switch work {
        case .snapshot(let read):
            return .review(.snapshot(await self.read { try readReview(read) }))
        case .page(let filter, let need, let limit):
            let source = ReviewSource(store: audit, filter: filter, counts: false)
            return .review(.page(filter, await self.read { try source.page(for: need, limit: limit) }))
        case .approve(let items):
            return .review(.acted(await approve(items)))
        case .undo(let items):
            return .review(.acted(await undo(items)))
        case .reveal(let id, let callId):
            return .review(.revealed(bookingId: id, await recordReveal(screen: "review", fields: ["booking_id": id], callId: callId)))
        case .checkCorrection(let item):
            let checked = await self.read { () throws -> (ReviewItem?, Bool) in
                let progress = try reviews.correctionStatus(bookingId: item.id).map(CorrectionProgress.init)
                return (try audit.laterBooking(than: item.booking), progress?.needsNewDecision == true)
            }
            switch checked {
            case .success(let (later, refused)): return .review(.correctionChecked(item, later: later, refused: refused))
            case .failure(let failure): return .review(.acted(ReviewActed(what: .corrected, text: "Cannot correct now: \(failure.text)", isError: true)))
            }
        case .correct(let correction, let item):
            return .review(.acted(await correct(correction, item: item)))
        case .decideAgain(let item, let current, let choice):
            return .review(.acted(await decideAgain(item, current: current, choice: choice)))
        case .searchSlots(let bookingId, let providerRef, let from):
            guard let ehr else { return nil }
            do {
                return .review(.slotsFound(bookingId: bookingId, providerRef: providerRef,
                                           .success(try await ehrRead("slot.search", resourceType: "Slot", resourceId: nil,
                                                                      callId: nil) { () async throws(FHIRError) in
                                               try await ehr.freeSlots(providerRef: providerRef, from: from)
                                           })))
            } catch {
                return .review(.slotsFound(bookingId: bookingId, providerRef: providerRef, .failure(EHRFailure(text: "\(error)"))))
            }
        case .readAppointment(let item):
            guard let ehr else { return nil }
            do {
                let ref = item.booking.appointmentRef
                return .review(.appointmentRead(bookingId: item.id, .success(try await ehrRead(
                    "appointment.read", resourceType: "Appointment", resourceId: ref, callId: item.booking.callId
                ) { () async throws(FHIRError) in try await ehr.appointment(ref) })))
            } catch {
                return .review(.appointmentRead(bookingId: item.id, .failure(EHRFailure(text: "\(error)"))))
            }
        }
    }

    private func readReview(_ read: ReviewRead) throws -> ReviewSnapshot {
        let source = ReviewSource(store: audit, filter: read.filter, counts: read.counts)
        var snapshot = try audit.snapshot { () throws -> ReviewSnapshot in
            var window: TableWindow<ReviewItem>
            if let id = read.reveal, let row = try audit.reviewItem(bookingId: id) {
                window = try source.window(around: row, chunk: read.chunk)
            } else if read.follows, let anchor = read.anchor {
                // The booking as it is now (decided since, perhaps, and elsewhere in the list).
                window = try source.window(around: try audit.reviewItem(bookingId: anchor.id) ?? anchor, chunk: read.chunk)
            } else {
                window = try source.window(around: read.anchor, chunk: read.chunk)
            }
            let details = try read.details.flatMap { id in
                try audit.reviewItem(bookingId: id).map { item in
                    (item: item, call: try item.booking.callId.map { try CallRecord.read(audit, callId: $0) })
                }
            }
            return ReviewSnapshot(read: read, window: window, backlog: read.backlog ? try audit.reviewBacklog(since: read.windowStart) : nil,
                                  corrections: [:], details: details)
        }
        // The outbox is another file: read after, for the corrected rows in view only.
        var progress: [String: CorrectionProgress] = [:]
        let corrected = snapshot.window.rows.filter { $0.decision?.decision == .corrected } + (snapshot.details.map { [$0.item] } ?? [])
        for item in corrected where item.decision?.decision == .corrected {
            if let outboxItem = try reviews.correctionStatus(bookingId: item.id) { progress[item.id] = CorrectionProgress(outboxItem) }
        }
        snapshot.corrections = progress
        // The guide's pitfalls, beside the agent's flags: the booking's own writes say
        // whether it has reached the EHR yet.
        var pitfalls: [String: [PitfallFinding]] = [:]
        let undecided = snapshot.window.rows.filter { !$0.isDecided }
        let writes = try outbox?.items(forBookings: undecided.map(\.id)) ?? [:]
        for item in undecided {
            let statuses = (writes[item.id] ?? []).filter { !$0.isCorrection }.map(\.status)
            let found = PitfallFlags.evaluate(item.booking, outbox: statuses, rules: settings.reviewFlags)
            if !found.isEmpty { pitfalls[item.id] = found }
        }
        snapshot.pitfalls = pitfalls
        return snapshot
    }

    /// A booking as messages name it: the patient (as this operator may see them) and when.
    func bookingName(_ item: ReviewItem, time: TimeText) -> String {
        ReviewDetails.name(of: item, identity: identity, time: time)
    }

    private func approve(_ items: [ReviewItem]) async -> ReviewActed {
        let reviews = self.reviews, now = Clock.nowMillis(), time = TimeText()
        let result = await write { try reviews.approveAll(items.map(\.id), now: now) }
        switch result {
        case .failure(let failure):
            return ReviewActed(what: .approved, text: "Not approved: \(failure.text)", isError: true)
        case .success(let outcome):
            if let why = outcome.notAllowed { return ReviewActed(what: .approved, text: why, isError: true) }
            let approved = items.filter { outcome.approved.contains($0.id) }
            var text: String
            if items.count == 1, let first = outcome.alreadyDecided.first {
                text = ReviewDetails.alreadyDecided(first, booking: bookingName(items[0], time: time), time: time)
            } else if items.count == 1, !outcome.missing.isEmpty {
                text = "That booking no longer exists."
            } else if items.count == 1 {
                text = "Approved \(bookingName(items[0], time: time))."
            } else {
                text = "Approved \(approved.count) of \(items.count)."
                if !outcome.alreadyDecided.isEmpty { text += " \(outcome.alreadyDecided.count) already decided by others." }
                if !outcome.missing.isEmpty { text += " \(outcome.missing.count) no longer exist." }
            }
            return ReviewActed(what: .approved, done: approved, text: text, isError: approved.count != items.count)
        }
    }

    private func undo(_ items: [ReviewItem]) async -> ReviewActed {
        let reviews = self.reviews, now = Clock.nowMillis(), time = TimeText()
        let result = await write { () throws -> [(ReviewItem, UndoOutcome)] in
            try items.map { ($0, try reviews.undoApproval(bookingId: $0.id, now: now)) }
        }
        switch result {
        case .failure(let failure):
            return ReviewActed(what: .undone, text: "Not undone: \(failure.text)", isError: true)
        case .success(let outcomes):
            let undone = outcomes.compactMap { item, outcome -> ReviewItem? in
                if case .undone = outcome { return item } else { return nil }
            }
            if undone.isEmpty, case .refused(let reason)? = outcomes.first?.1 {
                return ReviewActed(what: .undone, text: reason, isError: true)
            }
            let text = undone.count == 1 ? "Approval of \(bookingName(undone[0], time: time)) undone."
                : "\(undone.count) approvals undone" + (undone.count < items.count ? " of \(items.count)." : ".")
            return ReviewActed(what: .undone, done: undone, text: text, isError: undone.count < items.count)
        }
    }

    private func correct(_ correction: Correction, item: ReviewItem) async -> ReviewActed {
        let reviews = self.reviews, now = Clock.nowMillis(), time = TimeText()
        switch await write({ try reviews.correct(correction, now: now) }) {
        case .failure(let failure):
            return ReviewActed(what: .corrected, text: "Not corrected: \(failure.text)", isError: true, formProblem: failure.text)
        case .success(.recorded):
            return ReviewActed(what: .corrected, done: [item],
                               text: "Corrected \(bookingName(item, time: time)) (\(correction.category.label)); the EHR change waits in the outbox.")
        case .success(.alreadyDecided(let first)):
            return ReviewActed(what: .corrected, text: ReviewDetails.alreadyDecided(first, booking: bookingName(item, time: time), time: time),
                               isError: true)
        case .success(.noSuchBooking):
            return ReviewActed(what: .corrected, text: "That booking no longer exists.", isError: true)
        case .success(.notAllowed(let why)):
            return ReviewActed(what: .corrected, text: why, isError: true, formProblem: why)
        }
    }

    private func decideAgain(_ item: ReviewItem, current: AppointmentNow, choice: SecondDecision) async -> ReviewActed {
        let reviews = self.reviews, now = Clock.nowMillis(), time = TimeText()
        switch await write({ try reviews.decideAgain(bookingId: item.id, current: current, choice: choice, now: now) }) {
        case .failure(let failure):
            return ReviewActed(what: .decidedAgain, text: "Not decided: \(failure.text)", isError: true)
        case .success(.recorded):
            let text: String
            switch choice {
            case .keepEHR: text = "Kept the EHR's version \(current.version) of \(bookingName(item, time: time))."
            case .reapply: text = "Correction of \(bookingName(item, time: time)) queued again against version \(current.version)."
            }
            return ReviewActed(what: .decidedAgain, done: [item], text: text)
        case .success(.alreadyDecided(let first)):
            return ReviewActed(what: .decidedAgain, text: ReviewDetails.alreadyDecided(first, booking: bookingName(item, time: time), time: time),
                               isError: true)
        case .success(.noSuchBooking):
            return ReviewActed(what: .decidedAgain, text: "That booking no longer exists.", isError: true)
        case .success(.notAllowed(let why)):
            return ReviewActed(what: .decidedAgain, text: why, isError: true)
        }
    }
}
