import FlyingFox
import Foundation
import GRDB
import SwitchboardCore
import SwitchboardEHR

/// A FHIR error on its way to the client: status, OperationOutcome, extra headers.
struct FHIRFailure: Error {
    var status: HTTPStatusCode
    var code: OperationOutcome.IssueType
    var diagnostics: String
    var headers: HTTPHeaders = [:]

    init(_ status: HTTPStatusCode, _ code: OperationOutcome.IssueType, _ diagnostics: String,
         headers: HTTPHeaders = [:]) {
        self.status = status; self.code = code; self.diagnostics = diagnostics; self.headers = headers
    }
}

/// Answers the FHIR API and the token endpoint from the sandbox database. Every error
/// carries an OperationOutcome body.
final class FHIRService: Sendable {
    let database: SandboxDatabase
    let configuration: SandboxConfiguration
    let faults: Locked<SandboxFaults>
    /// `http://127.0.0.1:PORT`, known once the server listens.
    let origin = Locked("")
    private let tokens = Locked([String: UnixMillis]())
    /// Assertion ids already used, with their expiry: a replayed assertion is refused.
    private let usedAssertions = Locked([String: UnixMillis]())
    /// Every request that reached `/fhir`, answered or refused: the EHR's side of the
    /// "one audit row per EHR request" check.
    let fhirRequests = Locked(0)
    /// The vendor REST API on the same port, set once both exist.
    let rest = Locked<RESTService?>(nil)

    init(database: SandboxDatabase, configuration: SandboxConfiguration, faults: Locked<SandboxFaults>) {
        self.database = database; self.configuration = configuration; self.faults = faults
    }

    func respond(to request: HTTPRequest) async -> HTTPResponse {
        do {
            if request.path == "/oauth/token" { return try await issueToken(request) }
            if let rest = rest.current, request.path.hasPrefix(rest.prefix + "/") { return await rest.respond(to: request) }
            let parts = request.path.split(separator: "/").map(String.init)
            guard parts.first == "fhir" else { throw FHIRFailure(.notFound, .notFound, "no such endpoint: \(request.path)") }
            fhirRequests.withLock { $0 += 1 }
            let route = Array(parts.dropFirst())
            if route == ["metadata"], request.method == .GET { return try ok(.capabilityStatement(capabilities())) }
            try authorize(request)
            try await injectFaults()
            do {
                return try await handle(request, route: route)
            } catch let failure as FHIRFailure {
                noteRefused(request, failure.status.code)
                throw failure
            }
        } catch let failure as FHIRFailure {
            return outcome(failure)
        } catch {
            return outcome(FHIRFailure(.internalServerError, .exception, "sandbox error: \(error)"))
        }
    }

    /// The key a write is counted under in the sandbox's record of what it received (nil:
    /// not counted). A FHIR PUT is keyed by what makes it safe to resend, its resource and
    /// `If-Match` ("PUT Appointment/a-17 W/\"2\""): senders do not always pass its
    /// Idempotency-Key on.
    static func receivedKey(_ request: HTTPRequest) -> String? {
        guard request.method != .GET else { return nil }
        let parts = request.path.split(separator: "/")
        if request.method == .PUT, parts.first == "fhir", parts.count >= 3, let ifMatch = request.headers[HTTPHeader("If-Match")] {
            return "PUT \(parts[parts.count - 2])/\(parts[parts.count - 1]) \(ifMatch)"
        }
        return request.headers[HTTPHeader("Idempotency-Key")]
    }

    /// A keyed write refused before or by its handler: counted as received, not applied.
    func noteRefused(_ request: HTTPRequest, _ status: Int) {
        guard let key = Self.receivedKey(request) else { return }
        database.noteRefused(key: key, status: String(status))
    }

    /// Runs a write's transaction and counts its answer in the same one (a replayed answer,
    /// `Idempotent-Replayed`, as received, not applied).
    private func applying(_ request: HTTPRequest, _ body: @escaping @Sendable (Database) throws -> StoredResponse) async throws -> StoredResponse {
        let key = Self.receivedKey(request)
        return try await database.pool.write { db in
            let stored = try body(db)
            if let key {
                try SandboxDatabase.noteAnswered(key: key, status: stored.status, replayed: stored.replayed, db)
            }
            return stored
        }
    }

    // MARK: OAuth 2.0 client credentials

    private func issueToken(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard request.method == .POST else { throw FHIRFailure(.methodNotAllowed, .notSupported, "use POST") }
        let form = formFields(String(decoding: try await request.bodyData, as: UTF8.self))
        var clientID = form["client_id"], secret = form["client_secret"]
        if let basic = request.headers[.authorization], basic.hasPrefix("Basic "),
           let decoded = Data(base64Encoded: String(basic.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) }),
           let colon = decoded.firstIndex(of: ":") {
            clientID = String(decoded[..<colon]).removingPercentEncoding
            secret = String(decoded[decoded.index(after: colon)...]).removingPercentEncoding
        }
        func oauthError(_ status: HTTPStatusCode, _ error: String) -> HTTPResponse {
            HTTPResponse(statusCode: status, headers: [.contentType: "application/json", HTTPHeader("Cache-Control"): "no-store"],
                         body: Data(#"{"error":"\#(error)"}"#.utf8))
        }
        guard form["grant_type"] == "client_credentials" else { return oauthError(.badRequest, "unsupported_grant_type") }
        if form["client_assertion_type"] == SMARTBackend.assertionType {
            // SMART Backend Services: the assertion names the client; its registered keys check it.
            guard let assertion = form["client_assertion"], let claimed = Self.issuer(of: assertion),
                  let jwks = configuration.smartClientJWKS[claimed] else { return oauthError(.unauthorized, "invalid_client") }
            let now = Clock.nowMillis()
            do {
                let (_, jti) = try SMARTBackend.verify(assertion, jwks: jwks, clientID: claimed, tokenURL: origin.current + "/oauth/token", now: now)
                let replay = usedAssertions.withLock { used -> Bool in
                    used = used.filter { $0.value > now }
                    if used[jti] != nil { return true }
                    used[jti] = now + 300_000
                    return false
                }
                if replay { return oauthError(.unauthorized, "invalid_client") }
            } catch {
                return oauthError(.unauthorized, "invalid_client")
            }
        } else {
            guard clientID == configuration.clientID, secret == configuration.clientSecret else {
                return oauthError(.unauthorized, "invalid_client")
            }
        }
        let token = (0 ..< 4).map { _ in String(UInt64.random(in: .min ... .max), radix: 16) }.joined()
        let lifetime = configuration.tokenLifetimeSeconds
        tokens.withLock { tokens in
            let now = Clock.nowMillis()
            tokens = tokens.filter { $0.value > now }
            tokens[token] = now + UnixMillis(lifetime * 1000)
        }
        let body = #"{"access_token":"\#(token)","token_type":"Bearer","expires_in":\#(Int(lifetime.rounded(.up))),"scope":"system/*.read system/*.write"}"#
        return HTTPResponse(statusCode: .ok, headers: [.contentType: "application/json", HTTPHeader("Cache-Control"): "no-store"],
                            body: Data(body.utf8))
    }

    /// `iss` of a JWT, unverified: which client's keys to check it with.
    private static func issuer(of jwt: String) -> String? {
        let parts = jwt.split(separator: ".")
        guard parts.count == 3 else { return nil }
        var text = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text), let claims = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
        return claims["iss"] as? String
    }

    func authorize(_ request: HTTPRequest) throws {
        let challenge: HTTPHeaders = [HTTPHeader("WWW-Authenticate"): #"Bearer realm="ehr-sandbox""#]
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw FHIRFailure(.unauthorized, .login, "a Bearer token is required", headers: challenge)
        }
        let token = String(header.dropFirst(7))
        guard let expiry = tokens.withLock({ $0[token] }), expiry > Clock.nowMillis() else {
            throw FHIRFailure(.unauthorized, .expired, "the token is invalid or expired",
                              headers: [HTTPHeader("WWW-Authenticate"): #"Bearer realm="ehr-sandbox", error="invalid_token""#])
        }
    }

    // MARK: Faults

    func injectFaults() async throws {
        let f = faults.current
        var rng = SystemRandomNumberGenerator()
        let delay = f.sampleLatency(using: &rng)
        if delay > 0 { try await Task.sleep(for: .seconds(delay)) }
        let retry: HTTPHeaders = [HTTPHeader("Retry-After"): String(f.retryAfterSeconds)]
        if Double.random(in: 0 ..< 1) < f.throttleRate {
            throw FHIRFailure(.tooManyRequests, .throttled, "rate limit exceeded (injected)", headers: retry)
        }
        if Double.random(in: 0 ..< 1) < f.unavailableRate {
            throw FHIRFailure(.serviceUnavailable, .transient, "service unavailable (injected)", headers: retry)
        }
        if Double.random(in: 0 ..< 1) < f.errorRate {
            throw FHIRFailure(.internalServerError, .exception, "internal error (injected)")
        }
        if Double.random(in: 0 ..< 1) < f.unauthorizedRate {
            throw FHIRFailure(.unauthorized, .expired, "the token was revoked (injected)",
                              headers: [HTTPHeader("WWW-Authenticate"): #"Bearer realm="ehr-sandbox", error="invalid_token""#])
        }
        if Double.random(in: 0 ..< 1) < f.timeoutRate { try await Task.sleep(for: .seconds(f.timeoutSeconds)) }
    }

    // MARK: Routing

    private func handle(_ request: HTTPRequest, route: [String]) async throws -> HTTPResponse {
        let query = request.query
        switch (request.method, route.count) {
        case (.GET, 1):
            return try await search(route[0], query)
        case (.GET, 2):
            return try await read(route[0], id: route[1])
        case (.POST, 1 ... 2) where route[0] == CoverageEligibilityRequest.resourceType && (route.count == 1 || route[1] == "$submit"):
            return try await answerEligibility(request)
        case (.POST, 1) where ["Appointment", "Communication", "Patient", "Task"].contains(route[0]):
            return try await create(route[0], request)
        case (.PUT, 2) where route[0] == "Patient":
            return try await updatePatient(id: route[1], request)
        case (.PUT, 2) where route[0] == "Appointment":
            return try await updateAppointment(id: route[1], request)
        case (_, 1 ... 2) where known.contains(route[0]):
            throw FHIRFailure(.methodNotAllowed, .notSupported, "\(request.method.rawValue) is not supported on \(route[0])")
        default:
            throw FHIRFailure(.notFound, .notFound, "unknown resource type or path: /\(route.joined(separator: "/"))")
        }
    }

    private let known: Set<String> = ["Patient", "Practitioner", "Schedule", "Slot", "Appointment", "Coverage", "Communication", "Task",
                                      "CoverageEligibilityRequest"]

    // MARK: Eligibility

    /// The payer's answer on a coverage, as an EHR relays it: in force when the Coverage is
    /// active and its period has not ended. Kept with the request (table `eligibility`).
    private func answerEligibility(_ request: HTTPRequest) async throws -> HTTPResponse {
        let asked = try decode(CoverageEligibilityRequest.self, try await request.bodyData)
        guard asked.purpose.contains("validation"), let coverageID = asked.insurance?.first?.coverage.id else {
            throw FHIRFailure(HTTPStatusCode(422, phrase: "Unprocessable Content"), .required, "an eligibility request needs purpose validation and insurance.coverage")
        }
        let now = Clock.nowMillis()
        let key = Self.receivedKey(request)
        let answer: CoverageEligibilityResponse = try await database.pool.write { db in
            guard let json = try String.fetchOne(db, sql: "SELECT json FROM coverage WHERE id = ?", arguments: [coverageID]) else {
                throw FHIRFailure(.notFound, .notFound, "Coverage/\(coverageID) not found")
            }
            let coverage = try db.decodeJSON(Coverage.self, json)
            guard coverage.beneficiary.id == asked.patient.id else {
                throw FHIRFailure(HTTPStatusCode(422, phrase: "Unprocessable Content"), .invalid, "Coverage/\(coverageID) does not cover \(asked.patient.reference ?? "that patient")")
            }
            let ended = coverage.period?.end.flatMap(FHIRInstant.parse).map { $0 < now } ?? false
            let inForce = coverage.status == .active && !ended
            var stored = asked
            stored.id = UUID().uuidString.lowercased()
            var answer = CoverageEligibilityResponse(
                id: UUID().uuidString.lowercased(), patient: asked.patient, created: FHIRInstant(millis: now).text,
                request: Reference("CoverageEligibilityRequest/\(stored.id ?? "")"),
                disposition: inForce ? "Policy is in force" : "Policy is not in force",
                insurer: coverage.payor.first ?? asked.insurer,
                insurance: [.init(coverage: Reference("Coverage/\(coverageID)"), inforce: inForce)])
            try db.execute(sql: "INSERT INTO eligibility (id, coverage_id, created_ms, request_json, json) VALUES (?, ?, ?, ?, ?)",
                           arguments: [answer.id, coverageID, now, try encodeJSON(stored), try encodeJSON(answer)])
            answer.meta = Meta(versionId: "1", lastUpdated: FHIRInstant(millis: now))
            if let key { try SandboxDatabase.noteAnswered(key: key, status: 200, replayed: false, db) }
            return answer
        }
        return HTTPResponse(statusCode: .ok, headers: [.contentType: FHIRJSON.contentType], body: try FHIRJSON.encode(answer))
    }

    // MARK: Read

    private func read(_ type: String, id: String) async throws -> HTTPResponse {
        let resource: FHIRResource? = try await database.pool.read { db in
            switch type {
            case "Patient": return try SandboxDatabase.patient(id: id, db).map(FHIRResource.patient)
            case "Appointment": return try SandboxDatabase.appointment(id: id, db).map(FHIRResource.appointment)
            case "Slot": return try SandboxDatabase.slot(id: id, db).map(FHIRResource.slot)
            case "Practitioner", "Schedule", "Coverage", "Communication", "Task":
                guard let json = try String.fetchOne(db, sql: "SELECT json FROM \(type.lowercased()) WHERE id = ?", arguments: [id])
                else { return nil }
                return try db.decodeJSON(FHIRResource.self, json).withVersionOne()
            default: throw FHIRFailure(.notFound, .notFound, "unknown resource type \(type)")
            }
        }
        guard let resource else { throw FHIRFailure(.notFound, .notFound, "\(type)/\(id) not found") }
        return try ok(resource)
    }

    // MARK: Search

    private func search(_ type: String, _ query: [HTTPRequest.QueryItem]) async throws -> HTTPResponse {
        let count = try query["_count"].map { text -> Int in
            guard let n = Int(text), n >= 0 else { throw FHIRFailure(.badRequest, .invalid, "_count must be a number: \(text)") }
            return min(n, 1000)
        } ?? configuration.defaultPageSize
        let offset = Int(query["_offset"] ?? "0") ?? 0
        var clauses: [String] = [], arguments: [(any DatabaseValueConvertible)?] = []
        func reference(_ name: String, _ prefix: String) -> String? {
            query[name].map { $0.hasPrefix(prefix + "/") ? String($0.dropFirst(prefix.count + 1)) : $0 }
        }
        func dateRange(_ name: String, column: String) throws {
            for item in query where item.name == name {
                let (op, bound) = try dateBound(item.value, param: name)
                clauses.append("\(column) \(op) ?"); arguments.append(bound)
            }
        }
        let table: String, order: String
        switch type {
        case "Patient":
            table = "patient"; order = "id"
            if let family = query["family"] {
                let key = searchKey(family)
                clauses.append("family_key >= ? AND family_key < ?"); arguments += [key, key + "\u{10FFFF}"]
            }
            if let birth = query["birthdate"] {
                let date = birth.hasPrefix("eq") ? String(birth.dropFirst(2)) : birth
                guard FHIRInstant.parse(date) != nil, date.count == 10 else {
                    throw FHIRFailure(.badRequest, .value, "birthdate must be YYYY-MM-DD: \(birth)")
                }
                clauses.append("birth_date = ?"); arguments.append(date)
            }
            if let phone = query["phone"] ?? query["telecom"] {
                clauses.append("phone_key = ?"); arguments.append(phoneKey(phone))
            }
            if let id = query["_id"] { clauses.append("id = ?"); arguments.append(id) }
        case "Practitioner", "Schedule":
            table = type.lowercased(); order = "id"
            if let actor = reference("actor", "Practitioner"), type == "Schedule" {
                clauses.append("practitioner_id = ?"); arguments.append(actor)
            }
            if let id = query["_id"] { clauses.append("id = ?"); arguments.append(id) }
        case "Slot":
            table = "slot"; order = "start_ms, id"
            if let schedule = reference("schedule", "Schedule") { clauses.append("schedule_id = ?"); arguments.append(schedule) }
            if let status = query["status"] {
                let statuses = status.split(separator: ",").map(String.init)
                clauses.append("status IN (\(statuses.map { _ in "?" }.joined(separator: ",")))"); arguments += statuses
            }
            if let type = query["appointment-type"] ?? query["appointmentType"] {
                clauses.append("appointment_type = ?"); arguments.append(type.split(separator: "|").last.map(String.init) ?? type)
            }
            try dateRange("start", column: "start_ms")
        case "Appointment":
            table = "appointment"; order = "start_ms, id"
            if let patient = reference("patient", "Patient") ?? reference("subject", "Patient") {
                clauses.append("patient_id = ?"); arguments.append(patient)
            }
            if let practitioner = reference("practitioner", "Practitioner") {
                clauses.append("practitioner_id = ?"); arguments.append(practitioner)
            }
            if let status = query["status"] {
                let statuses = status.split(separator: ",").map(String.init)
                clauses.append("status IN (\(statuses.map { _ in "?" }.joined(separator: ",")))"); arguments += statuses
            }
            if let identifier = query["identifier"] {
                clauses.append("identifier_key = ?"); arguments.append(identifier.contains("|") ? identifier : "|" + identifier)
            }
            if let slot = reference("slot", "Slot") {
                clauses.append("id IN (SELECT appointment_id FROM slot_hold WHERE slot_id = ?)"); arguments.append(slot)
            }
            try dateRange("date", column: "start_ms")
        case "Coverage":
            table = "coverage"; order = "id"
            if let patient = reference("beneficiary", "Patient") ?? reference("patient", "Patient") {
                clauses.append("beneficiary_id = ?"); arguments.append(patient)
            }
        case "Task":
            table = "task"; order = "updated_ms, id"
            if let patient = reference("patient", "Patient") ?? reference("for", "Patient") {
                clauses.append("subject_id = ?"); arguments.append(patient)
            }
        case "Communication":
            table = "communication"; order = "updated_ms, id"
            if let patient = reference("subject", "Patient") ?? reference("patient", "Patient") {
                clauses.append("subject_id = ?"); arguments.append(patient)
            }
        default:
            throw FHIRFailure(.notFound, .notFound, "unknown resource type \(type)")
        }
        let filter = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let filterArguments = StatementArguments(arguments), pageArguments = StatementArguments(arguments + [count, offset])
        let (total, resources) = try await database.pool.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table) \(filter)", arguments: filterArguments) ?? 0
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM \(table) \(filter) ORDER BY \(order) LIMIT ? OFFSET ?",
                                        arguments: pageArguments)
            let resources: [FHIRResource] = try rows.map { row in
                switch type {
                case "Patient": return .patient(try SandboxDatabase.patient(row, db))
                case "Appointment": return .appointment(try SandboxDatabase.appointment(row, db))
                case "Slot": return .slot(SandboxDatabase.slot(row))
                default: return try db.decodeJSON(FHIRResource.self, row["json"]).withVersionOne()
                }
            }
            return (total, resources)
        }
        let base = origin.current + "/fhir"
        let others = query.filter { $0.name != "_offset" }
        var links = [Bundle.Link(relation: "self", url: "\(base)/\(type)\(queryString(query))")]
        if offset + resources.count < total, count > 0 {
            links.append(Bundle.Link(relation: "next", url: "\(base)/\(type)\(queryString(others + [.init(name: "_offset", value: String(offset + count))]))"))
        }
        let bundle = Bundle(id: UUID().uuidString.lowercased(), meta: Meta(lastUpdated: FHIRInstant(millis: Clock.nowMillis())),
                            type: .searchset, total: total, link: links,
                            entry: resources.isEmpty ? nil : resources.map {
                                Bundle.Entry(fullUrl: "\(base)/\($0.resourceType)/\($0.id ?? "")", resource: $0, search: .init(mode: .match))
                            })
        return try respond(.ok, .bundle(bundle))
    }

    /// `ge2026-11-25T09:00:00Z` → (">=", millis). No prefix means the whole day or instant given.
    private func dateBound(_ value: String, param: String) throws -> (String, Int64) {
        let prefixes = ["ge": ">=", "gt": ">", "le": "<=", "lt": "<", "eq": "=", "sa": ">", "eb": "<"]
        let prefix = String(value.prefix(2))
        let op = prefixes[prefix]
        let text = op == nil ? value : String(value.dropFirst(2))
        guard let millis = FHIRInstant.parse(text) else {
            throw FHIRFailure(.badRequest, .value, "\(param) must be a FHIR date or instant with an optional prefix (ge, gt, le, lt): \(value)")
        }
        return (op ?? ">=", millis)
    }

    // MARK: Create

    private func create(_ type: String, _ request: HTTPRequest) async throws -> HTTPResponse {
        let body = try await request.bodyData
        let idempotencyKey = request.headers[HTTPHeader("Idempotency-Key")]
        let condition = request.headers[HTTPHeader("If-None-Exist")]
        let now = Clock.nowMillis()
        let stored = try await applying(request) { db in
            if let idempotencyKey,
               let row = try Row.fetchOne(db, sql: "SELECT * FROM idempotency WHERE key = ?", arguments: [idempotencyKey]) {
                return StoredResponse(status: row["status"], location: row["location"], etag: row["etag"], body: row["body"], replayed: true)
            }
            var response: StoredResponse
            switch type {
            case "Appointment":
                response = try self.createAppointment(body, condition: condition, now: now, db)
            case "Patient":
                response = try self.createPatient(body, condition: condition, now: now, db)
            case "Task":
                var task = try self.decode(FHIRTask.self, body)
                task.id = UUID().uuidString.lowercased()
                task.meta = nil
                try db.execute(sql: "INSERT INTO task (id, subject_id, updated_ms, json) VALUES (?, ?, ?, ?)",
                               arguments: [task.id, task.for?.id, now, try encodeJSON(task)])
                task.meta = Meta(versionId: "1", lastUpdated: FHIRInstant(millis: now))
                response = try self.created(.task(task), version: 1)
            default:
                var note = try self.decode(Communication.self, body)
                note.id = UUID().uuidString.lowercased()
                note.meta = nil
                try db.execute(sql: "INSERT INTO communication (id, subject_id, updated_ms, json) VALUES (?, ?, ?, ?)",
                               arguments: [note.id, note.subject?.id, now, try encodeJSON(note)])
                note.meta = Meta(versionId: "1", lastUpdated: FHIRInstant(millis: now))
                response = try self.created(.communication(note), version: 1)
            }
            if let idempotencyKey {
                try db.execute(sql: "INSERT INTO idempotency (key, status, location, etag, body, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [idempotencyKey, response.status, response.location, response.etag, response.body, now])
            }
            return response
        }
        return stored.response
    }

    private func createAppointment(_ body: Data, condition: String?, now: UnixMillis, _ db: Database) throws -> StoredResponse {
        var appointment = try decode(Appointment.self, body)
        if let condition {
            let matches = try conditionalMatches(condition, db)
            if matches.count == 1 {
                var existing = try SandboxDatabase.appointment(id: matches[0], db)!
                existing.meta = existing.meta ?? Meta(versionId: "1")
                return try StoredResponse(status: 200, resource: .appointment(existing), location: location(.appointment(existing)))
            }
            if matches.count > 1 {
                throw FHIRFailure(.preconditionFailed, .multipleMatches, "If-None-Exist matched \(matches.count) appointments")
            }
        }
        try checkBookable(&appointment, db)
        appointment.id = UUID().uuidString.lowercased()
        appointment.created = appointment.created ?? FHIRInstant(millis: now).text
        do {
            try SandboxDatabase.save(appointment, version: 1, at: now, db)
        } catch let taken as SlotTaken {
            throw FHIRFailure(.conflict, .conflict, "Slot/\(taken.slotID) is already booked")
        }
        appointment.meta = Meta(versionId: "1", lastUpdated: FHIRInstant(millis: now))
        return try created(.appointment(appointment), version: 1)
    }

    /// A new patient. `If-None-Exist` (`identifier=system|value`, or `family`, `birthdate`,
    /// `phone` together) answers 200 with the one that matches instead; several: 412.
    private func createPatient(_ body: Data, condition: String?, now: UnixMillis, _ db: Database) throws -> StoredResponse {
        var patient = try decode(Patient.self, body)
        if let condition {
            var clauses: [String] = [], arguments: [(any DatabaseValueConvertible)?] = []
            for item in URLComponents(string: "?" + condition)?.queryItems ?? [] {
                let value = item.value ?? ""
                switch item.name {
                case "identifier": clauses.append("identifier_key = ?"); arguments.append(value.contains("|") ? value : "|" + value)
                case "family": clauses.append("family_key = ?"); arguments.append(searchKey(value))
                case "birthdate": clauses.append("birth_date = ?"); arguments.append(value)
                case "phone": clauses.append("phone_key = ?"); arguments.append(phoneKey(value))
                default: throw FHIRFailure(.badRequest, .notSupported, "If-None-Exist does not support \(item.name) on Patient")
                }
            }
            guard !clauses.isEmpty else { throw FHIRFailure(.badRequest, .invalid, "If-None-Exist is empty") }
            let matches = try String.fetchAll(db, sql: "SELECT id FROM patient WHERE \(clauses.joined(separator: " AND ")) LIMIT 2",
                                              arguments: StatementArguments(arguments))
            if matches.count == 1, let existing = try SandboxDatabase.patient(id: matches[0], db) {
                return try StoredResponse(status: 200, resource: .patient(existing), location: location(.patient(existing)))
            }
            if matches.count > 1 { throw FHIRFailure(.preconditionFailed, .multipleMatches, "If-None-Exist matched \(matches.count) patients") }
        }
        guard patient.name?.first?.family?.isEmpty == false, patient.birthDate != nil else {
            throw FHIRFailure(.unprocessableContent, .required, "a new Patient needs a family name and a birthDate")
        }
        patient.id = try SandboxDatabase.newPatientID(db)
        try SandboxDatabase.insert(patient, version: 1, at: now, db)
        patient.meta = Meta(versionId: "1", lastUpdated: FHIRInstant(millis: now))
        return try created(.patient(patient), version: 1)
    }

    /// Demographics: `If-Match` as for appointments; a stale version is 412.
    private func updatePatient(id: String, _ request: HTTPRequest) async throws -> HTTPResponse {
        let sent = try decode(Patient.self, try await request.bodyData)
        guard sent.id == id else {
            throw FHIRFailure(.badRequest, .invalid, "the body's id (\(sent.id ?? "none")) does not match the URL's (\(id))")
        }
        let ifMatch = request.headers[HTTPHeader("If-Match")]
        let now = Clock.nowMillis()
        return try await applying(request) { db in
            guard let version = try Int.fetchOne(db, sql: "SELECT version FROM patient WHERE id = ?", arguments: [id]) else {
                throw FHIRFailure(.notFound, .notFound, "Patient/\(id) not found")
            }
            if let ifMatch, ifMatch != #"W/"\#(version)""#, ifMatch != #""\#(version)""# {
                throw FHIRFailure(.preconditionFailed, .conflict, "Patient/\(id) is at version \(version), not \(ifMatch)")
            }
            var patient = sent
            try SandboxDatabase.insert(patient, version: version + 1, at: now, db)
            patient.meta = Meta(versionId: String(version + 1), lastUpdated: FHIRInstant(millis: now))
            return try StoredResponse(status: 200, resource: .patient(patient), location: nil)
        }.response
    }

    /// The ids of appointments matching an If-None-Exist query (`identifier=sys|val`, `patient=…&slot=…`).
    private func conditionalMatches(_ condition: String, _ db: Database) throws -> [String] {
        let items = URLComponents(string: "?" + condition)?.queryItems ?? []
        var clauses: [String] = [], arguments: [(any DatabaseValueConvertible)?] = []
        for item in items {
            let value = item.value ?? ""
            let id = value.split(separator: "/").last.map(String.init) ?? value
            switch item.name {
            case "identifier": clauses.append("identifier_key = ?"); arguments.append(value.contains("|") ? value : "|" + value)
            case "patient": clauses.append("patient_id = ?"); arguments.append(id)
            case "slot": clauses.append("id IN (SELECT appointment_id FROM slot_hold WHERE slot_id = ?)"); arguments.append(id)
            case "_id": clauses.append("id = ?"); arguments.append(value)
            default: throw FHIRFailure(.badRequest, .notSupported, "If-None-Exist does not support \(item.name)")
            }
        }
        guard !clauses.isEmpty else { throw FHIRFailure(.badRequest, .invalid, "If-None-Exist is empty") }
        return try String.fetchAll(db, sql: "SELECT id FROM appointment WHERE \(clauses.joined(separator: " AND ")) LIMIT 2",
                                   arguments: StatementArguments(arguments))
    }

    /// A booking must name free slots and a known patient; start and end come from the slots.
    private func checkBookable(_ appointment: inout Appointment, _ db: Database) throws {
        guard let patientID = appointment.actor(ofType: "Patient")?.id else {
            throw FHIRFailure(.unprocessableContent, .required, "Appointment.participant needs a Patient actor")
        }
        guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM patient WHERE id = ?)", arguments: [patientID]) == true else {
            throw FHIRFailure(.unprocessableContent, .businessRule, "Patient/\(patientID) does not exist")
        }
        guard ![.cancelled, .enteredInError, .noshow].contains(appointment.status) else { return }
        let slotIDs = (appointment.slot ?? []).compactMap(\.id)
        guard !slotIDs.isEmpty else {
            throw FHIRFailure(.unprocessableContent, .required, "Appointment.slot is required by this server")
        }
        var starts: [Int64] = [], ends: [Int64] = []
        for id in slotIDs {
            guard let row = try Row.fetchOne(db, sql: "SELECT s.*, h.appointment_id FROM slot s LEFT JOIN slot_hold h ON h.slot_id = s.id WHERE s.id = ?",
                                             arguments: [id]) else {
                throw FHIRFailure(.unprocessableContent, .businessRule, "Slot/\(id) does not exist")
            }
            let holder: String? = row["appointment_id"]
            if holder != nil && holder != appointment.id || holder == nil && row["status"] != "free" {
                throw FHIRFailure(.conflict, .conflict, "Slot/\(id) is not free")
            }
            starts.append(row["start_ms"]); ends.append(row["end_ms"])
        }
        appointment.start = FHIRInstant(millis: starts.min()!)
        appointment.end = FHIRInstant(millis: ends.max()!)
        if let practitioner = try String.fetchOne(db, sql: """
            SELECT sc.practitioner_id FROM slot s JOIN schedule sc ON sc.id = s.schedule_id WHERE s.id = ?
            """, arguments: [slotIDs[0]]), appointment.actor(ofType: "Practitioner") == nil {
            appointment.participant.append(AppointmentParticipant(actor: Reference("Practitioner/\(practitioner)"), status: .accepted))
        }
    }

    // MARK: Update

    private func updateAppointment(id: String, _ request: HTTPRequest) async throws -> HTTPResponse {
        let sent = try decode(Appointment.self, try await request.bodyData)
        guard sent.id == id else {
            throw FHIRFailure(.badRequest, .invalid, "the body's id (\(sent.id ?? "none")) does not match the URL's (\(id))")
        }
        let ifMatch = request.headers[HTTPHeader("If-Match")]
        let injectedConflict = Double.random(in: 0 ..< 1) < faults.current.versionConflictRate
        let now = Clock.nowMillis()
        let response = try await applying(request) { db in
            var appointment = sent
            guard let current = try Row.fetchOne(db, sql: "SELECT version FROM appointment WHERE id = ?", arguments: [id]) else {
                throw FHIRFailure(.notFound, .notFound, "Appointment/\(id) not found")
            }
            let version: Int = current["version"]
            if let ifMatch, ifMatch != #"W/"\#(version)""#, ifMatch != #""\#(version)""# {
                throw FHIRFailure(.preconditionFailed, .conflict, "Appointment/\(id) is at version \(version), not \(ifMatch)")
            }
            if injectedConflict {
                throw FHIRFailure(.preconditionFailed, .conflict, "Appointment/\(id) was changed by someone else (injected)")
            }
            try self.checkBookable(&appointment, db)
            do {
                try SandboxDatabase.save(appointment, version: version + 1, at: now, db)
            } catch let taken as SlotTaken {
                throw FHIRFailure(.conflict, .conflict, "Slot/\(taken.slotID) is already booked")
            }
            appointment.meta = Meta(versionId: String(version + 1), lastUpdated: FHIRInstant(millis: now))
            return try StoredResponse(status: 200, resource: .appointment(appointment), location: nil)
        }
        return response.response
    }

    // MARK: Responses

    private func decode<T: Decodable>(_ type: T.Type, _ body: Data) throws -> T {
        do {
            return try FHIRJSON.decode(type, from: body)
        } catch let error as DecodingError {
            throw FHIRFailure(.badRequest, .structure, "not a valid \(type): \(describe(error))")
        }
    }

    private func location(_ resource: FHIRResource) -> String {
        "\(origin.current)/fhir/\(resource.resourceType)/\(resource.id ?? "")/_history/\(resource.meta?.versionId ?? "1")"
    }

    private func created(_ resource: FHIRResource, version: Int) throws -> StoredResponse {
        try StoredResponse(status: 201, resource: resource, location: location(resource))
    }

    private func ok(_ resource: FHIRResource) throws -> HTTPResponse { try respond(.ok, resource) }

    private func respond(_ status: HTTPStatusCode, _ resource: FHIRResource) throws -> HTTPResponse {
        var headers: HTTPHeaders = [.contentType: FHIRJSON.contentType]
        if let version = resource.meta?.versionId, resource.id != nil { headers[.eTag] = #"W/"\#(version)""# }
        return HTTPResponse(statusCode: status, headers: headers, body: try FHIRJSON.encode(resource))
    }

    func outcome(_ failure: FHIRFailure) -> HTTPResponse {
        var headers = failure.headers
        headers[.contentType] = FHIRJSON.contentType
        let severity: OperationOutcome.Severity = failure.status.code >= 500 ? .fatal : .error
        let body = (try? FHIRJSON.encode(OperationOutcome(severity, failure.code, failure.diagnostics))) ?? Data()
        return HTTPResponse(statusCode: failure.status, headers: headers, body: body)
    }

    private func capabilities() -> CapabilityStatement {
        typealias C = CapabilityStatement
        let read = [C.Interaction("read"), C.Interaction("search-type")]
        return C(id: "ehr-sandbox", name: "SwitchboardEHRSandbox", status: .active, date: "2026-01-01", kind: .instance,
                 software: .init(name: "Switchboard EHR sandbox", version: "1"),
                 implementation: .init(description: "Synthetic practice for the Switchboard simulator", url: origin.current + "/fhir"),
                 format: ["json"],
                 rest: [.init(mode: "server",
                              security: .init(service: [CodeableConcept(coding: [Coding(system: "http://terminology.hl7.org/CodeSystem/restful-security-service", code: "SMART-on-FHIR")])],
                                              description: "OAuth 2.0 client credentials at \(origin.current)/oauth/token"),
                              resource: [
                                  C.Resource(type: "Patient", interaction: read, searchParam: [.init(name: "family", type: "string"), .init(name: "birthdate", type: "date"), .init(name: "phone", type: "token")]),
                                  C.Resource(type: "Practitioner", interaction: read),
                                  C.Resource(type: "Schedule", interaction: read, searchParam: [.init(name: "actor", type: "reference")]),
                                  C.Resource(type: "Slot", interaction: read, searchParam: [.init(name: "schedule", type: "reference"), .init(name: "start", type: "date"), .init(name: "status", type: "token")]),
                                  C.Resource(type: "Appointment", interaction: read + [C.Interaction("create"), C.Interaction("update")], conditionalCreate: true,
                                             searchParam: [.init(name: "patient", type: "reference"), .init(name: "date", type: "date"), .init(name: "identifier", type: "token")]),
                                  C.Resource(type: "Coverage", interaction: read, searchParam: [.init(name: "beneficiary", type: "reference")]),
                                  C.Resource(type: "Communication", interaction: read + [C.Interaction("create")]),
                                  C.Resource(type: "CoverageEligibilityRequest", interaction: [C.Interaction("create")]),
                              ])])
    }
}

/// A response as kept for Idempotency-Key replays.
struct StoredResponse: Sendable {
    var status: Int
    var location: String?
    var etag: String?
    var body: Data
    /// Answered from the idempotency table: the write was not applied again.
    var replayed = false

    init(status: Int, location: String?, etag: String?, body: Data, replayed: Bool = false) {
        self.status = status; self.location = location; self.etag = etag; self.body = body; self.replayed = replayed
    }

    init(status: Int, resource: FHIRResource, location: String?) throws {
        self.init(status: status, location: location, etag: resource.meta?.versionId.map { #"W/"\#($0)""# },
                  body: try FHIRJSON.encode(resource))
    }

    var response: HTTPResponse {
        var headers: HTTPHeaders = [.contentType: FHIRJSON.contentType]
        if let location { headers[.location] = location }
        if let etag { headers[.eTag] = etag }
        if replayed { headers[HTTPHeader("Idempotent-Replayed")] = "true" }
        return HTTPResponse(statusCode: HTTPStatusCode(status, phrase: status == 201 ? "Created" : "OK"), headers: headers, body: body)
    }
}

extension FHIRResource {
    var meta: Meta? {
        switch self {
        case .patient(let r): r.meta
        case .practitioner(let r): r.meta
        case .schedule(let r): r.meta
        case .slot(let r): r.meta
        case .appointment(let r): r.meta
        case .coverage(let r): r.meta
        case .communication(let r): r.meta
        case .task(let r): r.meta
        case .operationOutcome(let r): r.meta
        case .capabilityStatement(let r): r.meta
        case .bundle(let r): r.meta
        case .other: nil
        }
    }

    /// Resources the sandbox never changes are all at version 1.
    func withVersionOne() -> FHIRResource {
        let meta = Meta(versionId: "1")
        switch self {
        case .practitioner(var r): r.meta = meta; return .practitioner(r)
        case .schedule(var r): r.meta = meta; return .schedule(r)
        case .coverage(var r): r.meta = meta; return .coverage(r)
        case .communication(var r): r.meta = r.meta ?? meta; return .communication(r)
        case .task(var r): r.meta = r.meta ?? meta; return .task(r)
        default: return self
        }
    }
}

func formFields(_ body: String) -> [String: String] {
    var fields: [String: String] = [:]
    for pair in body.split(separator: "&") {
        let kv = pair.split(separator: "=", maxSplits: 1).map {
            String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
        }
        fields[kv[0]] = kv.count > 1 ? kv[1] : ""
    }
    return fields
}

func queryString(_ items: [HTTPRequest.QueryItem]) -> String {
    guard !items.isEmpty else { return "" }
    var allowed = CharacterSet.urlQueryAllowed
    allowed.remove(charactersIn: "&=+?#")
    return "?" + items.map {
        "\($0.name.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.name)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.value)"
    }.joined(separator: "&")
}

private func describe(_ error: DecodingError) -> String {
    switch error {
    case .keyNotFound(let key, let ctx): "missing \((ctx.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
    case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx), .dataCorrupted(let ctx):
        "\(ctx.codingPath.map(\.stringValue).joined(separator: ".")): \(ctx.debugDescription)"
    @unknown default: "\(error)"
    }
}
