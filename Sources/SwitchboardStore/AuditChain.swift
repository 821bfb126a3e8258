import Crypto
import Foundation
import GRDB
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
        public var isIntact: Bool { firstBrokenSeq == nil }
    }

    /// Walks rows in `seq` order from `fromSeq` (the row before it supplies the link),
    /// streaming with a cursor so memory stays flat on ten million rows.
    public static func verify(_ reader: any DatabaseReader, fromSeq: Int64 = 1, limit: Int? = nil) throws -> Verification {
        try reader.read { db in
            var expectedPrev: String
            var expectedSeq = fromSeq
            if fromSeq <= 1 {
                expectedPrev = genesis
                expectedSeq = try Int64.fetchOne(db, sql: "SELECT min(seq) FROM audit_event") ?? 1
                if expectedSeq != 1 {
                    return Verification(checked: 0, firstBrokenSeq: expectedSeq, reason: "rows before \(expectedSeq) are missing")
                }
            } else {
                expectedPrev = try String.fetchOne(db, sql: "SELECT hash FROM audit_event WHERE seq = ?", arguments: [fromSeq - 1]) ?? genesis
            }
            var checked = 0
            let sql = "SELECT * FROM audit_event WHERE seq >= ? ORDER BY seq" + (limit.map { " LIMIT \($0)" } ?? "")
            let cursor = try AuditEvent.fetchCursor(db, sql: sql, arguments: [fromSeq])
            while let e = try cursor.next() {
                if e.seq != expectedSeq {
                    return Verification(checked: checked, firstBrokenSeq: expectedSeq, reason: "row \(expectedSeq) is missing")
                }
                if e.prevHash != expectedPrev {
                    return Verification(checked: checked, firstBrokenSeq: e.seq, reason: "prev_hash does not match the row before")
                }
                if hash(e) != e.hash {
                    return Verification(checked: checked, firstBrokenSeq: e.seq, reason: "hash does not match the row's content")
                }
                expectedPrev = e.hash
                expectedSeq += 1
                checked += 1
            }
            return Verification(checked: checked, firstBrokenSeq: nil, reason: nil)
        }
    }
}
