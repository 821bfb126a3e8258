import Foundation
import GRDB
import SwitchboardCore

/// A booking as the review screen shows it: the booking and, once decided, its decision.
public struct ReviewItem: Sendable, Equatable, Identifiable {
    public var booking: Booking
    public var decision: ReviewDecision?
    public var id: String { booking.bookingId }
    public var isDecided: Bool { decision != nil }
    public var cursor: ReviewCursor { ReviewCursor(decided: isDecided, bookedAt: booking.bookedAt, bookingId: booking.bookingId) }
}

/// Position in the review queue: undecided first, then oldest first.
public struct ReviewCursor: Sendable, Equatable, Hashable {
    public var decided: Bool
    public var bookedAt: UnixMillis
    public var bookingId: String
    public init(decided: Bool, bookedAt: UnixMillis, bookingId: String) {
        self.decided = decided; self.bookedAt = bookedAt; self.bookingId = bookingId
    }
}

/// Which flagged bookings to list.
public struct ReviewFilter: Sendable, Equatable {
    /// Only bookings made at or after this moment (the go-live window's start).
    public var bookedSince: UnixMillis?
    public var undecidedOnly: Bool
    /// Case-insensitive text to find in patient, provider, type or booking id.
    public var text: String?
    /// Providers whose names (which the database does not hold) match `text`.
    public var providerRefs: [String]
    /// Whether `text` may find the patient's name. False for someone shown initials only:
    /// a filter that matched the hidden name would tell them whose booking a row is.
    public var searchesPatientNames: Bool

    public init(bookedSince: UnixMillis? = nil, undecidedOnly: Bool = false, text: String? = nil, providerRefs: [String] = [],
                searchesPatientNames: Bool = true) {
        self.bookedSince = bookedSince; self.undecidedOnly = undecidedOnly
        self.text = text?.isEmpty == true ? nil : text
        self.providerRefs = providerRefs
        self.searchesPatientNames = searchesPatientNames
    }
}

/// What happened when a decision was offered.
public enum DecisionOutcome: Sendable, Equatable {
    /// This decision is the one on record; the audit row that records it is attached.
    case recorded(ReviewDecision, audit: AuditEvent)
    /// Someone else decided first; their decision stands.
    case alreadyDecided(ReviewDecision)
    case noSuchBooking(String)
}

/// What happened when an approval was offered for undoing.
public enum UndoOutcome: Sendable, Equatable {
    case undone(audit: AuditEvent)
    /// Not an approval by this operator within the undo time (or already undone).
    case refused(reason: String)
}

extension AuditStore {
    private static let reviewColumns = """
        b.booking_id, b.call_id, b.kind, b.appointment_ref, b.appointment_version, b.patient_ref,
        b.patient_display, b.provider_ref, b.appointment_type, b.start_at, b.end_at, b.booked_at,
        b.review_required, b.flags, b.decided,
        d.decision AS d_decision, d.category AS d_category, d.note AS d_note, d.operator AS d_operator,
        d.decided_at AS d_decided_at, d.before AS d_before, d.after AS d_after
        """

    /// Booking columns 0–14 in schema order, then the decision's from 15 (see `reviewColumns`).
    private static func item(_ row: Row) throws -> ReviewItem {
        let booking = try Booking(row: row)
        var decision: ReviewDecision?
        let r = StrictRow(row, table: "review_decision", key: "booking_id")
        if try r.textOrNil(15, "decision") != nil {
            decision = ReviewDecision(bookingId: booking.bookingId, decision: try r.word(15, "decision", as: ReviewVerdict.self),
                                      category: try r.textOrNil(16, "category"), note: try r.textOrNil(17, "note"),
                                      operator: try r.text(18, "operator"), decidedAt: try r.time(19, "decided_at"),
                                      before: try r.textOrNil(20, "before"), after: try r.textOrNil(21, "after"))
        }
        return ReviewItem(booking: booking, decision: decision)
    }

    static func conditions(_ filter: ReviewFilter) -> ([String], [any DatabaseValueConvertible]) {
        var clauses = ["b.review_required = 1"]
        var args: [any DatabaseValueConvertible] = []
        if filter.undecidedOnly { clauses.append("b.decided = 0") }
        if let since = filter.bookedSince { clauses.append("b.booked_at >= ?"); args.append(since) }
        if let text = filter.text {
            // What the row shows is what the filter finds: names accent- and case-blind
            // (`siobhan` finds Siobhán), and the kind by its label (`move` finds reschedules).
            let folded = SearchText.fold(text)
            let pattern = "%" + folded.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
            let named = filter.providerRefs.isEmpty ? "" : " OR b.provider_ref IN (\(filter.providerRefs.map { _ in "?" }.joined(separator: ", ")))"
            let kinds = BookingKind.allCases.filter { $0.label.contains(folded) }.map(\.rawValue)
            let kind = kinds.isEmpty ? "" : " OR b.kind IN (\(kinds.map { _ in "?" }.joined(separator: ", ")))"
            let searched = (filter.searchesPatientNames ? ["\(SearchText.function)(b.patient_display)"] : [])
                + ["b.provider_ref", "b.appointment_type", "b.booking_id"]
            clauses.append("(" + searched.map { "\($0) LIKE ? ESCAPE '\\'" }.joined(separator: " OR ") + "\(named)\(kind))")
            args += searched.map { _ in pattern } + filter.providerRefs + kinds
        }
        return (clauses, args)
    }

    /// A page of the review queue after `cursor` (or from the top), in queue order.
    public func reviewQueue(_ filter: ReviewFilter = .init(), after cursor: ReviewCursor? = nil, limit: Int) throws -> [ReviewItem] {
        try read { db in
            var (clauses, args) = Self.conditions(filter)
            if let c = cursor {
                clauses.append("(b.decided, b.booked_at, b.booking_id) > (?, ?, ?)")
                args += [c.decided ? 1 : 0, c.bookedAt, c.bookingId]
            }
            let statement = try db.cachedStatement(sql: """
                SELECT \(Self.reviewColumns) FROM booking b INDEXED BY booking_review_queue
                LEFT JOIN review_decision d ON d.booking_id = b.booking_id
                WHERE \(clauses.joined(separator: " AND "))
                ORDER BY b.decided, b.booked_at, b.booking_id LIMIT ?
                """)
            return try filledPage(limit) { asked in
                let rows = try Row.fetchAll(statement, arguments: StatementArguments(args + [asked]))
                return (try readEach(rows, into: unreadable, Self.item), rows.count)
            }
        }
    }

    /// A page of the review queue before `cursor`, returned in queue order.
    public func reviewQueue(_ filter: ReviewFilter = .init(), before cursor: ReviewCursor, limit: Int) throws -> [ReviewItem] {
        try read { db in
            var (clauses, args) = Self.conditions(filter)
            clauses.append("(b.decided, b.booked_at, b.booking_id) < (?, ?, ?)")
            args += [cursor.decided ? 1 : 0, cursor.bookedAt, cursor.bookingId]
            let statement = try db.cachedStatement(sql: """
                SELECT \(Self.reviewColumns) FROM booking b INDEXED BY booking_review_queue
                LEFT JOIN review_decision d ON d.booking_id = b.booking_id
                WHERE \(clauses.joined(separator: " AND "))
                ORDER BY b.decided DESC, b.booked_at DESC, b.booking_id DESC LIMIT ?
                """)
            return try filledPage(limit) { asked in
                let rows = try Row.fetchAll(statement, arguments: StatementArguments(args + [asked]))
                return (try readEach(rows, into: unreadable, Self.item), rows.count)
            }.reversed()
        }
    }

    /// The last page of the queue (for `G`).
    public func reviewQueueTail(_ filter: ReviewFilter = .init(), limit: Int) throws -> [ReviewItem] {
        try reviewQueue(filter, before: ReviewCursor(decided: true, bookedAt: .max, bookingId: "\u{10FFFF}"), limit: limit)
    }

    public func reviewItem(bookingId: String) throws -> ReviewItem? {
        try read { db in
            try Row.fetchOne(db, sql: """
                SELECT \(Self.reviewColumns) FROM booking b LEFT JOIN review_decision d ON d.booking_id = b.booking_id
                WHERE b.booking_id = ?
                """, arguments: [bookingId]).map(Self.item)
        }
    }

    /// The latest flagged booking a later call made on the same appointment (a move or a
    /// cancel): after it, the appointment is no longer at `booking`'s version, so a
    /// correction of `booking` would be refused (412). Reads the review queue's index from
    /// `booking` on, which holds only what came after it.
    public func laterBooking(than booking: Booking) throws -> ReviewItem? {
        try read { db in
            try Row.fetchOne(db, sql: """
                SELECT \(Self.reviewColumns) FROM booking b INDEXED BY booking_review_queue
                LEFT JOIN review_decision d ON d.booking_id = b.booking_id
                WHERE b.review_required = 1 AND b.decided IN (0, 1) AND b.booked_at >= ? AND b.appointment_ref = ?
                  AND b.booking_id != ?
                ORDER BY b.booked_at DESC LIMIT 1
                """, arguments: [booking.bookedAt, booking.appointmentRef, booking.bookingId]).map(Self.item)
        }
    }

    public func decision(bookingId: String) throws -> ReviewDecision? {
        try read { db in try ReviewDecision.filter(Column("booking_id") == bookingId).fetchOne(db) }
    }

    /// Records a decision at most once per booking (compare-and-set on the UNIQUE
    /// `booking_id`), with its audit row in the same transaction: either both are
    /// written or neither. A second reviewer gets the first one's decision back.
    public func decide(_ decision: ReviewDecision, detail: String? = nil) throws -> DecisionOutcome {
        try write { db in
            if let existing = try ReviewDecision.filter(Column("booking_id") == decision.bookingId).fetchOne(db) {
                return .alreadyDecided(existing)
            }
            guard let booking = try Booking.fetchOne(db, key: decision.bookingId) else {
                return .noSuchBooking(decision.bookingId)
            }
            try decision.insert(db)
            let event = AuditEvent(
                at: decision.decidedAt, actor: "operator:\(decision.operator)", callId: booking.callId,
                action: decision.decision == .approved ? "review.approve" : "review.correct",
                resourceType: "Appointment", resourceId: booking.appointmentRef, outcome: .success,
                detail: detail ?? Self.decisionDetail(decision))
            let written = try AuditChain.append([event], in: db)
            return .recorded(decision, audit: written[0])
        }
    }

    private static func decisionDetail(_ d: ReviewDecision) -> String {
        JSONText.object(["booking_id": d.bookingId, "decision": d.decision.rawValue, "category": d.category, "note": d.note])
    }

    /// Takes back an approval made by `operator` no longer than `withinMillis` ago. Only
    /// approvals can be undone: a correction has already queued an EHR change.
    /// `detail` replaces the row's default detail (the operations layer adds who acted).
    public func undoApproval(bookingId: String, operator: String, now: UnixMillis, withinMillis: Int64,
                             detail: String? = nil) throws -> UndoOutcome {
        try write { db in
            guard let existing = try ReviewDecision.filter(Column("booking_id") == bookingId).fetchOne(db) else {
                return .refused(reason: "booking \(bookingId) has no decision to undo")
            }
            guard existing.decision == .approved, existing.operator == `operator` else {
                return .refused(reason: "decided by \(existing.operator) (\(existing.decision.rawValue)); only your own approval can be undone")
            }
            guard now - existing.decidedAt <= withinMillis else {
                return .refused(reason: "the approval is older than \(withinMillis / 1000) s and can no longer be undone")
            }
            try db.execute(sql: "DELETE FROM review_decision WHERE booking_id = ?", arguments: [bookingId])
            let booking = try Booking.fetchOne(db, key: bookingId)
            let event = AuditEvent(at: now, actor: "operator:\(`operator`)", callId: booking?.callId, action: "review.undo",
                                   resourceType: "Appointment", resourceId: booking?.appointmentRef, outcome: .success,
                                   detail: detail ?? JSONText.object(["booking_id": bookingId, "undone": "approved"]))
            return .undone(audit: try AuditChain.append([event], in: db)[0])
        }
    }
}

extension AuditStore {
    /// How many bookings the filter lists. Cheap (a partial-index count) without a text
    /// filter; with one it scans, so callers ask only when the list is small.
    public func reviewCount(_ filter: ReviewFilter = .init()) throws -> Int {
        try read { db in
            let (clauses, args) = Self.conditions(filter)
            return try Int.fetchOne(db.cachedStatement(sql: """
                SELECT count(*) FROM booking b INDEXED BY booking_review_queue WHERE \(clauses.joined(separator: " AND "))
                """), arguments: StatementArguments(args)) ?? 0
        }
    }

    /// The 1-based position of `cursor` in the filtered queue (an index range count).
    public func reviewPosition(_ filter: ReviewFilter = .init(), of cursor: ReviewCursor) throws -> Int {
        try read { db in
            var (clauses, args) = Self.conditions(filter)
            clauses.append("(b.decided, b.booked_at, b.booking_id) <= (?, ?, ?)")
            args += [cursor.decided ? 1 : 0, cursor.bookedAt, cursor.bookingId]
            return try Int.fetchOne(db.cachedStatement(sql: """
                SELECT count(*) FROM booking b INDEXED BY booking_review_queue WHERE \(clauses.joined(separator: " AND "))
                """), arguments: StatementArguments(args)) ?? 0
        }
    }
}

/// What the review header shows: how many bookings still wait, and since when.
public struct ReviewBacklog: Sendable, Equatable {
    public var undecided: Int
    public var oldestBookedAt: UnixMillis?

    public init(undecided: Int = 0, oldestBookedAt: UnixMillis? = nil) {
        self.undecided = undecided; self.oldestBookedAt = oldestBookedAt
    }
}

extension AuditStore {
    /// The undecided bookings since `since`: one range of the review-queue index
    /// (decided = 0), so it costs what the backlog is, not what the history is.
    public func reviewBacklog(since: UnixMillis?) throws -> ReviewBacklog {
        try read { db in
            let undecided = try Int.fetchOne(db.cachedStatement(sql: """
                SELECT count(*) FROM booking INDEXED BY booking_review_queue
                WHERE review_required = 1 AND decided = 0 AND booked_at >= ?
                """), arguments: [since ?? .min]) ?? 0
            // A damaged time is no one's "oldest": only readable times count for it.
            let oldest = try DatabaseValue.fetchOne(db.cachedStatement(sql: """
                SELECT min(booked_at) FROM booking INDEXED BY booking_review_queue
                WHERE review_required = 1 AND decided = 0 AND booked_at >= ? AND booked_at \(StrictRow.timeInRange)
                """), arguments: [since ?? .min])
            guard case .int64(let t)? = oldest?.storage else { return ReviewBacklog(undecided: undecided) }
            return ReviewBacklog(undecided: undecided, oldestBookedAt: t)
        }
    }
}
