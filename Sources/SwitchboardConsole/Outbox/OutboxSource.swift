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

    func listing(text: String?, searchesErrors: Bool) -> OutboxListing {
        let (statuses, held): ([OutboxStatus], OutboxListing.Held) = switch self {
        case .stuck: ([.failed, .dead], .include)
        case .pending: ([.pending], .exclude)
        case .inFlight: ([.inFlight], .exclude)
        case .succeeded: ([.succeeded], .exclude)
        case .discarded: ([.discarded], .exclude)
        }
        return OutboxListing(statuses: statuses, held: held, text: text, searchesErrors: searchesErrors)
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
struct OutboxTally: Sendable, Equatable {
    var counts: [OutboxStatus: Int]
    /// Pending items held for a decision (also counted in `pending`).
    var held: Int
    var stuck: Int { counts[.failed, default: 0] + counts[.dead, default: 0] + held }

    static func count(_ store: OutboxStore) throws -> OutboxTally {
        OutboxTally(counts: try store.countsByStatus(), held: try store.heldCount())
    }
}

/// One Outbox view as a table's paged source: keyset pages straight from the store.
/// Only the operations runner reads through it.
struct OutboxSource: PagedSource, Sendable {
    let store: OutboxStore
    let query: OutboxQuery
    /// The view's length from the counts read in the same snapshot (nil while a filter narrows it).
    let total: Int?

    func rows(after row: OutboxItem?, limit: Int) throws -> [OutboxItem] {
        try store.items(query.listing, after: row.map(OutboxCursor.init), limit: limit)
    }

    func rows(before row: OutboxItem?, limit: Int) throws -> [OutboxItem] {
        try store.items(query.listing, before: row.map(OutboxCursor.init), limit: limit)
    }

    func count() -> Int? { total }
}

/// Which items the Outbox screen lists: a view and an optional text filter.
struct OutboxQuery: Sendable, Equatable {
    var view: OutboxView = .stuck
    var text: String?
    /// False for a viewer, from whom the errors are hidden (see `OutboxListing`).
    var searchesErrors = true
    var listing: OutboxListing { view.listing(text: text, searchesErrors: searchesErrors) }
}

/// What the Outbox screen asks the operations runner to do.
enum OutboxWork: Sendable {
    /// The rows around `anchor`, the per-status counts and the open item, read together.
    case snapshot(OutboxQuery, anchor: OutboxItem?, chunk: Int, details: String?)
    case page(OutboxQuery, TableNeed<OutboxItem>, limit: Int)
    case retry([String])
    case discard([String], reason: String)
    /// The ids the query matches now, for a bulk action on everything in the view.
    case matching(OutboxQuery, then: Bulk)

    enum Bulk: Sendable { case retry, discard }
    /// A viewer shows the patient details of one item (its audit row first).
    case reveal(itemId: String, callId: String?)
}

struct OutboxSnapshot: Sendable {
    var query: OutboxQuery
    /// The item the rows were read around (the one selected when the read started).
    var anchorId: String?
    var window: TableWindow<OutboxItem>
    var tally: OutboxTally
    var details: OutboxRecord?
}

/// What an operator's action did, for the screen to say.
struct OutboxActed: Sendable {
    var text: String
    var isError: Bool
    var done: [String]
}

extension OperationsRunner {
    func perform(_ work: OutboxWork) async -> ConsoleMessage? {
        guard let outbox, let actions = outboxActions else { return nil }
        let audit = audit
        switch work {
        case .reveal(let id, let callId):
            return .outbox(.revealed(itemId: id, await recordReveal(screen: "outbox", fields: ["item_id": id], callId: callId)))
        case .snapshot(let query, let anchor, let chunk, let details):
            return .outbox(.snapshot(await read {
                // Counts and rows from one read of the outbox, so the tabs and the list agree.
                try outbox.snapshot {
                    let tally = try OutboxTally.count(outbox)
                    let source = OutboxSource(store: outbox, query: query, total: query.text == nil ? query.view.count(in: tally) : nil)
                    var window = try source.window(around: anchor, chunk: chunk)
                    if query.text == nil, window.reachesStart, window.firstPosition == nil { window.firstPosition = 1 }
                    return OutboxSnapshot(query: query, anchorId: anchor?.id, window: window, tally: tally,
                                          details: try details.flatMap { try OutboxRecord.read(itemId: $0, outbox: outbox, audit: audit) })
                }
            }))
        case .page(let query, let need, let limit):
            return .outbox(.page(query, await read { try OutboxSource(store: outbox, query: query, total: nil).page(for: need, limit: limit) }))
        case .matching(let query, let action):
            return .outbox(.matching(query, then: action, await read { try outbox.ids(in: query.listing) }))
        case .retry(let ids):
            let now = Clock.nowMillis()
            let result = await write { try actions.retryAll(ids, now: now) }
            switch result {
            case .failure(let failure): return .outbox(.acted(OutboxActed(text: "Not retried: \(failure.text)", isError: true, done: [])))
            case .success(let outcome):
                if let why = outcome.notAllowed { return .outbox(.acted(OutboxActed(text: why, isError: true, done: []))) }
                var text: String
                if ids.count == 1, let first = outcome.refused.first {
                    text = first.why
                } else if ids.count == 1 {
                    text = "Retrying \(ids[0]) now: the agent's worker sends it next."
                } else {
                    text = "Retrying \(outcome.done.count) of \(ids.count) now."
                    if let first = outcome.refused.first { text += " \(outcome.refused.count) refused, e.g. \(first.why)." }
                }
                return .outbox(.acted(OutboxActed(text: text, isError: !outcome.refused.isEmpty, done: outcome.done)))
            }
        case .discard(let ids, let reason):
            let now = Clock.nowMillis()
            let result = await write { () throws -> ([String], [String]) in
                var done: [String] = [], refused: [String] = []
                for id in ids {
                    switch try actions.discard(itemId: id, reason: reason, now: now) {
                    case .done: done.append(id)
                    case .refused(let why), .notAllowed(let why): refused.append(why)
                    }
                }
                return (done, refused)
            }
            switch result {
            case .failure(let failure): return .outbox(.acted(OutboxActed(text: "Not discarded: \(failure.text)", isError: true, done: [])))
            case .success(let (done, refused)):
                let text: String
                if ids.count == 1, let why = refused.first {
                    text = why
                } else if ids.count == 1 {
                    text = "Discarded \(ids[0]): it will never be sent."
                } else {
                    text = "Discarded \(done.count) of \(ids.count)." + (refused.first.map { " Refused: \($0)." } ?? "")
                }
                return .outbox(.acted(OutboxActed(text: text, isError: !refused.isEmpty, done: done)))
            }
        }
    }
}
