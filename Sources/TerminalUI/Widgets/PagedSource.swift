/// Rows for a ``Table``, read a page at a time by keyset: the reader asks for rows after
/// or before a row it already has, never for an offset, and never for everything.
///
/// A source does I/O, so only background work calls it (the program's operations
/// runner); the table itself holds the rows it was given and never reads. A
/// database-backed source orders by a unique key and turns the cursor row into a `WHERE`:
///
///     func rows(after row: Item?, limit: Int) throws -> [Item] {
///         // SELECT … WHERE (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?
///     }
///     func rows(before row: Item?, limit: Int) throws -> [Item] {
///         // SELECT … WHERE (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?
///         // then reverse into display order
///     }
public protocol PagedSource<Row> {
    associatedtype Row

    /// Up to `limit` rows following `row` in display order; the first rows when nil.
    /// `row` may no longer exist: its sort key still says where it was.
    func rows(after row: Row?, limit: Int) throws -> [Row]
    /// Up to `limit` rows preceding `row`, in display order; the last rows when nil.
    func rows(before row: Row?, limit: Int) throws -> [Row]
    /// The number of rows, when cheap enough to ask with every read; nil otherwise.
    func count() throws -> Int?
    /// The 1-based position of `row`, when cheap enough to ask with every read; nil otherwise.
    func position(of row: Row) throws -> Int?
}

extension PagedSource {
    public func count() throws -> Int? { nil }
    public func position(of row: Row) throws -> Int? { nil }

    /// The rows around `anchor` for a table whose pages are `chunk` rows: `chunk` rows
    /// before it, then it (or the row that took its place) and `chunk` after. Without an
    /// anchor, the first rows. One call, so a caller reading inside one transaction gets
    /// rows, total and position that agree.
    public func window(around anchor: Row?, chunk: Int) throws -> TableWindow<Row> {
        guard let anchor else { return try window(fromEnd: false, chunk: chunk) }
        let above = try rows(before: anchor, limit: chunk)
        let below = above.isEmpty ? try rows(after: nil, limit: chunk + 1) : try rows(after: above.last, limit: chunk + 1)
        let rows = above + below
        return TableWindow(rows: rows, reachesStart: above.count < chunk, reachesEnd: below.count < chunk + 1,
                           firstPosition: try rows.first.flatMap(position(of:)) ?? (above.count < chunk ? 1 : nil),
                           total: try count(), anchorIndex: above.count)
    }

    /// The first (or last) rows of the list.
    public func window(fromEnd: Bool, chunk: Int) throws -> TableWindow<Row> {
        let rows = fromEnd ? try rows(before: nil, limit: chunk) : try rows(after: nil, limit: chunk)
        let total = try count()
        let first: Int? = fromEnd ? total.map { $0 - rows.count + 1 } : 1
        return TableWindow(rows: rows, reachesStart: !fromEnd || rows.count < chunk, reachesEnd: fromEnd || rows.count < chunk,
                           firstPosition: first, total: total, anchorIndex: fromEnd ? max(0, rows.count - 1) : 0)
    }
}

/// Rows a background read found for a ``Table``, with what the table needs to place
/// them: whether they reach either end of the list, and where they stand in it.
public struct TableWindow<Row> {
    public var rows: [Row]
    public var reachesStart: Bool
    public var reachesEnd: Bool
    /// The 1-based position of `rows[0]` in the whole list, when known.
    public var firstPosition: Int?
    public var total: Int?
    /// Where the selection goes: the anchor's row, or the row that took its place.
    public var anchorIndex: Int

    public init(rows: [Row], reachesStart: Bool, reachesEnd: Bool, firstPosition: Int?, total: Int?, anchorIndex: Int) {
        self.rows = rows
        self.reachesStart = reachesStart
        self.reachesEnd = reachesEnd
        self.firstPosition = firstPosition
        self.total = total
        self.anchorIndex = anchorIndex
    }
}

extension TableWindow: Sendable where Row: Sendable {}

/// A ``PagedSource`` over an array kept in order, for tests and small lists.
///
///     let source = ArraySource(rows: items) { $0.name < $1.name }
public struct ArraySource<Row>: PagedSource {
    /// The rows, always in display order.
    public private(set) var rows: [Row]
    private let precedes: (Row, Row) -> Bool

    /// - Parameter precedes: the display order; it must tell any two distinct rows apart.
    public init(rows: [Row], by precedes: @escaping (Row, Row) -> Bool) {
        self.precedes = precedes
        self.rows = rows.sorted(by: precedes)
    }

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
        rows.firstIndex { !precedes($0, row) }.map { $0 + 1 }
    }
}
