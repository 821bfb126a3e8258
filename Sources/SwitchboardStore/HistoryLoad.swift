import GRDB
import SwitchboardCore

// Bulk loads for generated history (the simulator's `generate`, benchmarks): rows as they
// are, through cached INSERT statements, in one transaction per call. GRDB's record
// `insert` rebuilds its statement description per row, which dominated a million-row load.

extension AuditStore {
    /// Calls, bookings and decisions as they are, audit rows appended to the chain.
    public func recordHistory(audit: [AuditEvent], calls: [Call], bookings: [Booking], decisions: [ReviewDecision]) throws {
        try write { db in
            let call = try db.cachedStatement(sql: """
                INSERT INTO call (call_id, started_at, ended_at, caller, patient_ref, intent, outcome, first_call_resolved, summary)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (call_id) DO UPDATE SET ended_at = excluded.ended_at, outcome = excluded.outcome,
                    first_call_resolved = excluded.first_call_resolved, summary = excluded.summary, patient_ref = excluded.patient_ref
                """)
            for c in calls {
                try call.execute(arguments: [c.callId, c.startedAt, c.endedAt, c.caller, c.patientRef, c.intent, c.outcome,
                                             c.firstCallResolved, c.summary])
            }
            let booking = try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO booking (booking_id, call_id, kind, appointment_ref, appointment_version, patient_ref,
                    patient_display, provider_ref, appointment_type, start_at, end_at, booked_at, review_required, flags)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for b in bookings {
                try booking.execute(arguments: [b.bookingId, b.callId, b.kind.rawValue, b.appointmentRef, b.appointmentVersion,
                                                b.patientRef, b.patientDisplay, b.providerRef, b.appointmentType, b.startAt,
                                                b.endAt, b.bookedAt, b.reviewRequired, b.flags])
            }
            let decision = try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO review_decision (booking_id, decision, category, note, operator, decided_at, before, after)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for d in decisions {
                try decision.execute(arguments: [d.bookingId, d.decision.rawValue, d.category, d.note, d.operator, d.decidedAt,
                                                 d.before, d.after])
            }
            _ = try AuditChain.append(audit, in: db)
        }
    }
}

extension OutboxStore {
    /// Items and their attempts as they are.
    public func recordHistory(items: [OutboxItem], attempts: [OutboxAttempt]) throws {
        try write { db in
            let item = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO outbox_item (id, created_at, call_id, booking_id, ehr_system, transport, operation, request,
                    idempotency_key, status, attempts, max_attempts, next_attempt_at, lease_owner, lease_until, last_error,
                    last_http_status, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for i in items {
                try item.execute(arguments: [i.id, i.createdAt, i.callId, i.bookingId, i.ehrSystem, i.transport.rawValue, i.operation,
                                             i.request, i.idempotencyKey, i.status.rawValue, i.attempts, i.maxAttempts,
                                             i.nextAttemptAt, i.leaseOwner, i.leaseUntil, i.lastError, i.lastHttpStatus, i.updatedAt])
            }
            let attempt = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO outbox_attempt (item_id, attempt, started_at, ended_at, outcome, http_status, ack_code, error)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for a in attempts {
                try attempt.execute(arguments: [a.itemId, a.attempt, a.startedAt, a.endedAt, a.outcome, a.httpStatus, a.ackCode, a.error])
            }
        }
    }
}
