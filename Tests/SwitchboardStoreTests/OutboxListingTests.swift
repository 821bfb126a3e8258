import Foundation
import SwitchboardCore
import SwitchboardStore
import SwitchboardTesting
import Testing

/// The Outbox screen's lists: several statuses and held items merged oldest first, paged
/// by keyset both ways, narrowed by text, and served by the contract's indexes.
@Suite struct OutboxListingTests {
    final class Outbox: @unchecked Sendable {
        let scratch = Scratch("OutboxListingTests")
        let store: OutboxStore
        var path: String { scratch.path("outbox.sqlite") }

        /// 30 items: statuses in turn (failed, dead, pending, succeeded, …), one pending item held.
        init() throws {
            store = try OutboxStore(path: scratch.path("outbox.sqlite"), mode: .create)
            let cycle: [OutboxStatus] = [.failed, .dead, .pending, .succeeded, .discarded, .inFlight]
            try store.enqueue((0..<30).map { n in
                var item = sampleOutboxItem(String(format: "ob-%02d", n), createdAt: 1_000 + Int64(n / 2))  // ties on created_at
                item.status = cycle[n % cycle.count]
                item.nextAttemptAt = n == 8 ? OutboxItem.heldUntilDecided : 5_000
                item.lastError = n % 6 == 0 ? "HTTP 503 Service Unavailable" : nil
                if n == 13 { item.bookingId = "bk-0000042" }
                return item
            })
        }
        deinit { scratch.cleanUp() }
    }

    static let stuck = OutboxListing(statuses: [.failed, .dead], held: .include)

    /// A screen of bookings' items in one statement: each booking's items as the
    /// one-booking read gives them (oldest first), bookings without any left out, and more
    /// bookings than one statement takes (500) still all answered.
    @Test func itemsOfManyBookingsReadAsEachBookingsOwn() throws {
        let scratch = Scratch("OutboxListingTests")
        defer { scratch.cleanUp() }
        let store = try OutboxStore(path: scratch.path("outbox.sqlite"), mode: .create)
        try store.enqueue((0..<1_200).map { n in
            var item = sampleOutboxItem(String(format: "ob-%04d", n), createdAt: 10_000 - Int64(n % 7))  // ties and reverse order
            item.bookingId = n % 5 == 4 ? nil : "bk-\(n % 600)"
            return item
        })
        let bookings = (0..<700).map { "bk-\($0)" }  // 480 with items (2 each), 220 without
        let found = try store.items(forBookings: bookings + ["bk-1"])
        #expect(found.count == 480)
        for booking in bookings {
            let own = try store.items(forBooking: booking)
            #expect((found[booking] ?? []).map(\.id) == own.map(\.id), "\(booking)")
        }
        #expect(try store.items(forBookings: []).isEmpty)
    }

    @Test func stuckMergesFailedDeadAndHeldOldestFirstAndPagesBothWays() throws {
        let outbox = try Outbox()
        let all = try outbox.store.items(Self.stuck, after: nil, limit: 100)
        #expect(all.map(\.id) == ["ob-00", "ob-01", "ob-06", "ob-07", "ob-08", "ob-12", "ob-13", "ob-18", "ob-19", "ob-24", "ob-25"])
        #expect(all.contains { $0.isHeld })

        var forward: [String] = []
        var cursor: OutboxCursor?
        while true {
            let page = try outbox.store.items(Self.stuck, after: cursor, limit: 3)
            if page.isEmpty { break }
            forward += page.map(\.id)
            cursor = OutboxCursor(page.last!)
        }
        #expect(forward == all.map(\.id))

        var backward: [String] = []
        cursor = nil
        while true {
            let page = try outbox.store.items(Self.stuck, before: cursor, limit: 4)
            if page.isEmpty { break }
            backward = page.map(\.id) + backward
            cursor = OutboxCursor(page.first!)
        }
        #expect(backward == all.map(\.id))
    }

    @Test func pendingLeavesHeldItemsToTheStuckList() throws {
        let outbox = try Outbox()
        let pending = try outbox.store.items(OutboxListing(statuses: [.pending]), after: nil, limit: 100)
        #expect(pending.map(\.id) == ["ob-02", "ob-14", "ob-20", "ob-26"])
        #expect(try outbox.store.heldCount() == 1)
        #expect(try outbox.store.countsByStatus()[.pending] == 5)
    }

    @Test func textFindsOperationBookingAndErrorCaseBlind() throws {
        let outbox = try Outbox()
        let everything: [OutboxStatus] = OutboxStatus.allCases
        func ids(_ text: String) throws -> [String] {
            try outbox.store.items(OutboxListing(statuses: everything, text: text), after: nil, limit: 100).map(\.id)
        }
        #expect(try ids("503 SERVICE") == ["ob-00", "ob-06", "ob-12", "ob-18", "ob-24"])
        #expect(try ids("bk-0000042") == ["ob-13"])
        #expect(try ids("appointment.create").count == 29, "held items are not in any status list without .include")
        #expect(try ids("nothing like this").isEmpty)
    }

    /// Every part is read through an index, never a scan of the table.
    @Test func everyPartUsesAnIndex() throws {
        let outbox = try Outbox()
        // INDEXED BY makes SQLite refuse a query it cannot serve from the named index.
        for status in OutboxStatus.allCases {
            _ = try outbox.store.items(OutboxListing(statuses: [status], held: .include, text: "x"),
                                       before: OutboxCursor(createdAt: 2_000, id: "z"), limit: 5)
        }
        // Left to itself SQLite would walk every pending item (status = 'pending'); held ones
        // are found through the partial due index instead.
        let plan = try sqlite3(outbox.path, """
            EXPLAIN QUERY PLAN SELECT * FROM outbox_item INDEXED BY outbox_item_due
            WHERE status IN ('pending', 'failed') AND next_attempt_at = 9223372036854775807
            AND status = 'pending' ORDER BY created_at, id LIMIT 5
            """)
        #expect(plan.contains("outbox_item_due"), "\(plan)")
    }
}
