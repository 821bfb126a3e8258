import Foundation
import SwitchboardCore
import SwitchboardStore
import SwitchboardTesting
import Testing

@Suite struct AuditChainTests {
    func event(_ i: Int, actor: String = "agent:a") -> AuditEvent {
        AuditEvent(at: Int64(i), actor: actor, callId: "call-\(i % 7)", action: "slot.search", ehrSystem: "epic",
                   transport: .fhir, method: "GET", resourceType: "Slot", outcome: .success, httpStatus: 200, latencyMs: 90,
                   attempt: 1, detail: #"{"i":\#(i)}"#)
    }

    @Test func appendsFromTwoWritersStayOneChain() async throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("audit.sqlite")
        let agent = try AuditStore(path: path, mode: .create)
        let console = try AuditStore(path: path, mode: .readWrite)
        async let a: Void = Task.detached { for i in 0..<150 { try agent.append([event(i)]) } }.value
        async let b: Void = Task.detached { for i in 0..<150 { try console.append([event(i, actor: "operator:maria")]) } }.value
        _ = try await (a, b)
        let verification = try agent.verifyChain()
        #expect(verification.isIntact && verification.checked == 300)
    }

    @Test func editingOrDeletingARowIsDetected() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("audit.sqlite")
        let store = try AuditStore(path: path, mode: .create)
        try store.append((0..<20).map { event($0) })
        #expect(try store.verifyChain().isIntact)
        // The table refuses edits; someone with the file can still drop the guard.
        #expect(throws: (any Error).self) { try store.database.write { try $0.execute(sql: "UPDATE audit_event SET actor = 'x' WHERE seq = 5") } }
        _ = try sqlite3(path, "DROP TRIGGER audit_event_is_append_only_update; UPDATE audit_event SET latency_ms = 1 WHERE seq = 12;")
        let edited = try store.verifyChain()
        #expect(edited.firstBrokenSeq == 12 && edited.reason?.contains("content") == true)

        let scratch2 = Scratch(); defer { scratch2.cleanUp() }
        let path2 = scratch2.path("audit.sqlite")
        let store2 = try AuditStore(path: path2, mode: .create)
        try store2.append((0..<20).map { event($0) })
        _ = try sqlite3(path2, "DROP TRIGGER audit_event_is_append_only_delete; DELETE FROM audit_event WHERE seq = 7;")
        #expect(try store2.verifyChain().firstBrokenSeq == 7)
    }

    /// A long walk runs as stretches on several readers; a break in any, or rows missing
    /// where two meet, is named as one walk would.
    @Test func theStretchesOfALongWalkAreOneWalk() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("audit.sqlite")
        let store = try AuditStore(path: path, mode: .create)
        try store.append((0..<300).map { event($0) })
        func verify() throws -> AuditChain.Verification { try AuditChain.verify(store.database, parallelFrom: 10, chunkRows: 150, pages: false) }
        let intact = try verify()
        #expect(intact.isIntact && intact.checked == 300 && intact.lastSeq == 300)
        _ = try sqlite3(path, "DROP TRIGGER audit_event_is_append_only_update; DROP TRIGGER audit_event_is_append_only_delete;")
        _ = try sqlite3(path, "UPDATE audit_event SET latency_ms = 7 WHERE seq = 260;")
        #expect(try verify().firstBrokenSeq == 260, "a break in the second half")
        _ = try sqlite3(path, "UPDATE audit_event SET latency_ms = 7 WHERE seq = 20;")
        #expect(try verify().firstBrokenSeq == 20, "the first half's break comes first")
        let scratch2 = Scratch(); defer { scratch2.cleanUp() }
        let store2 = try AuditStore(path: scratch2.path("audit.sqlite"), mode: .create)
        try store2.append((0..<300).map { event($0) })
        _ = try sqlite3(scratch2.path("audit.sqlite"), "DROP TRIGGER audit_event_is_append_only_delete; DELETE FROM audit_event WHERE seq BETWEEN 148 AND 150;")
        let gap = try AuditChain.verify(store2.database, parallelFrom: 10, chunkRows: 150, pages: false)
        #expect(gap.firstBrokenSeq == 148 && gap.reason?.contains("missing") == true, "rows missing where the halves meet: \(gap)")
    }

    /// Whatever the stretch size, the parallel walk gives one walk's verdict (first broken
    /// row, reason, rows checked) for edits and deletions at, across and between the
    /// places where stretches meet.
    @Test func everyStretchSizeGivesOneWalksVerdict() throws {
        let cases: [(String, String)] = [
            ("intact", ""),
            ("edit 50", "UPDATE audit_event SET latency_ms = 7 WHERE seq = 50;"),
            ("edit 51", "UPDATE audit_event SET detail = 'x' WHERE seq = 51;"),
            ("edit 120 and 20", "UPDATE audit_event SET actor = 'x' WHERE seq IN (20, 120);"),
            ("transport of 101", "UPDATE audit_event SET transport = 'rest' WHERE seq = 101;"),
            ("hash of 100", "UPDATE audit_event SET hash = prev_hash WHERE seq = 100;"),
            ("prev_hash of 101", "UPDATE audit_event SET prev_hash = hash WHERE seq = 101;"),
            ("delete 1", "DELETE FROM audit_event WHERE seq = 1;"),
            ("delete 50", "DELETE FROM audit_event WHERE seq = 50;"),
            ("delete 50…51", "DELETE FROM audit_event WHERE seq BETWEEN 50 AND 51;"),
            ("delete 49…160", "DELETE FROM audit_event WHERE seq BETWEEN 49 AND 160;"),
            ("swap 100 and 101", "UPDATE audit_event SET seq = -1 WHERE seq = 100; UPDATE audit_event SET seq = 100 WHERE seq = 101; UPDATE audit_event SET seq = 101 WHERE seq = -1;"),
        ]
        for (name, edit) in cases {
            let scratch = Scratch(); defer { scratch.cleanUp() }
            let path = scratch.path("audit.sqlite")
            let store = try AuditStore(path: path, mode: .create)
            try store.append((0..<200).map { event($0) })
            _ = try sqlite3(path, "DROP TRIGGER audit_event_is_append_only_update; DROP TRIGGER audit_event_is_append_only_delete; " + edit)
            // The head is only reported (and only used) when the walk is intact.
            func verdict(_ v: AuditChain.Verification) -> String {
                "\(v.checked) \(v.firstBrokenSeq.map(String.init) ?? "-") \(v.reason ?? "-")" + (v.isIntact ? " \(v.lastSeq ?? -1) \(v.lastHash ?? "-")" : "")
            }
            let one = try AuditChain.verify(store.database, parallelFrom: .max, pages: false)
            #expect(one.isIntact == (name == "intact"), "\(name): \(one)")
            for size: Int64 in [1, 7, 50, 100, 199, 500] {
                for workers in [2, 3] {
                    let parallel = try AuditChain.verify(store.database, parallelFrom: 1, chunkRows: size, workers: workers, pages: false)
                    #expect(verdict(parallel) == verdict(one), "\(name), stretches of \(size) on \(workers): \(parallel) against one walk's \(one)")
                }
            }
        }
    }

    @Test func canonicalFormIsUnambiguous() {
        var a = event(1), b = event(1)
        a.detail = "x|y"; a.method = nil
        b.detail = "y"; b.method = "x|"
        #expect(AuditChain.canonical(a) != AuditChain.canonical(b))
        #expect(AuditChain.hash(a).count == 64)
    }
}

@Suite struct PagingTests {
    @Test func reviewQueueIsUndecidedFirstOldestFirstAndPagesBothWays() throws {
        let db = try GeneratedDatabases(calls: 600)
        defer { db.scratch.cleanUp() }
        var all: [ReviewItem] = []
        var cursor: ReviewCursor?
        repeat {
            let page = try db.audit.reviewQueue(after: cursor, limit: 37)
            all += page
            cursor = page.last?.cursor
            if page.count < 37 { break }
        } while true
        #expect(all.count == db.report.bookingsInWindow)
        #expect(Set(all.map(\.id)).count == all.count, "no row twice")
        let firstDecided = all.firstIndex(where: \.isDecided) ?? all.count
        #expect(all[firstDecided...].allSatisfy { $0.isDecided }, "undecided first")
        #expect(all.map(\.cursor) == all.map(\.cursor).sorted { ($0.decided ? 1 : 0, $0.bookedAt, $0.bookingId) < ($1.decided ? 1 : 0, $1.bookedAt, $1.bookingId) })
        // Paging back from the end gives the same rows.
        let tail = try db.audit.reviewQueueTail(limit: 37)
        #expect(tail.map(\.id) == all.suffix(37).map(\.id))
        let before = try db.audit.reviewQueue(before: all[100].cursor, limit: 10)
        #expect(before.map(\.id) == all[90..<100].map(\.id))
        // Undecided only, and a text filter.
        let undecided = try db.audit.reviewQueue(ReviewFilter(undecidedOnly: true), limit: 10_000)
        #expect(undecided.count == db.report.bookingsInWindow - db.report.decisions)
        let named = try db.audit.reviewQueue(ReviewFilter(text: "okafor"), limit: 10_000)
        #expect(!named.isEmpty && named.allSatisfy { $0.booking.providerRef?.contains("okafor") == true })
        // Names the console knows and the database does not: "Amara" is Practitioner/dr-okafor.
        let byName = try db.audit.reviewQueue(ReviewFilter(text: "Amara", providerRefs: ["Practitioner/dr-okafor"]), limit: 10_000)
        #expect(Set(byName.map(\.id)).isSuperset(of: named.map(\.id)))
        #expect(try db.audit.reviewCount(ReviewFilter(text: "Amara", providerRefs: ["Practitioner/dr-okafor"])) == byName.count)
    }

    @Test func auditPagesAreKeysetOnSeqWithFilters() throws {
        let db = try GeneratedDatabases(calls: 300)
        defer { db.scratch.cleanUp() }
        let first = try db.audit.auditEvents(limit: 50)
        #expect(first.count == 50 && first.first?.seq == Int64(db.report.auditRows))
        let second = try db.audit.auditEvents(before: first.last?.seq, limit: 50)
        #expect(second.first?.seq == first.last!.seq! - 1)
        let back = try db.audit.auditEvents(after: second.first!.seq!, limit: 50)
        #expect(back.map(\.seq) == first.reversed().map(\.seq))
        let failures = try db.audit.auditEvents(matching: AuditFilter(minimumOutcome: .seriousFailure), limit: 1_000)
        #expect(failures.allSatisfy { $0.outcome.rawValue >= 8 })
        let creates = try db.audit.auditEvents(matching: AuditFilter(action: "appointment.create"), limit: 5)
        #expect(creates.count == 5 && creates.allSatisfy { $0.action == "appointment.create" })
        let call = try #require(creates.first?.callId)
        let steps = try db.audit.steps(ofCall: call)
        #expect(steps.compactMap(\.seq) == steps.compactMap(\.seq).sorted() && steps.contains { $0.action == "appointment.create" })
    }

    @Test func callsInProgressAndOutboxByStatusPage() throws {
        let db = try GeneratedDatabases(calls: 600)
        defer { db.scratch.cleanUp() }
        let live = try db.audit.callsInProgress(limit: 100)
        #expect(live.count == 12 && live.allSatisfy(\.inProgress))
        let page1 = try db.audit.callsInProgress(limit: 5)
        let page2 = try db.audit.callsInProgress(after: CallCursor(page1.last!), limit: 100)
        #expect((page1 + page2).map(\.callId) == live.map(\.callId))
        let recent = try db.audit.recentCalls(limit: 3)
        #expect(recent.count == 3 && recent[0].startedAt >= recent[1].startedAt)
        let counts = try db.outbox.countsByStatus()
        for status in OutboxStatus.allCases { #expect(counts[status, default: 0] > 0, "no \(status) items") }
        let succeeded = try db.outbox.items(withStatus: .succeeded, limit: 10)
        let more = try db.outbox.items(withStatus: .succeeded, after: OutboxCursor(succeeded.last!), limit: 10)
        #expect(Set(succeeded.map(\.id)).isDisjoint(with: more.map(\.id)) && more.count == 10)
    }
}

@Suite struct ChangeWatchTests {
    @Test func seesAnotherConnectionsCommitWithoutReadingTables() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("audit.sqlite")
        let agent = try AuditStore(path: path, mode: .create)
        let watch = try ChangeWatch(path: path)
        #expect(try watch.hasChanged(), "the first look always counts")
        #expect(try watch.hasChanged() == false)
        try agent.recordAgentWork(calls: [Call(callId: "c1", startedAt: 1)])
        #expect(try watch.hasChanged())
        #expect(try watch.hasChanged() == false)
        _ = try sqlite3(path, "INSERT INTO call (call_id, started_at) VALUES ('c2', 2);")
        #expect(try watch.hasChanged(), "a commit by another process")
    }
}

@Suite struct HistoryTests {
    @Test func generatedHistoryFollowsTheContract() throws {
        let db = try GeneratedDatabases(calls: 1_500)
        defer { db.scratch.cleanUp() }
        #expect(try db.audit.verifyChain().checked == db.report.auditRows)
        let intents = try sqlite3(db.auditPath, "SELECT DISTINCT intent FROM call ORDER BY 1").split(separator: "\n").map(String.init)
        #expect(Set(intents) == Set(Workflow.allCases.map(\.rawValue)))
        let outcomes = try sqlite3(db.auditPath, "SELECT DISTINCT outcome FROM call WHERE outcome IS NOT NULL").split(separator: "\n").map(String.init)
        #expect(Set(outcomes) == Set(CallOutcome.allCases.map(\.rawValue)).subtracting(["failed"]))
        let kinds = try sqlite3(db.auditPath, "SELECT DISTINCT kind FROM booking").split(separator: "\n")
        #expect(kinds.count == 3)
        let outside = try sqlite3(db.auditPath, "SELECT count(*) FROM booking WHERE review_required = 0")
        #expect(Int(outside.trimmingCharacters(in: .whitespacesAndNewlines))! > 0, "bookings before the window too")
        let auditOutcomes = try sqlite3(db.auditPath, "SELECT DISTINCT outcome FROM audit_event ORDER BY 1").split(separator: "\n")
        #expect(auditOutcomes == ["0", "4", "8"])
        // Time order: rows are appended as things happened.
        let backwards = try sqlite3(db.auditPath, "SELECT count(*) FROM audit_event a JOIN audit_event b ON b.seq = a.seq + 1 WHERE b.at < a.at")
        #expect(backwards.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        // Every write queued an outbox item with an idempotency key.
        let writes = try sqlite3(db.auditPath, "SELECT count(DISTINCT call_id) FROM audit_event WHERE action = 'appointment.create' AND outcome = 0")
        #expect(Int(writes.trimmingCharacters(in: .whitespacesAndNewlines))! > 0)
        let keyless = try sqlite3(db.outboxPath, "SELECT count(*) FROM outbox_item WHERE idempotency_key = ''")
        #expect(keyless.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    @Test func theSameSeedWritesTheSameHistory() throws {
        let a = try GeneratedDatabases(calls: 200, seed: 42, name: "seedA")
        let b = try GeneratedDatabases(calls: 200, seed: 42, name: "seedB")
        defer { a.scratch.cleanUp(); b.scratch.cleanUp() }
        let lastA = try sqlite3(a.auditPath, "SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1")
        let lastB = try sqlite3(b.auditPath, "SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1")
        #expect(lastA == lastB && !lastA.isEmpty)
    }
}
