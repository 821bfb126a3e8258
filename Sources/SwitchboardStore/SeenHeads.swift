import Crypto
import Foundation
import SwitchboardCore

/// The chain heads this console has verified, kept in the console's own state directory
/// (`$XDG_STATE_HOME/switchboard/audit-heads/`, else `~/.local/state/switchboard/…`),
/// one file per database keyed by its absolute path. Someone who truncates or re-hashes
/// the database and deletes its checkpoints still cannot take back what this console saw.
///
///     # /srv/clinic/audit.sqlite
///     6782 3321bda5c98e… 1795556557349
public struct SeenHeads: Sendable {
    public struct Head: Sendable, Equatable {
        public var seq: Int64
        public var hash: String
        public var at: UnixMillis
    }

    public let file: URL
    public let databasePath: String

    /// `directory` is the console's state directory; the database's identity is its
    /// absolute path with symbolic links resolved.
    public init(directory: URL, databasePath: String) {
        let absolute = URL(fileURLWithPath: databasePath).standardizedFileURL.resolvingSymlinksInPath().path
        self.databasePath = absolute
        let key = AuditChain.hexString(SHA256.hash(data: Data(absolute.utf8))).prefix(16)
        file = directory.appendingPathComponent("audit-heads").appendingPathComponent("\(key).heads")
    }

    /// `$XDG_STATE_HOME/switchboard`, or `~/.local/state/switchboard`.
    public static func stateDirectory(environment: [String: String]) -> URL {
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            return URL(fileURLWithPath: state).appendingPathComponent("switchboard")
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".local/state/switchboard")
    }

    public static func forDatabase(_ path: String, environment: [String: String]) -> SeenHeads {
        SeenHeads(directory: stateDirectory(environment: environment), databasePath: path)
    }

    public func read() -> [Head] {
        guard let data = FileManager.default.contents(atPath: file.path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 3, let seq = Int64(parts[0]), let at = Int64(parts[2]), parts[1].utf8.count == 64 else { return nil }
            return Head(seq: seq, hash: String(parts[1]), at: at)
        }
    }

    /// Adds a head (nothing if it is the last one recorded). Best effort: a console that
    /// cannot write its state still verifies; it says so instead.
    public func record(seq: Int64, hash: String, at: UnixMillis) throws {
        if let last = read().last, last.seq == seq, last.hash == hash { return }
        let fm = FileManager.default
        let directory = file.deletingLastPathComponent()
        try fm.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if !fm.fileExists(atPath: file.path) {
            guard fm.createFile(atPath: file.path, contents: Data("# \(databasePath)\n".utf8), attributes: [.posixPermissions: 0o600]) else {
                throw StoreError.readOnly(path: file.path)
            }
        }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\(seq) \(hash) \(at)\n".utf8))
    }
}
