import Foundation
import SwitchboardConsole
import SwitchboardCore
import SwitchboardOperations
import SwitchboardSim
import SwitchboardStore
import SwitchboardTesting
import Testing
import TerminalUI

@Suite struct ConfigurationTests {
    /// The example in docs/configuration.md, so the documentation cannot drift.
    static func documentedExample() throws -> String {
        let doc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/configuration.md")
        let text = try String(contentsOf: doc, encoding: .utf8)
        let start = try #require(text.range(of: "```toml\n"))
        let end = try #require(text.range(of: "```", range: start.upperBound..<text.endIndex))
        return String(text[start.upperBound..<end.lowerBound])
    }

    @Test func theDocumentedExampleParsesWithoutWarnings() throws {
        let (c, warnings) = try ConsoleConfiguration.parse(Self.documentedExample(), file: "config.toml", isKeyName: { Key(parsing: $0) != nil })
        #expect(warnings == [])
        #expect(c.auditPath == "/var/lib/agent/audit.sqlite" && c.outboxPath == "/var/lib/agent/outbox.sqlite")
        #expect(c.events == "http://127.0.0.1:8081/events" && c.theme == "high-contrast" && c.readOnly == false)
        #expect(c.goLiveStart == parseISO8601("2026-11-24T08:00:00Z"))
        #expect(c.undoSeconds == 5 && c.overdueMinutes == 120 && c.idleLockMinutes == 15)
        #expect(c.ehrBaseURL == "https://ehr.example.org/fhir" && c.ehrTokenURL == "https://ehr.example.org/oauth2/token")
        #expect(c.ehrClientID == "switchboard-console")
        #expect(c.ehrSecretFile == NSHomeDirectory() + "/.config/switchboard/ehr-secret")
        #expect(c.keys == ["approve": ["a", "ctrl-a"], "filter": ["/"]])
    }

    @Test func aMissingFileGivesTheDefaults() throws {
        let (c, warnings) = try ConsoleConfiguration.load(path: "/nonexistent/switchboard/config.toml", isKeyName: { Key(parsing: $0) != nil })
        #expect(c == ConsoleConfiguration() && warnings == [])
        #expect(c.defaultRole == .reviewer && c.undoSeconds == 5 && c.overdueMinutes == 120 && c.idleLockMinutes == 15)
        #expect(!c.readOnly && c.goLiveStart == nil)
    }

    @Test func unknownKeysAndBadValuesAreWarningsWithTheirLine() throws {
        let text = """
            audit = "a.sqlite"
            colour = "blue"
            undo_seconds = 600
            go_live_start = "yesterday"

            [ehr]
            base_url = "not a url"
            proxy = "x"

            [roles]
            maria = "admin"
            ann.lee = "reviewer"

            [keys]
            approve = ["a", "ctrl-"]
            """
        let (c, warnings) = try ConsoleConfiguration.parse(text, file: "/etc/sb.toml", isKeyName: { Key(parsing: $0) != nil })
        #expect(warnings == [
            #"/etc/sb.toml:2: unknown key "colour""#,
            #"/etc/sb.toml:3: undo_seconds must be a whole number of seconds from 0 to 60, not 600; using the default"#,
            #"/etc/sb.toml:4: go_live_start must be an ISO 8601 time with a zone, like 2026-11-24T08:00:00Z, not "yesterday""#,
            #"/etc/sb.toml:7: base_url must be an http(s) URL, not "not a url""#,
            #"/etc/sb.toml:8: unknown key "proxy" in [ehr]"#,
            #"/etc/sb.toml:10: [roles] is ignored: roles come from the system policy /etc/switchboard/policy.toml, not from a user's config"#,
            #"/etc/sb.toml:15: unknown key "ctrl-" for approve (e.g. "x", "ctrl-x", "enter", "f5")"#,
        ])
        // What was good is kept; what was bad falls back to the default.
        #expect(c.auditPath == "a.sqlite" && c.undoSeconds == 5 && c.goLiveStart == nil && c.ehrBaseURL == nil)
        #expect(c.roles.isEmpty && c.keys == ["approve": ["a"]])
    }

    @Test func secretsAreRefusedAndNeverEchoed() throws {
        let text = """
            token = "tok-AAAA"

            [ehr]
            client_id = "console"
            client_secret = "s3cr3t-BBBB"

            [extra]
            nested = { password = "pw-CCCC" }
            """
        let (c, warnings) = try ConsoleConfiguration.parse(text, file: "config.toml", isKeyName: { Key(parsing: $0) != nil })
        #expect(c.ehrClientID == "console")
        #expect(warnings.count == 4, "\(warnings)")
        #expect(warnings.filter { $0.contains("refused") && $0.contains("secret_file") }.count == 3)
        #expect(warnings.contains { $0.hasPrefix("config.toml:1: \"token\" refused") })
        #expect(warnings.contains { $0.hasPrefix("config.toml:5: \"client_secret\" refused") })
        for secret in ["tok-AAAA", "s3cr3t-BBBB", "pw-CCCC"] {
            #expect(!warnings.joined().contains(secret))
            #expect(!"\(c)".contains(secret))
        }
    }

    @Test func aSyntaxErrorNamesFileLineAndColumn() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("config.toml")
        try "audit = \"a.sqlite\"\nundo_seconds = = 5\n".write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try ConsoleConfiguration.load(path: path, isKeyName: { Key(parsing: $0) != nil })
            Issue.record("a syntax error was accepted")
        } catch {
            guard case .syntax(let file, let line, let column, _) = error else { Issue.record("\(error)"); return }
            #expect(file == path && line == 2 && column > 1)
            #expect(error.description.hasPrefix("\(path):2:\(column): "))
        }
    }

    @Test func commandLineFlagsWinOverTheFile() throws {
        var file = ConsoleConfiguration()
        file.auditPath = "file-audit.sqlite"
        file.outboxPath = "file-outbox.sqlite"
        file.readOnly = true
        let merged = file.overriding(with: ConfigurationOverrides(auditPath: "flag-audit.sqlite", readOnly: false))
        #expect(merged.auditPath == "flag-audit.sqlite" && merged.outboxPath == "file-outbox.sqlite")
        #expect(merged.readOnly, "no flag lifts a configured read-only mode")
        #expect(ConsoleConfiguration().overriding(with: ConfigurationOverrides(readOnly: true)).readOnly)
    }

    @Test func theDefaultPathFollowsXDG() {
        #expect(ConsoleConfiguration.defaultPath(environment: ["XDG_CONFIG_HOME": "/x", "HOME": "/h"]) == "/x/switchboard/config.toml")
        #expect(ConsoleConfiguration.defaultPath(environment: ["HOME": "/h"]) == "/h/.config/switchboard/config.toml")
    }

    @Test func theOperatorsRoleComesFromTheConfigAndReadOnlyMeansViewer() {
        var c = ConsoleConfiguration()
        let me = OperatorIdentity.current(configuration: c, environment: [:])
        #expect(!me.user.isEmpty && me.role == .reviewer)
        c.roles[me.user] = .operator
        #expect(OperatorIdentity.current(configuration: c, environment: [:]).role == .operator)
        c.readOnly = true
        let readOnly = OperatorIdentity.current(configuration: c, environment: [:])
        #expect(readOnly.role == .viewer && !readOnly.mayReview && readOnly.reviewRefusal == "the console is read-only")
    }

    @Test func theGoLiveWindowStartsFromConfigThenSimulatorThenFirstFlaggedBookingThenNow() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let audit = try AuditStore(path: scratch.path("audit.sqlite"), mode: .create)
        var c = ConsoleConfiguration()
        #expect(try GoLiveClock.resolve(configuration: c, audit: audit, now: 77) == GoLiveClock(window: GoLiveWindow(startsAt: 77), source: .now))

        try audit.recordAgentWork(bookings: [sampleBooking("bk-2", bookedAt: 3_000), sampleBooking("bk-1", bookedAt: 2_000),
                                             sampleBooking("bk-0", bookedAt: 1_000, reviewRequired: false)])
        _ = try audit.decide(ReviewDecision(bookingId: "bk-1", decision: .approved, operator: "maria", decidedAt: 5))
        #expect(try GoLiveClock.resolve(configuration: c, audit: audit, now: 77).window.startsAt == 2_000)

        // The file as the simulator itself writes it.
        let simulator = scratch.path("simulator.json")
        try SimulatorFile(pid: 1, agentID: "sim", startedAt: "2026-11-24T08:00:00Z", goLiveStart: "2026-11-24T08:00:00Z",
                          goLiveStartMillis: 1_795_517_942_091, goLiveEndsMillis: 1_795_517_942_091 + 48 * 3_600_000,
                          auditDatabase: "audit.sqlite", outboxDatabase: "outbox.sqlite", sandboxDatabase: "ehr-sandbox.sqlite",
                          fhirBaseURL: "", tokenURL: "", mllpPort: 0, controlURL: "", eventsURL: "", ndjson: nil, transport: .fhir)
            .write(to: scratch.url)
        #expect(try GoLiveClock.resolve(configuration: c, audit: audit, now: 77)
            == GoLiveClock(window: GoLiveWindow(startsAt: 1_795_517_942_091), source: .simulator(file: simulator)))
        try #"{"go_live_start": "2026-11-24T08:00:00Z"}"#.write(toFile: simulator, atomically: true, encoding: .utf8)
        #expect(try GoLiveClock.resolve(configuration: c, audit: audit, now: 77).window.startsAt == parseISO8601("2026-11-24T08:00:00Z"))

        c.goLiveStart = 42
        let configured = try GoLiveClock.resolve(configuration: c, audit: audit, now: 77)
        #expect(configured.source == .configuration && configured.window.startsAt == 42)
        #expect(configured.window.endsAt == 42 + 48 * 3_600_000)
    }
}
