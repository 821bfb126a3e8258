import FlyingFox
import Foundation
import GRDB
import SwitchboardCore
import SwitchboardEHR

/// The practice's proprietary REST API, in the style of athenahealth's: practice-scoped
/// paths (`/v1/{practiceid}/…`), the EHR's own numeric ids (not the FHIR ids), form-encoded
/// writes, `limit`/`offset` paging with a `next` link, `X-RateLimit-*` headers on every
/// answer and a real per-second limit answered 429. Same database, token endpoint, faults
/// and outages as the FHIR API; docs/simulator.md describes every endpoint.
final class RESTService: Sendable {
    let database: SandboxDatabase
    let configuration: SandboxConfiguration
    /// Tokens, faults and the request count are the FHIR service's: one EHR, two APIs.
    let fhir: FHIRService
    private let window = Locked((second: Int64(0), used: 0))

    init(database: SandboxDatabase, configuration: SandboxConfiguration, fhir: FHIRService) {
        self.database = database; self.configuration = configuration; self.fhir = fhir
    }

    var prefix: String { "/v1/\(configuration.restPracticeID)" }

    func respond(to request: HTTPRequest) async -> HTTPResponse {
        fhir.fhirRequests.withLock { $0 += 1 }
        let (limit, remaining, reset) = take()
        var response: HTTPResponse
        do {
            guard remaining >= 0 else {
                throw RESTFailure(.tooManyRequests, "rate limit of \(limit) requests per second exceeded",
                                  headers: [HTTPHeader("Retry-After"): "1"])
            }
            do {
                try fhir.authorize(request)
                try await fhir.injectFaults()
            } catch let failure as FHIRFailure {
                throw RESTFailure(failure.status, failure.diagnostics, headers: failure.headers)
            }
            let route = request.path.dropFirst(prefix.count).split(separator: "/").map(String.init)
            do {
                response = try await handle(request, route: route)
            } catch let failure as RESTFailure {
                fhir.noteRefused(request, failure.response.statusCode.code)
                throw failure
            }
        } catch let failure as RESTFailure {
            response = failure.response
        } catch {
            response = RESTFailure(.internalServerError, "sandbox error: \(error)").response
        }
        response.headers[HTTPHeader("X-RateLimit-Limit")] = String(limit)
        response.headers[HTTPHeader("X-RateLimit-Remaining")] = String(max(0, remaining))
        response.headers[HTTPHeader("X-RateLimit-Reset")] = String(reset)
        return response
    }

    /// One request out of this second's allowance: (limit, left after this one, seconds to reset).
    private func take() -> (Int, Int, Int) {
        let limit = configuration.restRequestsPerSecond
        let second = Clock.nowMillis() / 1000
        let used = window.withLock { w -> Int in
            if w.second != second { w = (second, 0) }
            w.used += 1
            return w.used
        }
        return (limit, limit - used, 1)
    }

    // MARK: Routing

    private func handle(_ request: HTTPRequest, route: [String]) async throws -> HTTPResponse {
        let q = request.query
        switch (request.method, route) {
        case (.GET, ["providers"]):
            return try await providers(q)
        case (.GET, ["patients"]):
            return try await patients(q)
        case (.POST, ["patients"]):
            return try await register(request)
        case (.PUT, let r) where r.count == 2 && r[0] == "patients":
            return try await updatePatient(r[1], request)
        case (.GET, ["appointments", "open"]):
            return try await openSlots(q)
        case (.GET, ["appointments", "booked"]):
            return try await booked(q)
        case (.GET, let r) where r.count == 3 && r[0] == "patients" && r[2] == "insurances":
            return try await insurances(patient: r[1], q)
        case (.GET, let r) where r.count == 2 && r[0] == "appointments":
            return try await appointment(r[1])
        case (.PUT, let r) where r.count == 2 && r[0] == "appointments":
            return try await book(slot: r[1], request)
        case (.PUT, let r) where r.count == 3 && r[0] == "appointments" && (r[2] == "reschedule" || r[2] == "cancel"):
            return try await change(r[1], cancel: r[2] == "cancel", request)
        case (.POST, ["notes"]):
            return try await note(request)
        default:
            throw RESTFailure(.notFound, "no such endpoint: \(request.method.rawValue) \(request.path)")
        }
    }

    // MARK: Reads

    private func providers(_ q: [HTTPRequest.QueryItem]) async throws -> HTTPResponse {
        // Plain values out of the read (rows are not Sendable): the read then runs on GRDB's
        // reader, not blocking a thread of the cooperative pool.
        let rows = try await database.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, json FROM practitioner ORDER BY rowid").map { (id: $0["id"] as String, json: $0["json"] as String) }
        }
        let providers: [[String: String]] = rows.compactMap { row in
            guard let p = try? FHIRJSON.decode(Practitioner.self, from: Data(row.json.utf8)) else { return nil }
            let name = p.name?.first
            return ["providerid": RESTIDs.provider(row.id), "firstname": name?.given?.first ?? "", "lastname": name?.family ?? "",
                    "displayname": name?.displayName ?? ""]
        }
        return try page("providers", providers, q)
    }

    private func patients(_ q: [HTTPRequest.QueryItem]) async throws -> HTTPResponse {
        var clauses: [String] = [], arguments: [(any DatabaseValueConvertible)?] = []
        if let last = q["lastname"] {
            let key = searchKey(last)
            clauses.append("family_key >= ? AND family_key < ?"); arguments += [key, key + "\u{10FFFF}"]
        }
        if let dob = q["dob"] {
            guard let date = RESTDates.isoDate(fromUS: dob) else { throw RESTFailure(.badRequest, "dob must be MM/DD/YYYY") }
            clauses.append("birth_date = ?"); arguments.append(date)
        }
        if let phone = q["mobilephone"] ?? q["homephone"] { clauses.append("phone_key = ?"); arguments.append(phoneKey(phone)) }
        guard !clauses.isEmpty else { throw RESTFailure(.badRequest, "give lastname, dob or mobilephone") }
        let (limit, offset) = try paging(q)
        let filter = clauses.joined(separator: " AND ")
        let filterArguments = StatementArguments(arguments), pageArguments = StatementArguments(arguments + [limit, offset])
        let (total, rows) = try await database.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM patient WHERE \(filter)", arguments: filterArguments) ?? 0,
             try Row.fetchAll(db, sql: "SELECT id, json FROM patient WHERE \(filter) ORDER BY rowid LIMIT ? OFFSET ?",
                              arguments: pageArguments).map { (id: $0["id"] as String, json: $0["json"] as String) })
        }
        let patients: [[String: String]] = rows.compactMap { row in
            guard let p = try? FHIRJSON.decode(Patient.self, from: Data(row.json.utf8)) else { return nil }
            return ["patientid": RESTIDs.patient(row.id), "firstname": p.name?.first?.given?.first ?? "",
                    "lastname": p.name?.first?.family ?? "", "dob": p.birthDate.flatMap(RESTDates.usDate(fromISO:)) ?? "",
                    "mobilephone": p.phone ?? ""]
        }
        return paged("patients", patients, total: total, limit: limit, offset: offset, q, path: "\(prefix)/patients")
    }

    /// A patient's insurance on file, with the eligibility the payer last answered.
    private func insurances(patient: String, _ q: [HTTPRequest.QueryItem]) async throws -> HTTPResponse {
        let id = RESTIDs.sandboxPatient(patient)
        let rows = try await database.pool.read { db in
            try String.fetchAll(db, sql: "SELECT json FROM coverage WHERE beneficiary_id = ? ORDER BY id", arguments: [id])
        }
        let insurances: [[String: String]] = rows.compactMap { json in
            guard let c = try? FHIRJSON.decode(Coverage.self, from: Data(json.utf8)) else { return nil }
            return ["insuranceid": c.id ?? "", "insuranceplanname": c.payor.first?.display ?? "",
                    "eligibilitystatus": c.status == .active ? "Eligible" : "Ineligible", "policynumber": c.subscriberId ?? ""]
        }
        return try page("insurances", insurances, q)
    }

    /// Free slots, athenahealth's "open appointments": each has an appointmentid of its own
    /// that a booking names.
    private func openSlots(_ q: [HTTPRequest.QueryItem]) async throws -> HTTPResponse {
        guard let provider = q["providerid"] else { throw RESTFailure(.badRequest, "providerid is required") }
        let (from, to) = try dateRange(q)
        let (limit, offset) = try paging(q)
        let arguments: [(any DatabaseValueConvertible)?] = ["pr-\(provider)", from, to]
        let sql = """
            FROM slot s JOIN schedule sc ON sc.id = s.schedule_id
            WHERE sc.practitioner_id = ? AND s.start_ms >= ? AND s.start_ms < ? AND s.status = 'free'
            """
        let filterArguments = StatementArguments(arguments), pageArguments = StatementArguments(arguments + [limit, offset])
        let (total, rows) = try await database.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) \(sql)", arguments: filterArguments) ?? 0,
             try Row.fetchAll(db, sql: "SELECT s.rowid AS rid, s.* \(sql) ORDER BY s.start_ms, s.id LIMIT ? OFFSET ?",
                              arguments: pageArguments)
                .map { (rid: $0["rid"] as Int64, start: $0["start_ms"] as Int64, end: $0["end_ms"] as Int64, type: $0["appointment_type"] as String) })
        }
        let slots: [[String: String]] = rows.map { row in
            ["appointmentid": String(row.rid), "providerid": provider,
             "date": RESTDates.usDate(row.start), "starttime": RESTDates.time(row.start), "duration": String((row.end - row.start) / 60_000),
             "appointmenttype": row.type, "appointmentstatus": "o"]
        }
        return paged("appointments", slots, total: total, limit: limit, offset: offset, q, path: "\(prefix)/appointments/open")
    }

    private func booked(_ q: [HTTPRequest.QueryItem]) async throws -> HTTPResponse {
        var clauses = ["1"], arguments: [(any DatabaseValueConvertible)?] = []
        if let patient = q["patientid"] { clauses.append("patient_id = ?"); arguments.append(RESTIDs.sandboxPatient(patient)) }
        if let provider = q["providerid"] { clauses.append("practitioner_id = ?"); arguments.append("pr-\(provider)") }
        if q["startdate"] != nil || q["enddate"] != nil {
            let (from, to) = try dateRange(q)
            clauses.append("start_ms >= ? AND start_ms < ?"); arguments += [from, to]
        }
        if q["showcancelled"] != "true" { clauses.append("status <> 'cancelled'") }
        let (limit, offset) = try paging(q)
        let filter = clauses.joined(separator: " AND ")
        let filterArguments = StatementArguments(arguments), pageArguments = StatementArguments(arguments + [limit, offset])
        let (total, found) = try await database.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM appointment WHERE \(filter)", arguments: filterArguments) ?? 0,
             try Row.fetchAll(db, sql: "SELECT rowid AS rid, * FROM appointment WHERE \(filter) ORDER BY start_ms, id LIMIT ? OFFSET ?",
                              arguments: pageArguments).map { try Self.appointmentFields($0, db) })
        }
        return paged("appointments", found, total: total, limit: limit, offset: offset, q, path: "\(prefix)/appointments/booked")
    }

    private func appointment(_ restID: String) async throws -> HTTPResponse {
        let fields = try await database.pool.read { db -> [String: String]? in
            guard let rid = Int64(restID),
                  let row = try Row.fetchOne(db, sql: "SELECT rowid AS rid, * FROM appointment WHERE rowid = ?", arguments: [rid])
            else { return nil }
            return try Self.appointmentFields(row, db)
        }
        guard let fields else { throw RESTFailure(.notFound, "appointment \(restID) not found") }
        return json(.ok, [fields])
    }

    /// An appointment as this API shows it; `version` is what a change must name.
    static func appointmentFields(_ row: Row, _ db: Database) throws -> [String: String] {
        let a = try SandboxDatabase.appointment(row, db)
        let start = a.start?.millis ?? 0, end = a.end?.millis ?? start
        let slot = try (a.slot?.first?.id).flatMap { try Int64.fetchOne(db, sql: "SELECT rowid FROM slot WHERE id = ?", arguments: [$0]) }
        return ["appointmentid": String(row["rid"] as Int64),
                "appointmentstatus": a.status == .cancelled ? "x" : "f",
                "patientid": (a.actor(ofType: "Patient")?.id).map(RESTIDs.patient) ?? "",
                "providerid": (a.actor(ofType: "Practitioner")?.id).map(RESTIDs.provider) ?? "",
                "date": RESTDates.usDate(start), "starttime": RESTDates.time(start), "duration": String((end - start) / 60_000),
                "appointmenttype": a.appointmentType?.coding?.first?.code ?? "",
                "slotid": slot.map(String.init) ?? "", "version": String(row["version"] as Int)]
    }

    // MARK: Writes (form-encoded)

    /// Books an open slot for a patient. `Idempotency-Key` replays the first answer.
    private func book(slot restSlot: String, _ request: HTTPRequest) async throws -> HTTPResponse {
        let form = formFields(String(decoding: try await request.bodyData, as: UTF8.self))
        guard let patient = form["patientid"], !patient.isEmpty else { throw RESTFailure(.badRequest, "patientid is required") }
        let key = request.headers[HTTPHeader("Idempotency-Key")]
        let now = Clock.nowMillis()
        return try await idempotent(key, now: now) { db in
            guard let rid = Int64(restSlot),
                  let slot = try Row.fetchOne(db, sql: """
                      SELECT s.*, sc.practitioner_id FROM slot s JOIN schedule sc ON sc.id = s.schedule_id WHERE s.rowid = ?
                      """, arguments: [rid])
            else { throw RESTFailure(.notFound, "open appointment \(restSlot) not found") }
            let patientID = RESTIDs.sandboxPatient(patient)
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM patient WHERE id = ?)", arguments: [patientID]) == true else {
                throw RESTFailure(.badRequest, "patient \(patient) not found")
            }
            let held = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM slot_hold WHERE slot_id = ?)", arguments: [slot["id"]]) ?? false
            guard !held, slot["status"] == "free" else { throw RESTFailure(.conflict, "the appointment slot is not available") }
            let type = form["appointmenttype"].flatMap { $0.isEmpty ? nil : $0 } ?? (slot["appointment_type"] as String)
            var booking = Appointment(
                id: UUID().uuidString.lowercased(),
                identifier: form["externalid"].map { [Identifier(system: "urn:switchboard:booking", value: $0)] },
                status: .booked,
                appointmentType: CodeableConcept(coding: [Coding(system: "http://terminology.hl7.org/CodeSystem/v2-0276", code: type)]),
                description: form["bookingnote"], start: FHIRInstant(millis: slot["start_ms"]), end: FHIRInstant(millis: slot["end_ms"]),
                slot: [Reference("Slot/\(slot["id"] as String)")], created: FHIRInstant(millis: now).text,
                participant: [AppointmentParticipant(actor: Reference("Patient/\(patientID)"), status: .accepted),
                              AppointmentParticipant(actor: Reference("Practitioner/\(slot["practitioner_id"] as String)"), status: .accepted)])
            do {
                try SandboxDatabase.save(booking, version: 1, at: now, db)
            } catch is SlotTaken {
                throw RESTFailure(.conflict, "the appointment slot is not available")
            }
            booking.meta = nil
            let row = try Row.fetchOne(db, sql: "SELECT rowid AS rid, * FROM appointment WHERE id = ?", arguments: [booking.id])!
            return (200, try Self.appointmentFields(row, db))
        }
    }

    /// Moves (`newappointmentid`, an open slot) or cancels an appointment. `version` must be
    /// the one the client last saw, or the change is refused 412: someone changed it since.
    private func change(_ restID: String, cancel: Bool, _ request: HTTPRequest) async throws -> HTTPResponse {
        let form = formFields(String(decoding: try await request.bodyData, as: UTF8.self))
        let key = request.headers[HTTPHeader("Idempotency-Key")]
        let injectedConflict = Double.random(in: 0 ..< 1) < fhir.faults.current.versionConflictRate
        let now = Clock.nowMillis()
        return try await idempotent(key, now: now) { db in
            guard let rid = Int64(restID),
                  let row = try Row.fetchOne(db, sql: "SELECT rowid AS rid, * FROM appointment WHERE rowid = ?", arguments: [rid])
            else { throw RESTFailure(.notFound, "appointment \(restID) not found") }
            let version: Int = row["version"]
            if let expected = form["version"], expected != String(version) {
                throw RESTFailure(.preconditionFailed, "appointment \(restID) was changed since version \(expected) (now \(version))")
            }
            if injectedConflict { throw RESTFailure(.preconditionFailed, "appointment \(restID) was changed by someone else (injected)") }
            var a = try SandboxDatabase.appointment(row, db)
            a.meta = nil
            if cancel {
                guard a.status != .cancelled else { throw RESTFailure(.conflict, "appointment \(restID) is already cancelled") }
                a.status = .cancelled
                a.cancelationReason = CodeableConcept(text: form["cancellationreason"] ?? "cancelled by phone")
            } else {
                guard let target = form["newappointmentid"].flatMap(Int64.init),
                      let slot = try Row.fetchOne(db, sql: """
                          SELECT s.*, sc.practitioner_id FROM slot s JOIN schedule sc ON sc.id = s.schedule_id WHERE s.rowid = ?
                          """, arguments: [target])
                else { throw RESTFailure(.badRequest, "newappointmentid must name an open appointment") }
                let holder = try String.fetchOne(db, sql: "SELECT appointment_id FROM slot_hold WHERE slot_id = ?", arguments: [slot["id"]])
                if holder != nil && holder != a.id || holder == nil && slot["status"] != "free" {
                    throw RESTFailure(.conflict, "the appointment slot is not available")
                }
                a.status = .booked
                a.slot = [Reference("Slot/\(slot["id"] as String)")]
                a.start = FHIRInstant(millis: slot["start_ms"]); a.end = FHIRInstant(millis: slot["end_ms"])
                a.participant.removeAll { $0.actor?.reference?.hasPrefix("Practitioner/") == true }
                a.participant.append(AppointmentParticipant(actor: Reference("Practitioner/\(slot["practitioner_id"] as String)"), status: .accepted))
                if let type = form["appointmenttype"], !type.isEmpty {
                    a.appointmentType = CodeableConcept(coding: [Coding(system: "http://terminology.hl7.org/CodeSystem/v2-0276", code: type)])
                }
            }
            do {
                try SandboxDatabase.save(a, version: version + 1, at: now, db)
            } catch is SlotTaken {
                throw RESTFailure(.conflict, "the appointment slot is not available")
            }
            let saved = try Row.fetchOne(db, sql: "SELECT rowid AS rid, * FROM appointment WHERE rowid = ?", arguments: [rid])!
            return (200, try Self.appointmentFields(saved, db))
        }
    }

    /// Registers a patient (form `firstname`, `lastname`, `dob`, `mobilephone`). One with the
    /// same name, birth date and phone is answered instead of a duplicate, as vendors do.
    private func register(_ request: HTTPRequest) async throws -> HTTPResponse {
        let form = formFields(String(decoding: try await request.bodyData, as: UTF8.self))
        guard let last = form["lastname"], !last.isEmpty, let first = form["firstname"],
              let dob = form["dob"].flatMap(RESTDates.isoDate(fromUS:)) else {
            throw RESTFailure(.badRequest, "lastname, firstname and dob (MM/DD/YYYY) are required")
        }
        let phone = form["mobilephone"] ?? ""
        let now = Clock.nowMillis()
        return try await idempotent(request.headers[HTTPHeader("Idempotency-Key")], now: now) { db in
            let same = try String.fetchAll(db, sql: "SELECT id, json FROM patient WHERE family_key = ? AND birth_date = ? AND phone_key = ?",
                                           arguments: [searchKey(last), dob, phoneKey(phone)])
            if let id = try same.first(where: { id in
                try SandboxDatabase.patient(id: id, db)?.name?.first?.given?.first == first
            }) {
                return (200, ["patientid": RESTIDs.patient(id)])
            }
            let id = try SandboxDatabase.newPatientID(db)
            let patient = Patient(id: id, active: true, name: [HumanName(use: .official, family: last, given: [first])],
                                  telecom: phone.isEmpty ? nil : [ContactPoint(system: .phone, value: phone, use: .mobile)], birthDate: dob)
            try SandboxDatabase.insert(patient, version: 1, at: now, db)
            return (200, ["patientid": RESTIDs.patient(id)])
        }
    }

    /// Changes a patient's demographics (any of `firstname`, `lastname`, `mobilephone`).
    private func updatePatient(_ restID: String, _ request: HTTPRequest) async throws -> HTTPResponse {
        let form = formFields(String(decoding: try await request.bodyData, as: UTF8.self))
        let now = Clock.nowMillis()
        return try await idempotent(request.headers[HTTPHeader("Idempotency-Key")], now: now) { db in
            let id = RESTIDs.sandboxPatient(restID)
            guard var patient = try SandboxDatabase.patient(id: id, db),
                  let version = try Int.fetchOne(db, sql: "SELECT version FROM patient WHERE id = ?", arguments: [id])
            else { throw RESTFailure(.notFound, "patient \(restID) not found") }
            patient.meta = nil
            var name = patient.name?.first ?? HumanName()
            if let last = form["lastname"], !last.isEmpty { name.family = last }
            if let first = form["firstname"], !first.isEmpty { name.given = [first] }
            patient.name = [name]
            if let phone = form["mobilephone"], !phone.isEmpty { patient.telecom = [ContactPoint(system: .phone, value: phone, use: .mobile)] }
            try SandboxDatabase.insert(patient, version: version + 1, at: now, db)
            return (200, ["patientid": restID])
        }
    }

    /// A call note in the chart (kept as a FHIR Communication, so both APIs see it).
    private func note(_ request: HTTPRequest) async throws -> HTTPResponse {
        let form = formFields(String(decoding: try await request.bodyData, as: UTF8.self))
        guard let text = form["notetext"], !text.isEmpty else { throw RESTFailure(.badRequest, "notetext is required") }
        let key = request.headers[HTTPHeader("Idempotency-Key")]
        let now = Clock.nowMillis()
        return try await idempotent(key, now: now) { db in
            let subject = form["patientid"].flatMap { $0.isEmpty ? nil : RESTIDs.sandboxPatient($0) }
            let note = Communication(id: UUID().uuidString.lowercased(),
                                     identifier: form["externalid"].map { [Identifier(system: "urn:switchboard:call", value: $0)] },
                                     status: .completed, category: [CodeableConcept(text: form["category"] ?? "phone call summary")],
                                     subject: subject.map { Reference("Patient/\($0)") }, sent: FHIRInstant(millis: now).text,
                                     payload: [CommunicationPayload(contentString: text)])
            try db.execute(sql: "INSERT INTO communication (id, subject_id, updated_ms, json) VALUES (?, ?, ?, ?)",
                           arguments: [note.id, subject, now, try encodeJSON(note)])
            let rid = db.lastInsertedRowID
            return (200, ["noteid": String(rid), "success": "true"])
        }
    }

    // MARK: Helpers

    /// Runs a write once per `Idempotency-Key`: a repeat gets the stored first answer. The
    /// key is counted as received in the write's own transaction.
    private func idempotent(_ key: String?, now: UnixMillis,
                            _ body: @escaping @Sendable (Database) throws -> (Int, [String: String])) async throws -> HTTPResponse {
        let scoped = key.map { "rest:" + $0 }
        let (status, data, replayed): (Int, Data, Bool) = try await database.pool.write { db in
            if let key, let scoped, let row = try Row.fetchOne(db, sql: "SELECT status, body FROM idempotency WHERE key = ?", arguments: [scoped]) {
                try SandboxDatabase.noteAnswered(key: key, status: row["status"], replayed: true, db)
                return (row["status"], row["body"], true)
            }
            let (status, fields) = try body(db)
            let data = try JSONSerialization.data(withJSONObject: [fields], options: [.sortedKeys])
            if let scoped {
                try db.execute(sql: "INSERT INTO idempotency (key, status, location, etag, body, created_ms) VALUES (?, ?, NULL, NULL, ?, ?)",
                               arguments: [scoped, status, data, now])
            }
            // Counted in the transaction that applied it (see SandboxDatabase.noteReceived).
            if let key { try SandboxDatabase.noteAnswered(key: key, status: status, replayed: false, db) }
            return (status, data, false)
        }
        var headers: HTTPHeaders = [.contentType: "application/json"]
        if replayed { headers[HTTPHeader("Idempotent-Replayed")] = "true" }
        return HTTPResponse(statusCode: HTTPStatusCode(status, phrase: "OK"), headers: headers, body: data)
    }

    private func paging(_ q: [HTTPRequest.QueryItem]) throws -> (Int, Int) {
        let limit = try q["limit"].map { text -> Int in
            guard let n = Int(text), n >= 1 else { throw RESTFailure(.badRequest, "limit must be a positive number") }
            return min(n, 1000)
        } ?? configuration.defaultPageSize
        let offset = Int(q["offset"] ?? "0") ?? 0
        return (limit, max(0, offset))
    }

    /// `startdate`/`enddate` (MM/DD/YYYY, both days included) → [from, to) in unix ms, UTC.
    private func dateRange(_ q: [HTTPRequest.QueryItem]) throws -> (Int64, Int64) {
        guard let start = q["startdate"].flatMap(RESTDates.millis(fromUS:)) else {
            throw RESTFailure(.badRequest, "startdate must be MM/DD/YYYY")
        }
        guard let end = (q["enddate"] ?? q["startdate"]).flatMap(RESTDates.millis(fromUS:)), end >= start else {
            throw RESTFailure(.badRequest, "enddate must be MM/DD/YYYY, not before startdate")
        }
        return (start, end + 86_400_000)
    }

    private func page(_ name: String, _ all: [[String: String]], _ q: [HTTPRequest.QueryItem]) throws -> HTTPResponse {
        let (limit, offset) = try paging(q)
        return paged(name, Array(all.dropFirst(offset).prefix(limit)), total: all.count, limit: limit, offset: offset, q,
                     path: "\(prefix)/\(name)")
    }

    private func paged(_ name: String, _ items: [[String: String]], total: Int, limit: Int, offset: Int,
                       _ q: [HTTPRequest.QueryItem], path: String) -> HTTPResponse {
        var body: [String: Any] = ["totalcount": total, name: items]
        if offset + items.count < total {
            body["next"] = path + queryString(q.filter { $0.name != "offset" } + [.init(name: "offset", value: String(offset + limit))])
        }
        return json(.ok, body)
    }

    private func json(_ status: HTTPStatusCode, _ object: Any) -> HTTPResponse {
        HTTPResponse(statusCode: status, headers: [.contentType: "application/json"],
                     body: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }
}

/// An error answer of the REST API: `{"error": "…"}` with its status.
struct RESTFailure: Error {
    var status: HTTPStatusCode
    var message: String
    var headers: HTTPHeaders = [:]

    init(_ status: HTTPStatusCode, _ message: String, headers: HTTPHeaders = [:]) {
        self.status = status; self.message = message; self.headers = headers
    }

    var response: HTTPResponse {
        var headers = self.headers
        headers[.contentType] = "application/json"
        let body = (try? JSONSerialization.data(withJSONObject: ["error": message], options: [.sortedKeys])) ?? Data()
        return HTTPResponse(statusCode: status, headers: headers, body: body)
    }
}

/// The REST API's own ids: a patient `p-17` is `17`, a provider `pr-3` is `3`; open slots
/// and appointments are numbered by their row.
enum RESTIDs {
    static func patient(_ sandboxID: String) -> String { sandboxID.hasPrefix("p-") ? String(sandboxID.dropFirst(2)) : sandboxID }
    static func provider(_ sandboxID: String) -> String { sandboxID.hasPrefix("pr-") ? String(sandboxID.dropFirst(3)) : sandboxID }
    static func sandboxPatient(_ restID: String) -> String { "p-\(restID)" }
}
