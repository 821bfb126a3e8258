import Foundation
import SwitchboardCore
import SwitchboardStore

/// The EHR's last answer to an item, when it said "no" for good: sending the same request
/// again gets the same answer. A retry is then the wrong tool; the warning says what is.
///
///     if let refusal = PermanentRefusal(item, lastAttempt: try outbox.lastAttempt(ofItem: item.id)) {
///         confirm(refusal.warning)      // "… answered 412 … decide the booking again (review again bk-7), or discard"
///     }
public struct PermanentRefusal: Sendable, Equatable {
    /// `HTTP 412`, `HL7 AR`.
    public var answer: String
    public var itemId: String
    public var bookingId: String?
    public var httpStatus: Int?

    /// Nil when the last answer may change on a retry (5xx, 408, 429, no answer) or the item
    /// was never answered.
    public init?(_ item: OutboxItem, lastAttempt: OutboxAttempt?) {
        let status = lastAttempt?.httpStatus ?? item.lastHttpStatus
        let ack = lastAttempt?.ackCode?.uppercased()
        if ack == "AR" {
            answer = "HL7 AR (application reject)"
        } else if let status, (400 ..< 500).contains(status), ![408, 425, 429].contains(status) {
            answer = "HTTP \(status)"
        } else {
            return nil
        }
        itemId = item.id
        bookingId = item.bookingId
        isCorrection = item.isCorrection
        httpStatus = ack == "AR" ? nil : status
    }

    /// Whether the refused write is a reviewer's correction (decided again on Review), not
    /// the agent's own (which has no decision to take again).
    public var isCorrection: Bool

    /// What to do instead of a retry, in the operator's words.
    public var instead: String {
        switch httpStatus {
        case 409?, 412?:
            if isCorrection, let bookingId {
                return "someone changed the appointment or took the slot since the correction was made: decide booking \(bookingId) again "
                    + "(`switchboard review again \(bookingId)`, or R on the Review screen), or discard this item"
            }
            return "someone changed the appointment or took the slot after the agent read it, so the agent's change was not made: "
                + "look at the appointment in the EHR, then discard this item saying what you found"
        case 401?, 403?:
            return "the EHR refused the agent's credentials or scope: fix the agent's access, then retry"
        default:
            return "the request itself is refused: correct the booking on the Review screen, or discard this item"
        }
    }

    /// The warning shown before retrying, on the screen and the command line.
    public var warning: String {
        "\(itemId): the EHR's last answer was \(answer), which a retry gets again. Instead: \(instead)."
    }
}

extension OutboxAttempt {
    /// What the EHR answered this try: `HTTP 503`, `ACK AE`, `no answer`.
    public var answer: String { httpStatus.map { "HTTP \($0)" } ?? ackCode.map { "ACK \($0)" } ?? "no answer" }
}

/// An error's text shown after its answer (`HTTP 422`), without that answer again at its
/// start: the EHR client's own words begin `HTTP 422: `, and `HTTP 422: HTTP 422: Slot is
/// not free` was what on-call read.
public func errorText(_ error: String, after answer: String) -> String {
    guard error.hasPrefix(answer) else { return error }
    let rest = error.dropFirst(answer.count)
    guard let first = rest.first, first == ":" || first == " " else { return error }
    let words = rest.drop { $0 == ":" || $0 == " " }
    return words.isEmpty ? error : String(words)
}

/// When an item will be tried next, as the Outbox screen and `outbox list` say it:
/// "next try in 4s", "paused: EHR in queue mode", "due now", "held: waiting for its decision".
///
///     OutboxSchedule.text(item, now: now, ehr: live.ehr)    // "next try in 4s"
public enum OutboxSchedule {
    public static func text(_ item: OutboxItem, now: UnixMillis, ehr: EHRState?) -> String {
        switch item.status {
        case .succeeded: return "sent"
        case .discarded: return "discarded: never sent"
        case .dead: return "dead: not retried unless you retry or requeue it"
        case .inFlight:
            guard let until = item.leaseUntil else { return "sending" }
            return ClockWatch.remaining(until: until, now: now) < 0 ? "sending; lease expired, the agent takes it over" : "sending (\(item.leaseOwner ?? "a worker"))"
        case .pending, .failed:
            if item.isHeld { return "held: waiting for its decision" }
            // The agent claims nothing while the EHR does not answer: "due" would be a lie.
            if ehr == .queueMode { return "paused: EHR in queue mode" }
            guard let next = item.nextAttemptAt else { return "due now" }
            let left = ClockWatch.remaining(until: next, now: now)
            return left <= 0 ? "due now" : "next try in \(formatDuration(millis: max(1_000, left)))"
        }
    }
}

/// What a bulk action did to a snapshot of items, told the same way on the Outbox screen
/// and the command line: "retried 41, skipped 3 (being sent or sent by the agent), refused 2".
public struct OutboxBulkReport: Sendable {
    public var done: [String] = []
    /// The agent claimed or sent them meanwhile: not an error, just no longer ours.
    public var skipped: [(id: String, why: String)] = []
    public var refused: [(id: String, why: String)] = []

    public init() {}

    /// Files one item's outcome; `statusNow` is the item's status after the refusal, which
    /// tells "the agent has it" from "refused". `.notAllowed` is the caller's to stop on.
    public mutating func add(_ outcome: OutboxOutcome, id: String, statusNow: OutboxStatus?) {
        switch outcome {
        case .done: done.append(id)
        case .refused(let why), .notAllowed(let why):
            if statusNow == .inFlight || statusNow == .succeeded { skipped.append((id, why)) } else { refused.append((id, why)) }
        }
    }

    /// One line; `verb` in the past tense ("retried", "discarded", "requeued").
    public func summary(_ verb: String) -> String {
        var parts = ["\(verb) \(done.count)"]
        if !skipped.isEmpty { parts.append("skipped \(skipped.count) (being sent or sent by the agent)") }
        if !refused.isEmpty { parts.append("refused \(refused.count)") }
        return parts.joined(separator: ", ")
    }

    /// The confirmation, with the count of the snapshot: "Retry 12 items?"
    public static func question(_ verb: String, count: Int, consequence: String = "") -> String {
        "\(verb) \(count) item\(count == 1 ? "" : "s")?" + (consequence.isEmpty ? "" : " \(consequence)")
    }
}

extension OutboxStore {
    /// Every id the screen's current list holds (its statuses and filter text), oldest
    /// first: the snapshot "retry all that match" works through, with its count for the
    /// confirmation.
    public func ids(in listing: OutboxListing, pageSize: Int = 1_000) throws -> [String] {
        var ids: [String] = [], cursor: OutboxCursor?
        while true {
            let page = try items(listing, after: cursor, limit: pageSize)
            ids += page.map(\.id)
            guard page.count == pageSize, let last = page.last else { return ids }
            cursor = OutboxCursor(last)
        }
    }
}
