import Foundation
import SwitchboardCore

/// Runs the config's alert hook for one change: `/bin/sh -c HOOK` with the change as JSON on
/// standard input (for notify-send, a pager script, a chat webhook with curl). The hook
/// runs in its own process group, so one that hangs is killed whole (its children too)
/// after the timeout.
///
///     let outcome = AlertHook(command: "logger -t switchboard", timeoutSeconds: 10).run(change)
public struct AlertHook: Sendable {
    public var command: String
    public var timeoutSeconds: Int

    public init(command: String, timeoutSeconds: Int) {
        self.command = command
        self.timeoutSeconds = timeoutSeconds
    }

    public enum Outcome: Sendable, Equatable {
        case exited(Int32)
        case killedAfterTimeout
        case couldNotStart(String)
    }

    public func run(_ change: AlertChange) -> Outcome {
        var input: [Int32] = [0, 0]
        guard pipe(&input) == 0 else { return .couldNotStart(String(cString: strerror(errno))) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_addclose(&actions, input[1])
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        var pid: pid_t = 0
        let arguments = ["/bin/sh", "-c", command]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ)
        close(input[0])
        guard spawned == 0 else {
            close(input[1])
            return .couldNotStart(String(cString: strerror(spawned)))
        }
        // The JSON is small (under a pipe's buffer), so this write does not wait for the hook.
        let bytes = Array((change.json + "\n").utf8)
        signal(SIGPIPE, SIG_IGN)
        _ = bytes.withUnsafeBytes { write(input[1], $0.baseAddress, $0.count) }
        close(input[1])
        let deadline = Date().addingTimeInterval(TimeInterval(timeoutSeconds))
        var status: Int32 = 0
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { return .exited(Self.exitCode(status)) }
            if done < 0 && errno != EINTR { return .exited(-1) }
            if Date() >= deadline {
                kill(-pid, SIGTERM)
                usleep(200_000)
                kill(-pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                return .killedAfterTimeout
            }
            usleep(20_000)
        }
    }

    private static func exitCode(_ status: Int32) -> Int32 {
        // WIFEXITED / WEXITSTATUS are macros Swift does not import.
        (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

/// One look at the alerts, shared by `switchboard check` and the console: the state file
/// is updated under its lock (so two watchers never both see a change as new), then the
/// hook runs once per change, after the lock is let go (a run killed mid-hook never pages
/// twice).
///
///     let round = try AlertRound.run(settings: settings.alerts, statePath: path, figures: figures, heard: nil, now: now)
///     round.evaluation.active     // the Alerts list; round.changes: what just started or cleared
public struct AlertRound: Sendable {
    public var evaluation: AlertEvaluation
    public var changes: [AlertChange]
    /// The figures as evaluated (with the stream's last-heard time from the state file).
    public var figures: AlertFigures
    /// Changes whose hook was stopped after its timeout.
    public var hooksTimedOut: [AlertChange]

    public static func run(settings: AlertSettings, statePath: String, figures: AlertFigures, heard: UnixMillis?,
                           now: UnixMillis, runHooks: Bool = true) throws -> AlertRound {
        let (figures, evaluation, changes) = try AlertStateFile.update(path: statePath) { state in
            if let heard { state.streamLastHeard = heard }
            var seen = figures
            seen.streamLastHeard = state.streamLastHeard
            let evaluation = evaluateAlerts(settings, seen, now: now)
            let (next, changes) = state.applying(evaluation, now: now)
            state = next
            return (seen, evaluation, changes)
        }
        var timedOut: [AlertChange] = []
        if runHooks, let hook = settings.hook {
            let runner = AlertHook(command: hook, timeoutSeconds: settings.hookTimeoutSeconds)
            for change in changes where runner.run(change) == .killedAfterTimeout { timedOut.append(change) }
        }
        return AlertRound(evaluation: evaluation, changes: changes, figures: figures, hooksTimedOut: timedOut)
    }
}

extension AlertStateFile {
    /// The state file a site's alerts share, whoever evaluates them (`check` from cron, a
    /// console): the config's `state_file`, else one per pair of databases.
    public static func path(for settings: ConsoleConfiguration, environment: [String: String]) -> String {
        settings.alerts.stateFile ?? defaultPath(environment: environment, site: siteKey(settings))
    }

    static func siteKey(_ settings: ConsoleConfiguration) -> String {
        [settings.auditPath, settings.outboxPath].map { $0.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? "-" }.joined(separator: "|")
    }
}
