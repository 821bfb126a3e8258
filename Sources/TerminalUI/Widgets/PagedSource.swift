/// Rows for a ``Table``, fetched a page at a time by keyset: the table asks for rows
/// after or before a row it already has, never for an offset, and never for everything.
///
/// A database-backed source orders by a unique key and turns the cursor row into a
/// `WHERE` clause:
///
///     func rows(after row: Item?, limit: Int) -> [Item] {
///         // SELECT … WHERE (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?
///     }
///     func rows(before row: Item?, limit: Int) -> [Item] {
///         // SELECT … WHERE (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?
///         // then reverse into display order
///     }
public protocol PagedSource<Row> {
    associatedtype Row
    associatedtype ID: Hashable

    /// The identity that selection and marks follow.
    func id(of row: Row) -> ID
    /// Up to `limit` rows following `row` in display order; the first rows when nil.
    /// `row` may no longer exist: its sort key still says where it was.
    func rows(after row: Row?, limit: Int) -> [Row]
    /// Up to `limit` rows preceding `row`, in display order; the last rows when nil.
    func rows(before row: Row?, limit: Int) -> [Row]
    /// The number of rows, when cheap enough to ask on refresh; nil otherwise.
    func count() -> Int?
    /// The 1-based position of `row`, when cheap enough to ask on every move; nil otherwise.
    func position(of row: Row) -> Int?
}

extension PagedSource {
    public func count() -> Int? { nil }
    public func position(of row: Row) -> Int? { nil }
}

/// A ``PagedSource`` over an array kept in order, for tests and small lists.
///
///     let source = ArraySource(rows: items, id: \.id) { $0.name < $1.name }
public final class ArraySource<Row, ID: Hashable>: PagedSource {
    /// The rows, always in display order.
    public private(set) var rows: [Row]
    private let identify: (Row) -> ID
    private let precedes: (Row, Row) -> Bool

    /// - Parameter precedes: the display order; it must tell any two distinct rows apart.
    public init(rows: [Row], id: @escaping (Row) -> ID, by precedes: @escaping (Row, Row) -> Bool) {
        self.identify = id
        self.precedes = precedes
        self.rows = rows.sorted(by: precedes)
    }

    /// Replaces the rows (they are sorted); call ``Table/reload()`` afterwards.
    public func replace(with rows: [Row]) { self.rows = rows.sorted(by: precedes) }

    /// Adds rows in order.
    public func insert(_ new: [Row]) { replace(with: rows + new) }

    /// Removes the rows with these IDs.
    public func remove(ids: Set<ID>) { rows.removeAll { ids.contains(identify($0)) } }

    public func id(of row: Row) -> ID { identify(row) }

    public func rows(after row: Row?, limit: Int) -> [Row] {
        let start = row.map { cursor in rows.firstIndex { precedes(cursor, $0) } ?? rows.count } ?? 0
        return Array(rows[start..<min(rows.count, start + limit)])
    }

    public func rows(before row: Row?, limit: Int) -> [Row] {
        let end = row.map { cursor in rows.firstIndex { !precedes($0, cursor) } ?? rows.count } ?? rows.count
        return Array(rows[max(0, end - limit)..<end])
    }

    public func count() -> Int? { rows.count }

    public func position(of row: Row) -> Int? {
        let id = identify(row)
        return rows.firstIndex { identify($0) == id }.map { $0 + 1 }
    }
}
