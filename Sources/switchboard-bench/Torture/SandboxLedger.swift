import Foundation
import ArgumentParser
import SwitchboardTesting

/// The outbox held against the EHR sandbox's own record of what it received
/// (`ehr-sandbox.sqlite`, table `received`: per key, how often a write arrived past auth and
/// faults, and how often it was applied rather than replayed). A write's key is its
/// Idempotency-Key; a FHIR PUT's is its resource and If-Match; an HL7 message's its MSH-10.
struct SandboxLedger {
    var items = 0, keys = 0
    /// Items the outbox calls sent that the EHR never applied, unsent ones left over, and
    /// failed or dead ones without a reason.
    var lost: [String] = []
    /// Keys the EHR applied twice, received more often than any worker tried them, or
    /// items with two successful tries.
    var doubled: [String] = []
    /// Discarded items whose write the EHR applied anyway.
    var odd: [String] = []
    var byStatus: [String: Int] = [:]

    static let script = #"""
import json, sqlite3, sys
o = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
s = sqlite3.connect("file:%s?mode=ro" % sys.argv[2], uri=True)
received = {k: (t, a) for k, t, a in s.execute("SELECT key, times, applied FROM received")}
wins = dict(o.execute("SELECT item_id, count(*) FROM outbox_attempt WHERE outcome = 'success' GROUP BY 1").fetchall())
groups, out = {}, {"items": 0, "keys": 0, "lost": [], "doubled": [], "odd": [], "by_status": {}}
for item, status, attempts, error, transport, request, ikey in o.execute(
        "SELECT id, status, attempts, last_error, transport, request, idempotency_key FROM outbox_item"):
    out["items"] += 1
    out["by_status"][status] = out["by_status"].get(status, 0) + 1
    r = json.loads(request); h = r.get("headers") or {}
    if transport == "hl7v2":
        fields = (r.get("body") or "").replace("\n", "\r").split("\r")[0].split("|")
        key = "hl7:" + (fields[9] if len(fields) > 9 else "")
    elif transport == "fhir" and r.get("method") == "PUT" and h.get("If-Match"):
        parts = [p for p in r.get("url", "").split("?")[0].split("/") if p]
        key = "PUT %s/%s %s" % (parts[-2], parts[-1], h["If-Match"])
    else:
        key = h.get("Idempotency-Key") or ikey
    groups.setdefault(key, []).append((item, status, attempts or 0))
    if wins.get(item, 0) > 1: out["doubled"].append("%s: %d successful tries" % (item, wins[item]))
    if status in ("pending", "in_flight"): out["lost"].append("%s: still %s" % (item, status))
    if status in ("failed", "dead") and not error: out["lost"].append("%s: %s without a reason" % (item, status))
for key, members in groups.items():
    out["keys"] += 1
    times, applied = received.get(key, (0, 0))
    tried = sum(m[2] for m in members)
    if applied > 1: out["doubled"].append("%s: applied %d times by the EHR" % (members[0][0], applied))
    if times > tried: out["doubled"].append("%s: the EHR received it %d times, tried %d" % (members[0][0], times, tried))
    for item, status, _ in members:
        if status == "succeeded" and applied == 0: out["lost"].append("%s: succeeded, never applied by the EHR" % item)
        if status == "discarded" and applied > 0 and not any(m[1] == "succeeded" for m in members):
            out["odd"].append("%s: discarded, but the EHR applied it" % item)
print(json.dumps(out))
"""#

    /// Reads both files of a stopped simulator directory.
    static func read(_ dir: String) throws -> SandboxLedger {
        let result = try SwitchboardTesting.run("/usr/bin/python3", ["-c", script, dir + "/outbox.sqlite", dir + "/ehr-sandbox.sqlite"], timeout: 120)
        guard result.status == 0, let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw CaseFailure("reading the outbox against the sandbox: \(result.stderr.suffix(300))")
        }
        var ledger = SandboxLedger()
        ledger.items = object["items"] as? Int ?? 0
        ledger.keys = object["keys"] as? Int ?? 0
        ledger.lost = object["lost"] as? [String] ?? []
        ledger.doubled = object["doubled"] as? [String] ?? []
        ledger.odd = object["odd"] as? [String] ?? []
        ledger.byStatus = object["by_status"] as? [String: Int] ?? [:]
        return ledger
    }

    var summary: String {
        byStatus.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
    }
}

extension Torture {
    /// The ledger of `dir` counted into the table; throws naming the first problems.
    func checkSends(_ dir: String) throws -> SandboxLedger {
        let ledger = try SandboxLedger.read(dir)
        tally.checked += ledger.items
        tally.lost += ledger.lost.count
        tally.doubled += ledger.doubled.count
        try expect(ledger.items > 0, "the outbox is empty: the case proved nothing")
        try expect(ledger.lost.isEmpty, "\(ledger.lost.count) outbox items lost: \(ledger.lost.prefix(3).joined(separator: "; "))")
        try expect(ledger.doubled.isEmpty, "\(ledger.doubled.count) sent twice: \(ledger.doubled.prefix(3).joined(separator: "; "))")
        try expect(ledger.odd.isEmpty, "\(ledger.odd.count) items disagree with the EHR: \(ledger.odd.prefix(3).joined(separator: "; "))")
        return ledger
    }

    /// `audit verify` with the agent's key: the chain has no fork, no gap, no edit.
    func verifyChain(_ dir: String) throws {
        let verify = try program("switchboard", ["audit", "verify", "--audit", dir + "/audit.sqlite", "--key", dir + "/audit-checkpoint.pub"], timeout: 120)
        try expect(verify.status == 0, "audit verify exit \(verify.status): \(verify.stdout.prefix(300))")
    }

    /// A simulator on `dir`, up once `simulator.json` is written.
    func startSimulator(_ dir: String, _ arguments: [String]) throws -> RunningProcess {
        try? FileManager.default.removeItem(atPath: dir + "/simulator.json")
        let sim = try RunningProcess(tool("switchboard-sim"), ["run", "--dir", dir] + arguments)
        let up = RunningProcess.waitUntil(timeout: 60) { FileManager.default.fileExists(atPath: dir + "/simulator.json") || !sim.process.isRunning }
        guard up, sim.process.isRunning else {
            sim.signal(SIGKILL)
            throw CaseFailure("the simulator did not start: \(sim.stderr.suffix(300))")
        }
        return sim
    }

    /// Stops a simulator as an operator would (SIGTERM: leases handed back), then runs it
    /// once more until nothing is unsent, failed items made due first.
    func finishSimulator(_ sim: RunningProcess, _ dir: String, transport: String = "fhir") throws {
        sim.signal(SIGTERM)
        let status = try sim.waitForExit(timeout: 60)
        if status != 0 && status != 1 { tally.traps += status >= 128 || [4, 5, 6, 7, 8, 11].contains(status) ? 1 : 0 }
        try expect(status == 0, "the simulator exit \(status) on SIGTERM: \(sim.stderr.suffix(300))")
        _ = try program("switchboard", ["outbox", "retry", "--all-matching", "--status", "failed", "--yes", "--outbox", dir + "/outbox.sqlite",
                                        "--audit", dir + "/audit.sqlite"])
        let finish = try program("switchboard-sim", ["run", "--dir", dir, "--load", "--calls", "1", "--exit-when-done", "--lease-seconds", "1",
                                                     "--transport", transport], timeout: 180)
        try expect(finish.status == 0, "the draining run exit \(finish.status): \(finish.stderr.suffix(300))")
    }

    /// JSON to the sandbox's control endpoint (faults, outage), as `switchboard-sim outage` does.
    func control(_ dir: String, _ path: String, _ json: String) throws {
        let info = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/simulator.json"))) as? [String: Any]
        guard let url = info?["control_url"] as? String else { throw CaseFailure("simulator.json has no control_url") }
        let result = try SwitchboardTesting.run("/usr/bin/curl", ["-sS", "-f", "-X", "POST", "--max-time", "5", url + "/" + path, "-d", json])
        try expect(result.status == 0, "POST \(path) \(json): \(result.stderr)")
    }
}

/// `switchboard-bench ledger DIR`: a stopped simulator directory's outbox against what its
/// EHR sandbox received, as the torture cases check it. Exit 1 when anything was lost or
/// sent twice.
struct LedgerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Check a stopped simulator directory's outbox against what its EHR sandbox received: nothing lost, nothing sent twice.")

    @Argument(help: ArgumentHelp("The simulator's directory (switchboard-sim run --dir).", valueName: "dir"))
    var dir: String

    func run() throws {
        let ledger = try SandboxLedger.read(dir)
        print("\(ledger.items) outbox items under \(ledger.keys) keys: \(ledger.summary)")
        for line in ledger.lost { print("LOST " + line) }
        for line in ledger.doubled { print("DOUBLED " + line) }
        for line in ledger.odd { print("ODD " + line) }
        if !ledger.lost.isEmpty || !ledger.doubled.isEmpty { throw ExitCode.failure }
        if !ledger.odd.isEmpty { throw ExitCode(2) }
    }
}
