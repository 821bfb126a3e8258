import Foundation
import SwitchboardCore
@testable import SwitchboardStore
import SwitchboardTesting
import Testing

/// The chain walk over the table's pages (`TablePages`) vouches only for intact rows and
/// hands over to the statements walk from the first row it cannot vouch for, so its
/// verdicts are the statements walk's, on files with WAL frames, overflowing rows, and
/// bytes that are not what SQLite writes.
@Suite struct AuditPageWalkTests {
    func event(_ i: Int, detail: String? = nil) -> AuditEvent {
        AuditEvent(at: Int64(i), actor: "agent:a", callId: "call-\(i % 7)", action: "slot.search", ehrSystem: "epic",
                   transport: .fhir, method: "GET", resourceType: "Slot", outcome: .success, httpStatus: 200, latencyMs: 90,
                   attempt: 1, detail: detail ?? #"{"i":\#(i)}"#)
    }

    func verdict(_ v: AuditChain.Verification) -> String {
        "\(v.checked) \(v.firstBrokenSeq.map(String.init) ?? "-") \(v.reason ?? "-")" + (v.isIntact ? " \(v.lastSeq ?? -1) \(v.lastHash ?? "-")" : "")
    }

    func statementsWalk(_ store: AuditStore, from: Int64 = 1) throws -> AuditChain.Verification {
        try AuditChain.verify(store.database, fromSeq: from, parallelFrom: .max, pages: false)
    }

    /// What the page walk alone made of the file (nil: it did not apply).
    func pageWalk(_ store: AuditStore, from: Int64 = 1, leaves: Int = 2, workers: Int = 2) throws -> AuditChain.PageWalk? {
        try AuditChain.walkPages(store.database, from: from, workers: workers, leavesPerStretch: leaves, progress: nil)
    }

    /// Rows still in the WAL (the store's connection keeps it from being checkpointed)
    /// and rows in the file are both read, with every stretch size and reader count.
    @Test func anIntactChainIsVouchedForWholeFromTheFileAndTheWAL() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("audit.sqlite")
        let store = try AuditStore(path: path, mode: .create)
        try store.append((0..<300).map { event($0) })
        _ = try sqlite3(path, "PRAGMA wal_checkpoint(TRUNCATE);")
        try store.append((300..<420).map { event($0) })
        let walBytes = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        #expect(walBytes > 0, "the last rows are in the WAL")
        let one = try statementsWalk(store)
        #expect(one.isIntact && one.checked == 420)
        for leaves in [1, 2, 5, 1000] {
            for workers in [1, 2, 3] {
                guard case .intact(let found)? = try pageWalk(store, leaves: leaves, workers: workers) else {
                    Issue.record("leaves \(leaves), workers \(workers): the page walk did not vouch for the whole chain"); continue
                }
                #expect(verdict(found) == verdict(one))
            }
        }
        for from: Int64 in [2, 150, 301, 420] {
            guard case .intact(let found)? = try pageWalk(store, from: from) else { Issue.record("from \(from): not vouched"); continue }
            #expect(verdict(found) == verdict(try statementsWalk(store, from: from)), "from \(from)")
        }
    }

    /// Rows longer than a page spill into overflow pages; an edit deep in the spilled
    /// part is found at its row.
    @Test func rowsThatOverflowTheirPageAreReadWhole() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("audit.sqlite")
        let store = try AuditStore(path: path, mode: .create)
        try store.append((0..<60).map { event($0, detail: $0 % 10 == 3 ? String(repeating: "é\($0)", count: 700 * ($0 % 4 + 1)) : nil) })
        guard case .intact(let found)? = try pageWalk(store) else { Issue.record("overflowing rows were not vouched for"); return }
        #expect(found.checked == 60)
        _ = try sqlite3(path, "DROP TRIGGER audit_event_is_append_only_update; UPDATE audit_event SET detail = substr(detail, 1, 5000) || 'x' || substr(detail, 5002) WHERE seq = 34;")
        let broken = try AuditChain.verify(store.database), one = try statementsWalk(store)
        #expect(broken.firstBrokenSeq == 34 && verdict(broken) == verdict(one), "\(broken)")
    }

    /// Each change the statements walk finds, the page walk hands over at or before, and
    /// the whole verdict (rows checked, first bad row, reason) is the statements walk's.
    @Test func everyChangeGetsTheStatementsWalksVerdict() throws {
        let edits = [
            "UPDATE audit_event SET latency_ms = 7 WHERE seq = 50;",
            "UPDATE audit_event SET detail = NULL WHERE seq = 51;",
            "UPDATE audit_event SET at = 1.5 WHERE seq = 52;",
            "UPDATE audit_event SET actor = x'00ff' WHERE seq = 53;",
            "UPDATE audit_event SET transport = 'smtp' WHERE seq = 54;",
            "UPDATE audit_event SET outcome = 3 WHERE seq = 55;",
            "UPDATE audit_event SET hash = upper(hash) WHERE seq = 56;",
            "UPDATE audit_event SET prev_hash = '' WHERE seq = 57;",  // NOT NULL: the closest a hand edit gets
            "UPDATE audit_event SET http_status = 9223372036854775807, latency_ms = -9223372036854775808 WHERE seq = 58;",
            "DELETE FROM audit_event WHERE seq = 59;",
            "DELETE FROM audit_event WHERE seq >= 190;",
            "INSERT INTO audit_event SELECT 1000, at, actor, call_id, action, ehr_system, transport, method, resource_type, resource_id, outcome, http_status, latency_ms, attempt, detail, prev_hash, hash FROM audit_event WHERE seq = 200;",
            "UPDATE audit_event SET seq = -1 WHERE seq = 100; UPDATE audit_event SET seq = 100 WHERE seq = 101; UPDATE audit_event SET seq = 101 WHERE seq = -1;",
            "ALTER TABLE audit_event ADD COLUMN extra TEXT;",
            "VACUUM;",
        ]
        for edit in edits {
            let scratch = Scratch(); defer { scratch.cleanUp() }
            let path = scratch.path("audit.sqlite")
            let store = try AuditStore(path: path, mode: .create)
            try store.append((0..<200).map { event($0) })
            // Past the table's checks too: `transport = 'smtp'` is what a hand edit could write.
            _ = try sqlite3(path, "PRAGMA ignore_check_constraints = 1; DROP TRIGGER audit_event_is_append_only_update; "
                            + "DROP TRIGGER audit_event_is_append_only_delete; " + edit)
            let one = try statementsWalk(store)
            for leaves in [1, 3] {
                let found = try AuditChain.verify(store.database, leavesPerStretch: leaves)
                #expect(verdict(found) == verdict(one), "\(edit) (\(leaves) leaves a stretch): \(found) against \(one)")
            }
        }
    }

    /// Bytes flipped anywhere in the table's pages never trap the walk, and it never
    /// calls intact what the statements walk finds broken.
    @Test func flippedBytesNeverTrapOrVouchForABrokenRow() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let original = scratch.path("original.sqlite")
        let store = try AuditStore(path: original, mode: .create)
        try store.append((0..<400).map { event($0, detail: $0 % 50 == 7 ? String(repeating: "z", count: 9000) : nil) })
        // One file, no WAL: the store closed first (its connections kept the mode from changing).
        try store.close()
        _ = try sqlite3(original, "PRAGMA journal_mode = DELETE;")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: original))
        var random = SeededRandom(seed: 7)
        var walked = 0
        defer { #expect(walked >= 30, "most flipped copies still open and are walked: \(walked) of 60") }
        for round in 0..<60 {
            let path = scratch.path("flip-\(round).sqlite")
            var copy = bytes
            // Pages after the first (the schema page): where the table's rows and tree live.
            for _ in 0...(round % 4) {
                let at = 4096 + Int(random.next() % UInt64(copy.count - 4096))
                copy[at] ^= UInt8(1 + random.next() % 255)
            }
            try copy.write(to: URL(fileURLWithPath: path))
            guard let flipped = try? AuditStore(path: path, mode: .readOnly) else { continue }
            walked += 1
            let one = Result { try statementsWalk(flipped) }
            let found = Result { try AuditChain.verify(flipped.database) }
            switch (one, found) {
            case (.success(let a), .success(let b)):
                #expect(verdict(a) == verdict(b), "round \(round): \(b) against \(a)")
            case (.failure, .success(let b)):
                // SQLite refused a page (its own checks) whose rows the page walk found intact.
                #expect(b.checked > 0, "round \(round)")
            default:
                break
            }
        }
    }

    /// The agent keeps appending and checkpointing (the WAL backfilled and restarted) while
    /// the chain is walked: each walk vouches for a whole, consistent chain up to the
    /// head of its read, or leaves it to the statements walk, never half of one.
    @Test func aWalkBesideAWritingAgentSeesOneConsistentChain() async throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("audit.sqlite")
        let writer = try AuditStore(path: path, mode: .create)
        try writer.append((0..<2000).map { event($0) })
        let reader = try AuditStore(path: path, mode: .readOnly)
        let agent = Task.detached { () -> Int in
            var i = 2000
            while !Task.isCancelled && i < 10_000 {
                _ = try writer.append((i..<(i + 25)).map { event($0, detail: $0 % 40 == 0 ? String(repeating: "d", count: 6000) : nil) })
                i += 25
                // A passive checkpoint never waits for the walk; once the WAL is all in the
                // file and no reader is on it, the next append starts it over.
                if i % 100 == 0 { try await writer.database.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)") } }
            }
            return i
        }
        var vouched = 0
        for round in 0..<40 {
            switch try pageWalk(reader) {
            case .intact(let found)?:
                vouched += 1
                #expect(found.checked >= 2000 && found.lastSeq == Int64(found.checked), "round \(round): \(found)")
            case .readFrom(let seq, _)?:
                Issue.record("round \(round): gave up at row \(seq) of an intact chain")
            case nil:
                break  // the WAL restarted under the walk: the statements walk answers
            }
            #expect(try AuditChain.verify(reader.database).isIntact, "round \(round)")
            try await Task.sleep(for: .milliseconds(5))
        }
        agent.cancel()
        let appended = try await agent.value
        #expect(appended > 3000, "the agent appended while the chain was walked")
        #expect(vouched >= 20, "the page walk answered \(vouched) of 40 walks")
    }

    /// Rows a running agent appends after the walk read are walked before the anchors are
    /// held against the head: "intact" covers every row up to the head it reports, and a
    /// changed row among the late ones is found.
    @Test func rowsAppendedAfterTheWalkAreWalkedBeforeTheAnchors() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("audit.sqlite")
        let store = try AuditStore(path: path, mode: .create)
        try store.append((0..<100).map { event($0) })
        let early = try store.verifyChain()
        try store.append((100..<120).map { event($0) })
        let report = try AuditVerifier(audit: store).checkAnchors(after: early)
        #expect(report.intact && report.rowsChecked == 120 && report.headSeq == 120, "\(report)")
        let later = try store.verifyChain()
        try store.append((120..<130).map { event($0) })
        _ = try sqlite3(path, "DROP TRIGGER audit_event_is_append_only_update; UPDATE audit_event SET latency_ms = 7 WHERE seq = 125;")
        let broken = try AuditVerifier(audit: store).checkAnchors(after: later)
        #expect(!broken.intact && broken.firstBadSeq == 125 && broken.rowsChecked == 124, "\(broken)")
    }

    /// A file the page reader does not follow is walked by statements alone.
    @Test func anotherShapeIsLeftToTheStatementsWalk() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("audit.sqlite")
        let store = try AuditStore(path: path, mode: .create)
        try store.append((0..<30).map { event($0) })
        #expect(try pageWalk(store) != nil)
        _ = try sqlite3(path, "ALTER TABLE audit_event ADD COLUMN extra TEXT;")
        #expect(try pageWalk(store) == nil, "an 18th column")
        #expect(try AuditChain.verify(store.database).isIntact)
    }
}
