import Foundation
import HeapModule
import SwitchboardCore
import SwitchboardStore

/// What to generate: `calls` calls spread evenly over `spanMillis` ending at `endsAt`.
public struct HistoryPlan: Sendable {
    public var calls: Int
    public var seed: UInt64
    public var endsAt: UnixMillis
    public var spanMillis: Int64
    /// The go-live window's start: bookings from then on are flagged for review.
    public var windowStart: UnixMillis
    public var hostileData: Bool
    /// How many of the newest calls are still in progress at `endsAt`.
    public var callsInProgress: Int

    public init(calls: Int, seed: UInt64 = 1, endsAt: UnixMillis = Clock.nowMillis(), spanMillis: Int64? = nil,
                windowStart: UnixMillis? = nil, hostileData: Bool = false, callsInProgress: Int? = nil) {
        self.calls = calls
        self.seed = seed
        self.endsAt = endsAt
        // A busy practice takes a call every ~40 s; big histories stretch further back.
        let span = spanMillis ?? max(30 * 3_600_000, Int64(calls) * 40_000)
        self.spanMillis = span
        self.windowStart = windowStart ?? (endsAt - 20 * 3_600_000)
        self.hostileData = hostileData
        self.callsInProgress = callsInProgress ?? min(12, calls / 50)
    }
}

/// What was written.
public struct HistoryReport: Sendable, Codable {
    public var calls = 0
    public var auditRows = 0
    public var bookings = 0
    public var bookingsInWindow = 0
    public var decisions = 0
    public var outboxItems = 0
    public var outboxByStatus: [String: Int] = [:]
    public var seconds = 0.0
    var recentOutboxItems = 0

    enum CodingKeys: String, CodingKey {
        case calls, bookings, decisions, seconds
        case auditRows = "audit_rows", bookingsInWindow = "bookings_in_window"
        case outboxItems = "outbox_items", outboxByStatus = "outbox_by_status"
    }
}

/// Writes a realistic audit.sqlite and outbox.sqlite following the data contract, as if
/// an agent had been taking calls: rows are appended in time order across overlapping
/// calls (a heap of pending events), so the chain reads like a real day.
public struct HistoryGenerator {
    public let plan: HistoryPlan
    static let agent = "agent:sim-history"
    static let operators = ["maria.g", "devon.k", "priya.s"]

    public init(plan: HistoryPlan) { self.plan = plan }

    /// Something that happens at a moment: a row to append, a call to end.
    private enum Happening {
        case audit(AuditEvent)
        case call(Call)
        case booking(Booking)
        case decision(ReviewDecision, callId: String?, appointment: String)
    }

    private struct Scheduled: Comparable {
        var at: UnixMillis
        var order: Int
        var happening: Happening
        static func < (a: Self, b: Self) -> Bool { (a.at, a.order) < (b.at, b.order) }
        static func == (a: Self, b: Self) -> Bool { a.at == b.at && a.order == b.order }
    }

    public func write(audit: AuditStore, outbox: OutboxStore) throws -> HistoryReport {
        let started = Date()
        var rng = SeededRandom(seed: plan.seed)
        var writer = CallScriptWriter(rng: SeededRandom(seed: plan.seed &+ 1))
        var report = HistoryReport()
        var pending = Heap<Scheduled>()
        var order = 0
        var batch = Batch()
        let batches = BatchWriter(audit: audit, outbox: outbox)
        let firstStart = plan.endsAt - plan.spanMillis
        let step = plan.spanMillis / Int64(max(plan.calls, 1))
        let patients = max(500, plan.calls / 3)

        func schedule(_ at: UnixMillis, _ h: Happening) {
            order += 1
            pending.insert(Scheduled(at: at, order: order, happening: h))
        }

        func drain(until t: UnixMillis) throws {
            while let next = pending.min, next.at <= t {
                let item = pending.removeMin()
                switch item.happening {
                case .audit(let e): batch.audit.append(e); report.auditRows += 1
                case .call(let c): batch.calls.append(c); report.calls += 1
                case .booking(let b): batch.bookings.append(b)
                case .decision(let d, let callId, let appointment):
                    batch.decisions.append(d)
                    batch.audit.append(AuditEvent(
                        at: d.decidedAt, actor: "operator:\(d.operator)", callId: callId,
                        action: d.decision == .approved ? "review.approve" : "review.correct",
                        resourceType: "Appointment", resourceId: appointment,
                        detail: JSONText.object(["booking_id": d.bookingId, "decision": d.decision.rawValue, "category": d.category])))
                    report.auditRows += 1; report.decisions += 1
                }
                if batch.audit.count >= 20_000 {
                    try batches.write(batch)
                    batch = Batch()
                }
            }
        }

        for n in 0..<plan.calls {
            let startedAt = firstStart + Int64(n) * step + Int64.random(in: 0..<max(step, 1), using: &rng)
            try drain(until: startedAt)
            let patient = Int.random(in: 0..<patients, using: &rng)
            let script = writer.script(callNumber: n, startedAt: startedAt, patient: patient)
            let callId = String(format: "call-%07d", n)
            let inProgress = n >= plan.calls - plan.callsInProgress
            emit(script, n: n, callId: callId, startedAt: startedAt, patient: patient, inProgress: inProgress,
                 rng: &rng, report: &report, batch: &batch, schedule: schedule)
        }
        try drain(until: plan.endsAt)
        try batches.write(batch)
        try batches.finish()
        report.outboxByStatus = Dictionary(uniqueKeysWithValues: try outbox.countsByStatus().map { ($0.key.rawValue, $0.value) })
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    private func emit(_ s: CallScript, n: Int, callId: String, startedAt: UnixMillis, patient: Int, inProgress: Bool,
                      rng: inout SeededRandom, report: inout HistoryReport, batch: inout Batch,
                      schedule: (UnixMillis, Happening) -> Void) {
        let now = plan.endsAt
        // A call still in progress has done only what fits before `now`.
        let cut: Int64 = inProgress ? max(0, now - startedAt) : .max
        var outboxIndex: [String: Int] = [:]
        for r in s.requests where r.offset <= cut {
            let at = startedAt + r.offset
            let isHL7Write = s.transport == .hl7v2 && r.writeKey != nil && r.resourceType == "Appointment"
            let transport: Transport = isHL7Write ? .hl7v2 : (s.transport == .rest ? .rest : .fhir)
            let method = isHL7Write ? (r.action == "appointment.create" ? "SIU^S12" : "SIU^S13") : r.method
            schedule(at, .audit(AuditEvent(
                at: at, actor: Self.agent, callId: callId, action: r.action,
                ehrSystem: transport == .hl7v2 ? "interface-engine" : transport == .rest ? "athena-sandbox" : "epic-sandbox",
                transport: transport, method: method, resourceType: r.resourceType, resourceId: r.resourceId,
                outcome: r.outcome, httpStatus: r.httpStatus, latencyMs: r.latencyMs, attempt: r.attempt, detail: r.detail)))
            guard let key = r.writeKey else { continue }
            var attempt = OutboxAttempt(itemId: "ob-\(key)", attempt: r.attempt, startedAt: at, endedAt: at + Int64(r.latencyMs),
                                        outcome: r.outcome == .success ? "success" : "retryable",
                                        httpStatus: r.httpStatus, ackCode: isHL7Write ? (r.outcome == .success ? "AA" : "AE") : nil,
                                        error: r.outcome == .success ? nil : (r.httpStatus.map { "HTTP \($0)" } ?? "timed out after 10 s"))
            if let i = outboxIndex[key] {
                batch.outbox[i].attempts = r.attempt
                batch.outbox[i].status = r.outcome == .success ? .succeeded : .failed
                batch.outbox[i].lastHttpStatus = r.httpStatus
                batch.outbox[i].lastError = attempt.error
                batch.outbox[i].updatedAt = attempt.endedAt ?? at
                batch.attempts.append(attempt)
                continue
            }
            var item = OutboxItem(
                id: "ob-\(key)", createdAt: at, callId: callId, bookingId: nil, ehrSystem: "epic-sandbox", transport: transport,
                operation: r.action,
                request: Self.request(method: method, resourceType: r.resourceType, resourceId: r.resourceId, key: key, hl7: isHL7Write),
                idempotencyKey: key, status: r.outcome == .success ? .succeeded : .failed, attempts: 1, maxAttempts: 8,
                nextAttemptAt: nil, lastError: attempt.error, lastHttpStatus: r.httpStatus, updatedAt: attempt.endedAt ?? at)
            // The newest items are still moving through the queue; a few old ones never made
            // it. The first of each kind is placed, not drawn, so even a small history has them all.
            if n >= plan.calls - max(plan.calls / 20, plan.callsInProgress) && item.status == .succeeded {
                let placed: [OutboxStatus] = [.pending, .inFlight, .failed]
                item.status = report.recentOutboxItems < placed.count ? placed[report.recentOutboxItems]
                    : rng.weighted([(.succeeded, 0.5), (.pending, 0.2), (.inFlight, 0.1), (.failed, 0.2)])
                report.recentOutboxItems += 1
            } else if report.outboxItems % 250 == 17 {
                item.status = .dead
            } else if report.outboxItems % 250 == 111 {
                item.status = .discarded
            }
            switch item.status {
            case .pending: item.attempts = 0; item.nextAttemptAt = now + 5_000; item.lastError = nil
            case .inFlight: item.leaseOwner = "sim-history"; item.leaseUntil = now + 30_000
            case .failed:
                item.lastError = "HTTP 503 Service Unavailable"; item.lastHttpStatus = 503; item.nextAttemptAt = now + 8_000
            case .dead:
                // Refused on its first try: a permanent answer is not retried.
                item.lastError = "HTTP 422: Slot is not free (OperationOutcome business-rule)"; item.lastHttpStatus = 422
                attempt.outcome = "permanent"; attempt.httpStatus = 422; attempt.error = item.lastError
            case .discarded:
                // Discarded by an operator before it was sent.
                item.attempts = 0; item.lastError = "discarded: duplicate of a booking made at the front desk"; item.lastHttpStatus = nil
            case .succeeded: break
            }
            if item.status == .failed {
                attempt.outcome = "retryable"; attempt.httpStatus = 503; attempt.error = item.lastError
            }
            // Only finished tries have a row: not a pending item's, an in-flight one's or a discarded one's.
            if [.succeeded, .failed, .dead].contains(item.status) { batch.attempts.append(attempt) }
            outboxIndex[key] = batch.outbox.count
            batch.outbox.append(item)
            report.outboxItems += 1
        }

        let endedAt = startedAt + s.duration
        let ended = !inProgress && endedAt <= now
        schedule(ended ? endedAt : startedAt, .call(Call(
            callId: callId, startedAt: startedAt, endedAt: ended ? endedAt : nil, caller: Roster.maskedCaller(n),
            patientRef: s.workflow == .afterHours ? nil : "Patient/p\(patient)", intent: s.workflow.rawValue,
            outcome: ended ? s.outcome.rawValue : nil, firstCallResolved: ended ? s.firstCallResolved : nil,
            summary: ended ? s.summary : nil)))

        guard let b = s.booking, b.offset <= cut else { return }
        let bookedAt = startedAt + b.offset
        let inWindow = bookedAt >= plan.windowStart
        let dayStart = bookedAt - bookedAt % 86_400_000
        let bookingId = String(format: "bk-%07d", n)
        let booking = Booking(
            bookingId: bookingId, callId: callId, kind: b.kind, appointmentRef: b.appointment, appointmentVersion: b.kind == .book ? "1" : "2",
            patientRef: "Patient/p\(patient)", patientDisplay: Roster.patientName(patient, hostile: plan.hostileData),
            providerRef: b.provider.ref, appointmentType: b.type.code, startAt: dayStart + b.startAt,
            endAt: dayStart + b.startAt + Int64(b.type.minutes) * 60_000, bookedAt: bookedAt,
            reviewRequired: inWindow, flags: inWindow ? b.flags : b.flags.filter { $0 != .goLive })
        schedule(bookedAt, .booking(booking))
        for i in outboxIndex.values where batch.outbox[i].operation.hasPrefix("appointment.") {
            batch.outbox[i].bookingId = bookingId
        }
        report.bookings += 1
        guard inWindow else { return }
        report.bookingsInWindow += 1
        // Reviewers work through the queue: the older a booking, the likelier it is decided.
        let age = now - bookedAt
        if age > 600_000 && rng.chance(min(0.95, Double(age) / (6 * 3_600_000.0))) {
            let decidedAt = bookedAt + Int64.random(in: 120_000...max(120_001, min(age - 1, 6 * 3_600_000)), using: &rng)
            let corrected = rng.chance(0.025)
            let category = corrected ? [CorrectionCategory.wrongTime, .wrongProvider, .wrongType, .shouldNotExist].randomElement(using: &rng)! : nil
            let decision = ReviewDecision(
                bookingId: bookingId, decision: corrected ? .corrected : .approved, category: category?.rawValue,
                note: corrected ? "Caller asked for a morning slot" : nil, operator: Self.operators.randomElement(using: &rng)!,
                decidedAt: decidedAt,
                before: corrected ? JSONText.object(["start_at": booking.startAt, "provider_ref": booking.providerRef]) : nil,
                after: corrected ? JSONText.object(["start_at": booking.startAt + 86_400_000, "provider_ref": booking.providerRef]) : nil)
            schedule(decidedAt, .decision(decision, callId: callId, appointment: b.appointment))
        }
    }

    /// An outbox item's request as the agent writes it: relative to the FHIR base, with
    /// the idempotency headers and a body (a small FHIR resource, or the HL7 v2 message).
    static func request(method: String, resourceType: String, resourceId: String?, key: String, hl7: Bool) -> String {
        let id = resourceId.map { String($0.split(separator: "/").last ?? Substring($0)) }
        if hl7 {
            return JSONText.object(["method": method, "url": "mllp://interface-engine:6661", "headers": ["Idempotency-Key": key],
                                    "body": "MSH|^~\\&|SWITCHBOARD-AGENT|PRACTICE|INTERFACE-ENGINE|PRACTICE|||\(method)|\(key)|P|2.5.1"])
        }
        var headers = ["Content-Type": "application/fhir+json", "Idempotency-Key": key]
        if method == "PUT" { headers["If-Match"] = #"W/"1""# }
        return JSONText.object(["method": method, "url": method == "PUT" ? "\(resourceType)/\(id ?? "")" : resourceType, "headers": headers,
                                "body": JSONText.object(["resourceType": resourceType, "id": method == "PUT" ? id : nil])])
    }

    /// Rows waiting to be written, flushed in big transactions (one per database).
    struct Batch: Sendable {
        var audit: [AuditEvent] = []
        var calls: [Call] = []
        var bookings: [Booking] = []
        var decisions: [ReviewDecision] = []
        var outbox: [OutboxItem] = []
        var attempts: [OutboxAttempt] = []
    }
}

/// Writes batches on two background queues, one per database, while the generator
/// makes the next batch: generating and writing overlap on a 2-core machine. At most
/// one batch per database is in flight, so memory stays bounded.
final class BatchWriter: @unchecked Sendable {
    private let audit: AuditStore
    private let outbox: OutboxStore
    private let auditQueue = DispatchQueue(label: "history.audit")
    private let outboxQueue = DispatchQueue(label: "history.outbox")
    private let inFlight = DispatchGroup()
    private let lock = NSLock()
    private var failure: (any Error)?

    init(audit: AuditStore, outbox: OutboxStore) {
        self.audit = audit
        self.outbox = outbox
    }

    /// Waits for the previous batch, then starts writing this one.
    func write(_ batch: HistoryGenerator.Batch) throws {
        try finish()
        inFlight.enter()
        auditQueue.async { [self] in
            record { try audit.recordHistory(audit: batch.audit, calls: batch.calls, bookings: batch.bookings, decisions: batch.decisions) }
        }
        inFlight.enter()
        outboxQueue.async { [self] in
            record { try outbox.recordHistory(items: batch.outbox, attempts: batch.attempts) }
        }
    }

    /// Waits for everything written so far; rethrows the first failure.
    func finish() throws {
        inFlight.wait()
        try lock.withLock { if let failure { throw failure } }
    }

    private func record(_ body: () throws -> Void) {
        do { try body() } catch { lock.withLock { if failure == nil { failure = error } } }
        inFlight.leave()
    }
}
