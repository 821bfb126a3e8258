import Foundation
import SwitchboardTesting

extension Torture {
    // MARK: Full disk

    /// Writers on a full disk: a review approve, an outbox retry, an audit export, a
    /// report --out and the simulator (generate, run) each say so in one clear line with
    /// the right exit status and leave nothing half-written; once space is freed, the
    /// databases open, verify and take the same approval.
    func fullDisk() throws {
        let site = try generate("full-disk-site", calls: 300, extra: ["--checkpoint-every", "50"])
        let booking = try undecided(site + "/audit.sqlite", limit: 1).first ?? ""
        let item = try sqlite3(site + "/outbox.sqlite", "SELECT id FROM outbox_item WHERE status IN ('failed', 'dead') ORDER BY id LIMIT 1")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var disk: SmallDisk?
        defer { disk?.unmount() }
        check("full-disk/mount", "a tmpfs of 8 MB under the case's temp dir, filled to the last byte", faults: 0) {
            let mounted = try SmallDisk(at: scratch.path("full-disk"), size: "8m")
            disk = mounted
            let copy = try mounted.run("/bin/cp", ["-a", site, mounted.path + "/site"])
            try expect(copy.status == 0, "copying the site: \(copy.stderr)")
            try mounted.fill()
        }
        guard let disk else { return }
        let dir = disk.path + "/site"
        let files = ["--audit", dir + "/audit.sqlite", "--outbox", dir + "/outbox.sqlite"]
        let before = try disk.digest(dir + "/audit.sqlite") + disk.digest(dir + "/outbox.sqlite")

        /// One writer on the full disk: it fails with one clear line (naming the disk as
        /// full) and one of `statuses`, and leaves `leaves` absent.
        func refused(_ name: String, _ what: String, _ tool: String, _ arguments: [String], statuses: Set<Int32> = [73, 74],
                     leaves: String? = nil) {
            check("full-disk/\(name)", "\(what) on a full disk: one clear line, exit \(statuses.sorted().map(String.init).joined(separator: " or ")), nothing half-written") {
                let result = try program(tool, arguments, timeout: 90, within: disk.prefix)
                let said = result.stderr.lowercased()
                try expect(statuses.contains(result.status), "exit \(result.status): \(result.stderr.prefix(300))")
                try expect(said.contains("full") || said.contains("no space") || said.contains("out of space"),
                           "the message does not say the disk is full: \(result.stderr.prefix(300))")
                try expect(result.stderr.split(separator: "\n").count <= 2, "more than a short message: \(result.stderr.prefix(400))")
                if let leaves { try expect(!(try disk.exists(leaves)), "\(leaves) was left half-written") }
            }
        }
        // The databases on the full disk; the exports and reports from databases elsewhere
        // onto it (a full USB stick, a full home directory).
        refused("review-approve", "review approve \(booking)", "switchboard", ["review", "approve", booking] + files)
        refused("outbox-retry", "outbox retry \(item)", "switchboard", ["outbox", "retry", item, "--yes", "--force"] + files)
        refused("audit-export", "audit export --out", "switchboard", ["audit", "export", "--format", "ndjson", "--out", disk.path + "/export.ndjson", "--audit", site + "/audit.sqlite"],
                leaves: disk.path + "/export.ndjson")
        refused("report", "report --out", "switchboard", ["report", "--format", "html", "--out", disk.path + "/report.html", "--audit", site + "/audit.sqlite", "--outbox", site + "/outbox.sqlite"],
                leaves: disk.path + "/report.html")
        refused("simulator-generate", "switchboard-sim generate", "switchboard-sim", ["generate", "--out", disk.path + "/generated", "--calls", "200"],
                leaves: disk.path + "/generated/audit.sqlite")
        refused("simulator-run", "switchboard-sim run on the site", "switchboard-sim", ["run", "--dir", dir, "--load", "--calls", "3", "--exit-when-done"],
                statuses: [1, 73, 74])
        check("full-disk/after", "space freed: both databases unchanged by the failed writes, open, verify, and take the approval once") {
            try disk.free()
            let after = try disk.digest(dir + "/audit.sqlite") + disk.digest(dir + "/outbox.sqlite")
            try expect(after == before, "a database file changed while the disk was full")
            for file in ["audit.sqlite", "outbox.sqlite"] {
                let check = try disk.run("/usr/bin/sqlite3", [dir + "/" + file, "PRAGMA integrity_check"])
                try expect(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "\(file): \(check.stdout.prefix(200)) \(check.stderr.prefix(200))")
            }
            let status = try program("switchboard", ["status"] + files, within: disk.prefix)
            try expect(status.status == 0, "status exit \(status.status): \(status.stderr.prefix(300))")
            let verify = try program("switchboard", ["audit", "verify", "--audit", dir + "/audit.sqlite", "--key", dir + "/audit-checkpoint.pub"], within: disk.prefix)
            try expect(verify.status == 0, "audit verify exit \(verify.status): \(verify.stdout.prefix(300))")
            let approve = try program("switchboard", ["review", "approve", booking] + files, within: disk.prefix)
            try expect(approve.status == 0 && approve.stdout.contains("\(booking): approved"), "approve after freeing: exit \(approve.status): \(approve.stderr.prefix(300))")
            let rows = try disk.run("/usr/bin/sqlite3", [dir + "/audit.sqlite", "SELECT count(*) FROM audit_event WHERE action LIKE 'review.%' AND json_extract(detail, '$.booking_id') = '\(booking)'"])
            let count = Int(rows.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            tally.checked += 1
            if count == 0 { tally.lost += 1 } else if count > 1 { tally.doubled += 1 }
            try expect(count == 1, "\(count) review audit rows for \(booking)")
            let again = try program("switchboard", ["audit", "verify", "--audit", dir + "/audit.sqlite", "--key", dir + "/audit-checkpoint.pub"], within: disk.prefix)
            try expect(again.status == 0, "audit verify after the approval exit \(again.status): \(again.stdout.prefix(300))")
        }
    }
}
