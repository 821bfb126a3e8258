import Crypto
import Foundation
import GRDB
import SwitchboardCore

/// What `switchboard audit verify` and the Audit screen's `v` report.
public struct AuditVerificationReport: Sendable, Equatable, Encodable {
    public var database: String
    public var intact: Bool
    /// The first row that is wrong (or the first of a range of rows re-hashed or missing).
    public var firstBadSeq: Int64?
    public var problem: String?
    public var rowsChecked: Int
    /// The last row in the database.
    public var headSeq: Int64
    /// Checkpoints read (table and file, each counted once) and how many carry a good
    /// signature under the key (nil when no key was given: they were not authenticated).
    public var checkpoints: Int
    public var signedCheckpoints: Int?
    public var seenHeads: Int
    /// The highest row a good checkpoint or a seen head vouches for.
    public var anchoredThrough: Int64
    public var notes: [String]

    enum CodingKeys: String, CodingKey {
        case database, intact, problem, notes, checkpoints
        case firstBadSeq = "first_bad_seq", rowsChecked = "rows_checked", headSeq = "head_seq"
        case signedCheckpoints = "signed_checkpoints", seenHeads = "seen_heads", anchoredThrough = "anchored_through"
    }
}

/// The whole check of an audit database: the chain walk over stored values
/// (`AuditChain.verify`), then the anchors — the agent's signed checkpoints (table and
/// file) and the heads this console saw before — against the rows. Together they find
/// an edit (hash), a deletion inside (gap) or at the end (a checkpoint past the head), an
/// insertion or swap (link, hash), a full re-hash (a checkpoint's hash differs) and a
/// forged append (a row after the agent's closing checkpoint).
public struct AuditVerifier: Sendable {
    public var audit: AuditStore
    public var fromSeq: Int64
    /// The agent's public key (raw): checkpoints are trusted only with a good signature under it.
    private var keyBytes: Data?
    public var key: Curve25519.Signing.PublicKey? { keyBytes.flatMap { try? .init(rawRepresentation: $0) } }
    public var checkpointFile: String
    public var seenHeads: SeenHeads?
    /// How long an agent's row may stay unsigned after the last open checkpoint (the
    /// agent signs every minute).
    public var unsignedGraceMillis: Int64 = 5 * 60_000

    public init(audit: AuditStore, fromSeq: Int64 = 1, key: Curve25519.Signing.PublicKey? = nil,
                checkpointFile: String? = nil, seenHeads: SeenHeads? = nil) {
        self.audit = audit; self.fromSeq = fromSeq; self.keyBytes = key?.rawRepresentation
        self.checkpointFile = checkpointFile ?? CheckpointFile.path(forDatabase: audit.path)
        self.seenHeads = seenHeads
    }

    /// Walks the chain (`progress` gets rows checked and the head's seq), then checks the anchors.
    public func run(now: UnixMillis = Clock.nowMillis(), progress: ((Int, Int64) -> Void)? = nil) throws -> AuditVerificationReport {
        let head = try audit.read { db in try Int64.fetchOne(db, sql: "SELECT max(seq) FROM audit_event") ?? 0 }
        let walk = try audit.verifyChain(fromSeq: fromSeq, progress: progress.map { report in { report($0, head) } })
        return try checkAnchors(after: walk, now: now)
    }

    /// The anchor half, after a walk that reached the end (or broke): used by the Audit
    /// screen, which walks in chunks itself. Records the head when all is well.
    public func checkAnchors(after walk: AuditChain.Verification, now: UnixMillis = Clock.nowMillis()) throws -> AuditVerificationReport {
        struct Anchor { var seq: Int64; var hash: String; var source: String }
        struct Break { var start: Int64; var end: Int64; var reason: String }

        let (headSeq, tableCheckpoints) = try audit.read { db -> (Int64, [AuditCheckpoint]) in
            let head = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM audit_event") ?? 0
            guard try db.tableExists("audit_checkpoint") else { return (head, []) }
            let rows = try Row.fetchAll(db, sql: "SELECT seq, hash, at, closing, key_id, signature FROM audit_checkpoint ORDER BY seq, at")
            return (head, rows.compactMap { row in
                guard let seq = row["seq"] as Int64?, let hash = row["hash"] as String?, let at = row["at"] as Int64?,
                      let keyID = row["key_id"] as String?, let signature = row["signature"] as String? else { return nil }
                return AuditCheckpoint(seq: seq, hash: hash, at: at, closing: (row["closing"] as Int64?) == 1, keyID: keyID, signature: signature)
            })
        }
        // Rows a running agent appended after the walk read: walked on up to the head the
        // anchors are held against, so "intact" always covers every row up to it.
        var walk = walk
        if walk.isIntact, let last = walk.lastSeq, headSeq > last {
            walk = walk.followed(by: try audit.verifyChain(fromSeq: last + 1, limit: Int(clamping: headSeq - last)), from: last + 1)
        }
        let file = CheckpointFile.read(checkpointFile)
        var notes: [String] = []
        var breaks: [Break] = []
        if file.damagedLines > 0 {
            notes.append("\(file.damagedLines) line(s) of \(checkpointFile) are not checkpoints")
        }
        var all: [AuditCheckpoint] = []
        var seen = Set<AuditCheckpoint>()
        for checkpoint in tableCheckpoints + file.checkpoints where seen.insert(checkpoint).inserted { all.append(checkpoint) }

        var trusted: [AuditCheckpoint]
        if let key {
            trusted = []
            for checkpoint in all {
                if checkpoint.isSigned(by: key) {
                    trusted.append(checkpoint)
                } else {
                    breaks.append(Break(start: checkpoint.seq, end: checkpoint.seq,
                                        reason: "the checkpoint for row \(checkpoint.seq) is not signed by this key (forged, or another agent's key)"))
                }
            }
            if trusted.isEmpty && headSeq > 0 {
                breaks.append(Break(start: 1, end: headSeq, reason: all.isEmpty
                    ? "no signed checkpoint at all (the table and \(checkpointFile) are empty or gone), though a key was given"
                    : "no checkpoint is signed by this key"))
            }
        } else {
            trusted = all
            notes.append(all.isEmpty
                ? "not anchored: no signed checkpoints in the database or beside it, so a deletion at the end or a full re-hash can only be found by a head this console saw before"
                : "checkpoints were not authenticated: give the agent's public key (--key FILE, or audit_key in the config)")
        }

        let seenHeads = seenHeads?.read() ?? []
        var anchors = trusted.map { Anchor(seq: $0.seq, hash: $0.hash, source: "the checkpoint signed at \(iso8601($0.at))") }
        anchors += seenHeads.map { Anchor(seq: $0.seq, hash: $0.hash, source: "the head this console verified at \(iso8601($0.at))") }
        anchors.sort { $0.seq < $1.seq }

        var lastMatching: Int64 = 0
        let stored: [Int64: String] = try audit.read { db in
            var hashes: [Int64: String] = [:]
            let statement = try db.cachedStatement(sql: "SELECT CAST(hash AS BLOB) FROM audit_event WHERE seq = ?")
            for anchor in anchors where anchor.seq <= headSeq && hashes[anchor.seq] == nil {
                if let data = try Data.fetchOne(statement, arguments: [anchor.seq]) {
                    hashes[anchor.seq] = String(decoding: data, as: UTF8.self)
                }
            }
            return hashes
        }
        for anchor in anchors {
            if anchor.seq > headSeq {
                let first = headSeq + 1
                breaks.append(Break(start: first, end: anchor.seq, reason: (first == anchor.seq ? "row \(first) is" : "rows \(first)…\(anchor.seq) are")
                    + " missing at the end (deleted): \(anchor.source) says the chain reached row \(anchor.seq)"))
            } else if let hash = stored[anchor.seq] {
                if hash == anchor.hash {
                    lastMatching = max(lastMatching, anchor.seq)
                } else {
                    let first = lastMatching + 1
                    breaks.append(Break(start: first, end: anchor.seq, reason: "rows \(first)…\(anchor.seq) were changed and the chain re-hashed: "
                        + "row \(anchor.seq)'s hash is not the one in \(anchor.source)"))
                }
            }
        }

        // Rows after the agent's closing checkpoint were not the agent's: the console's
        // operator rows may land there (it cannot sign), anything else is a forged append.
        if let last = trusted.max(by: { ($0.seq, $0.at) < ($1.seq, $1.at) }), headSeq > last.seq {
            if last.closing {
                let (stranger, operatorRows) = try audit.read { db in
                    (try Int64.fetchOne(db, sql: "SELECT seq FROM audit_event WHERE seq > ? AND actor NOT LIKE 'operator:%' ORDER BY seq LIMIT 1",
                                        arguments: [last.seq]),
                     try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_event WHERE seq > ? AND actor LIKE 'operator:%'", arguments: [last.seq]) ?? 0)
                }
                if let stranger {
                    breaks.append(Break(start: stranger, end: stranger,
                                        reason: "row \(stranger) was appended after the agent's closing checkpoint (row \(last.seq), signed at \(iso8601(last.at))) "
                                            + "and no signed checkpoint covers it (a forged append)"))
                } else if operatorRows > 0 {
                    notes.append("\(operatorRows) operator row(s) after the agent's closing checkpoint (row \(last.seq)) are not signed yet")
                }
            } else {
                // A running agent signs its rows within a minute; an agent's row older than
                // the grace and still unsigned means it stopped without closing (a crash),
                // or its later checkpoints, the closing one included, were removed.
                let stale = try audit.read { db in
                    try Row.fetchOne(db, sql: """
                        SELECT seq, at FROM audit_event WHERE seq > ? AND actor NOT LIKE 'operator:%' AND at < ? ORDER BY seq LIMIT 1
                        """, arguments: [last.seq, now - unsignedGraceMillis])
                }
                if let stale, let seq = stale["seq"] as Int64? {
                    breaks.append(Break(start: seq, end: seq, reason: "row \(seq) was written at \(iso8601(stale["at"] ?? 0)) but no signed checkpoint covers it "
                        + "(the last is row \(last.seq), signed at \(iso8601(last.at))): the agent stopped without closing, or its later checkpoints were removed"))
                } else {
                    notes.append("rows \(last.seq + 1)…\(headSeq) are not yet covered by a signed checkpoint (the agent signs every minute)")
                }
            }
        }

        // The walk's break is exact; an anchor's range that ends before it is a change the
        // walk could not see (re-hashed), so the earliest of those wins.
        var first: (seq: Int64, reason: String)? = walk.firstBrokenSeq.map { ($0, walk.reason ?? "") }
        for b in breaks.sorted(by: { $0.start < $1.start }) where first == nil || b.end < first!.seq {
            if first == nil || b.start < first!.seq { first = (b.start, b.reason) }
        }
        if first == nil, let last = walk.lastSeq, last == headSeq, let hash = walk.lastHash, let seenHeadsStore = self.seenHeads {
            do {
                try seenHeadsStore.record(seq: last, hash: hash, at: now)
            } catch {
                notes.append("could not record the head in \(seenHeadsStore.file.path): \(error)")
            }
        }
        return AuditVerificationReport(database: audit.path, intact: first == nil, firstBadSeq: first?.seq, problem: first?.reason,
                                       rowsChecked: walk.checked, headSeq: headSeq, checkpoints: all.count,
                                       signedCheckpoints: key == nil ? nil : trusted.count, seenHeads: seenHeads.count,
                                       anchoredThrough: lastMatching, notes: notes)
    }
}
