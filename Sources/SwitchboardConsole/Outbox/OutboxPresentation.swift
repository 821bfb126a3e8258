import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

/// Turns outbox items into table cells: pure, no terminal. Text from the database is
/// drawn through the grid, which sanitizes it.
struct OutboxPresentation {
    var identity: OperatorIdentity
    var now: UnixMillis
    /// The EHR's state: in queue mode nothing is claimed, so nothing is "due".
    var ehr: EHRState?
    private let time: TimeText

    init(identity: OperatorIdentity, now: UnixMillis, time: TimeText) {
        self.identity = identity
        self.now = now
        self.time = time
    }

    /// Minimum widths add up to 80 columns (with gaps and the mark gutter), the operation
    /// whole (`communication.create`, 20: update or create is what on-call acts on); wider
    /// terminals give the spare room to the operation and the error.
    static let columns: [TableColumn] = [
        TableColumn("Created", minWidth: 8),
        TableColumn("Operation", minWidth: 20, maxWidth: 24, flex: 1),
        TableColumn("Booking", minWidth: 10),
        TableColumn("Status", minWidth: 9),
        TableColumn("Tries", minWidth: 5, alignment: .right),
        TableColumn("Next", minWidth: 8),
        TableColumn("HTTP", minWidth: 4, alignment: .right),
        TableColumn("Error", minWidth: 7, flex: 3),
    ]

    func cells(_ item: OutboxItem) -> [String] {
        [
            created(item.createdAt),
            item.operation,
            item.bookingId ?? "—",
            Self.status(item),
            "\(item.attempts)/\(item.maxAttempts)",
            next(item),
            item.lastHttpStatus.map(String.init) ?? "—",
            // The EHR's answer or a discard's reason can name the patient: a viewer sees the
            // HTTP status beside it, not the text.
            identity.freeText(item.lastError) ?? "",
        ]
    }

    func scope(_ item: OutboxItem) -> String {
        switch item.status {
        case .dead: "outbox.row.dead"
        case .failed: "outbox.row.failed"
        case .pending where item.isHeld: "outbox.row.held"
        case .succeeded, .discarded: "table.row.dim"
        default: "table.row"
        }
    }

    static func status(_ item: OutboxItem) -> String {
        if item.isHeld { return "held" }
        return item.status == .inFlight ? "in flight" : item.status.rawValue
    }

    /// When the worker tries next: `in 12s`, `due`, `held`; for an item in flight, how
    /// long its lease has left (`lease 25s`, `expired`).
    func next(_ item: OutboxItem) -> String {
        if item.isHeld { return "held" }
        if item.status == .inFlight {
            guard let until = item.leaseUntil else { return "—" }
            let left = ClockWatch.remaining(until: until, now: now)
            return left < 0 ? "expired" : "lease " + Self.short(left)
        }
        guard item.status == .pending || item.status == .failed else { return "—" }
        if ehr == .queueMode { return "paused" }
        guard let at = item.nextAttemptAt else { return "—" }
        let left = ClockWatch.remaining(until: at, now: now)
        return left <= 0 ? "due" : "in " + Self.short(left)
    }

    /// Today's items by time of day, older ones by date.
    func created(_ t: UnixMillis) -> String {
        ClockWatch.changes(at: t.addingClamped(86_400_000))
        return now - t < 86_400_000 ? time.clockWithSeconds(t) : time.monthAndDay(t)
    }

    func timestamp(_ t: UnixMillis) -> String { time.timestamp(t) }

    /// `42s`, `37m`, `19h`, `3d`.
    static func short(_ millis: Int64) -> String { ReviewPresentation.age(millis + 999) }
}
