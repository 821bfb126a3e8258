import Foundation
import SwitchboardTesting
import Testing

/// Whatever kills the console, the terminal is left usable (canonical mode and echo back,
/// the patients' names gone with the console's screen) and the crash prints nothing of
/// the data: Swift's backtracer, which prompted on the terminal, is off.
@Suite(.timeLimit(.minutes(3)))
struct CrashTests {
    @Test(arguments: [SIGSEGV, SIGILL, SIGBUS, SIGABRT, SIGFPE, SIGTRAP, SIGTERM, SIGHUP])
    func aFatalSignalLeavesTheTerminalUsableAndShowsNoData(_ signal: Int32) async throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let db = try E2E.generate(scratch, calls: 300)
        // A shell runs the console, then says how the terminal was left.
        let script = "\"$@\"; echo \"exited $?\"; stty -a; sleep 60"
        let tmux = try Tmux.start(["/bin/sh", "-c", script, "sh", executable("switchboard"), "--audit", db.audit, "--outbox", db.outbox],
                                  width: 120, height: 40, environment: E2E.environment(scratch))
        defer { tmux.kill() }
        let name = try #require(try E2E.value(db.audit, """
            SELECT patient_display FROM booking WHERE review_required = 1 AND decided = 0 ORDER BY booked_at LIMIT 1
            """).split(separator: " ").first.map(String.init))
        // The rows come with the first read, a frame after the first one.
        let screen = try await tmux.waitFor("undecided", name)
        #expect(screen.contains(name), "the console showed a patient's name")

        // The pane runs sh → env → sh → switchboard: walk down to the console itself.
        var pid = try #require(Int32(try tmux.display("#{pane_pid}")))
        for _ in 0..<4 where (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) != "switchboard\n" {
            pid = try #require(Int32(try run("/usr/bin/pgrep", ["-P", String(pid)]).stdout.split(separator: "\n").first ?? ""))
        }
        try #require(try String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) == "switchboard\n")
        kill(pid, signal)

        let after = try await tmux.waitFor("exited \(128 + signal)", timeout: 20)
        let settings = try await tmux.waitFor("icanon")
        let words = Set(settings.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == ";" }).map(String.init))
        #expect(words.contains("icanon") && words.contains("echo"), "canonical mode and echo are back: \(settings)")
        #expect(!words.contains("-icanon") && !words.contains("-echo"))
        #expect(!after.contains(name), "nothing of the data is left on the pane")
        #expect(!after.contains("Press space") && !after.lowercased().contains("backtrace"), "no backtracer: \(after)")
    }
}
