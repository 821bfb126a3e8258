import Foundation
import SwitchboardCore
import TOMLKit

/// Who may do what, from a file only root can change: `/etc/switchboard/policy.toml`.
/// A user's own config names databases and keys, never a role: it is theirs to write.
///
///     # /etc/switchboard/policy.toml (root:root, 0644)
///     read_only = false
///     [roles]
///     default_role = "viewer"
///     "maria.g" = "reviewer"
///     ann = "operator"
///
/// Without a policy a user is a viewer, except on databases they own (the demo, a
/// developer's own files), where they are operator: whoever owns the file can change it
/// with `sqlite3` anyway, so the console grants nothing the file system does not.
public struct RolePolicy: Sendable, Equatable {
    public static let systemPath = "/etc/switchboard/policy.toml"
    /// Names another policy file, for tests, and is honoured only for root (real and
    /// effective uid 0, so never through a setuid binary): root can write the system
    /// policy anyway, so the variable gives root nothing new, and anyone else it gives
    /// nothing at all. (A user choosing among root-owned files — another clinic's policy,
    /// an old copy kept beside it, an empty file that drops `read_only` — could otherwise
    /// pick the one that suits them.) It must name an existing file that passes the same
    /// checks as the system's.
    public static let overrideVariable = "SWITCHBOARD_POLICY"

    public var path: String
    public var roles: [String: OperatorRole]
    public var defaultRole: OperatorRole
    public var readOnly: Bool

    public init(path: String, roles: [String: OperatorRole] = [:], defaultRole: OperatorRole = .viewer, readOnly: Bool = false) {
        self.path = path; self.roles = roles; self.defaultRole = defaultRole; self.readOnly = readOnly
    }

    /// The policy in force: for root, the override's file (which must exist) when one is
    /// named; otherwise the system file if there is one, else nil.
    public static func current(environment: [String: String], realUID: uid_t = getuid(), effectiveUID: uid_t = geteuid())
        throws(RolePolicyError) -> RolePolicy? {
        if let named = environment[overrideVariable], !named.isEmpty, realUID == 0, effectiveUID == 0 {
            guard FileManager.default.fileExists(atPath: named) else { throw .missing(path: named) }
            return try load(path: named)
        }
        return try load(path: systemPath)
    }

    /// The warning for a user who set the override and is not root: it was ignored.
    public static func ignoredOverride(environment: [String: String], realUID: uid_t = getuid(), effectiveUID: uid_t = geteuid()) -> String? {
        guard let named = environment[overrideVariable], !named.isEmpty, realUID != 0 || effectiveUID != 0 else { return nil }
        return "warning: \(overrideVariable) is ignored: only root may name another role policy; \(systemPath) applies"
    }

    /// Reads the policy at `path`; nil when there is no file. Refused unless the file and
    /// every directory above it are owned by root and not writable by group or others (a
    /// root-owned sticky directory such as /tmp excepted): anyone else could grant
    /// themselves a role, by editing the file or by putting another in its place.
    public static func load(path: String) throws(RolePolicyError) -> RolePolicy? {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw .unreadable(path: path)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .notAFile(path: path) }
        guard info.st_uid == 0 else { throw .notOwnedByRoot(path: path, uid: info.st_uid) }
        guard info.st_mode & (S_IWGRP | S_IWOTH) == 0 else { throw .writableByOthers(path: path, mode: info.st_mode & 0o777) }
        try checkDirectories(above: path)
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw .unreadable(path: path)
        }
        return try parse(text, path: path)
    }

    /// Every directory from the policy's up to `/` (symbolic links resolved): owned by
    /// root, and not writable by group or others unless it is sticky (then only root may
    /// rename or remove root's entries in it).
    static func checkDirectories(above path: String) throws(RolePolicyError) {
        let parent = (path as NSString).deletingLastPathComponent
        guard let resolved = realpath(parent.isEmpty ? "." : parent, nil) else { throw .unreadable(path: path) }
        var directory = String(cString: resolved)
        free(resolved)
        while true {
            var info = stat()
            guard lstat(directory, &info) == 0 else { throw .unreadable(path: path) }
            guard info.st_uid == 0 else { throw .directoryNotRoot(path: path, directory: directory, uid: info.st_uid) }
            if info.st_mode & (S_IWGRP | S_IWOTH) != 0 && info.st_mode & S_ISVTX == 0 {
                throw .directoryWritable(path: path, directory: directory, mode: info.st_mode & 0o7777)
            }
            if directory == "/" { return }
            directory = (directory as NSString).deletingLastPathComponent
            if directory.isEmpty { directory = "/" }
        }
    }

    /// The policy's text; any value it does not understand refuses the whole file, so a
    /// typo never silently leaves someone with more than intended.
    public static func parse(_ text: String, path: String) throws(RolePolicyError) -> RolePolicy {
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch { throw .invalid(path: path, reason: "not valid TOML") }
        var policy = RolePolicy(path: path)
        let choices = OperatorRole.allCases.map(\.rawValue).joined(separator: ", ")
        for (key, value) in table {
            switch key {
            case "read_only":
                guard let flag = value.bool else { throw .invalid(path: path, reason: "read_only must be true or false") }
                policy.readOnly = flag
            case "roles":
                guard let roles = value.table else { throw .invalid(path: path, reason: "[roles] must be a table of user = \"role\"") }
                for (user, value) in roles {
                    guard let word = value.string, let role = OperatorRole(rawValue: word) else {
                        throw .invalid(path: path, reason: "the role of \(user) must be one of: \(choices)")
                    }
                    if user == "default_role" { policy.defaultRole = role } else { policy.roles[user] = role }
                }
            default:
                throw .invalid(path: path, reason: "unknown key \"\(key)\" (read_only and [roles] only)")
            }
        }
        return policy
    }

    /// This policy's role for `user`.
    public func role(of user: String) -> OperatorRole { roles[user] ?? defaultRole }
}

/// Why a policy file was refused: the program stops (EX_CONFIG) rather than guess a role.
public enum RolePolicyError: Error, Equatable, CustomStringConvertible {
    case missing(path: String)
    case notAFile(path: String)
    case notOwnedByRoot(path: String, uid: uid_t)
    case writableByOthers(path: String, mode: mode_t)
    case directoryNotRoot(path: String, directory: String, uid: uid_t)
    case directoryWritable(path: String, directory: String, mode: mode_t)
    case unreadable(path: String)
    case invalid(path: String, reason: String)

    public static let exitStatus: Int32 = 78  // EX_CONFIG

    public var description: String {
        switch self {
        case .missing(let path): "\(path): no such policy file (named by \(RolePolicy.overrideVariable))"
        case .notAFile(let path): "\(path): the role policy must be a regular file; refusing it"
        case let .notOwnedByRoot(path, uid):
            "\(path): the role policy is owned by uid \(uid), not root; refusing it (chown root:root \(path))"
        case let .writableByOthers(path, mode):
            "\(path): the role policy is writable by group or others (mode \(String(mode, radix: 8))); refusing it (chmod go-w \(path))"
        case let .directoryNotRoot(path, directory, uid):
            "\(path): the role policy's directory \(directory) is owned by uid \(uid), not root; refusing it"
        case let .directoryWritable(path, directory, mode):
            "\(path): the role policy's directory \(directory) is writable by group or others (mode \(String(mode, radix: 8))); refusing it"
        case .unreadable(let path): "\(path): cannot read the role policy"
        case let .invalid(path, reason): "\(path): \(reason); refusing the role policy"
        }
    }
}

extension ConsoleConfiguration {
    /// These settings with the roles and read-only mode the policy gives, or — with no
    /// policy — operator on databases `uid` owns and viewer on any other. Whatever roles
    /// the settings held before (a user's config) are dropped.
    public func governed(by policy: RolePolicy?, uid: uid_t = geteuid()) -> ConsoleConfiguration {
        var result = self
        if let policy {
            result.roles = policy.roles
            result.defaultRole = policy.defaultRole
            if policy.readOnly { result.readOnly = true }
        } else {
            result.roles = [:]
            result.defaultRole = Self.ownsEvery([auditPath, outboxPath].compactMap { $0 }, uid: uid) ? .operator : .viewer
        }
        return result
    }

    /// Whether `uid` owns every one of the database files that exist (and at least one).
    public static func ownsEvery(_ paths: [String], uid: uid_t) -> Bool {
        var owned = 0
        for path in paths {
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            guard info.st_uid == uid else { return false }
            owned += 1
        }
        return owned > 0
    }
}

/// Who else can read or change a database file: `switchboard status` warns about it.
public enum DatabaseExposure {
    /// One warning per file (and its -wal/-shm) that group or others may read or write.
    public static func warnings(paths: [String]) -> [String] {
        var result: [String] = []
        for base in paths {
            for path in [base, base + "-wal", base + "-shm"] {
                var info = stat()
                guard stat(path, &info) == 0 else { continue }
                let mode = info.st_mode & 0o777
                var who: [String] = []
                if mode & 0o004 != 0 { who.append("readable by others") }
                if mode & 0o002 != 0 { who.append("writable by others") }
                if mode & 0o020 != 0 { who.append("writable by its group") }
                if !who.isEmpty {
                    result.append("\(path) is \(who.joined(separator: " and ")) (mode \(String(mode, radix: 8))): patient data; chmod o-rw,g-w")
                }
            }
        }
        return result
    }
}
