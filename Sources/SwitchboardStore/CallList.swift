import GRDB
import SwitchboardCore

/// The two parts of the Calls list: calls in progress, oldest first (the longest call
/// on top), then calls that ended, newest first.
public enum CallSection: Sendable, Equatable {
    case inProgress, ended
}

/// Which calls to list: a word found in the caller's number, the intent, the outcome or
/// the call id (case-blind; `new patient` finds `new_patient_booking`).
public struct CallFilter: Sendable, Equatable {
    public var text: String?
    /// Whether `text` may find the caller's whole number. False for someone shown only its
    /// last two digits: their filter finds the number as they see it, since one that
    /// matched the hidden digits would give them away.
    public var searchesCallerNumbers: Bool

    public init(text: String? = nil, searchesCallerNumbers: Bool = true) {
        self.text = text
        self.searchesCallerNumbers = searchesCallerNumbers
    }

    /// What the query's condition says, for one call already read.
    public func matches(_ call: Call) -> Bool {
        guard let text, !text.isEmpty else { return true }
        let word = text.lowercased().replacingOccurrences(of: " ", with: "_")
        let caller = call.caller.map { searchesCallerNumbers ? $0 : Call.caller($0, showingLast: Call.digitsShownToViewers) }
        return [call.callId.lowercased(), caller?.lowercased(), call.intent, call.outcome].contains { $0?.contains(word) == true }
    }

    fileprivate var condition: (sql: String, arguments: [any DatabaseValueConvertible]) {
        guard let text, !text.isEmpty else { return ("", []) }
        let word = text.lowercased().replacingOccurrences(of: " ", with: "_")
        let caller = searchesCallerNumbers ? "caller" : "\(Self.callerAsAViewerSees.name)(caller)"
        return (" AND (instr(lower(call_id), ?) OR instr(lower(\(caller)), ?) OR instr(intent, ?) OR instr(outcome, ?))",
                [word, word, word, word])
    }

    /// `sb_caller_seen(caller)`: the number as a viewer is shown it, for a viewer's filter
    /// (on every connection the store opens).
    static let callerAsAViewerSees = DatabaseFunction("sb_caller_seen", argumentCount: 1, pure: true) { values in
        String.fromDatabaseValue(values[0]).map { Call.caller($0, showingLast: Call.digitsShownToViewers) }
    }
}

/// Today's calls in figures, for the Calls header.
public struct CallFigures: Sendable, Equatable {
    public var ended: Int
    public var resolvedFirstCall: Int
    public var firstCallResolution: Double? { ended == 0 ? nil : Double(resolvedFirstCall) / Double(ended) }
}

extension AuditStore {
    /// One section of the Calls list, keyset-paged on (started_at, call_id): the `limit`
    /// calls that follow `cursor` in the section's order, or with `backwards` the `limit`
    /// that precede it, nearest first. A filter that matches little scans the section's
    /// index until it has `limit` rows, never the audit chain.
    public func calls(_ section: CallSection, matching filter: CallFilter = .init(), after cursor: CallCursor?,
                      backwards: Bool = false, limit: Int) throws -> [Call] {
        let ascending = (section == .inProgress) != backwards
        var sql = section == .inProgress
            ? "SELECT * FROM call INDEXED BY call_in_progress WHERE ended_at IS NULL"
            : "SELECT * FROM call INDEXED BY call_by_start WHERE ended_at IS NOT NULL"
        var arguments: [any DatabaseValueConvertible] = []
        if let cursor {
            sql += " AND (started_at, call_id) \(ascending ? ">" : "<") (?, ?)"
            arguments += [cursor.startedAt, cursor.callId]
        }
        let (condition, values) = filter.condition
        sql += condition + " ORDER BY started_at \(ascending ? "ASC" : "DESC"), call_id \(ascending ? "ASC" : "DESC") LIMIT ?"
        arguments += values
        return try read { db in
            let statement = try db.cachedStatement(sql: sql)
            let at = Call.positions(in: statement.columnNames)
            return try unreadable.records(statement, arguments: StatementArguments(arguments), limit: limit) { try Call(row: $0, at: at) }
        }
    }

    /// How many audit rows each call has so far (an index range per call: for a page of
    /// calls, not a whole table).
    public func stepCounts(ofCalls ids: [String]) throws -> [String: Int] {
        try read { db in
            var counts: [String: Int] = [:]
            let statement = try db.cachedStatement(sql: "SELECT count(*) FROM audit_event WHERE call_id = ?")
            for id in ids { counts[id] = try Int.fetchOne(statement, arguments: [id]) ?? 0 }
            return counts
        }
    }

    /// Calls in progress now: one look at a partial index, cheap enough for every read of
    /// the Calls list (so the header's count and the live rows come from the same commit).
    public func callsInProgressCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM call INDEXED BY call_in_progress WHERE ended_at IS NULL") ?? 0 }
    }

    /// The bookings a call made, in the order it made them.
    public func bookings(ofCall callId: String) throws -> [Booking] {
        try read { db in
            try unreadable.records(Booking.self, db, sql: "SELECT * FROM booking WHERE call_id = ? ORDER BY booked_at, booking_id", arguments: [callId])
        }
    }

    /// The calls started since `since` that ended, with how
    /// many were resolved on the first call (a range of the start index).
    public func callFigures(since: UnixMillis) throws -> CallFigures {
        try read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT count(*) AS ended, total(first_call_resolved) AS resolved FROM call
                WHERE started_at >= ? AND ended_at IS NOT NULL
                """, arguments: [since])
            return CallFigures(ended: row?["ended"] ?? 0, resolvedFirstCall: Int(clamping: (row?["resolved"] as Double?) ?? 0))
        }
    }
}
