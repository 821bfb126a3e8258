import Foundation
import SwitchboardTesting

extension Torture {
    // MARK: EHR faults

    /// The sandbox flipping between healthy, slow, 5xx, 429, 401, refused (a short outage)
    /// and down (a long one) while calls run and the outbox sends, on each pathway. Then
    /// nothing lost or doubled: every outbox item applied exactly once by the EHR, or
    /// failed/dead/discarded with its reason; the chain intact.
    func ehrFaults() throws {
        let phase: Double = short ? 2.5 : 10
        let cycles = short ? 1 : 3
        // (name, faults JSON, or an outage of that many seconds)
        let phases: [(String, String?, Double)] = [
            ("healthy", "{}", 0),
            ("slow", #"{"latency":{"medianMs":300,"p99Ms":900}}"#, 0),
            ("5xx", #"{"errorRate":0.5,"unavailableRate":0.2,"retryAfterSeconds":1}"#, 0),
            ("429", #"{"throttleRate":0.6,"retryAfterSeconds":1}"#, 0),
            ("401", #"{"unauthorizedRate":0.3}"#, 0),
            ("refused", nil, 1.5),
            ("down", nil, 12),
            ("healthy", "{}", 0),
        ]
        for transport in ["fhir", "rest", "hl7v2"] {
            let dir = scratch.path("ehr-faults-\(transport)")
            check("ehr-faults/\(transport)", "\(transport): healthy, slow, 5xx, 429, 401, refused and down while calls run and the outbox sends: every item applied once or failed with its reason, chain intact",
                  faults: phases.count * cycles) {
                let sim = try startSimulator(dir, ["--load", "--rate", "300", "--concurrency", "30", "--transport", transport, "--lease-seconds", "2"])
                var running = true
                defer { if running { sim.signal(SIGKILL); _ = try? sim.waitForExit(timeout: 10) } }
                for _ in 0..<cycles {
                    for (name, faults, outage) in phases {
                        if let faults { try control(dir, "faults", faults) }
                        if outage > 0 { try control(dir, "outage", #"{"seconds":\#(outage)}"#) }
                        usleep(useconds_t(max(phase, outage + 0.5) * 1_000_000))
                        // On call retries what failed, through the console's own sender, faults and all.
                        if name == "5xx" || name == "down" {
                            _ = try program("switchboard", ["outbox", "retry", "--all-matching", "--status", "failed", "--yes", "--config", dir + "/switchboard.toml"])
                        }
                        try expect(sim.process.isRunning, "the simulator stopped during \(name): \(sim.stderr.suffix(300))")
                    }
                }
                try control(dir, "faults", "{}")
                try finishSimulator(sim, dir, transport: transport)
                running = false
                let ledger = try checkSends(dir)
                try verifyChain(dir)
                // The faults reached the agent: error (8) and no-answer (12) rows in its audit.
                let outcomes = try sqlite3(dir + "/audit.sqlite", "SELECT outcome, count(*) FROM audit_event GROUP BY outcome").split(separator: "\n")
                    .map { $0.split(separator: "|") }.reduce(into: [String: Int]()) { $0[String($1[0])] = Int($1[1]) ?? 0 }
                print("       \(transport) outbox: \(ledger.summary); audit outcomes: \(outcomes.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))")
                try expect((outcomes["8"] ?? 0) > 0 && (outcomes["12"] ?? 0) > 0, "the agent saw no error or no no-answer: the faults did not bite")
            }
        }
    }
}
