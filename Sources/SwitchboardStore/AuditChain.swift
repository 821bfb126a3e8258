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

        /// This walk's rows, then `rest`: the walk on from `seq`, the row after this one's
        /// last. A row inserted just before `seq` is blamed by `rest`, and one walk would
        /// not have counted it.
        func followed(by rest: Verification, from seq: Int64) -> Verification {
            var joined = rest
            let blamedBefore = rest.firstBrokenSeq.map { $0 < seq } ?? false
            joined.checked += max(0, checked - (blamedBefore ? 1 : 0))
            if rest.isIntact && rest.lastSeq == nil { (joined.lastSeq, joined.lastHash) = (lastSeq, lastHash) }
            return joined
        }

        public init(checked: Int, firstBrokenSeq: Int64? = nil, reason: String? = nil, lastSeq: Int64? = nil, lastHash: String? = nil) {
            self.checked = checked; self.firstBrokenSeq = firstBrokenSeq; self.reason = reason
            self.lastSeq = lastSeq; self.lastHash = lastHash
        }
    }

    /// Writes every row's canonical bytes, as the walk hashes them, to `path`: the same
    /// bytes `openssl dgst -sha256` is timed on in `switchboard-bench verify`. Returns
    /// the rows and bytes written.
    public static func writeCanonicalForms(_ reader: any DatabaseReader, to path: String) throws -> (rows: Int, bytes: Int) {
        try StoredRowHasher.loadSHA256()
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
                _ = walk.check(StatementRow(statement: stmt))
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
    /// Streams with one statement per stretch, so memory stays flat on ten million rows.
    /// `progress` is called now and then with the rows checked so far.
    ///
    /// A walk of `parallelFrom` rows or more (to the end, on a WAL pool) is cut into
    /// stretches (`chunkRows`, or about eight per reader) that `workers` readers take in
    /// turn, one core each: SQLite
    /// handing over the rows costs more than hashing them, so reading is what is spread.
    /// Each stretch links into the stored hash of the row before it, which the stretch
    /// before checks, so together they are one walk; the first break in `seq` order is
    /// the one reported, as one walk would.
    ///
    /// A whole walk (no `limit`) reads the table's pages itself first (`pages`, see
    /// `TablePages`): it is a third of SQLite's cost a row. Where it cannot vouch for a
    /// row (anything but an intact row in a file it understands), the statements walk
    /// takes over from that row, so every verdict and reason is the statements walk's.
    public static func verify(_ reader: any DatabaseReader, fromSeq: Int64 = 1, limit: Int? = nil,
                              parallelFrom: Int64 = 20_000, chunkRows: Int64? = nil,
                              workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                              pages: Bool = true, leavesPerStretch: Int? = nil,
                              progress: ((Int) -> Void)? = nil) throws -> Verification {
        try StoredRowHasher.loadSHA256()
        let from = max(fromSeq, 1)
        if pages, limit == nil {
            switch try walkPages(reader, from: from, workers: workers, leavesPerStretch: leavesPerStretch, progress: progress) {
            case .intact(let verification):
                return verification
            case .readFrom(let seq, let vouched):
                let rest = try verify(reader, fromSeq: seq, parallelFrom: parallelFrom, chunkRows: chunkRows, workers: workers,
                                      pages: false, progress: progress.map { report in { report(vouched + $0) } })
                return Verification(checked: vouched).followed(by: rest, from: seq)
            case nil:
                break
            }
        }
        guard limit == nil, workers > 1, reader is DatabasePool,
              let head = try reader.read({ db in try Int64.fetchOne(db, sql: "SELECT max(seq) FROM audit_event") }),
              head - from + 1 >= parallelFrom else {
            return try walk(reader, from: from, through: nil, limit: limit, progress: progress)
        }
        // About eight stretches per reader, so one that gets less of the machine holds
        // up the end of the walk by little; each costs a read transaction and two lookups.
        let size = max(chunkRows ?? min(131_072, max(4_096, (head - from + 1) / Int64(workers * 8))), 1)
        let stretches = stride(from: from, through: head, by: Int(size)).map { ($0, min($0 + size - 1, head)) }
        let work = Stretches<Verification>(count: stretches.count, report: progress)
        let reports = progress != nil
        DispatchQueue.concurrentPerform(iterations: min(workers, stretches.count)) { _ in
            while let index = work.next() {
                let (low, high) = stretches[index]
                let result = Result {
                    try walk(reader, from: low, through: high, limit: nil,
                             progress: reports ? { work.progress(index, $0) } : nil)
                }
                let found = try? result.get()
                let whole = found.map { $0.isIntact && $0.lastSeq == high } ?? false
                work.finish(index, result, whole: whole, checked: found?.checked ?? 0)
            }
        }
        // The first break in seq order; a stretch that ends short is missing its last rows.
        var checked = 0
        for (index, result) in work.results.enumerated() {
            let (low, high) = stretches[index]
            guard let result else { break }  // skipped: a stretch before it broke
            var found = try result.get()
            if !found.isIntact {
                // An inserted row blamed in the stretch before was counted there.
                if let broken = found.firstBrokenSeq, broken < low { checked -= 1 }
                found.checked += max(0, checked)
                return found
            }
            if found.lastSeq != high {
                // Named as one walk names it: up to the next row there is.
                let missing = (found.lastSeq ?? low - 1) + 1
                let next = try reader.read { db in try Int64.fetchOne(db, sql: "SELECT min(seq) FROM audit_event WHERE seq > ?", arguments: [missing]) }
                let end = next.map { $0 - 1 } ?? high
                return Verification(checked: checked + found.checked, firstBrokenSeq: missing,
                                    reason: missing == end ? "row \(missing) is missing (deleted)" : "rows \(missing)…\(end) are missing (deleted)",
                                    lastSeq: found.lastSeq, lastHash: found.lastHash)
            }
            checked += found.checked
            if index == stretches.count - 1 { return Verification(checked: checked, lastSeq: found.lastSeq, lastHash: found.lastHash) }
        }
        throw StoreError.failed(path: "audit", reason: "the chain walk ended without a verdict")
    }

    /// The stretches of a parallel walk: which is next, what each found, and progress as
    /// one count. Once a stretch breaks, those after it are not started.
    final class Stretches<Found>: @unchecked Sendable {
        private let lock = NSLock()
        private var nextIndex = 0
        private var firstBroken = Int.max
        private var found: [Result<Found, any Error>?]
        private var counts: [Int]
        private let report: ((Int) -> Void)?

        init(count: Int, report: ((Int) -> Void)?) {
            found = Array(repeating: nil, count: count)
            counts = Array(repeating: 0, count: count)
            self.report = report
        }

        func next() -> Int? {
            lock.withLock {
                guard nextIndex < found.count, nextIndex < firstBroken else { return nil }
                defer { nextIndex += 1 }
                return nextIndex
            }
        }

        func finish(_ index: Int, _ result: Result<Found, any Error>, whole: Bool, checked: Int) {
            lock.withLock {
                found[index] = result
                if !whole { firstBroken = min(firstBroken, index) }
            }
            progress(index, checked)
        }

        /// Reported under the lock: the caller's report is never called from two threads at once.
        func progress(_ index: Int, _ count: Int) {
            guard let report else { return }
            lock.withLock {
                counts[index] = count
                report(counts.reduce(0, +))
            }
        }

        var results: [Result<Found, any Error>?] { lock.withLock { found } }
    }

    /// One walk from `from` to `through` (or the end).
    private static func walk(_ reader: any DatabaseReader, from: Int64, through: Int64?, limit: Int?,
                             progress: ((Int) -> Void)?) throws -> Verification {
        try reader.read { db in
            // Pages mapped rather than copied in: the walk reads the whole table once.
            // (SQLite caps this at its build's limit, 2 GB for Debian's.)
            try db.execute(sql: "PRAGMA mmap_size = 4294967296")
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
                    throw QuickConnection.error(rc, db.sqliteConnection)
                }
                let seq = sqlite3_column_int64(stmt, 0)
                if seq != expectedSeq {
                    return Verification(checked: checked, firstBrokenSeq: expectedSeq,
                                        reason: seq > expectedSeq ? (seq - expectedSeq == 1 ? "row \(expectedSeq) is missing (deleted)"
                                                                     : "rows \(expectedSeq)…\(seq - 1) are missing (deleted)")
                                                                  : "row \(seq) is out of order", lastSeq: last?.0, lastHash: last?.1)
                }
                if let problem = walk.check(StatementRow(statement: stmt)) {
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
