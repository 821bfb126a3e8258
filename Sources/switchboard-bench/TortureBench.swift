import ArgumentParser
import Foundation
import SwitchboardTesting

/// `switchboard-bench torture`: the review's bad files, bad rows, tamperings, kills and
/// terminals as one harness of real processes on real files. Each case prints what it
/// checks and ok or FAIL with why; the run ends with one table. Exit 1 when anything was
/// lost, doubled, trapped or reached the terminal raw; else 2 when a case failed; else 0.
struct TortureBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "torture",
        abstract: "Bad files, bad rows, tamperings, kills and terminals against the real programs; a table of what was lost, doubled, trapped or raw.")

    @Flag(help: "Fewer repetitions (CI): every group still runs.")
    var short = false

    @Option(name: .customLong("only"), parsing: .upToNextOption, help: "Only these groups: tampering, files, rows, kills, terminal, streams, fuzz, contention, ehr-faults, full-disk.")
    var groups: [String] = []

    @Option(help: ArgumentHelp("The switchboard binary to torture (default: beside this one).", valueName: "path"))
    var switchboard: String?

    @Option(name: .customLong("case"), parsing: .upToNextOption, help: "Only the cases whose name starts with one of these (e.g. files/missing).")
    var cases: [String] = []

    @Flag(help: "Keep the scratch directory (databases, simulator directories) when a case fails, to look at.")
    var keep = false

    @Option(help: ArgumentHelp("Also write the table as JSON to this file.", valueName: "file"))
    var json: String?

    func run() throws {
        let own = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let torture = Torture(bin: own.path, short: short, only: cases, switchboard: switchboard)
        for name in ["switchboard", "switchboard-sim"] where !FileManager.default.isExecutableFile(atPath: torture.tool(name)) {
            throw ValidationError("\(torture.tool(name)) not found: build it with the same configuration (swift build --product \(name)).")
        }
        let all: [(String, (Torture) throws -> Void)] = [
            ("tampering", { try $0.tampering() }), ("files", { try $0.files() }), ("rows", { try $0.rows() }),
            ("kills", { try $0.kills() }), ("terminal", { try $0.terminal() }),
            ("streams", { try $0.streams() }), ("fuzz", { try $0.fuzz() }),
            ("contention", { try $0.contention() }), ("ehr-faults", { try $0.ehrFaults() }), ("full-disk", { try $0.fullDisk() }),
        ]
        for (name, body) in all where groups.isEmpty || groups.contains(name) {
            print("== \(name)")
            do { try body(torture) } catch { torture.tally.fail("\(name): setup", "\(error)") }
        }
        defer { if keep && !torture.tally.failed.isEmpty { print("scratch kept: \(torture.scratch.url.path)") } else { torture.scratch.cleanUp() } }
        let t = torture.tally
        let rows: [(String, Int)] = [("cases run", t.cases), ("cases failed", t.failed.count), ("faults injected", t.faults),
                                     ("decisions and sends checked", t.checked), ("lost", t.lost), ("doubled", t.doubled),
                                     ("traps", t.traps), ("raw bytes", t.rawBytes)]
        print("\ntorture" + (short ? " --short" : ""))
        for (name, value) in rows { print(name.padding(toLength: 30, withPad: " ", startingAt: 0) + String(value).leftPad(8)) }
        for failure in t.failed { print("FAILED " + failure) }
        if let json {
            let object = Dictionary(uniqueKeysWithValues: rows.map { ($0.0.replacingOccurrences(of: " ", with: "_"), $0.1) })
            try JSONSerialization.data(withJSONObject: ["torture": object, "failed": t.failed], options: [.sortedKeys]).write(to: URL(fileURLWithPath: json))
        }
        // 1: something lost, doubled, trapped or raw (what CI fails on); 2: only cases failed.
        if t.lost + t.doubled + t.traps + t.rawBytes > 0 { throw ExitCode.failure }
        if !t.failed.isEmpty { throw ExitCode(2) }
    }
}

/// The counts of the final table.
final class TortureTally {
    var cases = 0, faults = 0, checked = 0, lost = 0, doubled = 0, traps = 0, rawBytes = 0
    var failed: [String] = []
    func fail(_ name: String, _ why: String) {
        failed.append("\(name): \(why)")
        print("  FAIL \(name): \(why)")
    }
}

struct CaseFailure: Error, CustomStringConvertible {
    var description: String
    init(_ text: String) { description = text }
}

/// The cases, with where the programs are and a scratch directory of generated databases.
final class Torture {
    let bin: String, short: Bool, only: [String], switchboard: String?
    let tally = TortureTally()
    let scratch = Scratch("torture")
    init(bin: String, short: Bool, only: [String], switchboard: String?) {
        self.bin = bin; self.short = short; self.only = only; self.switchboard = switchboard
    }

    func tool(_ name: String) -> String { name == "switchboard" ? switchboard ?? bin + "/" + name : bin + "/" + name }

    /// No user configuration, its own state directory: what a fresh operator has.
    var environment: [String: String] {
        ["XDG_CONFIG_HOME": scratch.path("config"), "XDG_STATE_HOME": scratch.path("state"), "TERM": "xterm-256color",
         "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
    }

    /// One case: `checks` says what it proves; a thrown error is a loud FAIL.
    func check(_ name: String, _ checks: String, faults: Int = 1, _ body: () throws -> Void) {
        guard only.isEmpty || only.contains(where: { name.hasPrefix($0) }) else { return }
        tally.cases += 1
        tally.faults += faults
        let start = Date()
        do {
            try body()
            print("  ok   \(name): \(checks) (\(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
        } catch {
            tally.fail(name, "\(checks): \(error) (\(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
        }
    }

    /// A run of one of our programs; a trap (a signal, Swift's "Fatal error") is counted
    /// wherever it happens, whatever the case expected.
    @discardableResult
    func program(_ name: String, _ arguments: [String], timeout: TimeInterval = 60, within prefix: [String] = []) throws -> ProcessResult {
        let argv = prefix + [tool(name)] + arguments
        let result = try SwitchboardTesting.run(argv[0], Array(argv.dropFirst()), environment: environment, timeout: timeout)
        if [4, 5, 6, 7, 8, 11].contains(result.status) || result.status >= 128
            || result.stderr.contains("Fatal error") || result.stderr.contains("crashed") {
            tally.traps += 1
            throw CaseFailure("\(name) \(arguments.first ?? "") trapped (status \(result.status)): \(result.stderr.prefix(300))")
        }
        return result
    }

    /// A fresh generated site (audit, outbox, the checkpoint key) in its own directory.
    func generate(_ name: String, calls: Int, extra: [String] = []) throws -> String {
        let dir = scratch.path(name)
        let result = try SwitchboardTesting.run(tool("switchboard-sim"), ["generate", "--out", dir, "--calls", String(calls)] + extra, timeout: 120)
        guard result.status == 0 else { throw CaseFailure("generate failed: \(result.stderr)") }
        return dir
    }

    /// The same rows and schema (sqlite3 .dump) in `path` as in the bytes `before`.
    func sameContent(_ path: String, _ before: Data?) -> Bool {
        guard let before else { return false }
        let copy = path + ".before"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        guard (try? before.write(to: URL(fileURLWithPath: copy))) != nil,
              let a = try? SwitchboardTesting.run("/usr/bin/sqlite3", [copy, ".dump"]), let b = try? SwitchboardTesting.run("/usr/bin/sqlite3", [path, ".dump"])
        else { return false }
        return a.status == 0 && a.stdout == b.stdout
    }

    func expect(_ condition: Bool, _ what: @autoclosure () -> String) throws {
        if !condition { throw CaseFailure(what()) }
    }
}

extension Torture {
    // MARK: Tampering

    /// The 13 tamperings of AuditTamperingTests (AuditTampering), each on a fresh copy of one
    /// signed history, each found by the real `switchboard audit verify`: exit 65 naming the row.
    func tampering() throws {
        let original = try generate("tamper-original", calls: 80, extra: ["--checkpoint-every", "50"])
        let head = Int64(try sqlite3(original + "/audit.sqlite", "SELECT max(seq) FROM audit_event").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        var n = 0
        func copy() throws -> String {
            n += 1
            let dir = scratch.path("tamper-\(n)")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for suffix in ["", ".checkpoints"] {
                try FileManager.default.copyItem(atPath: original + "/audit.sqlite" + suffix, toPath: dir + "/audit.sqlite" + suffix)
            }
            return dir + "/audit.sqlite"
        }
        func verify(_ audit: String) throws -> ProcessResult {
            try program("switchboard", ["audit", "verify", "--audit", audit, "--key", original + "/audit-checkpoint.pub"])
        }
        check("tampering/untouched", "an untouched signed history verifies intact (exit 0)", faults: 0) {
            let result = try verify(try copy())
            try expect(result.status == 0, "exit \(result.status): \(result.stdout)")
        }
        for tampering in AuditTampering.allCases {
            let edits = tampering == .editColumn ? AuditTampering.columnEdits.indices.map { $0 } : [0]
            check("tampering/\(tampering.rawValue)", "audit verify exits 65 naming the first bad row" + (edits.count > 1 ? " (each of \(edits.count) columns)" : ""),
                  faults: edits.count) {
                for edit in edits {
                    let audit = try copy()
                    let (expected, says) = try tampering.apply(to: audit, head: head, edit: edit)
                    let result = try verify(audit)
                    try expect(result.status == 65 && AuditTampering.brokenSeq(result.stdout) == expected && (says.isEmpty || result.stdout.contains(says)),
                               "expected exit 65 at row \(expected) saying '\(says)'; got exit \(result.status): \(result.stdout.prefix(200))")
                }
            }
        }
    }

    // MARK: Files

    /// Every bad file the review tried, for `status` (read) and `review approve` (write):
    /// one line naming the file, the right sysexits status, the bytes unchanged.
    func files() throws {
        let site = try generate("files-site", calls: 20)
        let good = site + "/audit.sqlite"
        func bad(_ name: String, _ make: (String) throws -> Void) throws -> String {
            let path = scratch.path("files-\(name).sqlite")
            try make(path)
            return path
        }
        func copyOfGood(_ path: String) throws { try FileManager.default.copyItem(atPath: good, toPath: path) }
        let randomBytes = Data((0..<65_536).map { _ in UInt8.random(in: 0...255) })
        let cases: [(String, String, (String) throws -> Void, Int32)] = [
            ("empty", "empty file", { try Data().write(to: URL(fileURLWithPath: $0)) }, 65),
            ("random", "not a SQLite database", { try randomBytes.write(to: URL(fileURLWithPath: $0)) }, 65),
            ("truncated", "", { path in
                let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
                try bytes.prefix(bytes.count / 3).write(to: URL(fileURLWithPath: path))
            }, 65),
            ("another-application", "another application", {
                _ = try sqlite3($0, "PRAGMA application_id = 1234; CREATE TABLE recipes (name TEXT); INSERT INTO recipes VALUES ('soup');")
            }, 65),
            ("newer-user-version", "schema version 9", { try copyOfGood($0); _ = try sqlite3($0, "PRAGMA user_version = 9;") }, 65),
            ("older-user-version", "", { try copyOfGood($0); _ = try sqlite3($0, "PRAGMA user_version = 0;") }, 65),
            ("wrong-table-shape", "", { try copyOfGood($0); _ = try sqlite3($0, "DROP TRIGGER IF EXISTS audit_event_is_append_only_update; DROP TRIGGER IF EXISTS audit_event_is_append_only_delete; ALTER TABLE booking RENAME COLUMN booked_at TO booked;") }, 65),
        ]
        for (name, says, make, status) in cases {
            for command in [["status"], ["review", "approve", "bk-0000001"]] {
                check("files/\(name)/\(command[0])", "\(command.joined(separator: " ")) on a \(name) file: one line, exit \(status), file unchanged") {
                    let path = try bad("\(name)-\(command[0])", make)
                    let before = fileDigest(path)
                    let result = try program("switchboard", command + ["--audit", path])
                    let lines = result.stderr.split(separator: "\n").count
                    try expect(result.status == status || (status == 65 && [65, 66, 74].contains(result.status) && says.isEmpty),
                               "exit \(result.status), expected \(status): \(result.stderr)")
                    try expect(lines == 1 && result.stderr.contains(path) && (says.isEmpty || result.stderr.contains(says)),
                               "message not one line naming the file\(says.isEmpty ? "" : " and saying '\(says)'"): \(result.stderr)")
                    try expect(fileDigest(path) == before, sameContent(path, before) ? "the file's bytes changed (its content, per sqlite3 .dump, did not)" : "the file changed")
                }
            }
        }
        check("files/missing", "a missing file: one line, exit 66, not created") {
            let path = scratch.path("files-missing.sqlite")
            let result = try program("switchboard", ["status", "--audit", path])
            try expect(result.status == 66 && result.stderr.split(separator: "\n").count == 1 && result.stderr.contains(path), "exit \(result.status): \(result.stderr)")
            try expect(!FileManager.default.fileExists(atPath: path), "the file was created")
        }
        // Permission bits do not stop root, and this harness mounts nothing: a directory on
        // a read-only file system that is always there.
        check("files/read-only-directory", "generate into a read-only directory: one line, exit 73") {
            let result = try program("switchboard-sim", ["generate", "--out", "/proc/self/fdinfo", "--calls", "5"])
            try expect(result.status == 73 && result.stderr.contains("read-only"), "exit \(result.status): \(result.stderr)")
        }
        // A writer's lock stops writers only (readers go on in WAL mode); exclusive locking
        // mode stops readers too.
        for (mode, statement, command) in [("lock", "BEGIN IMMEDIATE", ["review", "approve", "bk-0000001"]),
                                           ("exclusive-locking-mode", "PRAGMA locking_mode=EXCLUSIVE\", \"BEGIN EXCLUSIVE", ["status"])] {
            check("files/\(mode)", "\(command.joined(separator: " ")) on a database held longer than --lock-wait: one line, exit 75, no hang, unchanged") {
                let path = scratch.path("files-\(mode).sqlite")
                try copyOfGood(path)
                let before = fileDigest(path)
                let holder = try RunningProcess("/usr/bin/python3", ["-c", """
                    import sqlite3, sys, time
                    c = sqlite3.connect(sys.argv[1], isolation_level=None)
                    for s in ["\(statement)"]: c.execute(s)
                    c.execute("INSERT INTO call (call_id, started_at) VALUES ('held', 0)")
                    print("locked", flush=True); time.sleep(8); c.execute("ROLLBACK")
                    """, path])
                defer { holder.signal(SIGKILL); _ = try? holder.waitForExit(timeout: 5) }
                _ = RunningProcess.waitUntil(timeout: 5) { holder.stdout.contains("locked") }
                let started = Date()
                let result = try program("switchboard", command + ["--audit", path, "--lock-wait", "300"], timeout: 20)
                try expect(result.status == 75 && result.stderr.contains("locked by another process"), "exit \(result.status): \(result.stderr)")
                try expect(Date().timeIntervalSince(started) < 5, "took \(Date().timeIntervalSince(started)) s")
                holder.signal(SIGKILL); _ = try? holder.waitForExit(timeout: 5)
                try expect(fileDigest(path) == before, "the file changed")
            }
        }
    }
}
