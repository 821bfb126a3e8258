import Foundation
import GRDB
import SwitchboardCore

/// The day-4 rehearsal: every workflow and edge case of the guide's list, in a fixed order,
/// each with its own calls, the EHR's faults set for the rows that need them, and each row
/// judged from the databases and the EHR's own request count once its writes are sent.
struct Rehearsal {
    struct Case {
        var name: String
        var kind: String
        var expected: String
        /// The EHR's behaviour during the row.
        var faults = SandboxFaults()
        /// Calls started together.
        var together = false
        var plan: @Sendable (Agent, Int) -> [CallPlan]
        var judge: @Sendable (Evidence) -> [String]
    }

    /// What the databases say about one row's calls.
    struct Evidence {
        var outcomes: [String: String]
        /// Who called, by call id.
        var callers: [String: Caller] = [:]
        var bookings: [(call: String, kind: String, flags: String)]
        var notes: Int
        var auditRows: Int
        var majorRows: Int
        var seriousRows: Int
        var stepsPerCall: [String: Int]
        var discardedSlotTaken: Int
        var doubleBooked: Int
        var unsent: Int
        /// Outbox items the row's calls made, and bookings still waiting for their appointment id.
        var items = 0
        var pendingBookings = 0
        /// Patient registrations and demographic updates the EHR took.
        var patientWrites = 0
        /// Refill requests the EHR took (FHIR Task, or the REST site's refill note).
        var tasks = 0

        var calls: Int { outcomes.count }
        func all(_ outcome: String) -> [String] { outcomes.values.allSatisfy { $0 == outcome } ? [] : ["not every call \(outcome): \(summary)"] }
        var summary: String {
            Dictionary(grouping: outcomes.values, by: { $0 }).map { "\($0.key) \($0.value.count)" }.sorted().joined(separator: ", ")
        }
    }

    static func cases() -> [Case] {
        func simple(_ workflow: Workflow, quirk: CallPlan.Quirk? = nil, firstAlso: Workflow? = nil) -> @Sendable (Agent, Int) -> [CallPlan] {
            { agent, n in [agent.rehearsalPlan(n, workflow: workflow, quirk: quirk, firstAlso: firstAlso)] }
        }
        return [
            Case(name: "new patient booking", kind: "workflow", expected: "resolved, booked, note written",
                 plan: simple(.newPatientBooking), judge: { e in
                     e.all("resolved") + (e.bookings.count == e.calls ? [] : ["\(e.bookings.count) bookings for \(e.calls) calls"])
                 }),
            Case(name: "new patient registered", kind: "workflow", expected: "registered in the EHR, then booked",
                 plan: simple(.newPatientBooking, quirk: .unregistered), judge: { e in
                     e.all("resolved") + (e.patientWrites == e.calls && e.bookings.count == e.calls && e.bookings.allSatisfy { $0.flags.contains("new_patient") }
                         ? [] : ["\(e.patientWrites) registrations, \(e.bookings.count) bookings"])
                 }),
            Case(name: "demographics updated", kind: "workflow", expected: "new phone written (If-Match, REST, A08)",
                 plan: simple(.prescriptionRefill, quirk: .newPhone), judge: { e in
                     e.all("resolved") + (e.patientWrites == e.calls ? [] : ["\(e.patientWrites) updates for \(e.calls) calls"])
                 }),
            Case(name: "reschedule", kind: "workflow", expected: "resolved, appointment moved",
                 plan: simple(.reschedule), judge: { e in
                     e.all("resolved") + (e.bookings.allSatisfy { $0.kind == "reschedule" } && !e.bookings.isEmpty ? [] : ["no reschedule booking"])
                 }),
            Case(name: "cancel", kind: "workflow", expected: "resolved, appointment cancelled",
                 plan: simple(.cancel), judge: { e in
                     e.all("resolved") + (e.bookings.allSatisfy { $0.kind == "cancel" } && !e.bookings.isEmpty ? [] : ["no cancel booking"])
                 }),
            Case(name: "insurance check", kind: "workflow", expected: "active: resolved; inactive: callback",
                 plan: { agent, n in [agent.rehearsalPlan(n, workflow: .insuranceCheck, quirk: nil, firstAlso: nil,
                                                          coverage: n % 2 == 0 ? "active" : "cancelled")] },
                 judge: { e in
                     e.outcomes.compactMap { id, outcome in
                         let expected = e.callers[id]?.coverage == "active" ? "resolved" : "callback"
                         return outcome == expected ? nil : "\(id): coverage \(e.callers[id]?.coverage ?? "none"), \(outcome)"
                     } + (Set(e.callers.values.map { $0.coverage ?? "none" }).count > 1 || e.calls < 2 ? [] : ["only one kind of coverage called"])
                 }),
            Case(name: "prescription refill", kind: "workflow", expected: "resolved, refill task (FHIR Task)",
                 plan: simple(.prescriptionRefill), judge: { e in
                     e.all("resolved") + (e.notes == e.calls ? [] : ["\(e.notes) notes"]) + (e.tasks == e.calls ? [] : ["\(e.tasks) refill tasks"])
                 }),
            Case(name: "urgent triage", kind: "workflow", expected: "transferred to the nurse line",
                 plan: simple(.urgentTriage), judge: { e in e.all("transferred") }),
            Case(name: "after-hours routing", kind: "workflow", expected: "callback, or booked out_of_hours",
                 plan: simple(.afterHours), judge: { e in
                     (e.outcomes.values.allSatisfy { $0 == "resolved" || $0 == "callback" } ? [] : ["outcomes \(e.summary)"])
                         + (e.bookings.allSatisfy { $0.flags.contains("out_of_hours") } ? [] : ["a booking without out_of_hours"])
                 }),
            Case(name: "all slots full", kind: "edge case", expected: "callback, nothing booked",
                 plan: simple(.newPatientBooking, quirk: .fullSchedule), judge: { e in
                     e.all("callback") + (e.bookings.isEmpty ? [] : ["booked anyway"])
                 }),
            Case(name: "patient not found", kind: "edge case", expected: "transferred, nothing booked",
                 plan: simple(.newPatientBooking, quirk: .stranger), judge: { e in
                     e.all("transferred") + (e.bookings.isEmpty ? [] : ["booked anyway"])
                 }),
            Case(name: "EHR timeout", kind: "edge case", expected: "no answer (12), retried, callback",
                 faults: SandboxFaults(timeoutRate: 1, timeoutSeconds: 4), together: true,
                 plan: simple(.insuranceCheck), judge: { e in
                     e.all("callback") + (e.majorRows >= e.calls ? [] : ["\(e.majorRows) no-answer audit rows"])
                 }),
            Case(name: "unexpected EHR error", kind: "edge case", expected: "HTTP 500 (8), retried, callback",
                 faults: SandboxFaults(errorRate: 1), plan: simple(.insuranceCheck), judge: { e in
                     e.all("callback") + (e.seriousRows >= 3 * e.calls ? [] : ["\(e.seriousRows) error audit rows"])
                 }),
            Case(name: "several actions in one call", kind: "edge case", expected: "resolved, both actions audited",
                 plan: simple(.newPatientBooking, firstAlso: .insuranceCheck), judge: { e in
                     e.all("resolved") + (e.stepsPerCall.values.allSatisfy { $0 >= 4 } ? [] : ["a call with fewer than 4 EHR steps"])
                 }),
            Case(name: "two patients, one slot", kind: "edge case", expected: "one wins, the other gets the next slot",
                 together: true, plan: { agent, n in agent.rehearsalPair(n) }, judge: { e in
                     e.all("resolved") + (e.discardedSlotTaken >= 1 ? [] : ["no booking lost the race"])
                 }),
            Case(name: "concurrent calls", kind: "edge case", expected: "all resolved, no slot booked twice",
                 together: true, plan: simple(.newPatientBooking), judge: { e in e.all("resolved") }),
            Case(name: "ambiguous patient match", kind: "edge case", expected: "booked, flagged ambiguous_match",
                 plan: simple(.newPatientBooking, quirk: .unknownPhone), judge: { e in
                     e.all("resolved") + (e.bookings.count == e.calls && e.bookings.allSatisfy { $0.flags.contains("ambiguous_match") }
                         ? [] : ["bookings not flagged: \(e.bookings.map(\.flags))"])
                 }),
            Case(name: "two scheduling actions", kind: "edge case", expected: "resolved, moved one and booked one",
                 plan: { agent, n in [agent.rehearsalPlan(n, workflow: .newPatientBooking, quirk: nil, firstAlso: .reschedule, booked: true)] },
                 judge: { e in
                     e.all("resolved") + (Set(e.bookings.map(\.kind)) == ["reschedule", "book"] && e.bookings.count == 2 * e.calls
                         ? [] : ["bookings \(e.bookings.map(\.kind))"])
                 }),
            Case(name: "dropped before the write", kind: "edge case", expected: "dropped, nothing written, no item",
                 plan: simple(.newPatientBooking, quirk: .droppedBeforeWrite), judge: { e in
                     e.all("dropped") + (e.bookings.isEmpty && e.items == 0 ? [] : ["\(e.bookings.count) bookings, \(e.items) items"])
                 }),
            Case(name: "dropped during the write", kind: "edge case", expected: "dropped, write sent later, booking confirmed",
                 plan: simple(.newPatientBooking, quirk: .droppedDuringWrite), judge: { e in
                     e.all("dropped") + (e.bookings.count == e.calls && e.pendingBookings == 0 ? [] : ["\(e.bookings.count) bookings, \(e.pendingBookings) still pending"])
                         + (e.notes == 0 ? [] : ["\(e.notes) notes for dropped calls"])
                 }),
            Case(name: "call dropped mid-transaction", kind: "edge case", expected: "dropped after the write, booking kept",
                 plan: simple(.newPatientBooking, quirk: .dropped), judge: { e in
                     e.all("dropped") + (e.bookings.count == e.calls ? [] : ["\(e.bookings.count) bookings"])
                         + (e.notes == 0 ? [] : ["\(e.notes) notes for dropped calls"])
                 }),
        ]
    }
}

extension Agent {
    func rehearsalPlan(_ n: Int, workflow: Workflow, quirk: CallPlan.Quirk?, firstAlso: Workflow?, booked: Bool = false,
                       coverage: String? = nil) -> CallPlan {
        random { rng in
            var caller = quirk == .unregistered ? Self.newcomer(n, using: &rng)
                : practice.callers[Int.random(in: 0 ..< min(practice.callers.count, 300), using: &rng)]
            if let coverage {
                // Both answers the guide names: insurance on file and active, and inactive.
                let insured = practice.callers.filter { $0.coverage == coverage }
                if !insured.isEmpty { caller = insured[n % insured.count] }
            }
            if quirk == .unknownPhone {
                // A namesake pair of the practice (same name and birth date).
                let pairs = Dictionary(grouping: practice.callers, by: { "\($0.family)|\($0.given)|\($0.birthDate)" }).values.filter { $0.count > 1 }
                if let pair = pairs.sorted(by: { $0[0].patientID < $1[0].patientID }).first { caller = pair[Int.random(in: 0 ..< pair.count, using: &rng)] }
            }
            if workflow == .reschedule || workflow == .cancel || booked {
                // Callers of the practice with an appointment this run made (newcomers are not in the list).
                let booked = Set(practice.patientsWithAppointments())
                let known = practice.callers.filter { booked.contains(ehrPatientID($0)) }
                // A different patient for each call of the run, so two cancels never race for one appointment.
                if !known.isEmpty { caller = known[n % known.count] }
            }
            return CallPlan(callID: "d4-\(String(Clock.nowMillis(), radix: 36))-\(n)", workflow: workflow, caller: caller, quirk: quirk,
                            firstAlso: firstAlso)
        }
    }

    func rehearsalPair(_ n: Int) -> [CallPlan] {
        var first = rehearsalPlan(n, workflow: .newPatientBooking, quirk: nil, firstAlso: nil)
        first.contestedProvider = random { Int.random(in: 0 ..< max(1, practice.providers.count), using: &$0) }
        var second = rehearsalPlan(n, workflow: .newPatientBooking, quirk: nil, firstAlso: nil)
        second.callID = first.callID + "b"
        second.contestedProvider = first.contestedProvider
        return [first, second]
    }

    /// Runs the rehearsal: `calls` calls spread over every row in order. `setFaults` sets the
    /// EHR's behaviour, `served` is the number of requests the EHR has served so far.
    public func rehearse(calls: Int, auditPath: String, outboxPath: String, setFaults: @escaping @Sendable (SandboxFaults) async -> Void,
                         served: @escaping @Sendable () async -> Int) async -> RehearsalReport {
        let cases = Rehearsal.cases()
        var report = RehearsalReport(protocolName: "day4", transport: configuration.transport, seed: configuration.seed, calls: 0, rows: [])
        await withTaskGroup(of: Void.self) { background in
            background.addTask { await self.keepTime() }
            background.addTask { await self.drainOutbox() }
            await learnPractice()
            let perRow = max(1, calls / cases.count)
            var extra = max(0, calls - perRow * cases.count)
            var number = 0
            for rehearsalCase in cases {
                let count = perRow + (extra > 0 ? 1 : 0)
                extra = max(0, extra - 1)
                await setFaults(rehearsalCase.faults)
                let servedBefore = await served()
                let seqBefore = (try? lastSeq(auditPath)) ?? 0
                var plans: [CallPlan] = []
                while plans.count < count {
                    plans += rehearsalCase.plan(self, number)
                    number += 1
                }
                await runRow(plans, together: rehearsalCase.together)
                await setFaults(SandboxFaults())
                await settle()
                let row = await judge(rehearsalCase, plans: plans, auditPath: auditPath, outboxPath: outboxPath, seqBefore: seqBefore,
                                      served: await served() - servedBefore)
                report.rows.append(row)
                report.calls += plans.count
            }
            background.cancelAll()
        }
        return report
    }

    private func runRow(_ plans: [CallPlan], together: Bool) async {
        counters.withLock { $0.started += plans.count; $0.inProgress += plans.count }
        if together {
            await withTaskGroup(of: Void.self) { group in
                for plan in plans { group.addTask { await self.runCall(plan) } }
            }
        } else {
            for plan in plans { await runCall(plan) }
        }
        counters.withLock { $0.ended += plans.count; $0.inProgress -= plans.count }
    }

    /// Until nothing is unsent and the EHR link is back online (after a fault row), at most a minute.
    private func settle() async {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let unsent = (try? await ledger.withOutbox { try $0.unsentCount() }) ?? 1
            if unsent == 0 && (link.state == .online || link.state == .degraded) { return }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    private nonisolated func lastSeq(_ path: String) throws -> Int64 {
        let queue = try DatabaseQueue(path: path, configuration: { var c = Configuration(); c.readonly = true; return c }())
        defer { try? queue.close() }
        return try queue.read { try Int64.fetchOne($0, sql: "SELECT max(seq) FROM audit_event") ?? 0 }
    }

    private func judge(_ rehearsalCase: Rehearsal.Case, plans: [CallPlan], auditPath: String, outboxPath: String, seqBefore: Int64,
                       served: Int) async -> RehearsalRow {
        let ids = plans.map(\.callID)
        var problems: [String] = []
        var evidence = Rehearsal.Evidence(outcomes: [:], bookings: [], notes: 0, auditRows: 0, majorRows: 0, seriousRows: 0,
                                          stepsPerCall: [:], discardedSlotTaken: 0, doubleBooked: 0, unsent: 0)
        var minor = 0
        do {
            (evidence, minor) = try Self.readEvidence(ids: ids, auditPath: auditPath, outboxPath: outboxPath, seqBefore: seqBefore)
            evidence.unsent = (try? await ledger.withOutbox { try $0.unsentCount() }) ?? -1
        } catch {
            problems.append("could not read the databases: \(error)")
        }
        evidence.callers = Dictionary(plans.map { ($0.callID, $0.caller) }, uniquingKeysWith: { a, _ in a })
        problems += rehearsalCase.judge(evidence)
        if evidence.outcomes.count != plans.count { problems.append("\(evidence.outcomes.count) calls recorded of \(plans.count)") }
        // 100% audit coverage: every request the EHR served has its row, and no row claims one it did not.
        if served != evidence.auditRows { problems.append("the EHR served \(served) requests, the audit has \(evidence.auditRows) rows") }
        if evidence.unsent != 0 { problems.append("\(evidence.unsent) outbox items unsent") }
        return RehearsalRow(name: rehearsalCase.name, kind: rehearsalCase.kind, calls: plans.count, expected: rehearsalCase.expected,
                            happened: evidence.summary + (evidence.bookings.isEmpty ? "" : "; \(evidence.bookings.count) booked"),
                            ehrRequests: served, failures: evidence.majorRows + evidence.seriousRows + minor,
                            auditRows: evidence.auditRows, pass: problems.isEmpty, problems: problems)
    }

    /// What the databases hold about a row's calls (read-only connections of their own).
    private static func readEvidence(ids: [String], auditPath: String, outboxPath: String,
                                     seqBefore: Int64) throws -> (Rehearsal.Evidence, minor: Int) {
        var readOnly = Configuration()
        readOnly.readonly = true
        let marks = ids.map { _ in "?" }.joined(separator: ",")
        let audit = try DatabaseQueue(path: auditPath, configuration: readOnly)
        defer { try? audit.close() }
        var e = Rehearsal.Evidence(outcomes: [:], bookings: [], notes: 0, auditRows: 0, majorRows: 0, seriousRows: 0,
                                   stepsPerCall: [:], discardedSlotTaken: 0, doubleBooked: 0, unsent: 0)
        let minor: Int = try audit.read { db in
            for row in try Row.fetchAll(db, sql: "SELECT call_id, outcome FROM call WHERE call_id IN (\(marks))", arguments: StatementArguments(ids)) {
                e.outcomes[row["call_id"]] = row["outcome"] ?? "in progress"
            }
            e.bookings = try Row.fetchAll(db, sql: "SELECT call_id, kind, flags FROM booking WHERE call_id IN (\(marks))",
                                          arguments: StatementArguments(ids)).map { ($0["call_id"], $0["kind"], $0["flags"] ?? "") }
            e.auditRows = try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_event WHERE seq > ?", arguments: [seqBefore]) ?? 0
            e.pendingBookings = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM booking WHERE appointment_ref LIKE 'Appointment?%' AND call_id IN (\(marks))
                """, arguments: StatementArguments(ids)) ?? 0
            e.majorRows = try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_event WHERE seq > ? AND outcome = 12", arguments: [seqBefore]) ?? 0
            e.seriousRows = try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_event WHERE seq > ? AND outcome = 8", arguments: [seqBefore]) ?? 0
            e.notes = try Int.fetchOne(db, sql: """
                SELECT count(DISTINCT call_id) FROM audit_event WHERE seq > ? AND action = 'communication.create' AND outcome = 0
                AND call_id IN (\(marks))
                """, arguments: StatementArguments([seqBefore] + ids)) ?? 0
            for row in try Row.fetchAll(db, sql: "SELECT call_id, count(*) AS n FROM audit_event WHERE seq > ? AND call_id IN (\(marks)) GROUP BY call_id",
                                        arguments: StatementArguments([seqBefore] + ids)) {
                e.stepsPerCall[row["call_id"]] = row["n"]
            }
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_event WHERE seq > ? AND outcome = 4", arguments: [seqBefore]) ?? 0
        }
        let outbox = try DatabaseQueue(path: outboxPath, configuration: readOnly)
        defer { try? outbox.close() }
        e.items = try outbox.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox_item WHERE (operation LIKE 'appointment.%' OR operation LIKE 'hl7.siu%') AND call_id IN (\(marks))",
                             arguments: StatementArguments(ids)) ?? 0
        }
        e.patientWrites = try outbox.read { db in
            try Int.fetchOne(db, sql: """
                SELECT count(*) FROM outbox_item WHERE status = 'succeeded' AND call_id IN (\(marks))
                AND (operation LIKE 'patient.%' OR operation LIKE 'hl7.adt_%')
                """, arguments: StatementArguments(ids)) ?? 0
        }
        e.tasks = try outbox.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox_item WHERE status = 'succeeded' AND operation = 'task.create' AND call_id IN (\(marks))",
                             arguments: StatementArguments(ids)) ?? 0
        }
        e.discardedSlotTaken = try outbox.read { db in
            try Int.fetchOne(db, sql: """
                SELECT count(*) FROM outbox_item WHERE status = 'discarded' AND last_error LIKE '%slot taken%' AND call_id IN (\(marks))
                """, arguments: StatementArguments(ids)) ?? 0
        }
        return (e, minor)
    }
}
