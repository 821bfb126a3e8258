import Foundation
import SwitchboardTesting
import Testing

/// The Calls and Audit screens against the live simulator (`switchboard demo`): what the
/// integration team watches during go-live.
@Suite(.enabled(if: Tmux.isAvailable, "needs tmux"), .timeLimit(.minutes(2)))
struct CallsAuditConsoleTests {
    /// `2`: live calls that end while you watch, Enter tells one step by step; `5` and `v`:
    /// the chain is intact through a seq the database has.
    @Test func watchCallsEndThenVerifyTheChain() async throws {
        let demo = try Demo()
        defer { demo.stop() }
        try await demo.tmux.waitFor("Switchboard │ Review", timeout: 60)
        try demo.tmux.send("2")
        let first = try await demo.tmux.waitUntil("live calls on the Calls screen", timeout: 30) { screen in
            screen.lines[1].contains("Switchboard │ Calls") && !Self.liveCalls(screen).isEmpty
        }
        // Under load the ended section scrolls: follow one watched caller in the database
        // until their call ends, then find it on the screen with the filter.
        let watched = Self.liveCalls(first).compactMap { $0.split(separator: " ").last.map(String.init) }
        let list = watched.map { "'\($0)'" }.joined(separator: ",")
        var ended = ""
        _ = try await E2E.eventually(timeout: 30) {
            ended = try E2E.value(demo.audit, "SELECT caller FROM call WHERE caller IN (\(list)) AND ended_at IS NOT NULL LIMIT 1")
            return !ended.isEmpty
        }
        try #require(!ended.isEmpty, "one of \(watched) ended")
        try demo.tmux.send("/")
        try demo.tmux.type(String(ended.suffix(4)))
        try demo.tmux.send("Enter")
        try await demo.tmux.waitUntil("\(ended)'s ended call on screen", timeout: 10) { screen in
            screen.lines.dropFirst(3).contains { line in
                !line.contains("● live") && line.contains(ended) && line.contains(/resolved|transferred|callback|dropped|failed/)
            }
        }
        try demo.tmux.send("Enter")
        // A call that has just started may have no step yet: the details follow it as it goes on.
        let details = try await demo.tmux.waitUntil("the call's details with a step", timeout: 20) { screen in
            screen.contains("Steps (audit)") && !screen.contains("No audit rows for this call.")
        }
        let callId = try #require(details.firstMatch(of: /\n Call (\S+)/).map { String($0.1) })
        let firstStep = try E2E.value(demo.audit, "SELECT action FROM audit_event WHERE call_id = '\(callId)' ORDER BY seq LIMIT 1")
        #expect(!firstStep.isEmpty && details.contains(firstStep), "the call's first step from the audit is shown")
        try demo.tmux.send("Escape")
        try await Tmux.settle()

        try demo.tmux.send("5")
        try await demo.tmux.waitFor("Switchboard │ Audit", "Seq", timeout: 10)
        try demo.tmux.send("v")
        let verified = try await demo.tmux.waitUntil("the chain verified", timeout: 20) { $0.contains(/chain intact through seq \d+/) }
        let seq = try #require(verified.firstMatch(of: /chain intact through seq (\d+)/).map { Int($0.1)! })
        let last = try #require(Int(try E2E.value(demo.audit, "SELECT max(seq) FROM audit_event")))
        #expect(seq > 0 && seq <= last, "verified through \(seq) of \(last) rows")
    }

    /// `HH:mm:ss ***-***-1234` of every live row on screen.
    static func liveCalls(_ screen: String) -> [String] {
        screen.lines.dropFirst(3).filter { $0.contains("● live") }.compactMap { line in
            line.firstMatch(of: /^ \d\d:\d\d:\d\d \S+/).map { String($0.0) }
        }
    }
}
