import Foundation
import SwitchboardCore
import SwitchboardStore
import SwitchboardTesting
import Testing

/// `switchboard handoff` against a shift whose decisions are known.
@Suite struct HandoffTests {
    static let hour: Int64 = 3_600_000

    /// A shift with known decisions: two operators, three correction categories, one
    /// decision from before the shift, two undecided bookings (one overdue), a dead item
    /// left alone and a failed one retried, and an alert that started.
    @Test func theHandoffCountsTheShiftsDecisionsAndWhatIsLeft() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        let now = Clock.nowMillis()
        try site.configure(top: "go_live_start = \"\(iso8601(now - 20 * Self.hour))\"")
        for n in 0 ..< 10 { try site.booking("bk-\(n)", bookedAt: now - 12 * Self.hour + Int64(n) * 60_000) }
        try site.booking("bk-late", bookedAt: now - 3 * Self.hour)
        try site.booking("bk-new", bookedAt: now - 10 * 60_000)
        // Before the shift (10 h ago): not counted.
        try site.decide("bk-0", .approved, by: "nightowl", at: now - 10 * Self.hour)
        try site.decide("bk-1", .approved, by: "maria", at: now - 7 * Self.hour)
        try site.decide("bk-2", .approved, by: "maria", at: now - 6 * Self.hour)
        try site.decide("bk-3", .corrected, by: "maria", category: "wrong_time", at: now - 5 * Self.hour)
        try site.decide("bk-4", .approved, by: "maria", at: now - 4 * Self.hour)
        try site.decide("bk-5", .corrected, by: "maria", category: "wrong_provider", at: now - 3 * Self.hour)
        try site.decide("bk-6", .approved, by: "devon", at: now - 2 * Self.hour)
        try site.decide("bk-7", .corrected, by: "devon", category: "wrong_time", at: now - 1 * Self.hour)
        try site.decide("bk-8", .approved, by: "devon", at: now - 30 * 60_000)
        try site.decide("bk-9", .corrected, by: "devon", category: "should_not_exist", at: now - 20 * 60_000)
        // Devon approves one more, then takes it back: it stands undecided again.
        try site.booking("bk-x", bookedAt: now - 5 * 60_000)
        try site.decide("bk-x", .approved, by: "devon", at: now - 4 * 60_000)
        _ = try site.audit.undoApproval(bookingId: "bk-x", operator: "devon", now: now - 4 * 60_000 + 1_000, withinMillis: 5_000)
        try site.item("ob-stuck", status: .dead, createdAt: now - 2 * Self.hour, error: "HTTP 422: unprocessable", httpStatus: 422, bookingId: "bk-3")
        try site.item("ob-f", status: .failed, createdAt: now - Self.hour, error: "HTTP 502", httpStatus: 502)
        #expect(try site.switchboard(["outbox", "retry", "ob-f", "--yes"]).status == 0)
        #expect(try site.switchboard(["check"]).status == 2)  // item_dead (critical), correction_rate and booking_overdue start
        // An operator planned an outage during the shift: the hand-off names it.
        let outage = try site.switchboard(["outage", "plan", "--from", iso8601(now - 2 * Self.hour), "--to", iso8601(now - Self.hour),
                                           "--reason", "EHR vendor maintenance"])
        #expect(outage.status == 0, "\(outage.stderr)")

        let json = try site.switchboard(["handoff", "--since", "8h", "--format", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        let h = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let byOperator = try #require(h["decisions_by_operator"] as? [[String: Any]])
        #expect(byOperator.map { "\($0["operator"]!) \($0["approved"]!)/\($0["corrected"]!)" } == ["maria 3/2", "devon 2/2"])
        #expect(h["corrections"] as? [String: Int] == ["wrong_time": 2, "wrong_provider": 1, "should_not_exist": 1])
        #expect(byOperator.map { $0["undone"] as? Int } == [0, 1])
        #expect(h["undecided"] as? Int == 3 && h["overdue"] as? Int == 1)
        let oldest = try #require(h["oldest_undecided"] as? [[String: Any]])
        #expect(oldest.map { $0["booking_id"] as? String } == ["bk-late", "bk-new", "bk-x"])
        #expect(oldest.map { $0["overdue"] as? Bool } == [true, false, false])
        #expect((h["window_left_ms"] as? Int).map { abs($0 - Int(28 * Self.hour)) < 120_000 } == true)
        #expect((h["stuck"] as? [[String: Any]])?.map { $0["id"] as? String } == ["ob-stuck"])
        let actions = try #require(h["outbox_actions"] as? [[String: Any]])
        #expect(actions.map { "\($0["action"]!) \($0["item_id"]!)" } == ["retry ob-f"])
        #expect((h["alerts"] as? [[String: Any]])?.compactMap { ($0["alert"] as? [String: Any])?["rule"] as? String }
                == ["item_dead", "correction_rate", "booking_overdue"])

        let markdown = try site.switchboard(["handoff"])
        #expect(markdown.status == 0)
        for line in ["## Decisions", "- maria: 3 approved, 2 corrected", "- devon: 2 approved, 2 corrected, 1 approval undone", "- wrong time: 2", "- should not exist: 1",
                     "3 undecided, 1 overdue", "bk-late", "**overdue**", "- ob-stuck dead appointment.create (booking bk-3): HTTP 422: unprocessable; nothing done yet",
                     "retry ob-f", "started: item_dead (critical)", "## Planned outages", "EHR vendor maintenance (planned by"] {
            #expect(markdown.stdout.contains(line), "missing \(line) in\n\(markdown.stdout)")
        }
        #expect(!markdown.stdout.contains("nightowl"))
        let bad = try site.switchboard(["handoff", "--since", "yesterday"])
        #expect(bad.status == 64)
    }

    /// The EHR's answers and discard reasons can name the patient: a viewer's hand-off
    /// keeps the items and actions, not their text.
    @Test func aViewersHandoffHidesErrorsAndDiscardReasons() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        let now = Clock.nowMillis()
        _ = try site.item("ob-stuck", status: .dead, createdAt: now - Self.hour, error: "HTTP 422: Omar Sahin is already booked", httpStatus: 422)
        _ = try site.item("ob-gone", status: .failed, createdAt: now - Self.hour, error: "HTTP 502", httpStatus: 502)
        #expect(try site.switchboard(["outbox", "discard", "ob-gone", "--reason", "Mrs Sahin rebooked by phone", "--yes"]).status == 0)
        let asOperator = try site.switchboard(["handoff"])
        #expect(asOperator.stdout.contains("Omar Sahin is already booked") && asOperator.stdout.contains("Mrs Sahin rebooked"), "\(asOperator.stdout)")
        let viewer = try site.scratch.policy(everyone: "viewer")
        for format in ["markdown", "json"] {
            let shown = try site.switchboard(["handoff", "--format", format], policy: viewer)
            #expect(shown.status == 0 && shown.stdout.contains("ob-stuck") && shown.stdout.contains("ob-gone"), "\(shown.stdout) \(shown.stderr)")
            #expect(!shown.stdout.contains("Sahin") && shown.stdout.contains("•••"), "\(shown.stdout)")
        }
    }
}
