import Foundation
import SwitchboardCore
import SwitchboardStore
import SwitchboardTesting
import Testing

/// `switchboard review …` run as the real executable against generated databases.
@Suite struct ReviewCommandTests {
    /// No user config leaks in: the config directory is the scratch directory.
    static func environment(_ db: GeneratedDatabases) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["XDG_CONFIG_HOME"] = db.scratch.path("config")
        return env
    }

    static func review(_ db: GeneratedDatabases, _ arguments: [String], policy: String? = nil) throws -> ProcessResult {
        var env = environment(db)
        if let policy { env["SWITCHBOARD_POLICY"] = policy }
        return try run(executable("switchboard"), ["review"] + arguments + ["--audit", db.auditPath, "--outbox", db.outboxPath],
                       environment: env)
    }

    static func undecided(_ db: GeneratedDatabases, limit: Int) throws -> [[String: Any]] {
        let listed = try review(db, ["list", "--json", "--undecided", "--limit", String(limit)])
        #expect(listed.status == 0, "\(listed.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
    }

    @Test func listJSONHasStableFieldNames() throws {
        let db = try GeneratedDatabases(calls: 300)
        defer { db.scratch.cleanUp() }
        let rows = try Self.undecided(db, limit: 5)
        #expect(rows.count == 5)
        for row in rows {
            #expect(Set(row.keys) == ["booking_id", "call_id", "kind", "appointment_ref", "appointment_version", "patient_ref",
                                      "patient", "provider_ref", "appointment_type", "start_at", "end_at", "booked_at", "flags",
                                      "decision"])
            #expect(row["decision"] is NSNull)
            #expect(row["flags"] is [String])
        }
        let everything = try Self.review(db, ["list", "--json", "--limit", "1000"])
        let all = try #require(try JSONSerialization.jsonObject(with: Data(everything.stdout.utf8)) as? [[String: Any]])
        let decided = try #require(all.first { !($0["decision"] is NSNull) }?["decision"] as? [String: Any])
        #expect(decided["operator"] is String && decided["decided_at"] is Int && decided["decision"] is String)
    }

    @Test func approvingTwiceFailsTheSecondTimeAndSaysWho() throws {
        let db = try GeneratedDatabases(calls: 300)
        defer { db.scratch.cleanUp() }
        let id = try #require(try Self.undecided(db, limit: 1).first?["booking_id"] as? String)
        let first = try Self.review(db, ["approve", id])
        #expect(first.status == 0 && first.stdout == "\(id): approved\n", "\(first.stderr)")
        let second = try Self.review(db, ["approve", id])
        #expect(second.status == 1)
        let decision = try #require(try db.audit.decision(bookingId: id))
        #expect(second.stderr == "\(id): already approved by \(decision.operator) at \(iso8601(decision.decidedAt))\n")
        #expect(try db.audit.verifyChain().isIntact)
    }

    @Test func aViewerIsRefusedWithEX_NOPERMAndSeesInitialsOnly() throws {
        let db = try GeneratedDatabases(calls: 300)
        defer { db.scratch.cleanUp() }
        let policy = try db.scratch.policy(everyone: "viewer")
        let id = try #require(try Self.undecided(db, limit: 1).first?["booking_id"] as? String)
        let refused = try Self.review(db, ["approve", id], policy: policy)
        #expect(refused.status == 77 && refused.stderr.contains("viewer"))
        #expect(try db.audit.decision(bookingId: id) == nil)

        let listed = try Self.review(db, ["list", "--json", "--limit", "1"], policy: policy)
        let row = try #require((try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])?.first)
        let patient = try #require(row["patient"] as? String)
        #expect(row["patient_ref"] is NSNull)
        #expect(patient.split(separator: " ").allSatisfy { $0.count == 2 && $0.hasSuffix(".") }, "\(patient)")
    }

    @Test func twoProcessesApprovingTheSameBookingExactlyOneWinsEachRound() throws {
        let db = try GeneratedDatabases(calls: 400)
        defer { db.scratch.cleanUp() }
        let ids = try Self.undecided(db, limit: 20).compactMap { $0["booking_id"] as? String }
        #expect(ids.count == 20)
        let arguments = ["--audit", db.auditPath, "--outbox", db.outboxPath], env = Self.environment(db)
        for id in ids {
            nonisolated(unsafe) var results: [ProcessResult?] = [nil, nil]
            let lock = NSLock()
            DispatchQueue.concurrentPerform(iterations: 2) { i in
                let result = try? run(executable("switchboard"), ["review", "approve", id] + arguments, environment: env)
                lock.withLock { results[i] = result }
            }
            let statuses = results.map { $0?.status }
            #expect(statuses.sorted { ($0 ?? -1) < ($1 ?? -1) } == [0, 1], "\(id): \(results.map { $0?.stderr ?? "" })")
            #expect(results.contains { $0?.stderr.contains("\(id): already approved by") == true })
        }
        let written = try sqlite3(db.auditPath, """
            SELECT count(*) FROM audit_event WHERE action = 'review.approve' AND resource_id IN \
            (SELECT appointment_ref FROM booking WHERE booking_id IN (\(ids.map { "'\($0)'" }.joined(separator: ","))))
            """)
        #expect(written.trimmingCharacters(in: .whitespacesAndNewlines) == "20", "one audit row per booking")
    }

    @Test func correctQueuesTheChangeAndAMissingOutboxIsAUsageError() throws {
        let db = try GeneratedDatabases(calls: 300)
        defer { db.scratch.cleanUp() }
        let ids = try Self.undecided(db, limit: 2).compactMap { $0["booking_id"] as? String }
        let corrected = try Self.review(db, ["correct", ids[0], "--category", "should_not_exist", "--cancel", "--note", "duplicate"])
        #expect(corrected.status == 0, "\(corrected.stderr)")
        #expect(corrected.stdout.contains("corrected (should_not_exist)") && corrected.stdout.contains("waiting in outbox"))
        let corrections = try db.outbox.items(forBooking: ids[0]).filter { $0.idempotencyKey.hasPrefix("correction:") }
        #expect(corrections.map(\.status) == [.pending] && corrections.first?.operation == "appointment.update")

        let noOutbox = try run(executable("switchboard"), ["review", "correct", ids[1], "--category", "wrong_time",
                                                           "--start", "2026-12-01T15:00:00Z", "--audit", db.auditPath],
                               environment: Self.environment(db))
        #expect(noOutbox.status == 64 && noOutbox.stderr.contains("outbox"))
        #expect(try db.audit.decision(bookingId: ids[1]) == nil)

        let badCategory = try Self.review(db, ["correct", ids[1], "--category", "wrong_colour", "--cancel"])
        #expect(badCategory.status == 64 && badCategory.stderr.contains("should_not_exist"))
        let noReason = try Self.review(db, ["correct", ids[1], "--cancel"])
        #expect(noReason.status == 64 && noReason.stderr.contains("--category"))
        // A slot alone would record the old time in the decision.
        let slotWithoutTime = try Self.review(db, ["correct", ids[1], "--category", "wrong_time", "--slot", "Slot/s-1"])
        #expect(slotWithoutTime.status == 64 && slotWithoutTime.stderr.contains("--start"))
        #expect(try db.audit.decision(bookingId: ids[1]) == nil)
    }

    @Test func themesListsTheBuiltInThemesAndChecksOne() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        var env = ProcessInfo.processInfo.environment
        env["XDG_CONFIG_HOME"] = scratch.path("config")
        let listed = try run(executable("switchboard"), ["themes"], environment: env)
        #expect(listed.status == 0)
        #expect(listed.stdout.contains("* default\n") && listed.stdout.contains("  monochrome\n"))

        let bad = scratch.path("bad.toml")
        try "inherits = \"default\"\n[styles]\n\"review.row\" = { fg = \"#zz0000\" }\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let checked = try run(executable("switchboard"), ["themes", "--check", bad], environment: env)
        #expect(checked.status == 0)
        #expect(checked.stdout.hasPrefix("\(bad):3: "), "\(checked.stdout)")
    }
}
