import Foundation
import GRDB
import SwitchboardCore
import SwitchboardEHR

/// The sandbox practice in `DIR/ehr-sandbox.sqlite` (WAL): resources as FHIR JSON plus
/// the columns searches need, indexed. One writer serializes changes; reads run
/// concurrently. A slot's booking is a row in `slot_hold`, whose primary key lets only
/// one live appointment hold a slot, so two racing bookings cannot both win.
struct SandboxDatabase: Sendable {
    let pool: DatabasePool

    static func fileURL(in directory: URL) -> URL { directory.appendingPathComponent("ehr-sandbox.sqlite") }

    init(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.maximumReaderCount = 8
        pool = try DatabasePool(path: SandboxDatabase.fileURL(in: directory).path, configuration: config)
        try SandboxDatabase.migrator.migrate(pool)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE practice (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE practitioner (id TEXT PRIMARY KEY, json TEXT NOT NULL);
                CREATE TABLE schedule (id TEXT PRIMARY KEY, practitioner_id TEXT NOT NULL, json TEXT NOT NULL);
                CREATE TABLE slot (id TEXT PRIMARY KEY, schedule_id TEXT NOT NULL, start_ms INTEGER NOT NULL,
                                   end_ms INTEGER NOT NULL, status TEXT NOT NULL, appointment_type TEXT NOT NULL);
                CREATE INDEX slot_by_schedule ON slot(schedule_id, start_ms);
                CREATE INDEX slot_by_start ON slot(start_ms);
                CREATE TABLE patient (id TEXT PRIMARY KEY, family_key TEXT NOT NULL, birth_date TEXT, phone_key TEXT,
                                      version INTEGER NOT NULL, updated_ms INTEGER NOT NULL, json TEXT NOT NULL);
                CREATE INDEX patient_by_family ON patient(family_key, birth_date);
                CREATE INDEX patient_by_phone ON patient(phone_key);
                CREATE TABLE coverage (id TEXT PRIMARY KEY, beneficiary_id TEXT NOT NULL, json TEXT NOT NULL);
                CREATE INDEX coverage_by_beneficiary ON coverage(beneficiary_id);
                CREATE TABLE appointment (id TEXT PRIMARY KEY, patient_id TEXT, practitioner_id TEXT, start_ms INTEGER,
                                          status TEXT NOT NULL, identifier_key TEXT, version INTEGER NOT NULL,
                                          updated_ms INTEGER NOT NULL, json TEXT NOT NULL);
                CREATE INDEX appointment_by_patient ON appointment(patient_id, start_ms);
                CREATE INDEX appointment_by_start ON appointment(start_ms);
                CREATE INDEX appointment_by_identifier ON appointment(identifier_key);
                CREATE TABLE slot_hold (slot_id TEXT PRIMARY KEY REFERENCES slot(id), appointment_id TEXT NOT NULL);
                CREATE INDEX slot_hold_by_appointment ON slot_hold(appointment_id);
                CREATE TABLE communication (id TEXT PRIMARY KEY, subject_id TEXT, updated_ms INTEGER NOT NULL,
                                            json TEXT NOT NULL);
                CREATE TABLE idempotency (key TEXT PRIMARY KEY, status INTEGER NOT NULL, location TEXT, etag TEXT,
                                          body BLOB NOT NULL, created_ms INTEGER NOT NULL);
                """)
        }
        m.registerMigration("v2: patients registered by callers") { db in
            // If-None-Exist on a new patient's identifier (e.g. the agent's call id).
            try db.execute(sql: """
                ALTER TABLE patient ADD COLUMN identifier_key TEXT;
                CREATE INDEX patient_by_identifier ON patient(identifier_key);
                """)
        }
        m.registerMigration("v3: refill requests as tasks") { db in
            try db.execute(sql: "CREATE TABLE task (id TEXT PRIMARY KEY, subject_id TEXT, updated_ms INTEGER NOT NULL, json TEXT NOT NULL)")
        }
        m.registerMigration("v4: eligibility answers") { db in
            // Every CoverageEligibilityRequest asked and the CoverageEligibilityResponse given.
            try db.execute(sql: """
                CREATE TABLE eligibility (id TEXT PRIMARY KEY, coverage_id TEXT NOT NULL, created_ms INTEGER NOT NULL,
                                          request_json TEXT NOT NULL, json TEXT NOT NULL)
                """)
        }
        m.registerMigration("v5: what the EHR received") { db in
            // One row per Idempotency-Key (HL7: "hl7:" + MSH-10) of every write that got
            // past auth and faults: how often it arrived and how often it was applied
            // (answered 2xx or AA, not as a replay). Torture checks the outbox against it.
            try db.execute(sql: """
                CREATE TABLE received (key TEXT PRIMARY KEY, times INTEGER NOT NULL, applied INTEGER NOT NULL,
                                       first_ms INTEGER NOT NULL, last_status TEXT NOT NULL)
                """)
        }
        return m
    }

    /// A write with a key reached the EHR: counted, and whether it was applied, in `db`'s
    /// transaction. A write that applies something is counted in the transaction that
    /// applies it: a kill between two transactions would leave it applied but uncounted,
    /// and the torture's ledger would call a delivered outbox item lost.
    /// An HTTP answer: applied when it is a success and not a replay of the first answer.
    static func noteAnswered(key: String, status: Int, replayed: Bool, _ db: Database) throws {
        try noteReceived(key: key, status: String(status), applied: (200 ..< 300).contains(status) && !replayed, db)
    }

    static func noteReceived(key: String, status: String, applied: Bool, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO received (key, times, applied, first_ms, last_status) VALUES (?, 1, ?, ?, ?)
            ON CONFLICT (key) DO UPDATE SET times = times + 1, applied = applied + excluded.applied, last_status = excluded.last_status
            """, arguments: [key, applied ? 1 : 0, Clock.nowMillis(), status])
    }

    /// A keyed write refused (nothing applied): counted on its own. Blocking, not async: an
    /// outage cancels the tasks of requests in flight, and an arrival must still be counted.
    func noteRefused(key: String, status: String) {
        _ = try? pool.write { db in try Self.noteReceived(key: key, status: status, applied: false, db) }
    }

    func isSeeded() throws -> Bool {
        try pool.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM practice WHERE key = 'seed')") ?? false }
    }
}

/// Text as the sandbox compares it in searches: canonical decomposition with the marks
/// removed, lowercased, so `muller` finds `Müller` and a decomposed `é` matches a composed one.
func searchKey(_ text: String) -> String {
    let scalars = text.decomposedStringWithCanonicalMapping.unicodeScalars.filter {
        $0.properties.generalCategory != .nonspacingMark
    }
    return String(String.UnicodeScalarView(scalars)).lowercased()
}

/// The last ten digits of a phone number, so `+1 (555) 010-0142` finds `555-010-0142`.
func phoneKey(_ text: String) -> String {
    String(text.unicodeScalars.filter { $0.properties.numericType == .decimal && $0.isASCII }.map(Character.init).suffix(10))
}

extension Database {
    func decodeJSON<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try FHIRJSON.decode(type, from: Data(json.utf8))
    }
}

func encodeJSON(_ value: some Encodable) throws -> String {
    String(decoding: try FHIRJSON.encode(value), as: UTF8.self)
}

// MARK: - Writing resources

extension SandboxDatabase {
    static func insert(_ patient: Patient, version: Int, at millis: UnixMillis, _ db: Database) throws {
        var stored = patient
        stored.meta = nil
        try db.execute(sql: """
            INSERT INTO patient (id, family_key, birth_date, phone_key, version, updated_ms, json, identifier_key)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET family_key = excluded.family_key, birth_date = excluded.birth_date,
              phone_key = excluded.phone_key, version = excluded.version, updated_ms = excluded.updated_ms, json = excluded.json,
              identifier_key = excluded.identifier_key
            """, arguments: [patient.id, searchKey(patient.name?.first?.family ?? ""), patient.birthDate,
                             patient.phone.map(phoneKey), version, millis, try encodeJSON(stored),
                             patient.identifier?.first.map { "\($0.system ?? "")|\($0.value ?? "")" }])
    }

    /// The id a newly registered patient gets: `p-<row>`, so the REST API's number is the row.
    static func newPatientID(_ db: Database) throws -> String {
        "p-\((try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM patient") ?? 0) + 1)"
    }

    static func patient(id: String, _ db: Database) throws -> Patient? {
        guard let row = try Row.fetchOne(db, sql: "SELECT version, updated_ms, json FROM patient WHERE id = ?", arguments: [id])
        else { return nil }
        return try patient(row, db)
    }

    static func patient(_ row: Row, _ db: Database) throws -> Patient {
        var p = try db.decodeJSON(Patient.self, row["json"])
        p.meta = Meta(versionId: String(row["version"] as Int), lastUpdated: FHIRInstant(millis: row["updated_ms"]))
        return p
    }

    static func appointment(_ row: Row, _ db: Database) throws -> Appointment {
        var a = try db.decodeJSON(Appointment.self, row["json"])
        a.meta = Meta(versionId: String(row["version"] as Int), lastUpdated: FHIRInstant(millis: row["updated_ms"]))
        return a
    }

    static func appointment(id: String, _ db: Database) throws -> Appointment? {
        try Row.fetchOne(db, sql: "SELECT version, updated_ms, json FROM appointment WHERE id = ?", arguments: [id])
            .map { try appointment($0, db) }
    }

    static func slot(_ row: Row) -> Slot {
        let type: String = row["appointment_type"]
        return Slot(id: row["id"], meta: Meta(versionId: "1"),
                    serviceType: [CodeableConcept(coding: [Coding(system: "http://terminology.hl7.org/CodeSystem/service-type",
                                                                  code: "124", display: "General Practice")])],
                    appointmentType: CodeableConcept(coding: [Coding(system: "http://terminology.hl7.org/CodeSystem/v2-0276",
                                                                     code: type)]),
                    schedule: Reference("Schedule/\(row["schedule_id"] as String)"),
                    status: SlotStatus(rawValue: row["status"]) ?? .busyUnavailable,
                    start: FHIRInstant(millis: row["start_ms"]), end: FHIRInstant(millis: row["end_ms"]))
    }

    static func slot(id: String, _ db: Database) throws -> Slot? {
        try Row.fetchOne(db, sql: "SELECT * FROM slot WHERE id = ?", arguments: [id]).map(slot)
    }

    /// Writes the appointment (a new version) and moves its slot holds to match:
    /// a live appointment holds its slots, a cancelled one holds none. Throws
    /// `SlotTaken` when another appointment already holds one of them.
    static func save(_ appointment: Appointment, version: Int, at millis: UnixMillis, _ db: Database) throws {
        guard let id = appointment.id else { return }
        var stored = appointment
        stored.meta = nil
        let identifierKey = appointment.identifier?.first.map { "\($0.system ?? "")|\($0.value ?? "")" }
        try db.execute(sql: """
            INSERT INTO appointment (id, patient_id, practitioner_id, start_ms, status, identifier_key, version, updated_ms, json)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET patient_id = excluded.patient_id, practitioner_id = excluded.practitioner_id,
              start_ms = excluded.start_ms, status = excluded.status, identifier_key = excluded.identifier_key,
              version = excluded.version, updated_ms = excluded.updated_ms, json = excluded.json
            """, arguments: [id, appointment.actor(ofType: "Patient")?.id, appointment.actor(ofType: "Practitioner")?.id,
                             appointment.start?.millis, appointment.status.rawValue, identifierKey, version, millis,
                             try encodeJSON(stored)])
        let live = ![.cancelled, .enteredInError, .noshow].contains(appointment.status)
        let wanted = live ? Set((appointment.slot ?? []).compactMap(\.id)) : []
        let held = Set(try String.fetchAll(db, sql: "SELECT slot_id FROM slot_hold WHERE appointment_id = ?", arguments: [id]))
        for slotID in held.subtracting(wanted) {
            try db.execute(sql: "DELETE FROM slot_hold WHERE slot_id = ?", arguments: [slotID])
            try db.execute(sql: "UPDATE slot SET status = 'free' WHERE id = ?", arguments: [slotID])
        }
        for slotID in wanted.subtracting(held).sorted() {
            do {
                try db.execute(sql: "INSERT INTO slot_hold (slot_id, appointment_id) VALUES (?, ?)", arguments: [slotID, id])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
                throw SlotTaken(slotID: slotID)
            }
            try db.execute(sql: "UPDATE slot SET status = 'busy' WHERE id = ?", arguments: [slotID])
        }
    }
}

struct SlotTaken: Error {
    let slotID: String
}
