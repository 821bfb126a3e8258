import Foundation
import SwitchboardCore
import SwitchboardHTTP
import SwitchboardOperations
import SwitchboardStore
import SwitchboardTesting
import Testing

/// `check` against the simulator's real SSE stream: heard while the agent runs, silent
/// after it is killed, and the hook hears each change once.
@Suite(.serialized) struct StreamCheckTests {
    @Test func theStreamRuleFollowsARealAgent() throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let dir = scratch.path("site")
        let sim = try RunningProcess(executable("switchboard-sim"), ["run", "--dir", dir, "--rate", "60", "--patients", "100"])
        defer { sim.signal(SIGKILL) }
        #expect(RunningProcess.waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: dir + "/switchboard.toml") })
        let hookLog = scratch.path("hook.ndjson")
        // The simulator's own config for the console (audit, outbox, events URL), plus alerts.
        let others = ["item_dead", "item_failing", "queue_mode", "correction_rate", "window_closing", "booking_overdue"]
        let config = scratch.path("config.toml")
        func configure() throws {
            let simConfig = try String(contentsOfFile: dir + "/switchboard.toml", encoding: .utf8)
            try (simConfig.components(separatedBy: "\n[ehr]").first! + """

                [alerts]
                hook = "cat >> '\(hookLog)'"
                state_file = "\(scratch.path("alerts.json"))"
                stream_silent_seconds = 5
                disabled = [\(others.map { "\"\($0)\"" }.joined(separator: ", "))]
                """).write(toFile: config, atomically: true, encoding: .utf8)
        }
        try configure()
        let firstEvents = try String(contentsOfFile: dir + "/switchboard.toml", encoding: .utf8)
        func check() throws -> ProcessResult {
            try run(executable("switchboard"), ["check", "--config", config, "--stream-wait", "2s"],
                    environment: ["XDG_CONFIG_HOME": scratch.path("xdg"), "HOME": scratch.path("home")], timeout: 30)
        }
        func calls() -> [String] {
            ((try? String(contentsOfFile: hookLog, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]).flatMap { "\($0["event"]!) \($0["rule"]!)" }
            }
        }
        let live = try check()
        #expect(live.status == 0, "\(live.stdout) \(live.stderr)")
        #expect(live.stdout.contains("stream_silent=0s"), "\(live.stdout)")

        sim.signal(SIGKILL)
        _ = try sim.waitForExit(timeout: 10)
        // Within 5 s of the last time it was heard: not yet silent.
        #expect(try check().status == 0)
        Thread.sleep(forTimeInterval: 6)
        let silent = try check()
        #expect(silent.status == 1, "\(silent.stdout)")
        #expect(silent.stdout.contains("stream_silent: event stream silent for "))
        #expect(try check().status == 1)
        #expect(calls() == ["started stream_silent"])

        // The agent back on the same directory: heard again, cleared once.
        let again = try RunningProcess(executable("switchboard-sim"), ["run", "--dir", dir, "--rate", "60", "--patients", "100"])
        defer { again.signal(SIGKILL) }
        // It listens on a new port: its config file says which.
        #expect(RunningProcess.waitUntil(timeout: 30) { (try? String(contentsOfFile: dir + "/switchboard.toml", encoding: .utf8)) != firstEvents })
        try configure()
        #expect(RunningProcess.waitUntil(timeout: 30) { ((try? check().status) ?? 1) == 0 })
        #expect(try check().status == 0)
        #expect(calls() == ["started stream_silent", "cleared stream_silent"])
    }

    /// The simulator serving its event stream over HTTPS itself (`--tls-cert`): `check` hears
    /// it when told to trust the CA (`ca_file` in the simulator's config, or `--ca`), and not
    /// when it trusts another CA or only the system store.
    @Test func theStreamIsHeardOverHTTPSOnlyWithTheRightCA() async throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let certs = try TestCertificates(in: scratch.url)
        let dir = scratch.path("site")
        let sim = try RunningProcess(executable("switchboard-sim"), ["run", "--dir", dir, "--rate", "60", "--patients", "100",
                                                                     "--tls-cert", certs.server.certificate, "--tls-key", certs.server.key,
                                                                     "--tls-ca", certs.caFile])
        defer { sim.signal(SIGKILL) }
        #expect(RunningProcess.waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: dir + "/switchboard.toml") })
        let simConfig = try String(contentsOfFile: dir + "/switchboard.toml", encoding: .utf8)
        #expect(simConfig.contains("events = \"https://127.0.0.1:"), "\(simConfig)")
        #expect(simConfig.contains("ca_file = \"\(certs.caFile)\""), "\(simConfig)")
        #expect(simConfig.contains("base_url = \"https://127.0.0.1:"), "\(simConfig)")
        let others = ["item_dead", "item_failing", "queue_mode", "correction_rate", "window_closing", "booking_overdue"]
        let alerts = "\n[alerts]\ndisabled = [\(others.map { "\"\($0)\"" }.joined(separator: ", "))]\n"
        let withCA = scratch.path("with-ca.toml"), withoutCA = scratch.path("without-ca.toml")
        let head = simConfig.components(separatedBy: "\n[ehr]").first!
        try (head + alerts).write(toFile: withCA, atomically: true, encoding: .utf8)
        try (head.split(separator: "\n").filter { !$0.hasPrefix("ca_file") }.joined(separator: "\n") + "\n" + alerts)
            .write(toFile: withoutCA, atomically: true, encoding: .utf8)
        var runs = 0
        func heard(_ config: String, _ extra: [String] = []) throws -> Bool {
            runs += 1
            let result = try run(executable("switchboard"), ["check", "--config", config, "--stream-wait", "2s", "--no-hooks",
                                                             "--state-file", scratch.path("state-\(runs).json")] + extra,
                                 environment: ["XDG_CONFIG_HOME": scratch.path("xdg"), "HOME": scratch.path("home")], timeout: 30)
            return result.stdout.contains("stream_silent=0s")
        }
        #expect(RunningProcess.waitUntil(timeout: 20) { (try? heard(withCA)) == true }, "the simulator's own config trusts its CA")
        #expect(try heard(withoutCA, ["--ca", certs.caFile]), "--ca trusts it")
        #expect(try !heard(withoutCA), "the system store does not know the test CA")
        #expect(try !heard(withCA, ["--ca", certs.stranger.certificate]), "--ca overrides the config, and a stranger's certificate is not the CA")

        // The console's EHR reads (provider directory, slot picker) over the same HTTPS with the
        // config's ca_file; without it, a TLS failure in words.
        let (settings, _) = try ConsoleConfiguration.load(path: dir + "/switchboard.toml", isKeyName: { _ in true })
        let trusting = try #require(EHRLookup(configuration: settings, http: HTTPClient()))
        #expect(try await !trusting.providerDirectory().providers.isEmpty)
        var untrusting = settings
        untrusting.caFile = nil
        do {
            _ = try await #require(EHRLookup(configuration: untrusting, http: HTTPClient())).providerDirectory()
            Issue.record("the EHR answered a client that does not trust its CA")
        } catch {
            #expect("\(error)".contains("TLS"), "\(error)")
        }
    }
}
