import GRDB
import SwitchboardCore

/// The command line's outbox filter (`switchboard outbox list|retry|discard|requeue`): each
/// field narrows the list, all of them together. Statuses go through
/// `outbox_item_by_status`, so a page of a large outbox reads `limit` rows per status.
///
///     let stuck = OutboxQuery(statuses: [.failed], errorText: "502", olderThanMillis: 600_000)
///     let ids = try outbox.ids(matching: stuck, now: Clock.nowMillis())
public struct OutboxQuery: Sendable, Equatable {
    /// Empty: every status.
    public var statuses: [OutboxStatus]
    /// Exact operation (`appointment.create`).
    public var operation: String?
    /// Case-blind text in the last error.
    public var errorText: String?
    public var callId: String?
    public var bookingId: String?
    /// Only items created at least this long ago.
    public var olderThanMillis: Int64?

    public init(statuses: [OutboxStatus] = [], operation: String? = nil, errorText: String? = nil, callId: String? = nil,
                bookingId: String? = nil, olderThanMillis: Int64? = nil) {
        self.statuses = statuses; self.operation = operation; self.errorText = errorText
        self.callId = callId; self.bookingId = bookingId; self.olderThanMillis = olderThanMillis
    }

    fileprivate func condition(now: UnixMillis) -> (String, StatementArguments) {
        var terms: [String] = [], arguments: StatementArguments = []
        if let operation { terms.append("operation = ?"); arguments += [operation] }
        if let errorText, !errorText.isEmpty { terms.append("instr(lower(ifnull(last_error, '')), ?)"); arguments += [errorText.lowercased()] }
        if let callId { terms.append("call_id = ?"); arguments += [callId] }
        if let bookingId { terms.append("booking_id = ?"); arguments += [bookingId] }
        if let olderThanMillis { terms.append("created_at <= ?"); arguments += [now - olderThanMillis] }
        return (terms.map { " AND " + $0 }.joined(), arguments)
    }
}

extension OutboxStore {
    /// Up to `limit` items matching `query` after `cursor`, oldest first (keyset paged).
    public func items(matching query: OutboxQuery, after cursor: OutboxCursor?, limit: Int, now: UnixMillis) throws -> [OutboxItem] {
        let (condition, arguments) = query.condition(now: now)
        let keyset = cursor == nil ? "" : " AND (created_at, id) > (?, ?)"
        let cursorArguments: StatementArguments = cursor.map { [$0.createdAt, $0.id] } ?? []
        return try read { db in
            // Every status when none is named: the table has no (created_at, id) index of its
            // own, and six short index ranges beat sorting the whole table for each page.
            var merged: [OutboxItem] = []
            for status in Set(query.statuses.isEmpty ? OutboxStatus.allCases : query.statuses) {
                merged += try OutboxItem.fetchAll(db, sql: """
                    SELECT * FROM outbox_item INDEXED BY outbox_item_by_status
                    WHERE status = ?\(keyset)\(condition) ORDER BY created_at, id LIMIT ?
                    """, arguments: [status.rawValue] + cursorArguments + arguments + [limit])
            }
            merged.sort { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
            return Array(merged.prefix(limit))
        }
    }

    /// Walks the items matching `query`, oldest first, a page at a time (`pageSize` rows per
    /// status and read), each row read once: a merge of one keyset-paged range per status,
    /// so listing a whole outbox costs what its rows cost. `body` gets each page, and
    /// returns false to stop.
    public func forEachPage(matching query: OutboxQuery, now: UnixMillis, pageSize: Int = 1_000,
                            _ body: ([OutboxItem]) throws -> Bool) throws {
        let (condition, arguments) = query.condition(now: now)
        struct Run { var status: OutboxStatus; var buffer: ArraySlice<OutboxItem> = []; var cursor: OutboxCursor?; var done = false }
        var runs = Set(query.statuses.isEmpty ? OutboxStatus.allCases : query.statuses).map { Run(status: $0) }
        func refill(_ run: inout Run) throws {
            guard run.buffer.isEmpty, !run.done else { return }
            let keyset = run.cursor == nil ? "" : " AND (created_at, id) > (?, ?)"
            let cursorArguments: StatementArguments = run.cursor.map { [$0.createdAt, $0.id] } ?? []
            let status = run.status
            let page = try read { db in
                try OutboxItem.fetchAll(db, sql: """
                    SELECT * FROM outbox_item INDEXED BY outbox_item_by_status
                    WHERE status = ?\(keyset)\(condition) ORDER BY created_at, id LIMIT ?
                    """, arguments: [status.rawValue] + cursorArguments + arguments + [pageSize])
            }
            run.buffer = page[...]
            run.cursor = page.last.map(OutboxCursor.init) ?? run.cursor
            run.done = page.count < pageSize
        }
        var out: [OutboxItem] = []
        while true {
            for i in runs.indices { try refill(&runs[i]) }
            guard let next = runs.indices.filter({ !runs[$0].buffer.isEmpty })
                .min(by: { (runs[$0].buffer.first!.createdAt, runs[$0].buffer.first!.id) < (runs[$1].buffer.first!.createdAt, runs[$1].buffer.first!.id) })
            else { break }
            out.append(runs[next].buffer.removeFirst())
            if out.count == pageSize {
                guard try body(out) else { return }
                out.removeAll(keepingCapacity: true)
            }
        }
        if !out.isEmpty { _ = try body(out) }
    }

    /// Every id matching `query` now, oldest first: the snapshot a bulk action works through,
    /// so items that start matching after the operator confirmed are left alone.
    public func ids(matching query: OutboxQuery, now: UnixMillis, pageSize: Int = 5_000) throws -> [String] {
        var ids: [String] = [], cursor: OutboxCursor?
        while true {
            let page = try items(matching: query, after: cursor, limit: pageSize, now: now)
            ids += page.map(\.id)
            guard page.count == pageSize, let last = page.last else { return ids }
            cursor = OutboxCursor(last)
        }
    }

    /// The newest try of an item, if it was ever tried.
    public func lastAttempt(ofItem id: String) throws -> OutboxAttempt? {
        try read { db in
            try OutboxAttempt.fetchOne(db, sql: "SELECT * FROM outbox_attempt WHERE item_id = ? ORDER BY attempt DESC LIMIT 1", arguments: [id])
        }
    }

    /// The newest try of each of `ids` (a page of a list), in one read.
    public func lastAttempts(ofItems ids: [String]) throws -> [String: OutboxAttempt] {
        guard !ids.isEmpty else { return [:] }
        return try read { db in
            var newest: [String: OutboxAttempt] = [:]
            for start in stride(from: 0, to: ids.count, by: 500) {
                let chunk = Array(ids[start ..< min(ids.count, start + 500)])
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                for attempt in try OutboxAttempt.fetchAll(db, sql: "SELECT * FROM outbox_attempt WHERE item_id IN (\(marks))",
                                                          arguments: StatementArguments(chunk)) {
                    if (newest[attempt.itemId]?.attempt ?? .min) < attempt.attempt { newest[attempt.itemId] = attempt }
                }
            }
            return newest
        }
    }

    /// The items of `ids` that exist, by id, in one read (a bulk action's selection).
    public func items(ids: [String]) throws -> [String: OutboxItem] {
        guard !ids.isEmpty else { return [:] }
        return try read { db in
            var found: [String: OutboxItem] = [:]
            for start in stride(from: 0, to: ids.count, by: 500) {
                let chunk = Array(ids[start ..< min(ids.count, start + 500)])
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                for item in try unreadable.records(OutboxItem.self, db, sql: "SELECT * FROM outbox_item WHERE id IN (\(marks))",
                                                   arguments: StatementArguments(chunk)) {
                    found[item.id] = item
                }
            }
            return found
        }
    }

    /// "Retry now" for many items in one transaction (see `retryNow(id:now:)`): the ids
    /// whose compare-and-set went through. One commit instead of one per item is what
    /// makes a bulk retry of hundreds of items take milliseconds, not seconds.
    public func retryNow(ids: [String], now: UnixMillis) throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return try write { db in
            var retried: Set<String> = []
            let statement = try db.makeStatement(sql: """
                UPDATE outbox_item SET status = 'pending', next_attempt_at = ?, updated_at = ?,
                    max_attempts = max(max_attempts, attempts + 1)
                WHERE id = ? AND status IN ('pending', 'failed', 'dead')
                """)
            for id in ids {
                try statement.execute(arguments: [now, now, id])
                if db.changesCount == 1 { retried.insert(id) }
            }
            return retried
        }
    }

    /// An operator's "requeue": a failed or dead item goes back to `pending`, due now, with
    /// `budget` attempts more than it has used (the count itself is kept: the attempt rows
    /// are numbered by it). False if it was not failed or dead.
    public func requeue(id: String, budget: Int, now: UnixMillis) throws -> Bool {
        try write { db in
            try db.execute(sql: """
                UPDATE outbox_item SET status = 'pending', next_attempt_at = ?, updated_at = ?, max_attempts = attempts + ?
                WHERE id = ? AND status IN ('failed', 'dead')
                """, arguments: [now, now, budget, id])
            return db.changesCount == 1
        }
    }

    /// What the on-call figures need from the outbox, read in one transaction.
    public func onCallFigures(now: UnixMillis) throws -> OutboxFigures {
        let counts = try countsByStatus()
        return try read { db in
            var figures = OutboxFigures(countsByStatus: counts)
            figures.oldestPendingCreatedAt = try Int64.fetchOne(db, sql: """
                SELECT min(created_at) FROM outbox_item INDEXED BY outbox_item_by_status WHERE status = 'pending'
                """)
            figures.oldestDead = try Row.fetchOne(db, sql: """
                SELECT id, updated_at FROM outbox_item INDEXED BY outbox_item_by_status WHERE status = 'dead'
                ORDER BY updated_at LIMIT 1
                """).map { (id: $0[0], since: $0[1]) }
            // Failing since the first failed try of the item's current run of failures.
            figures.longestFailing = try Row.fetchOne(db, sql: """
                SELECT i.id, min(a.ended_at) FROM outbox_item i INDEXED BY outbox_item_by_status
                JOIN outbox_attempt a ON a.item_id = i.id AND a.outcome != 'success'
                WHERE i.status = 'failed' GROUP BY i.id ORDER BY 2 LIMIT 1
                """).flatMap { row in (row[1] as Int64?).map { (id: row[0], since: $0) } }
            // Due and not sent: the agent is holding them back (or not running).
            figures.overduePending = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM outbox_item INDEXED BY outbox_item_due
                WHERE status IN ('pending', 'failed') AND next_attempt_at <= ?
                """, arguments: [now - 5_000]) ?? 0
            figures.overdueSince = try Int64.fetchOne(db, sql: """
                SELECT min(next_attempt_at) FROM outbox_item INDEXED BY outbox_item_due
                WHERE status IN ('pending', 'failed') AND next_attempt_at <= ?
                """, arguments: [now - 5_000])
            // Of those, the ones whose last try in the last minute got no answer at all. From
            // the overdue items (few, by index) to their last attempt: outbox_attempt has no
            // time index, and a scan of it grows with the history.
            figures.recentUnansweredAttempts = figures.overduePending == 0 ? 0 : try Int.fetchOne(db, sql: """
                SELECT count(*) FROM outbox_item i INDEXED BY outbox_item_due
                JOIN outbox_attempt a ON a.item_id = i.id AND a.attempt = i.attempts
                WHERE i.status IN ('pending', 'failed') AND i.next_attempt_at <= ?
                  AND a.ended_at >= ? AND a.http_status IS NULL AND a.ack_code IS NULL
                """, arguments: [now - 5_000, now - 60_000]) ?? 0
            return figures
        }
    }
}

/// The outbox as on-call sees it at one moment.
public struct OutboxFigures: Sendable, Equatable {
    public var countsByStatus: [OutboxStatus: Int]
    public var oldestPendingCreatedAt: UnixMillis?
    /// The dead item that died first, and when.
    public var oldestDead: (id: String, since: UnixMillis)?
    /// The failed item failing longest, and since when.
    public var longestFailing: (id: String, since: UnixMillis)?
    /// Items due more than 5 s ago and still not sent.
    public var overduePending = 0
    public var overdueSince: UnixMillis?
    /// Overdue items whose last try, in the last minute, got no answer at all (connect
    /// failure, timeout).
    public var recentUnansweredAttempts = 0

    public init(countsByStatus: [OutboxStatus: Int] = [:]) { self.countsByStatus = countsByStatus }

    public static func == (a: Self, b: Self) -> Bool {
        a.countsByStatus == b.countsByStatus && a.oldestPendingCreatedAt == b.oldestPendingCreatedAt
            && a.oldestDead?.id == b.oldestDead?.id && a.oldestDead?.since == b.oldestDead?.since
            && a.longestFailing?.id == b.longestFailing?.id && a.longestFailing?.since == b.longestFailing?.since
            && a.overduePending == b.overduePending && a.overdueSince == b.overdueSince
            && a.recentUnansweredAttempts == b.recentUnansweredAttempts
    }
}
