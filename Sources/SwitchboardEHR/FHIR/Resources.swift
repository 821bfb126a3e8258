/// FHIR R4 resources for scheduling. Each carries `resourceType` as a stored member, so
/// it is written and read like any other element; `FHIRResource` dispatches on it.
/// Members follow the R4 element names, so a field here is a field in the spec.

/// A resource type with a fixed `resourceType` name and an optional server id.
public protocol FHIRResourceType: Codable, Sendable, Hashable {
    static var resourceType: String { get }
    var id: String? { get }
    var meta: Meta? { get }
}

extension FHIRResourceType {
    /// `Type/id`, the relative reference to this resource once the server gave it an id.
    public var reference: Reference? { id.map { Reference("\(Self.resourceType)/\($0)") } }
}

public enum AdministrativeGender: String, Codable, Sendable, Hashable {
    case male, female, other, unknown
}

public struct Patient: FHIRResourceType {
    public static let resourceType = "Patient"
    public private(set) var resourceType: String = "Patient"
    public var id: String?
    public var meta: Meta?
    public var identifier: [Identifier]?
    public var active: Bool?
    public var name: [HumanName]?
    public var telecom: [ContactPoint]?
    public var gender: AdministrativeGender?
    /// FHIR `date`: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    public var birthDate: String?

    public init(id: String? = nil, meta: Meta? = nil, identifier: [Identifier]? = nil, active: Bool? = nil,
                name: [HumanName]? = nil, telecom: [ContactPoint]? = nil, gender: AdministrativeGender? = nil,
                birthDate: String? = nil) {
        self.id = id; self.meta = meta; self.identifier = identifier; self.active = active; self.name = name
        self.telecom = telecom; self.gender = gender; self.birthDate = birthDate
    }

    /// The first phone number, the way the agent matches a caller.
    public var phone: String? { telecom?.first { $0.system == .phone }?.value }
}

public struct Practitioner: FHIRResourceType {
    public static let resourceType = "Practitioner"
    public private(set) var resourceType: String = "Practitioner"
    public var id: String?
    public var meta: Meta?
    public var identifier: [Identifier]?
    public var active: Bool?
    public var name: [HumanName]?
    public var telecom: [ContactPoint]?
    public var gender: AdministrativeGender?

    public init(id: String? = nil, meta: Meta? = nil, identifier: [Identifier]? = nil, active: Bool? = nil,
                name: [HumanName]? = nil, telecom: [ContactPoint]? = nil, gender: AdministrativeGender? = nil) {
        self.id = id; self.meta = meta; self.identifier = identifier; self.active = active; self.name = name
        self.telecom = telecom; self.gender = gender
    }
}

/// A provider's bookable calendar; its `Slot`s point back at it.
public struct Schedule: FHIRResourceType {
    public static let resourceType = "Schedule"
    public private(set) var resourceType: String = "Schedule"
    public var id: String?
    public var meta: Meta?
    public var identifier: [Identifier]?
    public var active: Bool?
    public var serviceType: [CodeableConcept]?
    /// Required by R4 (1..*): usually the `Practitioner`.
    public var actor: [Reference]
    public var planningHorizon: Period?
    public var comment: String?

    public init(id: String? = nil, meta: Meta? = nil, identifier: [Identifier]? = nil, active: Bool? = nil,
                serviceType: [CodeableConcept]? = nil, actor: [Reference], planningHorizon: Period? = nil,
                comment: String? = nil) {
        self.id = id; self.meta = meta; self.identifier = identifier; self.active = active
        self.serviceType = serviceType; self.actor = actor; self.planningHorizon = planningHorizon; self.comment = comment
    }
}

public enum SlotStatus: String, Codable, Sendable, Hashable, CaseIterable {
    case free, busy
    case busyUnavailable = "busy-unavailable"
    case busyTentative = "busy-tentative"
    case enteredInError = "entered-in-error"
}

public struct Slot: FHIRResourceType {
    public static let resourceType = "Slot"
    public private(set) var resourceType: String = "Slot"
    public var id: String?
    public var meta: Meta?
    public var identifier: [Identifier]?
    public var serviceType: [CodeableConcept]?
    public var appointmentType: CodeableConcept?
    public var schedule: Reference
    public var status: SlotStatus
    public var start: FHIRInstant
    public var end: FHIRInstant
    public var overbooked: Bool?
    public var comment: String?

    public init(id: String? = nil, meta: Meta? = nil, identifier: [Identifier]? = nil,
                serviceType: [CodeableConcept]? = nil, appointmentType: CodeableConcept? = nil, schedule: Reference,
                status: SlotStatus, start: FHIRInstant, end: FHIRInstant, overbooked: Bool? = nil, comment: String? = nil) {
        self.id = id; self.meta = meta; self.identifier = identifier; self.serviceType = serviceType
        self.appointmentType = appointmentType; self.schedule = schedule; self.status = status
        self.start = start; self.end = end; self.overbooked = overbooked; self.comment = comment
    }
}

public enum AppointmentStatus: String, Codable, Sendable, Hashable, CaseIterable {
    case proposed, pending, booked, arrived, fulfilled, cancelled, noshow
    case enteredInError = "entered-in-error"
    case checkedIn = "checked-in"
    case waitlist
}

public enum ParticipationStatus: String, Codable, Sendable, Hashable, CaseIterable {
    case accepted, declined, tentative
    case needsAction = "needs-action"
}

public enum ParticipantRequired: String, Codable, Sendable, Hashable {
    case required, optional
    case informationOnly = "information-only"
}

public struct AppointmentParticipant: Codable, Sendable, Hashable {
    public var type: [CodeableConcept]?
    public var actor: Reference?
    public var required: ParticipantRequired?
    public var status: ParticipationStatus

    public init(type: [CodeableConcept]? = nil, actor: Reference?, required: ParticipantRequired? = nil,
                status: ParticipationStatus) {
        self.type = type; self.actor = actor; self.required = required; self.status = status
    }
}

public struct Appointment: FHIRResourceType {
    public static let resourceType = "Appointment"
    public private(set) var resourceType: String = "Appointment"
    public var id: String?
    public var meta: Meta?
    public var identifier: [Identifier]?
    public var status: AppointmentStatus
    public var cancelationReason: CodeableConcept?
    public var serviceType: [CodeableConcept]?
    public var appointmentType: CodeableConcept?
    public var description: String?
    public var start: FHIRInstant?
    public var end: FHIRInstant?
    public var minutesDuration: Int?
    public var slot: [Reference]?
    /// FHIR `dateTime` of when the appointment was first made.
    public var created: String?
    public var comment: String?
    /// Required by R4 (1..*): the patient and the practitioner.
    public var participant: [AppointmentParticipant]

    public init(id: String? = nil, meta: Meta? = nil, identifier: [Identifier]? = nil, status: AppointmentStatus,
                cancelationReason: CodeableConcept? = nil, serviceType: [CodeableConcept]? = nil,
                appointmentType: CodeableConcept? = nil, description: String? = nil, start: FHIRInstant? = nil,
                end: FHIRInstant? = nil, minutesDuration: Int? = nil, slot: [Reference]? = nil, created: String? = nil,
                comment: String? = nil, participant: [AppointmentParticipant]) {
        self.id = id; self.meta = meta; self.identifier = identifier; self.status = status
        self.cancelationReason = cancelationReason; self.serviceType = serviceType
        self.appointmentType = appointmentType; self.description = description; self.start = start; self.end = end
        self.minutesDuration = minutesDuration; self.slot = slot; self.created = created; self.comment = comment
        self.participant = participant
    }

    /// The participant whose actor is a resource of the given type (`"Patient"`, `"Practitioner"`).
    public func actor(ofType type: String) -> Reference? {
        participant.first { $0.actor?.resourceType == type }?.actor
    }
}

public enum CoverageStatus: String, Codable, Sendable, Hashable, CaseIterable {
    case active, cancelled, draft
    case enteredInError = "entered-in-error"
}

public struct Coverage: FHIRResourceType {
    public static let resourceType = "Coverage"
    public private(set) var resourceType: String = "Coverage"
    public var id: String?
    public var meta: Meta?
    public var identifier: [Identifier]?
    public var status: CoverageStatus
    public var type: CodeableConcept?
    public var subscriberId: String?
    public var beneficiary: Reference
    public var relationship: CodeableConcept?
    public var period: Period?
    /// Required by R4 (1..*): the insurer, as a reference with a display name.
    public var payor: [Reference]

    public init(id: String? = nil, meta: Meta? = nil, identifier: [Identifier]? = nil, status: CoverageStatus,
                type: CodeableConcept? = nil, subscriberId: String? = nil, beneficiary: Reference,
                relationship: CodeableConcept? = nil, period: Period? = nil, payor: [Reference]) {
        self.id = id; self.meta = meta; self.identifier = identifier; self.status = status; self.type = type
        self.subscriberId = subscriberId; self.beneficiary = beneficiary; self.relationship = relationship
        self.period = period; self.payor = payor
    }
}

public enum CommunicationStatus: String, Codable, Sendable, Hashable, CaseIterable {
    case preparation
    case inProgress = "in-progress"
    case notDone = "not-done"
    case onHold = "on-hold"
    case stopped, completed
    case enteredInError = "entered-in-error"
    case unknown
}

public struct CommunicationPayload: Codable, Sendable, Hashable {
    public var contentString: String?

    public init(contentString: String) { self.contentString = contentString }
}

/// The agent's call note, written to the patient's chart.
public struct Communication: FHIRResourceType {
    public static let resourceType = "Communication"
    public private(set) var resourceType: String = "Communication"
    public var id: String?
    public var meta: Meta?
    public var identifier: [Identifier]?
    public var status: CommunicationStatus
    public var category: [CodeableConcept]?
    public var subject: Reference?
    public var about: [Reference]?
    /// FHIR `dateTime`.
    public var sent: String?
    public var recipient: [Reference]?
    public var sender: Reference?
    public var payload: [CommunicationPayload]?

    public init(id: String? = nil, meta: Meta? = nil, identifier: [Identifier]? = nil, status: CommunicationStatus,
                category: [CodeableConcept]? = nil, subject: Reference? = nil, about: [Reference]? = nil,
                sent: String? = nil, recipient: [Reference]? = nil, sender: Reference? = nil,
                payload: [CommunicationPayload]? = nil) {
        self.id = id; self.meta = meta; self.identifier = identifier; self.status = status; self.category = category
        self.subject = subject; self.about = about; self.sent = sent; self.recipient = recipient
        self.sender = sender; self.payload = payload
    }
}

/// A request for the care team to act (R4 `Task`): here a prescription refill the caller
/// asked for. Named `FHIRTask` so it does not hide Swift's `Task`.
public struct FHIRTask: FHIRResourceType {
    public static let resourceType = "Task"
    public private(set) var resourceType: String = "Task"
    public var id: String?
    public var meta: Meta?
    public var identifier: [Identifier]?
    /// `requested`, `accepted`, `completed`, … (required).
    public var status: String
    /// `order`, `proposal`, … (required).
    public var intent: String
    public var priority: String?
    public var code: CodeableConcept?
    public var description: String?
    /// The patient the task is for (`Task.for`).
    public var `for`: Reference?
    /// FHIR `dateTime`.
    public var authoredOn: String?

    public init(id: String? = nil, meta: Meta? = nil, identifier: [Identifier]? = nil, status: String = "requested",
                intent: String = "order", priority: String? = nil, code: CodeableConcept? = nil, description: String? = nil,
                for patient: Reference? = nil, authoredOn: String? = nil) {
        self.id = id; self.meta = meta; self.identifier = identifier; self.status = status; self.intent = intent
        self.priority = priority; self.code = code; self.description = description; self.for = patient; self.authoredOn = authoredOn
    }
}
