import Foundation
import SwitchboardTesting
import Testing

/// The real console in tmux on generated databases: keys in, screen and databases out.
@Suite(.enabled(if: Tmux.isAvailable, "needs tmux"), .timeLimit(.minutes(2)))
struct ReviewConsoleTests {
    /// `a` on the first row records one decision (the OS user as operator) and one audit
    /// row, and the selection moves on to the next booking; `u` within 5 s takes it back.
    @Test func approveThenUndo() async throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let db = try E2E.generate(scratch)
        let tmux = try E2E.console(scratch, db)
        defer { tmux.kill() }

        try await tmux.waitForReviewList()
        #expect(try tmux.reverseVideoLines() == [3], "the first row is selected at start")
        let first = try await tmux.selectedBookingId()
        try tmux.send("j")
        let second = try await tmux.selectedBookingId()
        try tmux.send("k")
        #expect(try E2E.value(db.audit, "SELECT count(*) FROM review_decision WHERE booking_id = '\(first)'") == "0")

        // Messages name the patient, not the booking id.
        let patient = try E2E.value(db.audit, "SELECT patient_display FROM booking WHERE booking_id = '\(first)'")
        try tmux.send("a")
        try await tmux.waitFor("Approved \(patient)'s")
        #expect(try E2E.rows(db.audit, "SELECT decision, operator FROM review_decision WHERE booking_id = '\(first)'")
                == [["approved", E2E.user]])
        #expect(try E2E.reviewAudit(db.audit, first) == ["operator:\(E2E.user)|review.approve"])
        let afterApprove = try await tmux.selectedBookingId()
        #expect(afterApprove == second, "after approving, the selection is on the next booking")

        try tmux.send("u")
        try await tmux.waitFor("Approval of \(patient)'s")
        #expect(try E2E.value(db.audit, "SELECT count(*) FROM review_decision WHERE booking_id = '\(first)'") == "0")
        #expect(try E2E.value(db.audit, "SELECT decided FROM booking WHERE booking_id = '\(first)'") == "0")
        #expect(try E2E.reviewAudit(db.audit, first) == ["operator:\(E2E.user)|review.approve", "operator:\(E2E.user)|review.undo"])

        // Only the last approval can be undone, once.
        try tmux.send("u")
        try await tmux.waitFor("Nothing to undo")
        #expect(try E2E.reviewAudit(db.audit, first).count == 2)
    }

    /// Bulk approve acts on exactly the selected rows, and only after the confirm dialog,
    /// whose focused choice (Enter) is Cancel.
    @Test func bulkApproveExactlyTheSelected() async throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let db = try E2E.generate(scratch)
        let tmux = try E2E.console(scratch, db)
        defer { tmux.kill() }
        let decisions = "SELECT booking_id, operator FROM review_decision ORDER BY booking_id"

        try await tmux.waitForReviewList()
        var selected: [String] = []
        for _ in 0..<3 {
            selected.append(try await tmux.selectedBookingId())
            try tmux.send("Space", "j")
        }
        #expect(Set(selected).count == 3)
        let before = try E2E.rows(db.audit, decisions)

        try tmux.send("A")
        try await tmux.waitFor("Approve 3 selected bookings?", "Cancel")
        try tmux.send("Enter")
        try await tmux.waitFor("Nothing approved.")
        #expect(try E2E.rows(db.audit, decisions) == before, "Enter on the focused Cancel writes nothing")

        try tmux.send("A")
        try await tmux.waitFor("Approve 3 selected bookings?")
        try tmux.send("y")
        try await tmux.waitFor("Approved 3 of 3.")
        let after = try E2E.rows(db.audit, decisions)
        let added = Set(after.map { $0.joined(separator: "|") }).subtracting(before.map { $0.joined(separator: "|") })
        #expect(added == Set(selected.map { "\($0)|\(E2E.user)" }))
        #expect(after.count == before.count + 3)
        for id in selected {
            #expect(try E2E.reviewAudit(db.audit, id) == ["operator:\(E2E.user)|review.approve"])
        }
    }

    /// Two consoles on the same databases press `a` on the same row at the same moment:
    /// one decision is recorded, and the other console says who approved it.
    @Test func twoConsolesRacingOnTheSameRow() async throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let db = try E2E.generate(scratch)
        let left = try E2E.console(scratch, db, name: "raceLeft")
        defer { left.kill() }
        let right = try E2E.console(scratch, db, name: "raceRight")
        defer { right.kill() }
        try await left.waitForReviewList()
        try await right.waitForReviewList()

        for round in 1...3 {
            // Both on the first undecided row (g), and it is the same booking.
            try left.send("g")
            try right.send("g")
            let id = try await left.selectedBookingId()
            #expect(try await right.selectedBookingId() == id, "round \(round): both consoles are on the same booking")

            try Tmux.sendTogether([left, right], "a")
            let patient = try E2E.value(db.audit, "SELECT patient_display FROM booking WHERE booking_id = '\(id)'")
            let approved = "Approved \(patient)'s"
            let refused = "\(patient)'s"  // booking, move or cancellation
            let refusedBy = " was already approved by \(E2E.user) at "
            var seen: [String: String] = [:]
            let deadline = Date().addingTimeInterval(10)
            while seen.count < 2 && Date() < deadline {
                for (name, tmux) in [("left", left), ("right", right)] where seen[name] == nil {
                    // A long name carries the message over onto the status line.
                    let screen = try tmux.flowingText()
                    if screen.contains(approved) { seen[name] = "approved" }
                    if screen.contains(refused + " "), screen.contains(refusedBy) { seen[name] = "refused" }
                }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            let screens = "left:\n\(try left.capture())\nright:\n\(try right.capture())"
            #expect(seen.values.sorted() == ["approved", "refused"],
                    "round \(round): one console approves, the other is told who did; saw \(seen)\n\(screens)")
            #expect(try E2E.value(db.audit, "SELECT count(*) FROM review_decision WHERE booking_id = '\(id)'") == "1")
            #expect(try E2E.reviewAudit(db.audit, id) == ["operator:\(E2E.user)|review.approve"])
        }
    }
}
