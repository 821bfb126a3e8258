import Foundation
import SwitchboardTesting
import Testing

// What the end-to-end tests share: generated databases, the console in tmux, reading
// the Review screen, and the databases through sqlite3.

enum E2E {
    /// The OS user the console records as the operator (it reads the password database,
    /// not $USER).
    static let user: String = {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return "uid-\(geteuid())" }
        return String(cString: name)
    }()

    /// Generated databases (`switchboard-sim generate`, as an operator would make them).
    static func generate(_ scratch: Scratch, calls: Int = 3000, hostile: Bool = false) throws -> (audit: String, outbox: String) {
        let out = scratch.path("db")
        let result = try run(executable("switchboard-sim"), ["generate", "--out", out, "--calls", String(calls)] + (hostile ? ["--hostile-data"] : []),
                             timeout: 60)
        try #require(result.status == 0, "generate failed: \(result.stderr)")
        return (out + "/audit.sqlite", out + "/outbox.sqlite")
    }

    /// The program's environment: no user configuration (its own empty config directory),
    /// its own state directory (the audit heads it verified) and a known terminal type.
    static func environment(_ scratch: Scratch, _ extra: [String: String] = [:]) -> [String: String] {
        ["XDG_CONFIG_HOME": scratch.path("config"), "XDG_STATE_HOME": scratch.path("state"), "TERM": "xterm-256color"].merging(extra) { $1 }
    }

    /// The console on generated databases, in a tmux pane.
    static func console(_ scratch: Scratch, _ db: (audit: String, outbox: String), width: Int = 80, height: Int = 24,
                        environment extra: [String: String] = [:], name: String = #function) throws -> Tmux {
        try Tmux.start([executable("switchboard"), "--audit", db.audit, "--outbox", db.outbox],
                       width: width, height: height, environment: environment(scratch, extra), name: name)
    }

    /// Rows of a sqlite3 answer, columns split on `|`.
    static func rows(_ path: String, _ sql: String) throws -> [[String]] {
        try sqlite3(path, sql).split(separator: "\n", omittingEmptySubsequences: true).map {
            $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        }
    }

    /// The single value of a one-row, one-column answer ("" when there is no row).
    static func value(_ path: String, _ sql: String) throws -> String {
        try sqlite3(path, sql).trimmingCharacters(in: .newlines)
    }

    /// The review actions in the audit for one booking, in order: `actor|action`.
    static func reviewAudit(_ auditPath: String, _ bookingId: String) throws -> [String] {
        try rows(auditPath, """
            SELECT actor, action FROM audit_event
            WHERE action LIKE 'review.%' AND json_extract(detail, '$.booking_id') = '\(bookingId)' ORDER BY seq
            """).map { $0.joined(separator: "|") }
    }

    /// A simulated site in `scratch` going as fast as asked (`--load`): the simulator,
    /// and where its files are (`site.audit`, `site.outbox`, `site.config` for the console).
    struct Site {
        let process: RunningProcess
        let dir: String
        var audit: String { dir + "/audit.sqlite" }
        var outbox: String { dir + "/outbox.sqlite" }
        var config: String { dir + "/switchboard.toml" }
    }

    static func loadedSite(_ scratch: Scratch, rate: Int, concurrency: Int, extra: [String] = []) throws -> Site {
        let dir = scratch.path("site")
        return Site(process: try RunningProcess(executable("switchboard-sim"), ["run", "--dir", dir, "--load", "--rate", String(rate),
                                                                                "--concurrency", String(concurrency), "--patients", "200"] + extra),
                    dir: dir)
    }

    /// Sets the fault injection of the EHR sandbox of the simulator running on `dir`
    /// (its control endpoint, from simulator.json).
    static func setFaults(dir: String, _ json: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/simulator.json"))
        let control = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["control_url"] as? String)
        let answer = try run("/usr/bin/curl", ["-sS", "-m", "5", "-X", "POST", "-H", "Content-Type: application/json", "-d", json, control + "/faults"],
                             timeout: 10)
        try #require(answer.status == 0 && answer.stdout.contains(#""faults""#), "faults \(json): \(answer.stdout) \(answer.stderr)")
    }

    /// Polls `condition` (not the screen) until it holds; false on timeout.
    static func eventually(timeout: TimeInterval, every milliseconds: UInt64 = 100, _ condition: () throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            try? await Task.sleep(nanoseconds: milliseconds * 1_000_000)
        }
        return try condition()
    }
}

/// Reading the Review screen.
extension Tmux {
    static let header = "Switchboard │ Review"

    /// Waits until the Review list shows at least one row and its footer: tmux may read
    /// a large frame in pieces, and a capture between them shows the rows half drawn.
    @discardableResult
    func waitForReviewList(timeout: TimeInterval = 15) async throws -> String {
        try await waitUntil("the Review list with rows", timeout: timeout) { screen in
            let lines = screen.components(separatedBy: "\n")
            return lines.count > 3 && lines[1].contains(Self.header) && lines[2].contains("Booked") && lines[3].contains(":")
                && lines.contains { $0.contains("? help") }
        }
    }

    /// The booking the selection is on, read from its details (Enter, then Esc back).
    func selectedBookingId() async throws -> String {
        try send("Enter")
        let screen = try await waitUntil("the details of the selected booking") { $0.contains("\n Booking ") }
        let id = try #require(screen.firstMatch(of: /\n Booking (\S+)/).map { String($0.1) })
        try send("Escape")
        try await waitUntil("the list again after Esc") { screen in
            let lines = screen.components(separatedBy: "\n")
            return lines.count > 2 && lines[2].contains("Booked")
        }
        return id
    }

    /// The indices of the screen lines drawn in reverse video (the selected row), below
    /// the tab bar (whose current tab is reverse too).
    func reverseVideoLines() throws -> [Int] {
        SGR.reverseVideoLines(in: try capture(escapes: true)).filter { $0 > 0 }
    }

    /// Types a filter (`/text` Enter) and waits until the list shows rows containing `expect`.
    func filter(_ text: String, expect: String? = nil) async throws {
        try send("/")
        try type(text)
        try send("Enter")
        try await waitUntil("the list filtered on \(text)") { screen in
            let lines = screen.components(separatedBy: "\n")
            return screen.contains("filter: \(text)") && lines.count > 3 && lines[2].contains("Booked") && (expect.map { lines[3].contains($0) } ?? !lines[3].isEmpty)
        }
    }
}

extension String {
    /// The screen's lines.
    var lines: [String] { components(separatedBy: "\n") }
}
