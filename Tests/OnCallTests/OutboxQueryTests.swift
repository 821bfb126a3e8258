import Foundation
import SwitchboardCore
import SwitchboardStore
import SwitchboardTesting
import Testing

/// The command line's outbox reads on a real file: the merge across statuses keeps the
/// oldest-first order over page boundaries, and the last tries come a page at a time.
@Suite struct OutboxQueryTests {
    @Test func pagesMergeAcrossStatusesOldestFirst() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        let statuses: [OutboxStatus] = [.pending, .failed, .dead, .succeeded, .discarded, .inFlight]
        var expected: [String] = []
        for n in 0 ..< 40 {
            let id = String(format: "ob-%02d", n)
            // Two items share each creation time: the id breaks the tie.
            try site.item(id, status: statuses[(n * 7) % statuses.count], createdAt: 1_800_000_000_000 + Int64(n / 2) * 1_000, attempts: n % 3)
            expected.append(id)
        }
        for pageSize in [1, 3, 7, 100] {
            var seen: [String] = [], pages = 0
            try site.outbox.forEachPage(matching: OutboxQuery(), now: Clock.nowMillis(), pageSize: pageSize) { page in
                #expect(page.count <= pageSize)
                seen += page.map(\.id); pages += 1
                return true
            }
            #expect(seen == expected, "page size \(pageSize)")
        }
        var stuck: [String] = []
        try site.outbox.forEachPage(matching: OutboxQuery(statuses: [.failed, .dead]), now: Clock.nowMillis(), pageSize: 2) { page in
            stuck += page.map(\.id); return stuck.count < 4
        }
        #expect(stuck.count == 4)
        #expect(try site.outbox.ids(matching: OutboxQuery(statuses: [.failed, .dead]), now: Clock.nowMillis(), pageSize: 3).prefix(4) == stuck[...])

        _ = try sqlite3(site.outboxPath, "INSERT INTO outbox_attempt (item_id, attempt, started_at, ended_at, outcome, ack_code) VALUES ('ob-02', 2, 1, 2, 'permanent', 'AR')")
        let last = try site.outbox.lastAttempts(ofItems: expected)
        #expect(last["ob-02"]?.attempt == 2 && last["ob-02"]?.ackCode == "AR")
        #expect(last["ob-00"] == nil)
    }
}
