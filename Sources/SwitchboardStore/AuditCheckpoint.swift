import Crypto
import Foundation
import GRDB
import SwitchboardCore

/// A signed statement by the agent: "the chain's head was row `seq` with hash `hash` at
/// `at`". Kept twice, in `audit_checkpoint` and in the append-only file beside the
/// database (`audit.sqlite.checkpoints`), so deleting one copy is not enough. Someone with
/// the database can re-hash rows, but cannot sign: a checkpoint that no longer matches
/// the chain names the rows that were changed, truncated or appended.
///
///     1795517942091 … v1 688 3321bd… 1795556557349 open 6f1c0a4e9b2d7788 Zm9y…
public struct AuditCheckpoint: Sendable, Equatable, Hashable, Codable {
    public var seq: Int64
    public var hash: String
    public var at: UnixMillis
    /// The agent's last checkpoint before it stopped: rows after it were not its own.
    public var closing: Bool
    /// The first 16 hex digits of SHA-256 over the public key (which key signed it).
    public var keyID: String
    /// Ed25519 signature over `message`, base64.
    public var signature: String

    enum CodingKeys: String, CodingKey {
        case seq, hash, at, closing, signature
        case keyID = "key_id"
    }

    /// The signed bytes: a fixed label, so a signature over anything else never passes.
    public static func message(seq: Int64, hash: String, at: UnixMillis, closing: Bool) -> Data {
        Data("switchboard-audit-checkpoint/1 \(seq) \(hash) \(at) \(closing ? "closing" : "open")".utf8)
    }

    public func isSigned(by key: Curve25519.Signing.PublicKey) -> Bool {
        guard let raw = Data(base64Encoded: signature) else { return false }
        return key.isValidSignature(raw, for: Self.message(seq: seq, hash: hash, at: at, closing: closing))
    }

    /// One line of the checkpoint file.
    var line: String { "v1 \(seq) \(hash) \(at) \(closing ? "closing" : "open") \(keyID) \(signature)" }

    init(seq: Int64, hash: String, at: UnixMillis, closing: Bool, keyID: String, signature: String) {
        self.seq = seq; self.hash = hash; self.at = at; self.closing = closing; self.keyID = keyID; self.signature = signature
    }

    init?(line: Substring) {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 7, parts[0] == "v1", let seq = Int64(parts[1]), let at = Int64(parts[3]),
              parts[4] == "open" || parts[4] == "closing" else { return nil }
        self.init(seq: seq, hash: String(parts[2]), at: at, closing: parts[4] == "closing", keyID: String(parts[5]),
                  signature: String(parts[6]))
    }
}

/// The agent's signing key pair, as two one-line files of base64 (the raw 32-byte keys,
/// as WireGuard writes them): `audit-checkpoint.key` (mode 0600, never leaves the agent's
/// directory) and `audit-checkpoint.pub` (what `switchboard audit verify --key` reads).
public enum CheckpointKeys {
    public static let privateName = "audit-checkpoint.key"
    public static let publicName = "audit-checkpoint.pub"

    public enum Failure: Error, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case notAKey(path: String)
        public var description: String {
            switch self {
            case .unreadable(let path, let reason): "cannot read the checkpoint key \(path): \(reason)"
            case .notAKey(let path): "\(path) is not an Ed25519 key (one line of base64, 32 bytes)"
            }
        }
    }

    /// The key pair in `directory`, made on first use.
    public static func privateKey(in directory: URL) throws -> Curve25519.Signing.PrivateKey {
        let keyURL = directory.appendingPathComponent(privateName)
        let publicURL = directory.appendingPathComponent(publicName)
        if FileManager.default.fileExists(atPath: keyURL.path) {
            let key = try Curve25519.Signing.PrivateKey(rawRepresentation: read(keyURL.path))
            if !FileManager.default.fileExists(atPath: publicURL.path) { try write(key.publicKey.rawRepresentation, to: publicURL, mode: 0o644) }
            return key
        }
        let key = Curve25519.Signing.PrivateKey()
        try write(key.rawRepresentation, to: keyURL, mode: 0o600)
        try write(key.publicKey.rawRepresentation, to: publicURL, mode: 0o644)
        return key
    }

    public static func publicKey(at path: String) throws -> Curve25519.Signing.PublicKey {
        do {
            return try Curve25519.Signing.PublicKey(rawRepresentation: read(path))
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure.notAKey(path: path)
        }
    }

    public static func keyID(_ key: Curve25519.Signing.PublicKey) -> String {
        String(AuditChain.hexString(SHA256.hash(data: key.rawRepresentation)).prefix(16))
    }

    private static func read(_ path: String) throws -> Data {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw Failure.unreadable(path: path, reason: FileManager.default.fileExists(atPath: path) ? "permission denied or not text" : "no such file")
        }
        guard let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), raw.count == 32 else {
            throw Failure.notAKey(path: path)
        }
        return raw
    }

    private static func write(_ raw: Data, to url: URL, mode: Int) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: Data((raw.base64EncodedString() + "\n").utf8),
                                             attributes: [.posixPermissions: mode]) else {
            throw Failure.unreadable(path: url.path, reason: "cannot write it")
        }
    }
}

/// The append-only file of checkpoints beside the database: one line each, written with
/// `O_APPEND` and synced, never rewritten.
public enum CheckpointFile {
    public static func path(forDatabase database: String) -> String { database + ".checkpoints" }

    static func append(_ checkpoint: AuditCheckpoint, to path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let bytes = Array((checkpoint.line + "\n").utf8)
        let end = lseek(fd, 0, SEEK_END)
        guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
            let why = errno
            // A half line would read as a damaged checkpoint: take it back.
            if end >= 0 { _ = ftruncate(fd, end) }
            if why == ENOSPC || why == EDQUOT { throw StoreError.diskFull(path: path) }
            throw StoreError.failed(path: path, reason: "cannot append a checkpoint: \(String(cString: strerror(why)))")
        }
    }

    /// The checkpoints in the file, and how many lines were not checkpoints (a torn last
    /// line after a crash, or an edit).
    public static func read(_ path: String) -> (checkpoints: [AuditCheckpoint], damagedLines: Int, present: Bool) {
        guard let data = FileManager.default.contents(atPath: path) else { return ([], 0, false) }
        var found: [AuditCheckpoint] = []
        var damaged = 0
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            if let checkpoint = AuditCheckpoint(line: line) { found.append(checkpoint) } else { damaged += 1 }
        }
        return (found, damaged, true)
    }
}

/// Signs the chain's head for the agent: after every `everyRows` rows, when asked (every
/// minute, by the agent's clock), and once more, closing, when it stops. Each checkpoint
/// goes into `audit_checkpoint` in the same transaction that read the head, then into the
/// file.
public final class CheckpointSigner: @unchecked Sendable {
    public let audit: AuditStore
    public let everyRows: Int64
    public let filePath: String
    private let key: Curve25519.Signing.PrivateKey
    private let keyID: String
    private let lock = NSLock()
    private var lastSignedSeq: Int64

    public init(audit: AuditStore, key: Curve25519.Signing.PrivateKey, everyRows: Int = 1000) throws {
        self.audit = audit
        self.key = key
        self.keyID = CheckpointKeys.keyID(key.publicKey)
        self.everyRows = Int64(max(1, everyRows))
        self.filePath = CheckpointFile.path(forDatabase: audit.path)
        lastSignedSeq = try audit.read { db in try Int64.fetchOne(db, sql: "SELECT max(seq) FROM audit_checkpoint") ?? 0 }
    }

    /// With the agent's key pair in `keyDirectory` (made there on first use).
    public convenience init(audit: AuditStore, keyDirectory: URL, everyRows: Int = 1000) throws {
        try self.init(audit: audit, key: CheckpointKeys.privateKey(in: keyDirectory), everyRows: everyRows)
    }

    /// After rows were committed: signs the head once `everyRows` rows have gone by.
    public func rowsAppended() throws {
        let due: Bool = try lock.withLock {
            let head = try audit.read { db in try Int64.fetchOne(db, sql: "SELECT max(seq) FROM audit_event") ?? 0 }
            return head - lastSignedSeq >= everyRows
        }
        if due { try sign() }
    }

    /// Signs the head if it moved since the last checkpoint (always, when `closing`; and
    /// with `opening`, at start, so rows after a previous run's closing checkpoint are
    /// this run's, not forged).
    @discardableResult
    public func sign(closing: Bool = false, opening: Bool = false, now: UnixMillis = Clock.nowMillis()) throws -> AuditCheckpoint? {
        try lock.withLock {
            let checkpoint: AuditCheckpoint? = try audit.write { db in
                // An empty chain is signed too (row 0, the genesis) when opening or closing:
                // "no checkpoint at all" then always means they were deleted.
                let head = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")
                if head == nil && !opening && !closing { return nil }
                let seq: Int64 = head?["seq"] ?? 0
                let hash: String = head?["hash"] ?? AuditChain.genesis
                if seq == lastSignedSeq && !closing && !opening { return nil }
                return try insert(seq: seq, hash: hash, at: now, closing: closing, in: db)
            }
            if let checkpoint {
                lastSignedSeq = checkpoint.seq
                try CheckpointFile.append(checkpoint, to: filePath)
            }
            return checkpoint
        }
    }

    /// For a history written in bulk (`switchboard-sim generate`): the head at every
    /// `everyRows`-th row, then the closing head.
    public func signHistory(now: UnixMillis = Clock.nowMillis()) throws {
        let heads = try audit.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, hash FROM audit_event WHERE seq % ? = 0 AND seq > ? ORDER BY seq",
                             arguments: [everyRows, lastSignedSeq]).map { (seq: $0["seq"] as Int64, hash: $0["hash"] as String) }
        }
        try lock.withLock {
            let written = try audit.write { db in
                try heads.map { try insert(seq: $0.seq, hash: $0.hash, at: now, closing: false, in: db) }
            }
            for checkpoint in written { try CheckpointFile.append(checkpoint, to: filePath) }
            if let last = written.last { lastSignedSeq = last.seq }
        }
        try sign(closing: true, now: now)
    }

    private func insert(seq: Int64, hash: String, at: UnixMillis, closing: Bool, in db: Database) throws -> AuditCheckpoint {
        let signature = try key.signature(for: AuditCheckpoint.message(seq: seq, hash: hash, at: at, closing: closing))
        let checkpoint = AuditCheckpoint(seq: seq, hash: hash, at: at, closing: closing, keyID: keyID,
                                         signature: signature.base64EncodedString())
        try db.execute(sql: "INSERT INTO audit_checkpoint (seq, hash, at, closing, key_id, signature) VALUES (?, ?, ?, ?, ?, ?)",
                       arguments: [seq, hash, at, closing, keyID, checkpoint.signature])
        return checkpoint
    }
}
