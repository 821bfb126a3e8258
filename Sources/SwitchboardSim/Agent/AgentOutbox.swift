import Foundation
import SwitchboardCore
import SwitchboardEHR
import SwitchboardStore

/// A write the agent wants in the EHR; it always goes through the outbox.
struct WriteOrder: Sendable {
    var operation: String
    var request: OutboxRequest
    var callID: String
    var bookingID: String?
    var idempotencyKey: String
    var transport: Transport
}

/// Where a write stands when the call moves on.
enum WriteOutcome: Sendable {
    case delivered(appointment: (ref: String, version: String?)?, retried: Bool)
    /// In the outbox; the drain worker sends it when the EHR answers.
    case queued(retried: Bool)
    case refused(error: String, httpStatus: Int?, itemID: String)
}

extension Agent {
    /// Enqueues the write, then (unless in queue mode) sends it at once under a lease, with
    /// a few quick retries; what is still unsent is left for the drain worker.
    /// `handOff`: the call will not wait (the caller hung up as it went out): the item is due
    /// at once for the drain worker, which sends it and gives the booking its appointment.
    func send(_ order: WriteOrder, handOff: Bool = false) async throws -> WriteOutcome {
        let now = Clock.nowMillis()
        let queueing = link.isQueueing || handOff
        // Held back from the drain worker while this call sends it itself.
        let item = OutboxItem(id: "ob-" + UUID().uuidString.prefix(13).lowercased(), createdAt: now, callId: order.callID,
                              bookingId: order.bookingID, ehrSystem: configuration.ehrSystem, transport: order.transport,
                              operation: order.operation, request: order.request.json, idempotencyKey: order.idempotencyKey,
                              maxAttempts: configuration.backoff.maxAttempts,
                              nextAttemptAt: queueing ? now : now + configuration.leaseMillis * 3, updatedAt: now)
        // A write already queued under its idempotency key is not queued again, nor sent from
        // here: the item that holds the key goes out once, by the drain worker.
        guard try await ledger.withOutbox({ try $0.enqueue([item]) }) == 1 else { return .queued(retried: false) }
        hub.publish(.outboxEnqueued(.init(itemId: item.id, callId: order.callID, bookingId: order.bookingID, operation: order.operation)))
        if queueing { return .queued(retried: false) }
        var tries = 0
        while true {
            let owner = configuration.agentID, lease = configuration.leaseMillis
            guard let claimed = try await ledger.withOutbox({ try $0.claim(id: item.id, owner: owner, leaseMillis: lease, now: Clock.nowMillis()) })
            else { return .queued(retried: tries > 0) }  // the drain worker has it
            let delivery = await attempt(claimed)
            tries += 1
            switch delivery {
            case .delivered(_, _, let appointment): return .delivered(appointment: appointment, retried: claimed.attempts > 1)
            case .refused(let error, let status, _): return .refused(error: error, httpStatus: status, itemID: item.id)
            case .retry:
                if tries >= 3 || link.isQueueing { return .queued(retried: true) }
                try await Task.sleep(for: .milliseconds(random { configuration.backoff.delay(forAttempt: tries, using: &$0) }))
            }
        }
    }

    /// One try at a claimed item: delivery under a renewed lease, the attempt row, the event.
    @discardableResult
    func attempt(_ item: OutboxItem) async -> Delivery {
        let owner = configuration.agentID, lease = configuration.leaseMillis
        let started = Clock.nowMillis()
        // Long sends keep their lease, so no other worker takes the item meanwhile.
        let renewal = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(lease / 3))
                _ = try await ledger.withOutbox { try $0.renewLease(id: item.id, owner: owner, leaseMillis: lease, now: Clock.nowMillis()) }
            }
        }
        let delivery = await deliver(item)
        renewal.cancel()
        let now = Clock.nowMillis()
        let result: OutboxStore.AttemptResult
        let outcome: String
        switch delivery {
        case .delivered(let status, let ack, _):
            result = .succeeded(httpStatus: status, ackCode: ack); outcome = "success"
        case .retry(let error, let status, let ack, let after):
            let backoff = random { configuration.backoff.delay(forAttempt: item.attempts, using: &$0) }
            let wait = max(backoff, after.map { $0.components.seconds * 1000 } ?? 0)
            result = .failed(error: error, httpStatus: status, ackCode: ack, retryAt: now + wait); outcome = "retryable"
        case .refused(let error, let status, let ack):
            result = .failed(error: error, httpStatus: status, ackCode: ack, retryAt: nil); outcome = "permanent"
        }
        let kept = (try? await ledger.withOutbox { try $0.complete(id: item.id, owner: owner, startedAt: started, result: result, now: now) }) ?? false
        if kept {
            let status: OutboxStatus = switch result {
            case .succeeded: .succeeded
            case .failed(_, _, _, let retryAt): retryAt == nil || item.attempts >= item.maxAttempts ? .dead : .failed
            }
            var httpStatus: Int?
            switch delivery {
            case .delivered(let s, _, _), .retry(_, let s, _, _), .refused(_, let s, _): httpStatus = s
            }
            hub.publish(.outboxAttempt(.init(itemId: item.id, attempt: item.attempts, outcome: outcome, status: status, httpStatus: httpStatus)))
        }
        return delivery
    }

    /// Sends what the outbox holds: due retries, items queued during an outage, items whose
    /// lease expired (a killed process). While the EHR does not answer it only probes it every
    /// two seconds, so an outage does not use up the items' attempts.
    func drainOutbox() async {
        let owner = configuration.agentID, lease = configuration.leaseMillis
        var lastProbe = ContinuousClock.now - .seconds(10)
        while !Task.isCancelled {
            if link.isUnreachable {
                if ContinuousClock.now - lastProbe >= .seconds(2) {
                    lastProbe = .now
                    _ = await audited(StepContext(callID: nil, step: "probe", action: "ehr.probe", attempt: 1, detail: [:])) {
                        ehr async throws(FHIRError) in try await ehr.probe()
                    }
                }
                try? await Task.sleep(for: .milliseconds(250))
                continue
            }
            if await deliverClaimed(owner: owner, lease: lease) { continue }
            if link.state == .recovering, (try? await ledger.withOutbox({ try $0.unsentCount() })) == 0 { link.caughtUp() }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Claims up to eight due items and delivers them, their bookings' confirmations
    /// included; false when none was due. Counted in `draining` from before the claim (an
    /// item claimed is no longer unsent) until its booking is confirmed.
    private func deliverClaimed(owner: String, lease: Int64) async -> Bool {
        draining.withLock { $0 += 1 }
        defer { draining.withLock { $0 -= 1 } }
        var claimed: [OutboxItem] = []
        while claimed.count < 8, let item = try? await ledger.withOutbox({ try $0.claimNext(owner: owner, leaseMillis: lease, now: Clock.nowMillis()) }) {
            claimed.append(item)
        }
        await withTaskGroup(of: Void.self) { group in
            for item in claimed {
                group.addTask {
                    if case .delivered(_, _, let appointment?) = await self.attempt(item), let booking = item.bookingId {
                        await self.confirm(booking: booking, appointment: appointment)
                    }
                }
            }
        }
        return !claimed.isEmpty
    }

    /// A booking delivered by the drain worker learns its appointment's id and version. The
    /// call may not have written the booking row yet, so look again for a while.
    private func confirm(booking: String, appointment: (ref: String, version: String?)) async {
        for _ in 0 ..< 40 {
            let done = (try? await ledger.withAudit { try $0.confirmBooking(id: booking, appointmentRef: appointment.ref, version: appointment.version) }) ?? false
            if done { return }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }
}
