import Crypto
import GRDBSQLite
import SwitchboardCore

/// Checks `audit_event` rows from the values exactly as SQLite stores them, never from
/// decoded records: a decoder that maps an unknown word to a default, or an integer to
/// an enum, would hash what it understood rather than what is in the file. Each column
/// must hold its storage class (INTEGER or TEXT, or NULL where allowed), `transport` and
/// `outcome` only their words; then the canonical form (docs/data-contract.md) is built
/// from the raw bytes, and `prev_hash` and `hash` are compared byte for byte.
///
/// The canonical form of a valid row is the one `AuditChain.canonical` writes, so files
/// written before this walk verify unchanged.
struct StoredRowHasher {
    /// The 16 canonical fields, then `hash`: the select list of the walk, in this order.
    static let columns = ["seq", "at", "actor", "call_id", "action", "ehr_system", "transport", "method",
                          "resource_type", "resource_id", "outcome", "http_status", "latency_ms", "attempt",
                          "detail", "prev_hash", "hash"]
    static var columnList: String { columns.joined(separator: ", ") }

    private static let integerColumns: Set<Int> = [0, 1, 10, 11, 12, 13]
    private static let nullableColumns: Set<Int> = [3, 5, 6, 7, 8, 9, 11, 12, 13, 14]
    private static let transportColumn: Int32 = 6, outcomeColumn: Int32 = 10
    private static let prevHashColumn: Int32 = 15, hashColumn: Int32 = 16
    private static let transports: [[UInt8]] = Transport.allCases.map { Array($0.rawValue.utf8) }
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Per column: integer (true) or text (false), and whether NULL is allowed, as flat
    /// arrays so the inner loop does no hashing of its own.
    private let isInteger: [Bool] = (0..<16).map { integerColumns.contains($0) }
    private let isNullable: [Bool] = (0..<16).map { nullableColumns.contains($0) }
    private var buffer: [UInt8] = []
    private var previous: [UInt8] = Array(AuditChain.genesis.utf8)
    /// The hash two rows back: a row that links to it skipped the one before, which was inserted.
    private var beforePrevious: [UInt8] = []
    /// Set with a problem when the row before is the one to blame (it was inserted).
    private(set) var blamesPreviousRow = false
    private var digestHex = [UInt8](repeating: 0, count: 64)

    init() { buffer.reserveCapacity(1024) }

    /// The canonical bytes of the last row checked (for the benchmark's baseline).
    var canonicalBytes: [UInt8] { buffer }

    /// The stored `hash` of the last row that passed (the genesis before any).
    var previousHash: String { String(decoding: previous, as: UTF8.self) }

    mutating func setPrevious(_ hash: [UInt8]) { previous = hash }

    /// Nil when the row on `stmt` is whole and links to the one before; otherwise what is
    /// wrong with it, in words for the person who reads the report (no row content).
    mutating func check(_ stmt: OpaquePointer) -> String? {
        buffer.removeAll(keepingCapacity: true)
        for index in 0..<16 {
            let column = Int32(index)
            let type = sqlite3_column_type(stmt, column)
            switch type {
            case SQLITE_NULL:
                guard isNullable[index] else { return "\(Self.columns[index]) is NULL" }
                buffer.append(0x7E)  // ~
            case SQLITE_INTEGER where isInteger[index]:
                let value = sqlite3_column_int64(stmt, column)
                if column == Self.outcomeColumn && !(value == 0 || value == 4 || value == 8 || value == 12) {
                    return "outcome \(value) is not a FHIR AuditEvent outcome code (0, 4, 8, 12)"
                }
                appendDecimal(value)
            case SQLITE_TEXT where !isInteger[index]:
                let text = sqlite3_column_text(stmt, column)
                let count = Int(sqlite3_column_bytes(stmt, column))
                let bytes = UnsafeBufferPointer(start: text, count: count)
                if column == Self.transportColumn && !Self.transports.contains(where: { $0.elementsEqual(bytes) }) {
                    return "transport \(Self.quoted(bytes)) is not a known transport (fhir, rest, hl7v2)"
                }
                appendLength(count)
                buffer.append(contentsOf: bytes)
            default:
                return "\(Self.columns[index]) holds \(Self.storageClass(type)) where \(isInteger[index] ? "an integer" : "text") belongs"
            }
            buffer.append(0x7C)  // |
        }
        // The link: prev_hash is the stored hash of the row before, byte for byte.
        let prevHash = UnsafeBufferPointer(start: sqlite3_column_text(stmt, Self.prevHashColumn),
                                           count: Int(sqlite3_column_bytes(stmt, Self.prevHashColumn)))
        guard prevHash.elementsEqual(previous) else {
            if !beforePrevious.isEmpty && prevHash.elementsEqual(beforePrevious) {
                blamesPreviousRow = true
                return "this row was inserted: the row after it links to the row before it"
            }
            return "prev_hash does not match the hash of the row before (a row before it was changed, removed or inserted)"
        }
        guard sqlite3_column_type(stmt, Self.hashColumn) == SQLITE_TEXT else {
            return "hash holds \(Self.storageClass(sqlite3_column_type(stmt, Self.hashColumn))) where text belongs"
        }
        let stored = UnsafeBufferPointer(start: sqlite3_column_text(stmt, Self.hashColumn),
                                         count: Int(sqlite3_column_bytes(stmt, Self.hashColumn)))
        let digest = buffer.withUnsafeBufferPointer { SHA256.hash(data: $0) }
        digest.withUnsafeBytes { raw in
            for (i, byte) in raw.enumerated() {
                digestHex[2 * i] = Self.hexDigits[Int(byte >> 4)]
                digestHex[2 * i + 1] = Self.hexDigits[Int(byte & 0x0F)]
            }
        }
        guard stored.elementsEqual(digestHex) else {
            return "hash does not match the row's content (a value in it was changed)"
        }
        swap(&beforePrevious, &previous)
        previous.removeAll(keepingCapacity: true)
        previous.append(contentsOf: stored)
        return nil
    }

    /// `<length>:` then the decimal digits, as Swift's `String(Int64)` and Python's `str`
    /// print them.
    private mutating func appendDecimal(_ value: Int64) {
        if value < 0 {
            let text = Array(String(value).utf8)
            appendLength(text.count)
            buffer.append(contentsOf: text)
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { out in
            var v = UInt64(value)
            repeat {
                out[19 - count] = UInt8(truncatingIfNeeded: v % 10) + 0x30
                v /= 10
                count += 1
            } while v > 0
            appendLength(count)
            buffer.append(contentsOf: out[(20 - count)...])
        }
    }

    private mutating func appendLength(_ count: Int) {
        if count < 10 {
            buffer.append(UInt8(count) + 0x30)
        } else {
            buffer.append(contentsOf: String(count).utf8)
        }
        buffer.append(0x3A)  // :
    }

    private static func storageClass(_ type: Int32) -> String {
        switch type {
        case SQLITE_INTEGER: "an integer"
        case SQLITE_FLOAT: "a real number"
        case SQLITE_TEXT: "text"
        case SQLITE_BLOB: "a blob"
        default: "NULL"
        }
    }

    /// A stored word for the report: short printable ASCII as it is, anything else by its
    /// length only (it may be anything someone typed into the file).
    private static func quoted(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        if bytes.count <= 24 && bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            return "\"\(String(decoding: bytes, as: UTF8.self))\""
        }
        return "(\(bytes.count) bytes)"
    }
}
