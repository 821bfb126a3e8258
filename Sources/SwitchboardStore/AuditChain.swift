import Crypto
import Foundation
import GRDB
import GRDBSQLite
import SwitchboardCore

/// The tamper-evident chain over `audit_event`: each row's `hash` is SHA-256 over its
/// canonical form, which includes `seq` and the previous row's hash. Deleting, editing
/// or reordering a row breaks every hash after it.
public enum AuditChain {
    /// `prev_hash` of the first row.
    public static let genesis = String(repeating: "0", count: 64)

    /// The canonical form: every field length-prefixed (`<utf8 length>:<text>`), NULL as
    /// `~`, joined by `|`. Length prefixes make it unambiguous whatever the text holds.
    public static func canonical(_ e: AuditEvent) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        func field(_ s: String?) {
            if let s {
                let bytes = Array(s.utf8)
                out.append(contentsOf: String(bytes.count).utf8)
                out.append(UInt8(ascii: ":"))
                out.append(contentsOf: bytes)
            } else {
                out.append(UInt8(ascii: "~"))
            }
            out.append(UInt8(ascii: "|"))
        }
        field(e.seq.map { String($0) }); field(String(e.at)); field(e.actor); field(e.callId); field(e.action)
        field(e.ehrSystem); field(e.transport?.rawValue); field(e.method); field(e.resourceType)
        field(e.resourceId); field(String(e.outcome.rawValue)); field(e.httpStatus.map { String($0) })
        field(e.latencyMs.map { String($0) }); field(e.attempt.map { String($0) }); field(e.detail)
        field(e.prevHash)
        return out
    }

    public static func hash(_ e: AuditEvent) -> String {
        let digest = SHA256.hash(data: canonical(e))
        return hexString(digest)
    }

    static func hexString<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends events inside the caller's transaction, which must hold the write lock
    /// (`BEGIN IMMEDIATE`) so the chain stays one line across processes. Returns the rows
    /// as written, with `seq`, `prev_hash` and `hash` filled in.
    static func append(_ events: [AuditEvent], in db: Database) throws -> [AuditEvent] {
        let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")
        var seq: Int64 = last?["seq"] ?? 0
        var prev: String = last?["hash"] ?? genesis
        let insert = try db.cachedStatement(sql: """
            INSERT INTO audit_event (seq, at, actor, call_id, action, ehr_system, transport, method,
                resource_type, resource_id, outcome, http_status, latency_ms, attempt, detail, prev_hash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        var written: [AuditEvent] = []
        written.reserveCapacity(events.count)
        for var e in events {
            seq += 1
            e.seq = seq
            e.prevHash = prev
            e.hash = hash(e)
            try insert.execute(arguments: [
                e.seq, e.at, e.actor, e.callId, e.action, e.ehrSystem, e.transport?.rawValue, e.method,
                e.resourceType, e.resourceId, e.outcome.rawValue, e.httpStatus, e.latencyMs, e.attempt,
                e.detail, e.prevHash, e.hash,
            ])
            prev = e.hash
            written.append(e)
        }
        return written
    }

    /// The result of walking the chain.
    public struct Verification: Sendable, Equatable {
        public var checked: Int
        /// The first row whose hash or link does not match, if any.
        public var firstBrokenSeq: Int64?
        public var reason: String?
        /// The last row walked and its stored hash (the head, when the walk reached the end).
        public var lastSeq: Int64?
        public var lastHash: String?
        public var isIntact: Bool { firstBrokenSeq == nil }

        public init(checked: Int, firstBrokenSeq: Int64? = nil, reason: String? = nil, lastSeq: Int64? = nil, lastHash: String? = nil) {
            self.checked = checked; self.firstBrokenSeq = firstBrokenSeq; self.reason = reason
            self.lastSeq = lastSeq; self.lastHash = lastHash
        }
    }

    /// Writes every row's canonical bytes, as the walk hashes them, to `path`: the same
    /// bytes `openssl dgst -sha256` is timed on in `switchboard-bench verify`. Returns
    /// the rows and bytes written.
    public static func writeCanonicalForms(_ reader: any DatabaseReader, to path: String) throws -> (rows: Int, bytes: Int) {
        // Opened in place (not created by rename, as `createFile` does): the path may be a device.
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError.readOnly(path: path) }
        let out = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        defer { try? out.close() }
        return try reader.read { db in
            var walk = StoredRowHasher()
            let statement = try db.makeStatement(sql: "SELECT \(StoredRowHasher.columnList) FROM audit_event ORDER BY seq")
            let stmt = statement.sqliteStatement
            defer { sqlite3_reset(stmt) }
            var pending: [UInt8] = []
            pending.reserveCapacity(1 << 20)
            var rows = 0, bytes = 0
            while sqlite3_step(stmt) == SQLITE_ROW {
                _ = walk.check(stmt)
                pending.append(contentsOf: walk.canonicalBytes)
                rows += 1
                if pending.count >= 1 << 20 {
                    try out.write(contentsOf: pending)
                    bytes += pending.count
                    pending.removeAll(keepingCapacity: true)
                }
            }
            try out.write(contentsOf: pending)
            return (rows, bytes + pending.count)
        }
    }

    /// Walks rows in `seq` order from `fromSeq` (the row before it supplies the link),
    /// hashing the values exactly as stored (see `StoredRowHasher`): a value the decoder
    /// would read differently, or an unknown word in a checked column, is a break.
    /// Streams with one statement, so memory stays flat on ten million rows.
    /// `progress` is called now and then with the rows checked so far.
    /// A walk of `halvesFrom` rows or more (to the end, on a WAL pool) runs as two halves
    /// on two cores.
    public static func verify(_ reader: any DatabaseReader, fromSeq: Int64 = 1, limit: Int? = nil, halvesFrom: Int64 = 200_000,
                              progress: ((Int) -> Void)? = nil) throws -> Verification {
        let from = max(fromSeq, 1)
        guard limit == nil, reader is DatabasePool,
              let head = try reader.read({ db in try Int64.fetchOne(db, sql: "SELECT max(seq) FROM audit_event") }),
              head - from + 1 >= halvesFrom else {
            return try walk(reader, from: from, through: nil, limit: limit, progress: progress)
        }
        // Two halves on two readers at once: each half links into the stored hash of the
        // row before it, which the first half checks, so together they are one walk.
        let middle = from + (head - from + 1) / 2
        let shared = SharedProgress(report: progress)
        let halves = Halves()
        let reports = progress != nil
        DispatchQueue.concurrentPerform(iterations: 2) { half in
            let result = Result {
                try walk(reader, from: half == 0 ? from : middle, through: half == 0 ? middle - 1 : nil, limit: nil,
                         progress: reports ? { shared.set(half, $0) } : nil)
            }
            halves.set(half, result)
        }
        let (first, second) = halves.results
        let low = try first.get()
        if !low.isIntact { return low }
        if low.lastSeq != middle - 1 {
            let missing = (low.lastSeq ?? from - 1) + 1
            return Verification(checked: low.checked, firstBrokenSeq: missing,
                                reason: missing == middle - 1 ? "row \(missing) is missing (deleted)" : "rows \(missing)…\(middle - 1) are missing (deleted)")
        }
        var high = try second.get()
        high.checked += low.checked
        return high
    }

    /// What the two halves found.
    private final class Halves: @unchecked Sendable {
        private let lock = NSLock()
        private var found: [Result<Verification, any Error>?] = [nil, nil]
        func set(_ half: Int, _ result: Result<Verification, any Error>) { lock.withLock { found[half] = result } }
        var results: (Result<Verification, any Error>, Result<Verification, any Error>) { lock.withLock { (found[0]!, found[1]!) } }
    }

    /// Progress from two halves, reported as one count.
    private final class SharedProgress: @unchecked Sendable {
        private let lock = NSLock()
        private var counts = [0, 0]
        private let report: ((Int) -> Void)?
        init(report: ((Int) -> Void)?) { self.report = report }
        func set(_ half: Int, _ count: Int) {
            lock.withLock {
                counts[half] = count
                report?(counts[0] + counts[1])
            }
        }
    }

    /// One walk from `from` to `through` (or the end).
    private static func walk(_ reader: any DatabaseReader, from: Int64, through: Int64?, limit: Int?,
                             progress: ((Int) -> Void)?) throws -> Verification {
        try reader.read { db in
            // Pages mapped rather than copied in: the walk reads the whole table once.
            try db.execute(sql: "PRAGMA mmap_size = 1073741824")
            var walk = StoredRowHasher()
            var expectedSeq = from
            if expectedSeq > 1 {
                // The link into the first row walked: the stored bytes of the row before
                // (and of the one before that, to name a row inserted just before).
                guard let data = try Data.fetchOne(db, sql: "SELECT CAST(hash AS BLOB) FROM audit_event WHERE seq = ?",
                                                   arguments: [expectedSeq - 1]) else {
                    return Verification(checked: 0, firstBrokenSeq: expectedSeq - 1, reason: "row \(expectedSeq - 1) is missing")
                }
                let before = try Data.fetchOne(db, sql: "SELECT CAST(hash AS BLOB) FROM audit_event WHERE seq = ?", arguments: [expectedSeq - 2])
                walk.setPrevious(Array(data), before: before.map { Array($0) } ?? [])
            }
            let statement = try db.makeStatement(sql: "SELECT \(StoredRowHasher.columnList) FROM audit_event WHERE seq >= ? AND seq <= ? ORDER BY seq"
                                                  + (limit.map { " LIMIT \($0)" } ?? ""))
            try statement.setArguments([expectedSeq, through ?? Int64.max])
            let stmt = statement.sqliteStatement
            var checked = 0
            var last: (Int64, String)?
            defer { sqlite3_reset(stmt) }
            while true {
                let rc = sqlite3_step(stmt)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
                }
                let seq = sqlite3_column_int64(stmt, 0)
                if seq != expectedSeq {
                    return Verification(checked: checked, firstBrokenSeq: expectedSeq,
                                        reason: seq > expectedSeq ? (seq - expectedSeq == 1 ? "row \(expectedSeq) is missing (deleted)"
                                                                     : "rows \(expectedSeq)…\(seq - 1) are missing (deleted)")
                                                                  : "row \(seq) is out of order", lastSeq: last?.0, lastHash: last?.1)
                }
                if let problem = walk.check(stmt) {
                    if walk.blamesPreviousRow { return Verification(checked: max(0, checked - 1), firstBrokenSeq: seq - 1, reason: problem) }
                    return Verification(checked: checked, firstBrokenSeq: seq, reason: problem, lastSeq: last?.0, lastHash: last?.1)
                }
                expectedSeq += 1
                checked += 1
                if let progress, checked & 0xFFFF == 0 { progress(checked) }
                last = (seq, "")
            }
            if let seqOfLast = last?.0 { last = (seqOfLast, walk.previousHash) }
            return Verification(checked: checked, lastSeq: last?.0, lastHash: last?.1)
        }
    }
}
