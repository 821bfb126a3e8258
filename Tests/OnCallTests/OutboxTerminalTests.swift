import Foundation
import SwitchboardCore
import SwitchboardStore
import SwitchboardTesting
import Testing

/// `switchboard outbox retry` on a real terminal (tmux): it asks with the count, warns
/// before a permanent refusal and asks again, and a "no" leaves the item alone.
@Suite(.serialized) struct OutboxTerminalTests {
    @Test(.enabled(if: Tmux.isAvailable)) func onATerminalItAsksAndWarnsBeforeRetryingAPermanentRefusal() async throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        let now = Clock.nowMillis()
        try site.item("ob-412", status: .dead, createdAt: now - 60_000, error: "HTTP 412: version conflict", httpStatus: 412, bookingId: "bk-7")
        try site.item("ob-502", status: .failed, createdAt: now - 50_000, error: "HTTP 502", httpStatus: 502)
        let tmux = try Tmux.start([executable("switchboard"), "outbox", "retry", "--all-matching", "--status", "failed,dead",
                                   "--audit", site.auditPath, "--outbox", site.outboxPath, "--config", site.configPath],
                                  width: 120, height: 30, environment: ["XDG_CONFIG_HOME": site.scratch.path("xdg")])
        defer { tmux.kill() }
        try await tmux.waitFor("Retry 2 items? [y/N]")
        try tmux.type("y")
        try tmux.send("Enter")
        let warned = try await tmux.waitFor("retry those anyway? [y/N]")
        #expect(warned.contains("warning: ob-412: the EHR's last answer was HTTP 412"))
        #expect(warned.contains("look at the appointment in the EHR"), "the agent's write: \(warned)")
        try tmux.type("n")
        try tmux.send("Enter")
        #expect(try await tmux.waitForExit() == 65)
        let screen = try tmux.capture()
        #expect(screen.contains("retried 1, refused 1"), "\(screen)")
        #expect(try site.outbox.item(id: "ob-412")?.status == .dead)
        #expect(try site.outbox.item(id: "ob-502")?.status == .pending)
    }

    @Test(.enabled(if: Tmux.isAvailable)) func bulkWorkShowsProgressOnATerminal() async throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        for n in 0 ..< 25 {
            try site.item(String(format: "ob-%02d", n), status: .failed, createdAt: Clock.nowMillis() - 60_000, error: "HTTP 503", httpStatus: 503)
        }
        let tmux = try Tmux.start([executable("switchboard"), "outbox", "retry", "--all-matching", "--error", "503",
                                   "--audit", site.auditPath, "--outbox", site.outboxPath, "--config", site.configPath],
                                  width: 100, height: 20, environment: ["XDG_CONFIG_HOME": site.scratch.path("xdg")])
        defer { tmux.kill() }
        try await tmux.waitFor("Retry 25 items? [y/N]")
        try tmux.type("y")
        try tmux.send("Enter")
        #expect(try await tmux.waitForExit() == 0)
        let screen = try tmux.capture()
        #expect(screen.contains("retrying 25/25"), "\(screen)")
        #expect(screen.contains("retried 25"), "\(screen)")
        #expect(try sqlite3(site.auditPath, "SELECT count(*) FROM audit_event WHERE action = 'outbox.retry'") == "25\n")
    }
}
