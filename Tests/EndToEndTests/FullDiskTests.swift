import Foundation
import SwitchboardTesting
import Testing

/// Writers on a full disk (a small tmpfs the test mounts under its scratch directory and
/// fills): one line saying the disk is full, exit 74, nothing half-written, and the
/// databases as they were. Found by torture's full-disk cases: SQLite's "disk I/O error"
/// came out with exit 65 (as if the file were damaged), `--out` files were left half
/// written, and `generate` left a half history that blocked the next run.
@Suite(.timeLimit(.minutes(3)))
struct FullDiskTests {
    /// A generated site copied onto a tmpfs that is then filled to the last byte.
    private func fullSite(_ scratch: Scratch) throws -> (SmallDisk, site: String, dir: String) {
        let db = try E2E.generate(scratch, calls: 300)
        let site = (db.audit as NSString).deletingLastPathComponent
        let disk = try SmallDisk(at: scratch.path("disk"), size: "8m")
        let copy = try disk.run("/bin/cp", ["-a", site, disk.path + "/site"])
        try #require(copy.status == 0, "\(copy.stderr)")
        try disk.fill()
        return (disk, site, disk.path + "/site")
    }

    private func run(_ disk: SmallDisk, _ scratch: Scratch, _ name: String, _ arguments: [String]) throws -> ProcessResult {
        let argv = disk.prefix + [executable(name)] + arguments
        return try SwitchboardTesting.run(argv[0], Array(argv.dropFirst()), environment: E2E.environment(scratch), timeout: 60)
    }

    @Test func aReviewApprovalOnAFullDiskSaysSoWithExit74AndChangesNothing() throws {
        let scratch = Scratch("fulldisk-approve")
        defer { scratch.cleanUp() }
        let (disk, site, dir) = try fullSite(scratch)
        defer { disk.unmount() }
        let booking = try E2E.value(site + "/audit.sqlite", "SELECT booking_id FROM booking WHERE review_required = 1 AND decided = 0 LIMIT 1")
        let files = ["--audit", dir + "/audit.sqlite", "--outbox", dir + "/outbox.sqlite"]
        let before = try disk.digest(dir + "/audit.sqlite")

        let refused = try run(disk, scratch, "switchboard", ["review", "approve", booking] + files)
        #expect(refused.status == 74, "\(refused.stderr)")
        #expect(refused.stderr.contains("the disk is full") && refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(try disk.digest(dir + "/audit.sqlite") == before)

        try disk.free()
        let approved = try run(disk, scratch, "switchboard", ["review", "approve", booking] + files)
        #expect(approved.status == 0 && approved.stdout.contains("\(booking): approved"), "\(approved.stderr)")
        let verify = try run(disk, scratch, "switchboard", ["audit", "verify", "--audit", dir + "/audit.sqlite"])
        #expect(verify.status == 0, "\(verify.stdout)")
    }

    @Test func anExportOrReportOntoAFullDiskLeavesNoHalfFile() throws {
        let scratch = Scratch("fulldisk-out")
        defer { scratch.cleanUp() }
        let (disk, site, _) = try fullSite(scratch)
        defer { disk.unmount() }
        let commands: [(String, [String])] = [
            ("export.ndjson", ["audit", "export", "--format", "ndjson", "--audit", site + "/audit.sqlite"]),
            ("report.html", ["report", "--format", "html", "--audit", site + "/audit.sqlite", "--outbox", site + "/outbox.sqlite"]),
        ]
        for (file, command) in commands {
            let out = disk.path + "/" + file
            let result = try run(disk, scratch, "switchboard", command + ["--out", out])
            #expect(result.status == 74, "\(command[0]): \(result.stderr)")
            #expect(result.stderr.contains("the disk is full") && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(try !disk.exists(out), "\(file) was left half-written")
        }
    }

    @Test func generateOnAFullDiskLeavesNoHalfWrittenHistory() throws {
        let scratch = Scratch("fulldisk-generate")
        defer { scratch.cleanUp() }
        let (disk, _, _) = try fullSite(scratch)
        defer { disk.unmount() }
        let out = disk.path + "/generated"
        let refused = try run(disk, scratch, "switchboard-sim", ["generate", "--out", out, "--calls", "200"])
        #expect(refused.status == 74, "\(refused.stderr)")
        #expect(refused.stderr.contains("the disk is full"), "\(refused.stderr)")
        #expect(try !disk.exists(out + "/audit.sqlite") && !disk.exists(out + "/outbox.sqlite"))

        // Space freed: the same command goes through (no half file to refuse over).
        try disk.run("/bin/rm", ["-rf", disk.path + "/site"])
        try disk.free()
        let made = try run(disk, scratch, "switchboard-sim", ["generate", "--out", out, "--calls", "200"])
        #expect(made.status == 0, "\(made.stderr)")
    }
}
