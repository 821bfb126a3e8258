import GRDB
import SwitchboardCore

extension OutboxItem {
    /// `next_attempt_at` of an item queued before the decision it depends on is on record
    /// (a correction, see `ReviewActions.correct`): no worker's schedule ever reaches it.
    public static let heldUntilDecided: UnixMillis = .max

    /// Queued, but waiting for its decision rather than for a time.
    public var isHeld: Bool { status == .pending && nextAttemptAt == Self.heldUntilDecided }
}

/// One list of the Outbox screen: items in some statuses, oldest first, optionally
/// narrowed by text. Each status is read through `outbox_item_by_status` and held items
/// through `outbox_item_due`, then merged, so a page costs `limit` rows per part however
/// large the outbox is (no OFFSET, no sort of the whole table).
///
///     let stuck = OutboxListing(statuses: [.failed, .dead], held: .include)
///     let page = try outbox.items(stuck, after: nil, limit: 50)
public struct OutboxListing: Sendable, Equatable {
    /// What becomes of held items (they have status `pending`).
    public enum Held: Sendable, Equatable {
        /// Listed, even when `pending` is not among the statuses.
        case include
        /// Left out of `pending`: they are not waiting for a time.
        case exclude
    }

    public var statuses: [OutboxStatus]
    public var held: Held
    /// Case-blind text in the operation, booking, item id or last error.
    public var text: String?
    /// Whether `text` may find the last error. False for someone the error is hidden from
    /// (the EHR's answer or a discard reason can name the patient): a filter that matched
    /// it would tell them what it says.
    public var searchesErrors: Bool

    public init(statuses: [OutboxStatus], held: Held = .exclude, text: String? = nil, searchesErrors: Bool = true) {
        self.statuses = statuses
        self.held = held
        self.text = text
        self.searchesErrors = searchesErrors
    }

    /// A part of the list and the index that orders it.
    fileprivate struct Part {
        var condition: String
        var arguments: StatementArguments
        var index: String?
    }

    fileprivate var parts: [Part] {
        let held = OutboxItem.heldUntilDecided
        var parts = statuses.map { status in
            status == .pending
                ? Part(condition: "status = 'pending' AND next_attempt_at IS NOT ?", arguments: [held], index: "outbox_item_by_status")
                : Part(condition: "status = ?", arguments: [status.rawValue], index: "outbox_item_by_status")
        }
        if self.held == .include {
            // The partial index's own condition, so SQLite may use it; held items are few.
            parts.append(Part(condition: "status IN ('pending', 'failed') AND next_attempt_at = ? AND status = 'pending'",
                              arguments: [held], index: "outbox_item_due"))
        }
        return parts
    }

    fileprivate func textCondition() -> (String, StatementArguments) {
        guard let text, !text.isEmpty else { return ("", []) }
        let needle = text.lowercased()
        let searched = ["operation", "ifnull(booking_id, '')", "id"] + (searchesErrors ? ["ifnull(last_error, '')"] : [])
        return (" AND (" + searched.map { "instr(lower(\($0)), ?)" }.joined(separator: " OR ") + ")",
                StatementArguments(searched.map { _ in needle }))
    }
}

extension OutboxStore {
    /// Up to `limit` items of `listing` after `cursor` (from the start when nil), oldest first.
    public func items(_ listing: OutboxListing, after cursor: OutboxCursor?, limit: Int) throws -> [OutboxItem] {
        try page(listing, cursor: cursor, forward: true, limit: limit)
    }

    /// Up to `limit` items of `listing` before `cursor` (the last ones when nil), oldest first.
    public func items(_ listing: OutboxListing, before cursor: OutboxCursor?, limit: Int) throws -> [OutboxItem] {
        try page(listing, cursor: cursor, forward: false, limit: limit)
    }

    /// How many items are held for a decision.
    public func heldCount() throws -> Int {
        try read { db in
            try Int.fetchOne(db, sql: """
                SELECT count(*) FROM outbox_item WHERE status IN ('pending', 'failed') AND next_attempt_at = ? AND status = 'pending'
                """, arguments: [OutboxItem.heldUntilDecided]) ?? 0
        }
    }

    private func page(_ listing: OutboxListing, cursor: OutboxCursor?, forward: Bool, limit: Int) throws -> [OutboxItem] {
        let (text, textArguments) = listing.textCondition()
        let direction = forward ? "" : " DESC"
        let keyset = cursor == nil ? "" : " AND (created_at, id) \(forward ? ">" : "<") (?, ?)"
        let cursorArguments: StatementArguments = cursor.map { [$0.createdAt, $0.id] } ?? []
        return try read { db in
            var merged: [OutboxItem] = []
            for part in listing.parts {
                let sql = "SELECT * FROM outbox_item" + (part.index.map { " INDEXED BY \($0)" } ?? "")
                    + " WHERE \(part.condition)\(keyset)\(text) ORDER BY created_at\(direction), id\(direction) LIMIT ?"
                merged += try unreadable.records(OutboxItem.self, db.makeStatement(sql: sql),
                                                 arguments: part.arguments + cursorArguments + textArguments, limit: limit)
            }
            // Each part is in order and holds at least the first `limit` of its rows, so the
            // first `limit` of the merge are the list's.
            merged.sort { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
            return forward ? Array(merged.prefix(limit)) : Array(merged.suffix(limit))
        }
    }
}
