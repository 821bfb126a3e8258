import SwitchboardCore
import SwitchboardStore
import TerminalUI

/// What the on-call staff look at, one view at a time; stuck items first.
enum OutboxView: Int, CaseIterable, Sendable {
    /// Failed, dead, and corrections held for a decision that was never recorded.
    case stuck, pending, inFlight, succeeded, discarded

    var title: String {
        switch self {
        case .stuck: "Stuck"
        case .pending: "Pending"
        case .inFlight: "In flight"
        case .succeeded: "Succeeded"
        case .discarded: "Discarded"
        }
    }

    func listing(text: String?) -> OutboxListing {
        switch self {
        case .stuck: OutboxListing(statuses: [.failed, .dead], held: .include, text: text)
        case .pending: OutboxListing(statuses: [.pending], text: text)
        case .inFlight: OutboxListing(statuses: [.inFlight], text: text)
        case .succeeded: OutboxListing(statuses: [.succeeded], text: text)
        case .discarded: OutboxListing(statuses: [.discarded], text: text)
        }
    }

    /// The view's length from the per-status counts.
    func count(in tally: OutboxTally) -> Int {
        switch self {
        case .stuck: tally.stuck
        case .pending: tally.counts[.pending, default: 0] - tally.held
        case .inFlight: tally.counts[.inFlight, default: 0]
        case .succeeded: tally.counts[.succeeded, default: 0]
        case .discarded: tally.counts[.discarded, default: 0]
        }
    }
}

/// Items per status and held, counted together off the UI thread.
public struct OutboxTally: Sendable, Equatable {
    var counts: [OutboxStatus: Int]
    /// Pending items held for a decision (also counted in `pending`).
    var held: Int
    var stuck: Int { counts[.failed, default: 0] + counts[.dead, default: 0] + held }

    static func count(_ store: OutboxStore) throws -> OutboxTally {
        OutboxTally(counts: try store.countsByStatus(), held: try store.heldCount())
    }
}

/// One Outbox view as a table's paged source: keyset pages straight from the store.
final class OutboxSource: PagedSource, StoreBackedSource {
    let store: OutboxStore
    var view: OutboxView = .stuck
    var text: String?
    /// The view's length when counted and unfiltered; nil otherwise.
    var knownTotal: Int?
    /// The last error, shown by the screen instead of crashing or freezing.
    var failure: String?

    init(store: OutboxStore) { self.store = store }

    var listing: OutboxListing { view.listing(text: text) }

    func id(of row: OutboxItem) -> String { row.id }

    func rows(after row: OutboxItem?, limit: Int) -> [OutboxItem] {
        attempt { try store.items(listing, after: row.map(OutboxCursor.init), limit: limit) } ?? []
    }

    func rows(before row: OutboxItem?, limit: Int) -> [OutboxItem] {
        attempt { try store.items(listing, before: row.map(OutboxCursor.init), limit: limit) } ?? []
    }

    func count() -> Int? { knownTotal }

}
