import Foundation
import GRDB
import SwitchboardCore

/// A row the store could not read: its table, its key, the column and why — never the
/// value itself (a patient's name may be what is wrong).
///
///     unreadable booking row (booking_id bk-12): start_at is text, not a time
public struct UnreadableRow: Error, Sendable, Hashable, CustomStringConvertible {
    public var table: String
    /// `seq 17`, `booking_id bk-12`, or `rowid 9` when the key itself cannot be read.
    public var key: String
    public var column: String
    public var why: String

    public init(table: String, key: String, column: String, why: String) {
        self.table = table; self.key = key; self.column = column; self.why = why
    }

    public var description: String { "unreadable \(table) row (\(key)): \(column) \(why)" }
}

/// The unreadable rows a store has skipped while listing, so a screen or a command can
/// say how many and which (at most `kept` of them are remembered; all are counted).
public final class UnreadableRows: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [UnreadableRow] = []
    private var known: Set<UnreadableRow> = []
    private static let kept = 100

    public init() {}

    func note(_ rows: [UnreadableRow]) {
        guard !rows.isEmpty else { return }
        lock.lock(); defer { lock.unlock() }
        for row in rows where known.insert(row).inserted && seen.count < Self.kept { seen.append(row) }
    }

    /// How many different unreadable rows were met so far.
    public var count: Int { lock.lock(); defer { lock.unlock() }; return known.count }
    /// The first ones met, in the order they were met.
    public var rows: [UnreadableRow] { lock.lock(); defer { lock.unlock() }; return seen }
}

/// A page of `limit` readable records even when some rows are unreadable: `fetch(n)`
/// runs the page's query with `LIMIT n` and answers the records it could read and how
/// many rows it read; the limit grows by what was left out until the page is full or
/// the query has no more rows. Costs nothing extra when every row reads.
func filledPage<Record>(_ limit: Int, _ fetch: (Int) throws -> (records: [Record], rows: Int)) rethrows -> [Record] {
    var asked = limit
    while true {
        let (records, rows) = try fetch(asked)
        if records.count >= limit || rows < asked { return Array(records.prefix(limit)) }
        asked += limit - records.count
    }
}

/// Decodes a list row by row: an unreadable row is set aside, the others are kept.
func readEach<Record>(_ rows: [Row], into unreadable: UnreadableRows, _ decode: (Row) throws -> Record) throws -> [Record] {
    var records: [Record] = []
    records.reserveCapacity(rows.count)
    var skipped: [UnreadableRow] = []
    for row in rows {
        do { records.append(try decode(row)) } catch let error as UnreadableRow { skipped.append(error) }
    }
    unreadable.note(skipped)
    return records
}

extension UnreadableRows {
    /// The records a query selects, decoded in place row by row; unreadable ones are noted
    /// here and left out.
    func records<Record: FetchableRecord>(_ type: Record.Type, _ statement: Statement,
                                          arguments: StatementArguments = StatementArguments()) throws -> [Record] {
        try rowsAndRecords(type, statement, arguments: arguments).records
    }

    /// A page whose query ends in `LIMIT ?` (the last argument, `limit`): filled with
    /// readable records past any unreadable ones (`filledPage`).
    func records<Record: FetchableRecord>(_ type: Record.Type, _ statement: Statement,
                                          arguments: StatementArguments, limit: Int) throws -> [Record] {
        try filledPage(limit) { asked in
            try rowsAndRecords(type, statement, arguments: arguments + [asked])
        }
    }

    /// The same page, each row decoded by `decode` (one that found its columns' positions
    /// once for the statement instead of by name on every row).
    func records<Record>(_ statement: Statement, arguments: StatementArguments, limit: Int,
                         decode: (Row) throws -> Record) throws -> [Record] {
        try filledPage(limit) { asked in
            try rowsAndRecords(statement, arguments: arguments + [asked], decode: decode)
        }
    }

    private func rowsAndRecords<Record: FetchableRecord>(_ type: Record.Type, _ statement: Statement,
                                                         arguments: StatementArguments) throws -> (records: [Record], rows: Int) {
        try rowsAndRecords(statement, arguments: arguments, decode: Record.init(row:))
    }

    private func rowsAndRecords<Record>(_ statement: Statement, arguments: StatementArguments,
                                        decode: (Row) throws -> Record) throws -> (records: [Record], rows: Int) {
        var records: [Record] = []
        var skipped: [UnreadableRow] = []
        var rows = 0
        let cursor = try Row.fetchCursor(statement, arguments: arguments)
        while let row = try cursor.next() {
            rows += 1
            do { records.append(try decode(row)) } catch let error as UnreadableRow { skipped.append(error) }
        }
        note(skipped)
        return (records, rows)
    }

    func records<Record: FetchableRecord>(_ type: Record.Type, _ db: Database, sql: String,
                                          arguments: StatementArguments = StatementArguments()) throws -> [Record] {
        try records(type, db.makeStatement(sql: sql), arguments: arguments)
    }
}

/// Reads one row's columns strictly: a value of the wrong storage class, a NULL where the
/// contract has none, or a time outside years 1900–9999 is an `UnreadableRow` naming the
/// column, never a trap (GRDB's subscripts trap on a mismatch and print the whole row).
struct StrictRow {
    let row: Row
    let table: String
    /// The column that names the row (`seq`, `booking_id`, `id`, …).
    let keyColumn: String
    /// The row's column names, once, for a decoder that reads by name (`named()`): a row
    /// builds every name again each time it is asked, and asking once per column made
    /// decoding an outbox item a third of the first frame's read.
    private var names: [String]?

    init(_ row: Row, table: String, key: String) {
        self.row = row; self.table = table; self.keyColumn = key
    }

    /// The same, holding the row's column names for `at`.
    func named() -> StrictRow {
        var named = self
        named.names = Array(row.columnNames)
        return named
    }

    /// Times the console can show and do arithmetic on.
    static let times: ClosedRange<UnixMillis> = -2_208_988_800_000...253_402_300_799_999
    /// The same range in SQL, so an aggregate (`min(booked_at)`) skips damaged times:
    /// text and BLOBs sort after every number and fall outside it too.
    static let timeInRange = "BETWEEN \(times.lowerBound) AND \(times.upperBound)"

    /// The one time a query answers, or nil when there is none or it is not a readable time.
    static func time(_ db: Database, sql: String) throws -> UnixMillis? {
        guard let value = try DatabaseValue.fetchOne(db, sql: sql), case .int64(let t) = value.storage,
              times.contains(t) else { return nil }
        return t
    }

    func failure(_ column: String, _ why: String) -> UnreadableRow {
        UnreadableRow(table: table, key: keyText, column: column, why: why)
    }

    /// `booking_id bk-12`; the key shortened, made plain, or the rowid when it is not text or a number.
    private var keyText: String {
        let value = self.value(at(keyColumn), keyColumn)
        switch value.storage {
        case .int64(let n): return "\(keyColumn) \(n)"
        case .string(let s) where s.count <= 64 && s.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }):
            return "\(keyColumn) \(s)"
        default:
            let rowid = self.value(at("rowid"), "rowid")
            if case .int64(let n) = rowid.storage { return "rowid \(n)" }
            return "\(keyColumn) unreadable"
        }
    }

    private func value(_ index: Int, _ column: String) -> DatabaseValue {
        guard index >= 0, index < row.count else { return .null }
        return row[index]
    }

    private func kind(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: "empty (NULL)"
        case .int64: "a number"
        case .double: "a fraction"
        case .string: "text"
        case .blob: "a BLOB"
        }
    }

    func integerOrNil(_ index: Int, _ column: String) throws -> Int64? {
        let v = value(index, column)
        switch v.storage {
        case .null: return nil
        case .int64(let n): return n
        case .double(let d):
            if let n = Int64(exactly: d) { return n }
            throw failure(column, "is \(kind(v)), not a whole number")
        default: throw failure(column, "is \(kind(v)), not a number")
        }
    }

    func integer(_ index: Int, _ column: String) throws -> Int64 {
        guard let n = try integerOrNil(index, column) else { throw failure(column, "is empty (NULL)") }
        return n
    }

    func intOrNil(_ index: Int, _ column: String) throws -> Int? {
        try integerOrNil(index, column).map { Int(truncatingIfNeeded: $0) }
    }

    func int(_ index: Int, _ column: String) throws -> Int { Int(truncatingIfNeeded: try integer(index, column)) }

    func timeOrNil(_ index: Int, _ column: String) throws -> UnixMillis? {
        let v = value(index, column)
        if case .string = v.storage { throw failure(column, "is text, not a time") }
        if case .blob = v.storage { throw failure(column, "is a BLOB, not a time") }
        guard let t = try integerOrNil(index, column) else { return nil }
        guard Self.times.contains(t) else { throw failure(column, "is a time out of range (before 1900 or after 9999)") }
        return t
    }

    func time(_ index: Int, _ column: String) throws -> UnixMillis {
        guard let t = try timeOrNil(index, column) else { throw failure(column, "is empty (NULL)") }
        return t
    }

    func boolOrNil(_ index: Int, _ column: String) throws -> Bool? { try integerOrNil(index, column).map { $0 != 0 } }

    func textOrNil(_ index: Int, _ column: String) throws -> String? {
        let v = value(index, column)
        switch v.storage {
        case .null: return nil
        case .string(let s): return s
        // TEXT affinity keeps numbers as text; one written another way is still readable.
        case .int64(let n): return String(n)
        case .double(let d): return String(d)
        case .blob: throw failure(column, "is a BLOB, not text")
        }
    }

    func text(_ index: Int, _ column: String) throws -> String {
        guard let s = try textOrNil(index, column) else { throw failure(column, "is empty (NULL)") }
        return s
    }

    /// A value of a closed vocabulary (a status, a kind): an unknown word is unreadable.
    func word<Word: RawRepresentable<String>>(_ index: Int, _ column: String, as: Word.Type) throws -> Word {
        guard let word = Word(rawValue: try text(index, column)) else { throw failure(column, "is not a known \(column)") }
        return word
    }

    /// The position of `column` by name (for rows that are not selected in schema order).
    func at(_ column: String) -> Int {
        Self.position(of: column, in: names ?? Array(row.columnNames))
    }

    /// Where `column` is among `names` (-1 when absent: the value reads as NULL). A list
    /// decoder finds its positions once per statement with this: asking a row for its
    /// column names builds every name again.
    static func position(of column: String, in names: [String]) -> Int {
        // Names come back as the schema spells them (lowercase); case-blind only as a fallback.
        if let index = names.firstIndex(of: column) { return index }
        return names.firstIndex { $0.caseInsensitiveCompare(column) == .orderedSame } ?? -1
    }
}
