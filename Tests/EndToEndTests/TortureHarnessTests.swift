import Foundation
import SwitchboardTesting
import Testing

/// The torture harness itself, on a few cases: it runs the real programs, its table
/// counts them, and a clean run exits 0 with nothing lost, doubled, trapped or raw.
@Suite struct TortureHarnessTests {
    @Test func aShortRunOfSomeCasesEndsWithACleanTable() throws {
        let result = try run(executable("switchboard-bench"), [
            "torture", "--short", "--only", "tampering", "files", "rows",
            "--case", "tampering/untouched", "tampering/deleteMiddle", "files/missing", "files/random", "files/lock", "rows/control-bidi",
        ], timeout: 300)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        func count(_ row: String) -> Int? {
            result.stdout.split(separator: "\n").first { $0.hasPrefix(row + " ") }.flatMap { Int($0.split(separator: " ").last ?? "") }
        }
        #expect(count("cases run") == 7, "\(result.stdout)")
        #expect(count("cases failed") == 0 && count("lost") == 0 && count("doubled") == 0 && count("traps") == 0 && count("raw bytes") == 0, "\(result.stdout)")
        #expect((count("faults injected") ?? 0) > 6, "the rows case damages every column: \(result.stdout)")
    }

    /// With a program that answers everything with exit 0 in place of switchboard, the
    /// same cases fail, by name, and so does the run: the harness can say no.
    @Test func aProgramThatIgnoresBadFilesFailsTheRun() throws {
        let result = try run(executable("switchboard-bench"), ["torture", "--short", "--only", "files", "--case", "files/missing", "files/random",
                                                               "--switchboard", "/bin/true"], timeout: 120)
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("FAIL files/missing") && result.stdout.contains("FAIL files/random"), "\(result.stdout)")
    }

    /// The check behind contention and ehr-faults can say no: on a real simulator run it
    /// passes; once the sandbox's record says a key was applied twice and another never,
    /// it names both and exits 1.
    @Test func theSendLedgerFindsADoubleAndALoss() throws {
        let scratch = Scratch("ledger")
        defer { scratch.cleanUp() }
        let dir = scratch.path("site")
        let sim = try run(executable("switchboard-sim"), ["run", "--dir", dir, "--load", "--calls", "15", "--exit-when-done"], timeout: 120)
        try #require(sim.status == 0, "\(sim.stderr)")
        let clean = try run(executable("switchboard-bench"), ["ledger", dir])
        #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
        let sandbox = dir + "/ehr-sandbox.sqlite"
        let keys = try sqlite3(sandbox, "SELECT key FROM received WHERE applied = 1 ORDER BY key LIMIT 2").split(separator: "\n").map(String.init)
        try #require(keys.count == 2)
        _ = try sqlite3(sandbox, "UPDATE received SET applied = 2, times = 2 WHERE key = '\(keys[0])'; DELETE FROM received WHERE key = '\(keys[1])';")
        let broken = try run(executable("switchboard-bench"), ["ledger", dir])
        #expect(broken.status == 1, "\(broken.stdout)")
        #expect(broken.stdout.contains("DOUBLED") && broken.stdout.contains("applied 2 times"), "\(broken.stdout)")
        #expect(broken.stdout.contains("LOST") && broken.stdout.contains("never applied by the EHR"), "\(broken.stdout)")
    }
}
