import Foundation
import SwitchboardCore
import SwitchboardStore

/// The on-call rules for the outbox, in one place: the Outbox screen (and a headless
/// command) retry and discard through this type, so both are held to the same checks and
/// both leave the same audit rows.
///
///     let actions = OutboxActions(outbox: outbox, audit: audit, operator: me)
///     switch try actions.retryNow(itemId: "ob-appointment.create:7:1", now: Clock.nowMillis()) {
///     case .done: …                      // due now; the agent's worker sends it
///     case .refused(let why): …          // in flight, final, or a held correction without its decision
///     case .notAllowed(let why): …       // role or read-only mode
///     }
public struct OutboxActions: Sendable {
    public let outbox: OutboxStore
    public let audit: AuditStore
    public let `operator`: OperatorIdentity

    public init(outbox: OutboxStore, audit: AuditStore, operator: OperatorIdentity) {
        self.outbox = outbox
        self.audit = audit
        self.operator = `operator`
    }

    /// Hands the item back to the worker, due now (one more attempt if it had used them
    /// all). A held correction is released only if the decision it was queued for is on
    /// record: otherwise nobody decided that change, and it must not reach the EHR.
    public func retryNow(itemId: String, now: UnixMillis) throws -> OutboxOutcome {
        let outcome = try retryAll([itemId], now: now)
        if let why = outcome.notAllowed { return .notAllowed(why) }
        if let refused = outcome.refused.first { return .refused(refused.why) }
        return .done
    }

    /// Retries exactly `ids` — the selection as it was when the operator confirmed — with
    /// the same checks as `retryNow`, a batch at a time: one read, then the batch's audit
    /// rows, one outbox commit, and a row for each item that changed meanwhile
    /// (`audited(_:items:…)`).
    public func retryAll(_ ids: [String], now: UnixMillis, batch: Int = 100) throws -> OutboxBulkOutcome {
        var outcome = OutboxBulkOutcome()
        if let refusal = `operator`.outboxRefusal {
            outcome.notAllowed = refusal
            return outcome
        }
        var seen: Set<String> = []
        let unique = ids.filter { seen.insert($0).inserted }
        for start in stride(from: 0, to: unique.count, by: max(1, batch)) {
            let chunk = Array(unique[start ..< min(unique.count, start + max(1, batch))])
            let items = try outbox.items(ids: chunk)
            var ready: [OutboxItem] = []
            for id in chunk {
                guard let item = items[id] else { outcome.refused.append((id, "\(id) no longer exists")); continue }
                if let why = try Self.refusalToRetry(item, now: now) ?? (item.isHeld ? try refusalToRelease(item) : nil) {
                    outcome.refused.append((id, why))
                } else {
                    ready.append(item)
                }
            }
            // The store's compare-and-set has the last word: the worker may have claimed some meanwhile.
            let retried = try audited("outbox.retry", items: ready, now: now,
                                      reason: { $0.isHeld ? "released: its decision is on record" : nil }) { try outbox.retryNow(ids: $0, now: now) }
            for item in ready {
                if retried.contains(item.id) { outcome.done.append(item.id) } else { outcome.refused.append((item.id, "\(item.id) changed meanwhile; look again")) }
            }
        }
        return outcome
    }

    /// The item will never be sent; `reason` is kept on the item and in the audit row.
    /// Held corrections may be discarded: that is how a crashed correction is cleared.
    public func discard(itemId: String, reason: String, now: UnixMillis) throws -> OutboxOutcome {
        if let refusal = `operator`.outboxRefusal { return .notAllowed(refusal) }
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { return .refused("say why it is discarded: the reason goes into the audit") }
        guard let item = try outbox.item(id: itemId) else { return .refused("\(itemId) no longer exists") }
        switch item.status {
        case .inFlight: return .refused("\(itemId) is being sent (\(item.leaseOwner ?? "a worker") holds it); wait for its answer")
        case .succeeded, .discarded: return .refused("\(itemId) is already \(item.status.rawValue)")
        case .pending, .failed, .dead: break
        }
        let discarded = try audited("outbox.discard", items: [item], now: now, reason: { _ in reason }) {
            try $0.allSatisfy { try outbox.discard(id: $0, reason: "\(reason) (by \(`operator`.user))", now: now) } ? Set($0) : []
        }
        return discarded.isEmpty ? .refused("\(itemId) changed meanwhile; look again") : .done
    }

    /// A failed or dead item back to `pending`, due now, with a fresh budget of `attempts`
    /// tries (the agent's backoff applies again between them); a retry, by contrast, gives
    /// one more try. Refused for anything not failed or dead.
    public func requeue(itemId: String, attempts budget: Int, now: UnixMillis) throws -> OutboxOutcome {
        if let refusal = `operator`.outboxRefusal { return .notAllowed(refusal) }
        guard let item = try outbox.item(id: itemId) else { return .refused("\(itemId) no longer exists") }
        guard item.status == .failed || item.status == .dead else {
            return .refused("\(itemId) is \(item.status.rawValue); only failed or dead items are requeued")
        }
        let requeued = try audited("outbox.requeue", items: [item], now: now, reason: { _ in "\(budget) fresh attempts" }) {
            try $0.allSatisfy { try outbox.requeue(id: $0, budget: budget, now: now) } ? Set($0) : []
        }
        return requeued.isEmpty ? .refused("\(itemId) changed meanwhile; look again") : .done
    }

    /// The EHR's permanent refusal of the item, if its last answer was one: ask before retrying.
    public func permanentRefusal(itemId: String) throws -> PermanentRefusal? {
        guard let item = try outbox.item(id: itemId) else { return nil }
        return PermanentRefusal(item, lastAttempt: try outbox.lastAttempt(ofItem: itemId))
    }

    /// The permanent refusals among `itemIds`, in their order, read in one pass (a bulk
    /// action's warning before it acts).
    public func permanentRefusals(itemIds: [String]) throws -> [PermanentRefusal] {
        let items = try outbox.items(ids: itemIds)
        let lastAttempts = try outbox.lastAttempts(ofItems: Array(items.keys))
        return itemIds.compactMap { id in items[id].flatMap { PermanentRefusal($0, lastAttempt: lastAttempts[id]) } }
    }

    /// Why `item` cannot go back to the worker, from its status alone.
    public static func refusalToRetry(_ item: OutboxItem, now: UnixMillis) -> String? {
        switch item.status {
        case .pending, .failed, .dead: nil
        case .inFlight:
            "\(item.id) is being sent (\(item.leaseOwner ?? "a worker") holds it"
                + (item.leaseUntil.map { $0 < now ? ", lease expired: the worker takes it over" : " for \(formatDuration(millis: millisBetween(now, $0)))" } ?? "")
                + ")"
        case .succeeded: "\(item.id) already succeeded"
        case .discarded: "\(item.id) was discarded; it is never sent"
        }
    }

    /// Why a held correction may not be released: its decision is missing, or is someone
    /// else's (`correction:<booking>:<operator>:<ms>[:<nonce>]` names the decision it was queued for).
    public func refusalToRelease(_ item: OutboxItem) throws -> String? {
        let key = item.idempotencyKey.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard key.count == 4 || key.count == 5, key[0] == "correction" else {
            return "\(item.id) is held for a decision it does not name; discard it"
        }
        let bookingId = item.bookingId ?? key[1]
        guard let decision = try audit.decision(bookingId: bookingId) else {
            return "\(item.id) is held: no decision on booking \(bookingId) was recorded, so nobody confirmed this change."
                + " Correct the booking on the Review screen, or discard this item"
        }
        guard decision.decision == .corrected, decision.operator == key[2], String(decision.decidedAt) == key[3] else {
            return "\(item.id) is held: booking \(bookingId) was \(decision.decision.rawValue) by \(decision.operator),"
                + " not by this correction; discard it"
        }
        return nil
    }

    /// An operator's change to outbox items, audited first: the two files commit apart, so
    /// the audit rows go in before the change. Killed between the two commits, the rows stand
    /// and the items are unchanged (the row's `from_status` and `attempts` against the item
    /// show it); an item changed without its row cannot happen. An item `change` did not
    /// change (someone else changed it meanwhile) gets a second row saying so. Returns the
    /// ids `change` changed.
    private func audited(_ action: String, items: [OutboxItem], now: UnixMillis, reason: (OutboxItem) -> String?,
                         change: ([String]) throws -> Set<String>) throws -> Set<String> {
        guard !items.isEmpty else { return [] }
        _ = try audit.append(items.map { auditRow(action, item: $0, reason: reason($0), now: now) })
        let changed: Set<String>
        do {
            changed = try change(items.map(\.id))
        } catch {
            _ = try? audit.append(items.map { auditRow(action, item: $0, reason: "not done: the outbox could not be written", now: now, outcome: .minorFailure) })
            throw error
        }
        let unchanged = items.filter { !changed.contains($0.id) }
        if !unchanged.isEmpty {
            _ = try audit.append(unchanged.map { auditRow(action, item: $0, reason: "not done: it changed meanwhile", now: now, outcome: .minorFailure) })
        }
        return changed
    }

    private func auditRow(_ action: String, item: OutboxItem, reason: String?, now: UnixMillis, outcome: AuditOutcome = .success) -> AuditEvent {
        let detail = `operator`.auditDetail(["item_id": item.id, "operation": item.operation, "booking_id": item.bookingId,
                                      "from_status": item.status.rawValue, "attempts": item.attempts, "reason": reason])
        return AuditEvent(at: now, actor: "operator:\(`operator`.user)", callId: item.callId, action: action,
                          ehrSystem: item.ehrSystem, outcome: outcome, detail: detail)
    }
}

/// What became of an operator's action on one outbox item.
public enum OutboxOutcome: Sendable, Equatable {
    case done
    /// The item's state forbids it; the text says why, in the operator's words.
    case refused(String)
    /// The operator's role or the console's read-only mode forbids it.
    case notAllowed(String)
}

/// What a bulk retry did, item by item.
public struct OutboxBulkOutcome: Sendable {
    public var done: [String] = []
    public var refused: [(id: String, why: String)] = []
    public var notAllowed: String?
    public init() {}
}
