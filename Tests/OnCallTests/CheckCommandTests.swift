import Foundation
import SwitchboardCore
import SwitchboardStore
import SwitchboardTesting
import Testing

/// `switchboard check` as cron or Nagios runs it: each rule fires its hook once when it
/// starts and once when it clears, however often check runs, with the plugin exit codes.
@Suite(.serialized) struct CheckCommandTests {
    static let hour: Int64 = 3_600_000

    /// Every rule but `rule` off, so one site shows one rule's life.
    static func only(_ rule: String) -> String {
        let all = ["item_dead", "item_failing", "queue_mode", "stream_silent", "correction_rate", "window_closing", "booking_overdue"]
        return "disabled = [" + all.filter { $0 != rule }.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
    }

    /// Off, on (twice), off (twice): the hook hears "started" once and "cleared" once, and
    /// check's exit status follows the rule's severity.
    func cycle(_ site: SmallSite, _ rule: String, exitWhenOn: Int32, on: () throws -> Void, off: () throws -> Void) throws {
        let quiet = try site.switchboard(["check"])
        #expect(quiet.status == 0, "\(rule) before: \(quiet.stdout) \(quiet.stderr)")
        #expect(quiet.stdout.hasPrefix("SWITCHBOARD OK - "))
        #expect(site.hookCalls().isEmpty)
        for round in 1 ... 2 {
            try on()
            let firing = try site.switchboard(["check"])
            #expect(firing.status == exitWhenOn, "\(rule) on, round \(round): \(firing.stdout) \(firing.stderr)")
            #expect(firing.stdout.contains("\(rule): "), "\(firing.stdout)")
            #expect(site.hookCalls() == ["started \(rule)"], "round \(round)")
        }
        for round in 1 ... 2 {
            try off()
            let cleared = try site.switchboard(["check"])
            #expect(cleared.status == 0, "\(rule) off, round \(round): \(cleared.stdout) \(cleared.stderr)")
            #expect(site.hookCalls() == ["started \(rule)", "cleared \(rule)"], "round \(round)")
        }
    }

    @Test func aDeadItemIsCriticalUntilDiscarded() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        try site.configure(alerts: Self.only("item_dead"))
        try cycle(site, "item_dead", exitWhenOn: 2, on: {
            try site.item("ob-dead", status: .dead, createdAt: Clock.nowMillis() - 60_000, error: "HTTP 422", httpStatus: 422)
        }, off: {
            let discarded = try site.switchboard(["outbox", "discard", "ob-dead", "--reason", "duplicate of ob-7", "--yes"])
            #expect(discarded.status == 0 || discarded.stderr.contains("already discarded"), "\(discarded.stderr)")
        })
        // The hook's input is the alert, as JSON, with what to do.
        let line = try #require(try String(contentsOfFile: site.hookLog, encoding: .utf8).split(separator: "\n").first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["severity"] as? String == "critical")
        #expect((object["summary"] as? String)?.contains("ob-dead") == true)
        #expect(object["action"] is String && object["since_ms"] is Int)
    }

    @Test func anItemFailingTooLongWarnsUntilRetried() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        try site.configure(alerts: Self.only("item_failing"))
        let now = Clock.nowMillis()
        try cycle(site, "item_failing", exitWhenOn: 1, on: {
            try site.item("ob-slow", status: .failed, createdAt: now - Self.hour, error: "HTTP 502", httpStatus: 502, attemptEndedAt: now - 20 * 60_000)
        }, off: {
            let retried = try site.switchboard(["outbox", "retry", "ob-slow", "--yes"])
            #expect(retried.status == 0 || retried.stderr.contains("ob-slow"), "\(retried.stdout) \(retried.stderr)")
        })
    }

    @Test func queueModeReadFromTheAgentsProbesIsCriticalAfterItsMinutes() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        try site.configure(alerts: Self.only("queue_mode"))
        try site.probe(at: Clock.nowMillis() - Self.hour, failed: false)
        try cycle(site, "queue_mode", exitWhenOn: 2, on: {
            // Failing since 6 minutes, still failing now (the agent probes every 2 s).
            try site.probe(at: Clock.nowMillis() - 6 * 60_000, failed: true)
            try site.probe(at: Clock.nowMillis(), failed: true)
        }, off: {
            try site.probe(at: Clock.nowMillis(), failed: false)
        })
    }

    @Test func aSilentEventStreamWarnsUntilItSpeaks() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        let events = site.scratch.path("events.ndjson")
        try "{}\n".write(toFile: events, atomically: true, encoding: .utf8)
        try site.configure(top: "events = \"\(events)\"", alerts: Self.only("stream_silent"))
        try cycle(site, "stream_silent", exitWhenOn: 1, on: {
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-60)], ofItemAtPath: events)
        }, off: {
            try FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: events)
        })
    }

    @Test func theCorrectionRateWarnsWhileItsUpperBoundIsOverTheTarget() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        let now = Clock.nowMillis()
        try site.configure(top: "go_live_start = \"\(iso8601(now - Self.hour))\"", alerts: Self.only("correction_rate") + "\ncorrection_rate_bound = 0.5")
        try cycle(site, "correction_rate", exitWhenOn: 1, on: {
            try site.booking("bk-c", bookedAt: now - 30 * 60_000)
            try site.decide("bk-c", .corrected, by: "maria", category: "wrong_time", at: now - 20 * 60_000)
        }, off: {
            // 1 of 11: the bound falls to about 38%, under the configured 50%.
            for n in 0 ..< 10 {
                try site.booking("bk-a\(n)", bookedAt: now - 30 * 60_000)
                try site.decide("bk-a\(n)", .approved, by: "maria", at: now - 10 * 60_000)
            }
        })
    }

    @Test func undecidedBookingsNearTheWindowsEndWarnUntilDecided() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        let now = Clock.nowMillis()
        try site.configure(top: "go_live_start = \"\(iso8601(now - 43 * Self.hour))\"", alerts: Self.only("window_closing"))
        try cycle(site, "window_closing", exitWhenOn: 1, on: {
            try site.booking("bk-w", bookedAt: now - 10 * 60_000)
        }, off: {
            try site.decide("bk-w", .approved, by: "devon", at: Clock.nowMillis())
        })
    }

    @Test func anOverdueBookingWarnsUntilDecided() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        let now = Clock.nowMillis()
        try site.configure(top: "go_live_start = \"\(iso8601(now - 4 * Self.hour))\"", alerts: Self.only("booking_overdue"))
        try cycle(site, "booking_overdue", exitWhenOn: 1, on: {
            try site.booking("bk-o", bookedAt: now - 3 * Self.hour)
        }, off: {
            try site.decide("bk-o", .approved, by: "devon", at: Clock.nowMillis())
        })
    }

    @Test func unknownWhenADatabaseCannotBeReadAndPerfdataAfterTheBar() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        let missing = try run(executable("switchboard"), ["check", "--audit", site.scratch.path("nope.sqlite"), "--config", site.configPath],
                              environment: ["XDG_STATE_HOME": site.scratch.path("xdg-state"), "HOME": site.scratch.path("home")])
        #expect(missing.status == 3, "\(missing.stdout) \(missing.stderr)")
        #expect(missing.stdout.hasPrefix("SWITCHBOARD UNKNOWN - ") && missing.stdout.split(separator: "\n").count == 1)
        try "not a database".write(toFile: site.scratch.path("junk.sqlite"), atomically: true, encoding: .utf8)
        let junk = try run(executable("switchboard"), ["check", "--outbox", site.scratch.path("junk.sqlite"), "--config", site.configPath])
        #expect(junk.status == 3, "\(junk.stdout)")

        let ok = try site.switchboard(["check"])
        #expect(ok.status == 0)
        let line = ok.stdout.trimmingCharacters(in: .newlines)
        #expect(!line.contains("\n"))
        let perf = try #require(line.split(separator: "|", maxSplits: 1).last)
        // Perfdata: label=value[unit][;warn;crit], space-separated.
        for item in perf.split(separator: " ") {
            #expect(item.range(of: #"^[a-z_]+=-?[0-9.]+(s)?(;[0-9.]*)*$"#, options: .regularExpression) != nil, "\(item)")
        }
        #expect(perf.contains("outbox_dead=0") && perf.contains("alerts=0"))
    }

    @Test func checksRunningAtOnceStillPageOnce() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        try site.configure(alerts: Self.only("item_dead"))
        try site.item("ob-dead", status: .dead, createdAt: Clock.nowMillis(), error: "HTTP 409", httpStatus: 409)
        let arguments = ["check", "--audit", site.auditPath, "--outbox", site.outboxPath, "--config", site.configPath]
        let checks = try (0 ..< 6).map { _ in try RunningProcess(executable("switchboard"), arguments) }
        for check in checks { #expect(try check.waitForExit(timeout: 30) == 2, "\(check.stdout) \(check.stderr)") }
        #expect(site.hookCalls() == ["started item_dead"])
    }

    @Test func aHookThatHangsIsStoppedAndNotRunAgain() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        let log = site.scratch.path("hung.log")
        try """
            [alerts]
            hook = "echo called >> '\(log)'; sleep 31.7"
            hook_timeout_seconds = 1
            state_file = "\(site.statePath)"
            \(Self.only("item_dead"))
            """.write(toFile: site.configPath, atomically: true, encoding: .utf8)
        try site.item("ob-dead", status: .dead, createdAt: Clock.nowMillis(), error: "HTTP 409", httpStatus: 409)
        let started = Date()
        let first = try site.switchboard(["check"], timeout: 20)
        #expect(first.status == 2)
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(first.stderr.contains("took longer than 1s"), "\(first.stderr)")
        let second = try site.switchboard(["check"], timeout: 20)
        #expect(second.status == 2)
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "called\n")
        // The hook's whole process group went, its sleep included.
        let left = try run("/usr/bin/pgrep", ["-f", "sleep 31.7"])
        #expect(left.stdout.isEmpty, "left running: \(left.stdout)")
    }
}
