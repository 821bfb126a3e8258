import Foundation
import SwitchboardConsole
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import SwitchboardTesting
import TerminalUI
import Testing

/// The idle lock is an automatic logoff: only the OS user's password (PAM) opens it, and
/// every lock, unlock and wrong password is in the audit.
@Suite(.serialized) struct ConsoleLockTests {
    typealias Practice = ReviewScreenTests.Practice

    static func rows(_ practice: Practice, _ path: String? = nil) throws -> [String] {
        try sqlite3(path ?? practice.auditPath, """
            SELECT action || '|' || actor || '|' || outcome || '|' || ifnull(json_extract(detail, '$.role'), '')
            FROM audit_event WHERE action LIKE 'console.%' ORDER BY seq
            """).split(separator: "\n").map(String.init)
    }

    /// In the loop with the real PAM: the test runs as root, whose password it does not know,
    /// so every password it types is wrong, and is refused and recorded.
    @Test func idleLocksThenAWrongPasswordIsRefusedAndAudited() throws {
        let check = try #require(PasswordCheck.system(), "PAM is configured on this machine")
        let practice = try Practice()
        let clock = ManualWallClock()
        let console = try ConsoleRunner.prepare(configuration: practice.configuration(), warnings: [], environment: practice.environment,
                                                now: { clock.now }, passwordCheck: check)
        let driver = ProgramDriver(console, size: Size(width: 100, height: 30))
        clock.advance(15 * 60 + 1)
        driver.advance(by: 15 * 60 + 1)
        _ = driver.waitUntilIdle()
        #expect(driver.screenText.contains("Switchboard is locked") && driver.screenText.contains("Password for \(practice.user)"))
        #expect(try Self.rows(practice) == ["console.lock|operator:\(practice.user)|0|reviewer"])

        driver.type("not-the-password-\(UUID().uuidString.prefix(6))")
        #expect(!driver.screenText.contains("not-the-password"), "the password is never drawn")
        driver.press("enter")
        #expect(RunningProcess.waitUntil(timeout: 15) {
            _ = driver.waitUntilIdle(timeout: 0.2)
            return driver.screenText.contains("That is not the password of \(practice.user)")
        }, "\(driver.screenText)")
        #expect(driver.screenText.contains("Switchboard is locked"))
        let rows = try Self.rows(practice)
        #expect(rows == ["console.lock|operator:\(practice.user)|0|reviewer", "console.unlock_failed|operator:\(practice.user)|4|reviewer"], "\(rows)")
        let detail = try sqlite3(practice.auditPath, "SELECT detail FROM audit_event WHERE action = 'console.unlock_failed'")
        #expect(!detail.contains("not-the-password"), "the password is not in the audit")
    }

    @Test func withoutAPasswordCheckTheLockEndsTheConsole() throws {
        let practice = try Practice()
        let driver = ProgramDriver(try ConsoleRunner.prepare(configuration: practice.configuration(), warnings: [],
                                                             environment: practice.environment, passwordCheck: nil),
                                   size: Size(width: 100, height: 30))
        driver.press(":")
        driver.type("lock")
        driver.press("enter")
        #expect(RunningProcess.waitUntil(timeout: 10) { _ = driver.waitUntilIdle(timeout: 0.2); return driver.isFinished })
        let detail = try sqlite3(practice.auditPath, "SELECT json_extract(detail, '$.ends_console') FROM audit_event WHERE action = 'console.lock'")
        #expect(detail.hasPrefix("1"), "\(detail)")
    }

    /// The whole thing in a terminal, as a user with a password: `:lock`, a wrong password
    /// refused and audited, the right one unlocks and is audited.
    @Test func inATerminalTheUsersPasswordUnlocksAndAWrongOneDoesNot() async throws {
        #expect(getuid() == 0, "making a test user needs root")
        guard getuid() == 0, PasswordCheck.system() != nil else { return }
        let user = "sblock\(UInt32.random(in: 1000...99999))"
        let password = "Lock-\(UUID().uuidString.prefix(12))"
        #expect(try run("/usr/sbin/useradd", ["-M", "-s", "/bin/sh", user]).status == 0)
        defer { _ = try? run("/usr/sbin/userdel", [user]) }
        let set = Process()
        set.executableURL = URL(fileURLWithPath: "/usr/sbin/chpasswd")
        let input = Pipe()
        set.standardInput = input
        try set.run()
        input.fileHandleForWriting.write(Data("\(user):\(password)\n".utf8))
        try input.fileHandleForWriting.close()
        set.waitUntilExit()
        #expect(set.terminationStatus == 0)

        // The user's own databases (an operator on them), in a directory they own.
        let practice = try Practice()
        let entry = try #require(getpwnam(user))
        let uid = entry.pointee.pw_uid, gid = entry.pointee.pw_gid
        for name in ["", "audit.sqlite", "outbox.sqlite", "audit.sqlite-wal", "audit.sqlite-shm", "outbox.sqlite-wal", "outbox.sqlite-shm"] {
            chown(practice.scratch.path(name), uid, gid)
        }
        // The built program may sit where the user cannot reach: copy it into their directory.
        let program = practice.scratch.path("switchboard")
        try placeExecutable("switchboard", at: program)
        let tmux = try Tmux.start(["/usr/sbin/runuser", "-u", user, "--", program, "--audit", practice.auditPath, "--outbox", practice.outboxPath,
                                   "--theme", "default"],
                                  width: 110, height: 30, environment: ["HOME": practice.scratch.url.path, "XDG_CONFIG_HOME": practice.scratch.url.path,
                                                                        "XDG_STATE_HOME": practice.scratch.url.path, "TERM": "xterm-256color"])
        defer { tmux.kill() }
        _ = try await tmux.waitFor("1 Review", timeout: 30)
        try tmux.type(":lock")
        try tmux.send("Enter")
        _ = try await tmux.waitFor("Switchboard is locked", timeout: 10)
        #expect(try !tmux.capture().contains("Review"), "nothing of the screens shows")

        try tmux.type("wrong-\(password)")
        try tmux.send("Enter")
        _ = try await tmux.waitFor("That is not the password of \(user)", timeout: 20)
        try tmux.type(password)
        try tmux.send("Enter")
        _ = try await tmux.waitFor("1 Review", timeout: 20)
        #expect(try !tmux.capture().contains(password))

        let rows = try sqlite3(practice.auditPath, """
            SELECT action || '|' || actor || '|' || json_extract(detail, '$.uid') FROM audit_event WHERE action LIKE 'console.%' ORDER BY seq
            """).split(separator: "\n").map(String.init)
        #expect(rows == ["console.lock|operator:\(user)|\(uid)", "console.unlock_failed|operator:\(user)|\(uid)", "console.unlock|operator:\(user)|\(uid)"],
                "\(rows)")
        try tmux.send("q")
    }
}
