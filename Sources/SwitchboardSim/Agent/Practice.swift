import Foundation
import GRDB
import SwitchboardCore
import SwitchboardEHR

/// Someone who phones the practice, as they would describe themselves. Taken from the
/// sandbox's patient list (the simulated world), never from the agent's own EHR reads.
struct Caller: Sendable {
    var patientID: String
    var family: String
    var given: String
    var birthDate: String
    var phone: String
    /// Their insurance as the simulated world has it (`active`, `cancelled`), nil for none;
    /// what a rehearsal expects the insurance check to find.
    var coverage: String? = nil
    var display: String { "\(given) \(family)" }
}

/// A free slot the agent saw in a search.
struct SlotSeen: Sendable, Hashable {
    var id: String
    var scheduleID: String
    var start: UnixMillis
    var end: UnixMillis
    var appointmentType: String?
}

/// An appointment the agent made or moved, remembered for the patient's next call.
struct AppointmentSeen: Sendable {
    var id: String
    var patientID: String
    var slotID: String
    var start: UnixMillis
}

/// What the agent knows about the practice beyond any one call: its schedules, the people
/// who call, slots seen free (served from here while the EHR is down), slots it holds for
/// calls in progress, and appointments it made.
final class Practice: @unchecked Sendable {
    struct Provider: Sendable {
        var practitionerRef: String
        var scheduleRef: String
        var display: String
    }

    let callers: [Caller]
    private(set) var providers: [Provider] = []
    private let lock = NSLock()
    private var freeSlots: [String: [SlotSeen]] = [:]
    private var held: Set<String> = []
    private var booked: [String: [AppointmentSeen]] = [:]
    private var known: Set<String> = []

    /// Reads the callers from `ehr-sandbox.sqlite` (the people of the simulated town).
    init(sandboxDatabase path: String) throws {
        var config = Configuration()
        config.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: config)
        defer { try? queue.close() }
        callers = try queue.read { db in
            var coverage: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT beneficiary_id, json FROM coverage") {
                let json: String = row["json"]
                if let c = try? FHIRJSON.decode(Coverage.self, from: Data(json.utf8)) {
                    // Any active coverage counts.
                    if coverage[row["beneficiary_id"]] != "active" { coverage[row["beneficiary_id"]] = c.status.rawValue }
                }
            }
            return try Row.fetchAll(db, sql: "SELECT id, json FROM patient ORDER BY rowid").compactMap { row -> Caller? in
                let json: String = row["json"]
                guard let patient = try? FHIRJSON.decode(Patient.self, from: Data(json.utf8)),
                      let name = patient.name?.first, let family = name.family, let birth = patient.birthDate
                else { return nil }
                return Caller(patientID: row["id"], family: family, given: name.given?.first ?? "", birthDate: birth,
                              phone: patient.phone ?? "", coverage: coverage[row["id"]])
            }
        }
    }

    func learn(schedules: [Schedule], practitioners: [Practitioner]) {
        let names = Dictionary(practitioners.compactMap { p in p.id.map { ($0, p.name?.first?.displayName ?? $0) } },
                               uniquingKeysWith: { a, _ in a })
        providers = schedules.compactMap { schedule in
            guard let id = schedule.id, let actor = schedule.actor.first?.reference else { return nil }
            return Provider(practitionerRef: actor, scheduleRef: "Schedule/\(id)",
                            display: names[String(actor.split(separator: "/").last ?? "")] ?? actor)
        }
    }

    // MARK: Patients the agent has found (its read cache while the EHR is down)

    func remember(patient id: String) { lock.withLock { _ = known.insert(id) } }
    func hasFound(patient id: String) -> Bool { lock.withLock { known.contains(id) } }

    // MARK: Slots

    func saw(free slots: [SlotSeen], schedule: String) {
        lock.withLock { freeSlots[schedule] = slots }
    }

    /// Holds a free slot for a call (so two of the agent's own calls never race for it);
    /// `preferring` picks among the first few, as a caller would.
    func hold(from slots: [SlotSeen], pick: Int) -> SlotSeen? {
        lock.withLock {
            let open = slots.filter { !held.contains($0.id) }
            guard !open.isEmpty else { return nil }
            let slot = open[min(pick, open.count - 1)]
            held.insert(slot.id)
            return slot
        }
    }

    /// A held slot from the last search of `schedule`, for a call taken in queue mode.
    func holdCached(schedule: String, pick: Int) -> SlotSeen? {
        let slots = lock.withLock { freeSlots[schedule] ?? [] }
        return hold(from: slots, pick: pick)
    }

    func release(slot id: String) { lock.withLock { _ = held.remove(id) } }

    /// The slot stays held for good: it is booked (by us, or by someone else).
    func settle(slot id: String) {
        lock.withLock {
            for key in freeSlots.keys { freeSlots[key]?.removeAll { $0.id == id } }
        }
    }

    // MARK: Appointments

    func booked(_ appointment: AppointmentSeen) {
        lock.withLock { booked[appointment.patientID, default: []].append(appointment) }
    }

    func forget(appointment id: String, patient: String) {
        lock.withLock { booked[patient]?.removeAll { $0.id == id } }
    }

    /// Patients with an appointment the agent made, for reschedule and cancel calls.
    func patientsWithAppointments() -> [String] { lock.withLock { booked.filter { !$0.value.isEmpty }.map(\.key).sorted() } }

    /// Whether the patient already has one of our appointments within a day of `start`.
    func hasNearby(patient: String, start: UnixMillis) -> Bool {
        lock.withLock { (booked[patient] ?? []).contains { abs($0.start - start) < 86_400_000 } }
    }
}
