import Foundation

/// Drives a real program in a detached tmux session: send keys, read the screen, wait
/// until the screen says something (never a fixed sleep).
///
///     let tmux = try Tmux.start([executable("switchboard"), "--audit", a, "--outbox", o],
///                               environment: ["TERM": "xterm-256color"])
///     defer { tmux.kill() }
///     try await tmux.waitFor("undecided")
///     tmux.send("a")
///     let screen = try await tmux.waitFor("Approved")
///
/// Every session has its own server (`tmux -L <unique socket>`, no user config), so tests
/// running in parallel never see each other's panes. Panes stay after the program exits
/// (`remain-on-exit`), so a test can read the last screen and the exit status.
public final class Tmux: @unchecked Sendable {
    public let socket: String
    public let session = "e2e"
    public let width: Int
    public let height: Int
    private let configPath: String
    private let statusPath: String
    private var socketPath: String?

    /// Where tmux is installed, if it is.
    public static let binary: String? = ["/usr/bin/tmux", "/usr/local/bin/tmux", "/opt/homebrew/bin/tmux", "/bin/tmux"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    public static var isAvailable: Bool { binary != nil }

    /// Starts `command` (argv, run without a shell) in a `width`x`height` pane. `environment`
    /// is set for the program (through `env`); `unset` names variables removed first
    /// (`NO_COLOR`, say), so the test's own environment cannot change what it sees.
    public static func start(_ command: [String], width: Int = 80, height: Int = 24,
                             environment: [String: String] = [:], unset: [String] = ["NO_COLOR", "COLORTERM", "TMUX"],
                             name: String = #function) throws -> Tmux {
        let tag = name.filter { $0.isLetter || $0.isNumber }.prefix(24)
        let tmux = Tmux(socket: "sb-\(tag)-\(UUID().uuidString.prefix(8))", width: width, height: height)
        // A config of our own (not ~/.tmux.conf): no status line taking a row, and dead
        // panes kept so that a program which exits at once can still be read.
        try """
        set -g status off
        set -g remain-on-exit on
        set -g escape-time 0
        """.write(toFile: tmux.configPath, atomically: true, encoding: .utf8)
        // The exit status goes to a file: tmux keeps it for a dead pane only sometimes
        // (not when the terminal closes before the process is reaped).
        var argv = ["/bin/sh", "-c", "\"$@\"; echo $? > '\(tmux.statusPath)'", "sh", "/usr/bin/env"]
        for name in unset { argv += ["-u", name] }
        argv += environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        argv += command
        try tmux.startServer(["-f", tmux.configPath, "new-session", "-d", "-s", tmux.session, "-x", String(width), "-y", String(height)] + argv)
        return tmux
    }

    /// The first command starts the tmux server, which outlives it and hands its signal
    /// mask to the program in the pane. Foundation's `Process` would pass on the calling
    /// thread's mask (a test thread blocks most signals: the console would never see
    /// SIGWINCH, SIGHUP or SIGTERM) and a descriptor by which it notices the exit (which
    /// the server would hold forever). So: posix_spawn with every signal unblocked and at
    /// its default, standard streams on /dev/null, and no other descriptor inherited.
    private func startServer(_ arguments: [String]) throws {
        guard let binary = Self.binary else { throw TmuxError(text: "tmux is not installed") }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        // Descriptors are handed out lowest first, so closing everything up to a margin
        // above the highest open one also covers those other threads open meanwhile
        // (closing one that is not open is not an error).
        let open = ((try? FileManager.default.contentsOfDirectory(atPath: "/dev/fd")) ?? []).compactMap { Int32($0) }
        for fd in 3...max(3, (open.max() ?? 0) + 256) {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["TMUX"] = nil
        let argv = ([binary, "-L", socket] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, binary, &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw TmuxError(text: "cannot start tmux: \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // The client exits once the server has the session; ask the server, not the status
        // (someone else may have reaped the client).
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if (try? tmux(["has-session", "-t", session])) != nil {
                socketPath = try? display("#{socket_path}")
                return
            }
            usleep(20_000)
        }
        throw TmuxError(text: "tmux did not start a session: tmux \(arguments.joined(separator: " "))")
    }

    private init(socket: String, width: Int, height: Int) {
        self.socket = socket
        self.width = width
        self.height = height
        configPath = FileManager.default.temporaryDirectory.appendingPathComponent("\(socket).conf").path
        statusPath = FileManager.default.temporaryDirectory.appendingPathComponent("\(socket).status").path
    }

    /// Runs one tmux command on this session's server; throws if tmux fails.
    @discardableResult
    public func tmux(_ arguments: [String]) throws -> String {
        guard let binary = Self.binary else { throw TmuxError(text: "tmux is not installed") }
        var environment = ProcessInfo.processInfo.environment
        environment["TMUX"] = nil
        let result = try run(binary, ["-L", socket] + arguments, environment: environment, timeout: 10)
        guard result.status == 0 else {
            throw TmuxError(text: "tmux \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)")
        }
        return result.stdout
    }

    // MARK: Keys

    /// Key names as tmux knows them: "a", "Enter", "Escape", "Tab", "Left", "C-l", "Space".
    public func send(_ keys: String...) throws {
        try tmux(["send-keys", "-t", session] + keys)
    }

    /// Text typed literally, character by character.
    public func type(_ text: String) throws {
        try tmux(["send-keys", "-t", session, "-l", text])
    }

    /// Sends `keys` to every session at (nearly) the same instant: the tmux clients are
    /// started together before any is waited for.
    public static func sendTogether(_ sessions: [Tmux], _ keys: String...) throws {
        guard let binary else { throw TmuxError(text: "tmux is not installed") }
        let processes = sessions.map { tmux -> Process in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["-L", tmux.socket, "send-keys", "-t", tmux.session] + keys
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            return process
        }
        for process in processes { try process.run() }
        for process in processes { process.waitUntilExit() }
    }

    // MARK: Screen

    /// The visible pane as text, one line per row (trailing blanks trimmed by tmux).
    /// With `escapes`, text and attributes as SGR sequences (`capture-pane -e`); with
    /// `history`, the lines scrolled off the top too (tmux's "Pane is dead" line, written
    /// when the program exits, can scroll the first line away).
    public func capture(escapes: Bool = false, history: Bool = false) throws -> String {
        try tmux(["capture-pane", "-p", "-t", session] + (escapes ? ["-e"] : []) + (history ? ["-S", "-"] : []))
    }

    /// The pane's text as one run of words (spaces and line ends between them made one
    /// space): for a phrase that a long message may carry over onto the row below.
    public func flowingText() throws -> String {
        try capture().split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
    }

    /// The pane's lines (exactly `height` of them, padded with empty lines).
    public func lines() throws -> [String] {
        var lines = try capture().components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        while lines.count < height { lines.append("") }
        return lines
    }

    /// A tmux format for the pane: `#{pane_title}`, `#{pane_dead}`, `#{pane_dead_status}`.
    public func display(_ format: String) throws -> String {
        try tmux(["display-message", "-p", "-t", session, format]).trimmingCharacters(in: .newlines)
    }

    public func resize(width: Int, height: Int) throws {
        try tmux(["resize-window", "-t", session, "-x", String(width), "-y", String(height)])
    }

    /// The program's exit status once it has exited (128+n when signal n ended it).
    public func exitStatus() throws -> Int32? {
        guard let text = try? String(contentsOfFile: statusPath, encoding: .utf8),
              let status = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        return status
    }

    // MARK: Waiting

    /// Polls the screen until `predicate` holds on it; returns that screen. On timeout,
    /// throws with what the screen showed last, so a failure says what went wrong.
    @discardableResult
    public func waitUntil(_ what: String, timeout: TimeInterval = 10,
                          _ predicate: (_ screen: String) throws -> Bool) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var screen = ""
        while true {
            screen = try capture()
            if try predicate(screen) { return screen }
            if Date() >= deadline { break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw TmuxError(text: "waited \(timeout) s for \(what); the screen shows:\n\(screen)")
    }

    /// Waits until the screen contains every one of `texts`.
    @discardableResult
    public func waitFor(_ texts: String..., timeout: TimeInterval = 10) async throws -> String {
        try await waitUntil(texts.map { "\"\($0)\"" }.joined(separator: " and "), timeout: timeout) { screen in
            texts.allSatisfy { screen.contains($0) }
        }
    }

    /// Waits until the program has exited; returns its status.
    public func waitForExit(timeout: TimeInterval = 10) async throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status = try exitStatus() { return status }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw TmuxError(text: "the program did not exit within \(timeout) s; the screen shows:\n\(try capture())")
    }

    /// A short pause for the program to read keys that must not run together (an Escape
    /// followed at once by another key reads as Alt+key).
    public static func settle(_ milliseconds: UInt64 = 60) async throws {
        try await Task.sleep(nanoseconds: milliseconds * 1_000_000)
    }

    /// Stops the server with everything in it, waits (at most 3 s) for the programs in its
    /// panes to finish exiting, and removes the config file. The console cleans up after a
    /// SIGHUP (it closes its databases): a scratch directory removed meanwhile kept the
    /// files written while it was being removed.
    public func kill() {
        let programs = ((try? tmux(["list-panes", "-a", "-F", "#{pane_pid}"])) ?? "")
            .split(separator: "\n").compactMap { pid_t($0) }.flatMap(Self.withDescendants)
        _ = try? tmux(["kill-server"])
        let deadline = Date().addingTimeInterval(3)
        while programs.contains(where: Self.isRunning) && Date() < deadline { usleep(10_000) }
        try? FileManager.default.removeItem(atPath: configPath)
        try? FileManager.default.removeItem(atPath: statusPath)
        if let socketPath { try? FileManager.default.removeItem(atPath: socketPath) }
    }

    /// `pid` and every process under it, from /proc.
    static func withDescendants(_ pid: pid_t) -> [pid_t] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        let children = tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "")
                .split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return [pid] + children.flatMap(withDescendants)
    }

    /// Alive and not a zombie waiting to be reaped.
    static func isRunning(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(close, offsetBy: 2)...].first != "Z"
    }
}

public struct TmuxError: Error, CustomStringConvertible {
    public var text: String
    public var description: String { text }
}

/// SGR attribute runs in a `capture-pane -e` text.
public enum SGR {
    /// Every SGR sequence (`ESC [ … m`) in `text`, as lists of numeric parameters.
    public static func sequences(in text: String) -> [[Int]] {
        var result: [[Int]] = []
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            guard scalars[i] == "\u{1B}", i + 1 < scalars.count, scalars[i + 1] == "[" else { i += 1; continue }
            var j = i + 2
            var body = ""
            while j < scalars.count, (scalars[j] >= "0" && scalars[j] <= "9") || scalars[j] == ";" || scalars[j] == ":" {
                body.unicodeScalars.append(scalars[j])
                j += 1
            }
            if j < scalars.count, scalars[j] == "m" {
                result.append(body.isEmpty ? [0] : body.split(separator: ";", omittingEmptySubsequences: false).map { Int($0.split(separator: ":").first ?? "0") ?? 0 })
            }
            i = j
        }
        return result
    }

    /// Whether a sequence sets a foreground or background color (8, 16, 256 or truecolor;
    /// 39 and 49, back to the default colors, are not colors).
    public static func setsColor(_ parameters: [Int]) -> Bool {
        parameters.contains { p in
            (30...37).contains(p) || (40...47).contains(p) || (90...97).contains(p) || (100...107).contains(p) || p == 38 || p == 48
        }
    }

    /// The reverse-video state after `parameters`, starting from `reverse`.
    static func reverse(after parameters: [Int], from reverse: Bool) -> Bool {
        var reverse = reverse
        var i = 0
        while i < parameters.count {
            switch parameters[i] {
            // 38/48 take sub-parameters (5;n or 2;r;g;b) that must not be read as attributes.
            case 38, 48: i += (i + 1 < parameters.count && parameters[i + 1] == 2) ? 5 : 3; continue
            case 0: reverse = false
            case 7: reverse = true
            case 27: reverse = false
            default: break
            }
            i += 1
        }
        return reverse
    }

    /// The indices of the lines of a `capture-pane -e` text where some visible character
    /// is drawn in reverse video (attributes carry over from one line to the next).
    public static func reverseVideoLines(in text: String) -> [Int] {
        var result: [Int] = []
        var reverse = false
        for (index, line) in text.components(separatedBy: "\n").enumerated() {
            let scalars = Array(line.unicodeScalars)
            var i = 0
            var hit = false
            while i < scalars.count {
                if scalars[i] == "\u{1B}", i + 1 < scalars.count, scalars[i + 1] == "[" {
                    var j = i + 2
                    var body = ""
                    while j < scalars.count, scalars[j] != "m", (scalars[j] >= "0" && scalars[j] <= "9") || scalars[j] == ";" || scalars[j] == ":" {
                        body.unicodeScalars.append(scalars[j])
                        j += 1
                    }
                    let parameters = body.isEmpty ? [0] : body.split(separator: ";", omittingEmptySubsequences: false).map { Int($0.split(separator: ":").first ?? "0") ?? 0 }
                    reverse = Self.reverse(after: parameters, from: reverse)
                    i = j + 1
                    continue
                }
                if reverse && scalars[i] != " " { hit = true }
                i += 1
            }
            if hit { result.append(index) }
        }
        return result
    }
}
