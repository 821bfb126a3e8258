import Foundation
import SwitchboardCore

/// Which alerts were on at the last look, so a hook runs once when an alert starts and once
/// when it clears however often `check` runs (cron every minute, several terminals). Kept
/// in a small JSON file, changed under an exclusive lock.
public struct AlertState: Codable, Sendable, Equatable {
    /// The alerts that are on, with the time they started.
    public var active: [String: Alert] = [:]
    /// When the event stream was last heard (a `check` that connects keeps this).
    public var streamLastHeard: UnixMillis?
    /// The last starts and clears, newest last (the hand-off reads them).
    public var history: [AlertChange] = []

    public init() {}

    enum CodingKeys: String, CodingKey {
        case active, history
        case streamLastHeard = "stream_last_heard"
    }

    static let historyLimit = 500

    /// The changes from this state to `evaluation`, and the state after them. Rules that
    /// could not be evaluated keep what they had: a missing file is not "all clear".
    public func applying(_ evaluation: AlertEvaluation, now: UnixMillis) -> (AlertState, [AlertChange]) {
        var next = self, changes: [AlertChange] = []
        let on = Dictionary(uniqueKeysWithValues: evaluation.active.map { ($0.rule.rawValue, $0) })
        for alert in evaluation.active {
            if var known = active[alert.rule.rawValue] {
                // Still on: same alert, fresher wording; its start stays.
                known.summary = alert.summary
                known.severity = alert.severity
                known.action = alert.action
                next.active[alert.rule.rawValue] = known
            } else {
                next.active[alert.rule.rawValue] = alert
                changes.append(AlertChange(event: .started, alert: alert, at: now))
            }
        }
        for (key, alert) in active where on[key] == nil {
            if evaluation.notEvaluated[alert.rule] != nil { continue }
            next.active[key] = nil
            changes.append(AlertChange(event: .cleared, alert: alert, at: now))
        }
        next.history = Array((history + changes).suffix(Self.historyLimit))
        return (next, changes)
    }
}

/// An alert starting or clearing: what a hook gets on standard input.
public struct AlertChange: Codable, Sendable, Equatable {
    public enum Event: String, Codable, Sendable { case started, cleared }
    public var event: Event
    public var alert: Alert
    public var at: UnixMillis

    public init(event: Event, alert: Alert, at: UnixMillis) {
        self.event = event; self.alert = alert; self.at = at
    }

    /// The hook's input: one JSON object, stable keys.
    public var json: String {
        JSONText.object(["event": event.rawValue, "rule": alert.rule.rawValue, "severity": alert.severity.rawValue,
                         "summary": alert.summary, "action": alert.action, "since": iso8601(alert.since),
                         "since_ms": alert.since, "at": iso8601(at), "at_ms": at])
    }
}

/// The state file, read and written under `flock`, so two `check`s at once cannot both
/// see an alert as new.
public enum AlertStateFile {
    /// `$XDG_STATE_HOME/switchboard/alerts-<site>.json` (else `~/.local/state/…`); the site
    /// part tells the databases apart, so one user can watch several sites.
    public static func defaultPath(environment: [String: String], site: String) -> String {
        let base = environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()) + "/.local/state")
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in site.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "\(base)/switchboard/alerts-\(String(hash, radix: 16)).json"
    }

    /// Runs `body` on the state with the file locked; what `body` returns is written back
    /// before the lock is let go. A missing file is an empty state; an unreadable one too
    /// (with a warning), since the worst outcome is a hook running once more.
    public static func update<T>(path: String, _ body: (inout AlertState) throws -> T) throws -> T {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AlertStateError.cannotOpen(path: path, errno: errno) }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw AlertStateError.cannotOpen(path: path, errno: errno) }
        defer { flock(fd, LOCK_UN) }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: false)
        let data = try handle.readToEnd() ?? Data()
        var state = data.isEmpty ? AlertState() : (try? JSONDecoder().decode(AlertState.self, from: data)) ?? AlertState()
        let result = try body(&state)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let out = try encoder.encode(state)
        guard ftruncate(fd, 0) == 0 else { throw AlertStateError.cannotWrite(path: path, errno: errno) }
        try handle.seek(toOffset: 0)
        try handle.write(contentsOf: out)
        fsync(fd)
        return result
    }

    /// Reads without changing (for `metrics` and the hand-off).
    public static func read(path: String) -> AlertState? {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return nil }
        return try? JSONDecoder().decode(AlertState.self, from: data)
    }
}

public enum AlertStateError: Error, CustomStringConvertible {
    case cannotOpen(path: String, errno: Int32)
    case cannotWrite(path: String, errno: Int32)

    public var description: String {
        switch self {
        case let .cannotOpen(path, e): "\(path): cannot open the alert state file (\(String(cString: strerror(e))))"
        case let .cannotWrite(path, e): "\(path): cannot write the alert state file (\(String(cString: strerror(e))))"
        }
    }
}
