import COpenSSL
import Foundation
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
struct StoredRowHasher: ~Copyable {
    /// The 16 canonical fields, then `hash`: the select list of the walk, in this order.
    static let columns = ["seq", "at", "actor", "call_id", "action", "ehr_system", "transport", "method",
                          "resource_type", "resource_id", "outcome", "http_status", "latency_ms", "attempt",
                          "detail", "prev_hash", "hash"]
    static var columnList: String { columns.joined(separator: ", ") }

    /// Bit i set: column i holds an INTEGER (else TEXT); may be NULL.
    private static let integerMask: UInt32 = 1 << 0 | 1 << 1 | 1 << 10 | 1 << 11 | 1 << 12 | 1 << 13
    private static let nullableMask: UInt32 = 1 << 3 | 1 << 5 | 1 << 6 | 1 << 7 | 1 << 8 | 1 << 9 | 1 << 11 | 1 << 12 | 1 << 13 | 1 << 14
    static let transportColumn = 6, outcomeColumn = 10, prevHashColumn = 15, hashColumn = 16
    private static let transports: [[UInt8]] = Transport.allCases.map { Array($0.rawValue.utf8) }
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// The canonical form of the row being checked, in a buffer that grows to the
    /// largest row seen (the hot loop appends with no bounds or uniqueness checks). Held
    /// by this noncopyable value itself, not by a class: a class's stored properties are
    /// checked for exclusive access at run time, on every byte appended.
    private var bytes: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    private var previous: [UInt8] = Array(AuditChain.genesis.utf8)
    /// The hash two rows back: a row that links to it skipped the one before, which was inserted.
    private var beforePrevious: [UInt8] = []
    /// Set with a problem when the row before is the one to blame (it was inserted).
    private(set) var blamesPreviousRow = false

    /// libcrypto, loaded on first use (see the COpenSSL header): each walk's entry point
    /// calls this before making a hasher.
    static func loadSHA256() throws(StoreError) {
        guard sb_openssl_load() == 0 else { throw .missingLibrary(name: "libcrypto (OpenSSL 3)", package: "libssl3", reason: String(cString: sb_openssl_error())) }
    }

    init() {
        capacity = 4096
        bytes = .allocate(capacity: capacity)
    }

    deinit { bytes.deallocate() }

    private mutating func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        var grown = capacity
        while grown < needed { grown *= 2 }
        let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        fresh.update(from: bytes, count: count)
        bytes.deallocate()
        bytes = fresh
        capacity = grown
    }

    /// The canonical bytes of the last row checked (for the benchmark's baseline).
    var canonicalBytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: bytes, count: count) }

    /// The stored `hash` of the last row that passed (the genesis before any).
    var previousHash: String { String(decoding: previous, as: UTF8.self) }

    /// The link into the first row walked: the stored hash of the row before it, and of the one before that.
    mutating func setPrevious(_ hash: [UInt8], before: [UInt8] = []) { previous = hash; beforePrevious = before }

    /// Nil when the row is whole and links to the one before; otherwise what is wrong
    /// with it, in words for the person who reads the report (no row content). With
    /// `linked` false the link is not checked: the row opens a stretch of the walk whose
    /// link the caller checks where the stretches meet.
    mutating func check<Row: StoredRow & ~Copyable>(_ row: borrowing Row, linked: Bool = true) -> String? {
        count = 0
        // Room for every length prefix, number and separator; each text reserves its own
        // bytes and that room again, so the appends below need no checks.
        reserve(Self.fixedRoom)
        for index in 0..<16 {
            let bit: UInt32 = 1 << UInt32(index)
            let integer = Self.integerMask & bit != 0
            guard let value = row.value(index) else { return "\(Self.columns[index]) cannot be read" }
            switch value {
            case .null:
                guard Self.nullableMask & bit != 0 else { return "\(Self.columns[index]) is NULL" }
                put(0x7E)  // ~
            case .integer(let number) where integer:
                if index == Self.outcomeColumn && !(number == 0 || number == 4 || number == 8 || number == 12) {
                    return "outcome \(number) is not a FHIR AuditEvent outcome code (0, 4, 8, 12)"
                }
                appendDecimal(number)
            case .text(let text, let length) where !integer:
                if index == Self.transportColumn && !Self.isTransport(text, length) {
                    return "transport \(Self.quoted(UnsafeBufferPointer(start: text, count: length))) is not a known transport (fhir, rest, hl7v2)"
                }
                appendLength(length)
                reserve(count + length + Self.fixedRoom)
                if let text, length > 0 { (bytes + count).update(from: text, count: length) }
                count += length
            default:
                return "\(Self.columns[index]) holds \(value.storageClass) where \(integer ? "an integer" : "text") belongs"
            }
            put(0x7C)  // |
        }
        // The link: prev_hash is the stored hash of the row before, byte for byte.
        if linked, case .text(let prevHash, let prevLength)? = row.value(Self.prevHashColumn), !Self.same(prevHash, prevLength, previous) {
            if !beforePrevious.isEmpty && Self.same(prevHash, prevLength, beforePrevious) {
                blamesPreviousRow = true
                return "this row was inserted: the row after it links to the row before it"
            }
            return "prev_hash does not match the hash of the row before (a row before it was changed, removed or inserted)"
        }
        guard case .text(let storedText, let storedLength)? = row.value(Self.hashColumn) else {
            return "hash holds \(row.value(Self.hashColumn)?.storageClass ?? "NULL") where text belongs"
        }
        guard storedLength == 64, let stored = storedText else {
            return "hash does not match the row's content (a value in it was changed)"
        }
        // libcrypto's SHA-256 with its context on the stack (`sb_sha256`, see the shim).
        var digest: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let matches = withUnsafeMutableBytes(of: &digest) { raw -> Bool in
            let out = raw.bindMemory(to: UInt8.self)
            sb_sha256(bytes, count, out.baseAddress)
            return Self.hexDigits.withUnsafeBufferPointer { hex in
                for i in 0..<32 {
                    let byte = out[i]
                    if stored[2 * i] != hex[Int(byte >> 4)] || stored[2 * i + 1] != hex[Int(byte & 0x0F)] { return false }
                }
                return true
            }
        }
        guard matches else { return "hash does not match the row's content (a value in it was changed)" }
        swap(&beforePrevious, &previous)
        previous.removeAll(keepingCapacity: true)
        previous.append(contentsOf: UnsafeBufferPointer(start: stored, count: 64))
        return nil
    }

    /// One of the transport words, byte for byte.
    private static func isTransport(_ text: UnsafePointer<UInt8>?, _ length: Int) -> Bool {
        guard let text else { return false }
        for word in transports where word.count == length {
            if word.withUnsafeBufferPointer({ memcmp(text, $0.baseAddress!, length) == 0 }) { return true }
        }
        return false
    }

    private static func same(_ bytes: UnsafePointer<UInt8>?, _ length: Int, _ expected: [UInt8]) -> Bool {
        guard length == expected.count else { return false }
        guard let bytes else { return length == 0 }
        return expected.withUnsafeBufferPointer { memcmp(bytes, $0.baseAddress!, length) == 0 }
    }

    /// The most a row's prefixes, numbers and separators take: 16 columns of a 20-digit
    /// length or number, its colon and a separator, twice over.
    private static let fixedRoom = 16 * 2 * 22

    private mutating func put(_ byte: UInt8) {
        bytes[count] = byte
        count += 1
    }

    /// `<length>:` then the decimal digits, as Swift's `String(Int64)` and Python's `str`
    /// print them.
    private mutating func appendDecimal(_ value: Int64) {
        var magnitude = value.magnitude
        // Digits counted by comparison (a 13-digit time would take 13 divisions).
        var digits = 1, power: UInt64 = 10
        while digits < 20 && magnitude >= power { digits += 1; power &*= 10 }
        let length = digits + (value < 0 ? 1 : 0)
        appendLength(length)
        if value < 0 { bytes[count] = 0x2D }  // -
        var at = count + length - 1
        repeat {
            bytes[at] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
            magnitude /= 10
            at -= 1
        } while magnitude > 0
        count += length
    }

    private mutating func appendLength(_ length: Int) {
        let out = bytes
        if length < 10 {
            out[count] = UInt8(length) + 0x30
            count += 1
        } else if length < 100 {
            out[count] = UInt8(length / 10) + 0x30
            out[count + 1] = UInt8(length % 10) + 0x30
            count += 2
        } else {
            var digits = 0, v = length
            while v > 0 { digits += 1; v /= 10 }
            v = length
            for i in stride(from: digits - 1, through: 0, by: -1) {
                out[count + i] = UInt8(v % 10) + 0x30
                v /= 10
            }
            count += digits
        }
        out[count] = 0x3A  // :
        count += 1
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

/// One value as a row stores it: the storage classes the walk tells apart.
enum ColumnStorage {
    case null
    case integer(Int64)
    /// The stored bytes (UTF-8), valid while the row is.
    case text(UnsafePointer<UInt8>?, Int)
    case real
    case blob

    var storageClass: String {
        switch self {
        case .null: "NULL"
        case .integer: "an integer"
        case .text: "text"
        case .real: "a real number"
        case .blob: "a blob"
        }
    }
}

/// A row of `audit_event` whose columns, in `StoredRowHasher.columns` order, the walk reads.
protocol StoredRow: ~Copyable {
    /// Nil when the column cannot be read.
    func value(_ column: Int) -> ColumnStorage?
}

/// The row a statement over `StoredRowHasher.columnList` is on.
struct StatementRow: StoredRow {
    let statement: OpaquePointer

    @inline(__always)
    func value(_ column: Int) -> ColumnStorage? {
        // The column's value once, then its type and bytes from it: half the calls of
        // sqlite3_column_type/_text/_bytes, each of which looks the column up again.
        // (An unprotected value, used on this connection's thread only.)
        guard let value = sqlite3_column_value(statement, Int32(column)) else { return nil }
        switch sqlite3_value_type(value) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .integer(sqlite3_value_int64(value))
        case SQLITE_TEXT: return .text(sqlite3_value_text(value), Int(sqlite3_value_bytes(value)))
        case SQLITE_FLOAT: return .real
        default: return .blob
        }
    }
}
