import Foundation
import GRDB
import SwitchboardCore
import SwitchboardEHR

/// SplitMix64: small, fast and the same on every platform, so a seed gives the same practice.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A synthetic practice: six providers with two weeks of slots and a few thousand
/// patients whose names include the cases that break software in the field.
enum PracticeSeed {
    static let families = [
        "Smith", "Johnson", "Nguyen", "Garcia", "Lee", "Patel", "Kowalski", "Okafor", "Kim", "Rossi",
        "O'Brien", "D'Angelo", "Müller-Lüdenscheid", "Ñúñez", "Françoise-Hébert", "Søren", "Łukasiewicz",
        "Cafe\u{301}", "Zoe\u{308}", "حداد", "الخطيب", "כהן", "לוי", "王", "佐藤", "김", "Nakamura",
        "Wolfeschlegelsteinhausenbergerdorff-Rodríguez de la Santísima Trinidad y Ortega",
        "Sunshine 🌞", "Ng", "Ó Súilleabháin", "van der Berg", "St. John", "Ağaoğlu",
    ]
    static let givens = [
        "Ann", "José", "Siobhán", "Chloé", "Mohammed", "محمد", "Yosef", "יוסף", "Wei", "美咲", "Jae-won",
        "Zoë", "Renée", "Dmitri", "Ngozi", "Priya", "Oliver", "Mary-Kate", "Émile", "Ana\u{301}", "Kai 🌊",
        "Bartholomew-Maximilian-Alexander-Constantine-Theodore-Augustus",
    ]
    /// What a compromised upstream might put in a name: title changes, screen clears, bidi overrides.
    static let hostile = ["\u{1b}]0;pwned\u{07}", "\u{1b}[2J", "\u{202E}", "\u{1b}[31m", "\u{7}\u{8}\u{8}"]
    static let providers = [
        ("pr-1", "Amara", "Okonkwo", 15), ("pr-2", "Daniel", "Levi", 20), ("pr-3", "Sofía", "Hernández", 30),
        ("pr-4", "Hiroshi", "Tanaka", 15), ("pr-5", "Fatima", "Al-Sayed", 20), ("pr-6", "Grace", "O'Connor", 30),
    ]
    static let payors = ["Aetna", "Blue Cross Blue Shield", "Cigna", "UnitedHealthcare", "Medicare", "Medicaid"]
    static let appointmentTypes = ["ROUTINE", "FOLLOWUP", "CHECKUP", "WALKIN"]

    static func seed(_ db: Database, configuration c: SandboxConfiguration, now: UnixMillis) throws {
        var rng = SeededGenerator(seed: c.seed)
        let startDay = FHIRInstant.parse(c.startDate ?? FHIRInstant(millis: now).dateText) ?? now / 86_400_000 * 86_400_000
        try db.execute(sql: "INSERT INTO practice (key, value) VALUES ('seed', ?), ('start_date', ?)",
                       arguments: [String(c.seed), FHIRInstant(millis: startDay).dateText])
        let horizon = Period(start: FHIRInstant(millis: startDay).dateText,
                             end: FHIRInstant(millis: startDay + 13 * 86_400_000).dateText)
        for (id, given, family, minutes) in providers {
            let practitioner = Practitioner(id: id, identifier: [Identifier(system: "http://hl7.org/fhir/sid/us-npi",
                                                                           value: "19000000\(id.dropFirst(3))0")],
                                            active: true, name: [HumanName(family: family, given: [given], prefix: ["Dr."])])
            try db.execute(sql: "INSERT INTO practitioner (id, json) VALUES (?, ?)", arguments: [id, try encodeJSON(practitioner)])
            let scheduleID = "sch-\(id.dropFirst(3))"
            let schedule = Schedule(id: scheduleID, active: true,
                                    serviceType: [CodeableConcept(coding: [Coding(system: "http://terminology.hl7.org/CodeSystem/service-type", code: "124", display: "General Practice")])],
                                    actor: [Reference("Practitioner/\(id)", display: "Dr. \(given) \(family)")],
                                    planningHorizon: horizon)
            try db.execute(sql: "INSERT INTO schedule (id, practitioner_id, json) VALUES (?, ?, ?)",
                           arguments: [scheduleID, id, try encodeJSON(schedule)])
            var n = 0
            for day in 0 ..< 14 {
                let dayStart = startDay + Int64(day) * 86_400_000
                // 1970-01-01 was a Thursday: weekday 0 is Monday.
                let weekday = ((dayStart / 86_400_000) + 3) % 7
                guard weekday < 5 else { continue }
                // Clinic hours 08:00–12:00 and 13:00–17:00 UTC.
                for (from, to) in [(8 * 60, 12 * 60), (13 * 60, 17 * 60)] {
                    var minute = from
                    while minute + minutes <= to {
                        n += 1
                        let start = dayStart + Int64(minute) * 60_000
                        // Some slots are blocked (meetings, leave), as in any real calendar.
                        let status = Int.random(in: 0 ..< 12, using: &rng) == 0 ? "busy-unavailable" : "free"
                        try db.execute(sql: "INSERT INTO slot (id, schedule_id, start_ms, end_ms, status, appointment_type) VALUES (?, ?, ?, ?, ?, ?)",
                                       arguments: ["\(scheduleID)-\(n)", scheduleID, start, start + Int64(minutes) * 60_000, status,
                                                   appointmentTypes.randomElement(using: &rng)!])
                        minute += minutes
                    }
                }
            }
        }
        var previous: (family: String, given: String, birth: String)?
        for i in 1 ... max(1, c.patientCount) {
            var family = families.randomElement(using: &rng)!
            var given = givens.randomElement(using: &rng)!
            if c.hostileData, i % 25 == 0 {
                let bad = hostile.randomElement(using: &rng)!
                if Bool.random(using: &rng) { family += bad } else { given = bad + given }
            }
            let year = Int.random(in: 1930 ... 2024, using: &rng), month = Int.random(in: 1 ... 12, using: &rng)
            let day = Int.random(in: 1 ... 28, using: &rng)
            var birth = String(format: "%04d-%02d-%02d", year, month, day)
            // Namesakes, as every large practice has: p-2, p-502, … share the name and birth
            // date of the patient before them (not the phone), so a match by name and birth
            // date is ambiguous.
            if i % 500 == 2, let twin = previous { (family, given, birth) = twin }
            previous = (family, given, birth)
            let phone = String(format: "555-%03d-%04d", Int.random(in: 100 ... 999, using: &rng), i % 10000)
            let patient = Patient(id: "p-\(i)", identifier: [Identifier(use: .usual, system: "urn:switchboard:sandbox:mrn",
                                                                       value: String(format: "MRN%07d", i))],
                                  active: true, name: [HumanName(use: .official, family: family, given: [given])],
                                  telecom: [ContactPoint(system: .phone, value: phone, use: .mobile)],
                                  gender: [.female, .male, .other, .unknown][Int.random(in: 0 ..< 4, using: &rng)],
                                  birthDate: birth)
            try SandboxDatabase.insert(patient, version: 1, at: now, db)
            if Int.random(in: 0 ..< 10, using: &rng) < 6 {
                let coverage = Coverage(id: "cov-\(i)", status: Int.random(in: 0 ..< 10, using: &rng) == 0 ? .cancelled : .active,
                                        subscriberId: String(format: "SUB%09d", Int.random(in: 0 ..< 1_000_000_000, using: &rng)),
                                        beneficiary: Reference("Patient/p-\(i)"),
                                        period: Period(start: "\(FHIRInstant(millis: startDay).dateText.prefix(4))-01-01"),
                                        payor: [Reference("Organization/payor-\(i % payors.count)",
                                                          display: payors[i % payors.count])])
                try db.execute(sql: "INSERT INTO coverage (id, beneficiary_id, json) VALUES (?, ?, ?)",
                               arguments: [coverage.id, "p-\(i)", try encodeJSON(coverage)])
            }
        }
    }
}
