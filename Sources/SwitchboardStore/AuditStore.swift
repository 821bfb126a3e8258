import Foundation
import GRDB
import SwitchboardCore

/// `audit.sqlite`: the chain of EHR requests and operator actions, calls, bookings and
/// review decisions. Reads go through the pool's readers and never block the writer.
public final class AuditStore: ContractStore, Sendable {
    public static let role = DatabaseRole.audit
    public let path: String
    public let database: any DatabaseWriter
    public let writer: StoreWriter
    /// How long a statement waits for another process's lock; reported when it gives up.
    public let busyTimeoutMillis: Int
    /// Rows skipped by listings because a column could not be read (see `UnreadableRow`).
    public let unreadable = UnreadableRows()

    /// `writer`: nil to write through `database` too.
    public init(database: any DatabaseWriter, writer: StoreWriter? = nil, path: String = ":memory:",
                busyTimeoutMillis: Int = DatabaseFile.defaultBusyTimeoutMillis) {
        self.database = database
        self.writer = writer ?? StoreWriter(database)
        self.path = path
        self.busyTimeoutMillis = busyTimeoutMillis
    }

    // MARK: Audit chain

    /// Appends events to the chain in one transaction; returns them as written.
    @discardableResult
    public func append(_ events: [AuditEvent]) throws -> [AuditEvent] {
        try write { db in try AuditChain.append(events, in: db) }
    }

    /// Walks the chain's stored rows (`AuditChain.verify`); `progress` gets the rows checked so far.
    public func verifyChain(fromSeq: Int64 = 1, limit: Int? = nil, progress: ((Int) -> Void)? = nil) throws -> AuditChain.Verification {
        do {
            return try AuditChain.verify(database, fromSeq: fromSeq, limit: limit, progress: progress)
        } catch let error as DatabaseError {
            throw DatabaseFile.translate(error, path: path, busyTimeoutMillis: busyTimeoutMillis)
        }
    }

    // MARK: Agent writes (the simulator plays the agent)

    /// Records what the agent did in one transaction: audit rows, call rows, bookings.
    public func recordAgentWork(audit: [AuditEvent] = [], calls: [Call] = [], bookings: [Booking] = []) throws {
        try write { db in
            for call in calls { try call.upsert(db) }
            for booking in bookings { try booking.insert(db, onConflict: .ignore) }
            _ = try AuditChain.append(audit, in: db)
        }
    }

    // MARK: Reads

    public func auditEvents(matching filter: AuditFilter = .init(), before cursor: Int64? = nil, limit: Int) throws -> [AuditEvent] {
        try read { db in try filter.page(db, before: cursor, limit: limit, unreadable: unreadable) }
    }

    public func auditEvents(matching filter: AuditFilter = .init(), after cursor: Int64, limit: Int) throws -> [AuditEvent] {
        try read { db in try filter.page(db, after: cursor, limit: limit, unreadable: unreadable) }
    }

    /// The steps of one call, in order.
    public func steps(ofCall callId: String, limit: Int = 500) throws -> [AuditEvent] {
        try read { db in
            try unreadable.records(AuditEvent.self, db, sql: "SELECT * FROM audit_event WHERE call_id = ? ORDER BY seq LIMIT ?",
                                    arguments: [callId, limit])
        }
    }

    public func call(id: String) throws -> Call? {
        try read { db in try Call.fetchOne(db, key: id) }
    }

    public func booking(id: String) throws -> Booking? {
        try read { db in try Booking.fetchOne(db, key: id) }
    }

    /// Calls in progress, oldest first, keyset-paged on (started_at, call_id).
    public func callsInProgress(after cursor: CallCursor? = nil, limit: Int) throws -> [Call] {
        try calls(.inProgress, after: cursor, limit: limit)
    }

    /// All calls, newest first, keyset-paged on (started_at, call_id).
    public func recentCalls(before cursor: CallCursor? = nil, limit: Int) throws -> [Call] {
        try read { db in
            if let cursor {
                return try unreadable.records(Call.self, db.cachedStatement(sql: """
                    SELECT * FROM call WHERE (started_at, call_id) < (?, ?) ORDER BY started_at DESC, call_id DESC LIMIT ?
                    """), arguments: [cursor.startedAt, cursor.callId], limit: limit)
            }
            return try unreadable.records(Call.self, db.cachedStatement(sql: "SELECT * FROM call ORDER BY started_at DESC, call_id DESC LIMIT ?"),
                                          arguments: [], limit: limit)
        }
    }
}

/// Position in a list of calls.
public struct CallCursor: Sendable, Equatable {
    public var startedAt: UnixMillis
    public var callId: String
    public init(startedAt: UnixMillis, callId: String) { self.startedAt = startedAt; self.callId = callId }
    public init(_ call: Call) { self.init(startedAt: call.startedAt, callId: call.callId) }
}

/// Which audit rows to show. Every filter is an equality on an indexed column or a
/// range on `seq`/`at`, and pages are keyset on `seq`, so a page costs the same at row
/// ten and at row ten million.
public struct AuditFilter: Sendable, Equatable {
    public var callId: String?
    public var action: String?
    public var actor: String?
    /// Only rows with this outcome or worse (e.g. `.minorFailure` for all failures).
    public var minimumOutcome: AuditOutcome?
    public var since: UnixMillis?
    public var until: UnixMillis?

    public init(callId: String? = nil, action: String? = nil, actor: String? = nil,
                minimumOutcome: AuditOutcome? = nil, since: UnixMillis? = nil, until: UnixMillis? = nil) {
        self.callId = callId; self.action = action; self.actor = actor
        self.minimumOutcome = minimumOutcome; self.since = since; self.until = until
    }

    private func conditions() -> (String, [any DatabaseValueConvertible]) {
        var clauses: [String] = []
        var args: [any DatabaseValueConvertible] = []
        if let callId { clauses.append("call_id = ?"); args.append(callId) }
        if let action { clauses.append("action = ?"); args.append(action) }
        // `actor:operator` finds every operator (`operator:maria`, …): the name or any
        // actor under it, as a range on the text (`operator:` up to `operator;`).
        if let actor {
            clauses.append("(actor = ? OR (actor >= ? AND actor < ?))")
            args += [actor, actor + ":", actor + ";"]
        }
        if let minimumOutcome { clauses.append("outcome >= ?"); args.append(minimumOutcome.rawValue) }
        if let since { clauses.append("at >= ?"); args.append(since) }
        if let until { clauses.append("at < ?"); args.append(until) }
        return (clauses.joined(separator: " AND "), args)
    }

    /// Newest first, strictly before `cursor`.
    func page(_ db: Database, before cursor: Int64?, limit: Int, unreadable: UnreadableRows) throws -> [AuditEvent] {
        var (sql, args) = conditions()
        if let cursor { sql += (sql.isEmpty ? "" : " AND ") + "seq < ?"; args.append(cursor) }
        return try unreadable.records(AuditEvent.self, db.cachedStatement(sql: "SELECT * FROM audit_event \(sql.isEmpty ? "" : "WHERE " + sql) ORDER BY seq DESC LIMIT ?"),
                                       arguments: StatementArguments(args), limit: limit)
    }

    /// Oldest first, strictly after `cursor` (scrolling back up towards newer rows).
    func page(_ db: Database, after cursor: Int64, limit: Int, unreadable: UnreadableRows) throws -> [AuditEvent] {
        var (sql, args) = conditions()
        sql += (sql.isEmpty ? "" : " AND ") + "seq > ?"
        args.append(cursor)
        return try unreadable.records(AuditEvent.self, db.cachedStatement(sql: "SELECT * FROM audit_event WHERE \(sql) ORDER BY seq LIMIT ?"),
                                       arguments: StatementArguments(args), limit: limit)
    }
}
