import Foundation
import SwitchboardCore
import SwitchboardStore

/// The agent's writes to audit.sqlite and outbox.sqlite, each database on one serial queue
/// of its own so that SQLite's blocking calls never hold the cooperative thread pool.
/// Audit work from many calls is group-committed: whatever piled up while one transaction
/// ran goes into the next, so hundreds of concurrent calls cost a few commits a second.
final class AgentLedger: @unchecked Sendable {
    let audit: AuditStore
    let outbox: OutboxStore
    /// Signs the chain's head every N rows (and, from the agent, every minute).
    let checkpoints: CheckpointSigner?
    private let auditQueue = DispatchQueue(label: "switchboard.agent.audit")
    private let outboxQueue = DispatchQueue(label: "switchboard.agent.outbox")
    private let lock = NSLock()
    private var waiting: [Work] = []
    private var flushScheduled = false

    private struct Work {
        var audit: [AuditEvent]
        var calls: [Call]
        var bookings: [Booking]
        var done: CheckedContinuation<Void, any Error>
    }

    init(audit: AuditStore, outbox: OutboxStore, checkpoints: CheckpointSigner? = nil) {
        self.audit = audit; self.outbox = outbox; self.checkpoints = checkpoints
    }

    /// Returns once the rows are committed.
    func record(audit rows: [AuditEvent] = [], calls: [Call] = [], bookings: [Booking] = []) async throws {
        if rows.isEmpty && calls.isEmpty && bookings.isEmpty { return }
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            let schedule: Bool = lock.withLock {
                waiting.append(Work(audit: rows, calls: calls, bookings: bookings, done: done))
                defer { flushScheduled = true }
                return !flushScheduled
            }
            if schedule { auditQueue.async { self.flush() } }
        }
    }

    private func flush() {
        let batch: [Work] = lock.withLock {
            defer { waiting = []; flushScheduled = false }
            return waiting
        }
        do {
            try audit.recordAgentWork(audit: batch.flatMap(\.audit), calls: batch.flatMap(\.calls),
                                      bookings: batch.flatMap(\.bookings))
            for work in batch { work.done.resume() }
        } catch {
            for work in batch { work.done.resume(throwing: error) }
            return
        }
        // After the commit, so a signing failure never fails the calls' rows.
        do { try checkpoints?.rowsAppended() } catch {
            FileHandle.standardError.write(Data("switchboard-sim: cannot sign an audit checkpoint: \(error)\n".utf8))
        }
    }

    /// Runs `body` on the audit queue (after any group commit already queued).
    func withAudit<T: Sendable>(_ body: @escaping @Sendable (AuditStore) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            auditQueue.async { continuation.resume(with: Result { try body(self.audit) }) }
        }
    }

    func withOutbox<T: Sendable>(_ body: @escaping @Sendable (OutboxStore) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            outboxQueue.async { continuation.resume(with: Result { try body(self.outbox) }) }
        }
    }
}
