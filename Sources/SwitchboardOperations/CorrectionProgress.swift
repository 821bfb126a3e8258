import SwitchboardCore

/// Where a correction's EHR change stands, as the Review row shows it.
///
///     if let item = try actions.correctionStatus(bookingId: id) {
///         let progress = CorrectionProgress(item, now: now)
///         row.status = progress.label                  // "waiting in outbox (EHR down?)"
///         if progress.needsNewDecision { … }           // re-read the appointment, show what changed
///     }
public enum CorrectionProgress: Sendable, Equatable {
    /// Queued but not yet released: its decision was not (yet) recorded.
    case held
    /// Waiting for the worker or being sent; `lastError` says why an earlier try failed.
    case waiting(attempts: Int, lastError: String?)
    case sent
    /// The EHR answered 412: someone changed the appointment after the agent booked it.
    /// Never retried blindly: the manager must look again and decide.
    case conflict
    /// Given up on (dead) for another reason.
    case failed(httpStatus: Int?, error: String?)
    case discarded(reason: String?)

    public init(_ item: OutboxItem) {
        switch item.status {
        case .succeeded:
            self = .sent
        case .discarded:
            self = .discarded(reason: item.lastError)
        case _ where item.refusedAsChanged:
            self = .conflict
        case .dead:
            self = .failed(httpStatus: item.lastHttpStatus, error: item.lastError)
        case .pending where item.nextAttemptAt == ReviewActions.heldUntilDecided:
            self = .held
        case .pending, .failed, .inFlight:
            self = .waiting(attempts: item.attempts, lastError: item.lastError)
        }
    }

    /// The EHR refused the change because the appointment moved on (HTTP 412): the
    /// correction needs a new decision on the appointment as it is now.
    public var needsNewDecision: Bool { self == .conflict }

    /// At most a dozen columns, for the Review row's Status; `label` says it in full.
    public var shortLabel: String {
        switch self {
        case .held: "held"
        case .waiting: "in outbox"
        case .sent: "sent"
        case .conflict: "412 review"
        case .failed(let status, _): "failed" + (status.map { " \($0)" } ?? "")
        case .discarded: "dropped"
        }
    }

    public var label: String {
        switch self {
        case .held: "held: decision not recorded"
        case .waiting(_, let error): error.map { "waiting in outbox (last try: \($0))" } ?? "waiting in outbox"
        case .sent: "sent to the EHR"
        case .conflict: "failed 412: changed in the EHR since; decide again"
        case .failed(let status, let error): "failed" + (status.map { " \($0)" } ?? "") + (error.map { ": \($0)" } ?? "")
        case .discarded(let reason): reason ?? "discarded"
        }
    }
}
