/// The words of the data contract (docs/data-contract.md). Raw values are what the
/// databases and the event stream store; an unknown value read from a newer agent
/// decodes as `.other` rather than failing, so a new word never breaks the console.

/// How the agent reached the EHR.
public enum Transport: String, Codable, Sendable, CaseIterable {
    case fhir, rest, hl7v2
}

/// FHIR AuditEvent outcome codes.
public enum AuditOutcome: Int, Codable, Sendable, CaseIterable {
    case success = 0
    case minorFailure = 4
    case seriousFailure = 8
    case majorFailure = 12

    public var label: String {
        switch self {
        case .success: "success"
        case .minorFailure: "minor failure"
        case .seriousFailure: "serious failure"
        case .majorFailure: "major failure"
        }
    }
}

/// What a booking did to the schedule.
public enum BookingKind: String, Codable, Sendable, CaseIterable {
    case book, reschedule, cancel

    /// The word the clinic uses, as lists show it (and filters find it).
    public var label: String { self == .reschedule ? "move" : rawValue }
}

/// A reviewer's verdict on a booking.
public enum ReviewVerdict: String, Codable, Sendable, CaseIterable {
    case approved, corrected
}

/// Why a reviewer corrected a booking.
public enum CorrectionCategory: String, Codable, Sendable, CaseIterable {
    case wrongTime = "wrong_time"
    case wrongProvider = "wrong_provider"
    case wrongPatient = "wrong_patient"
    case wrongType = "wrong_type"
    case shouldNotExist = "should_not_exist"
    case other

    public var label: String {
        switch self {
        case .wrongTime: "wrong time"
        case .wrongProvider: "wrong provider"
        case .wrongPatient: "wrong patient"
        case .wrongType: "wrong type"
        case .shouldNotExist: "should not exist"
        case .other: "other"
        }
    }
}

/// Life of an outbox item. `pending` and `failed` wait for `next_attempt_at`;
/// `in_flight` is held by a lease; `succeeded`, `dead` and `discarded` are final.
public enum OutboxStatus: String, Codable, Sendable, CaseIterable {
    case pending
    case inFlight = "in_flight"
    case succeeded
    case failed
    case dead
    case discarded

    public var isFinal: Bool { self == .succeeded || self == .dead || self == .discarded }
}

/// The workflows of the integration guide, as the call's `intent`.
public enum Workflow: String, Codable, Sendable, CaseIterable {
    case newPatientBooking = "new_patient_booking"
    case reschedule
    case cancel
    case insuranceCheck = "insurance_check"
    case prescriptionRefill = "prescription_refill"
    case urgentTriage = "urgent_triage"
    case afterHours = "after_hours"
}

/// How a call ended.
public enum CallOutcome: String, Codable, Sendable, CaseIterable {
    case resolved, transferred, callback, dropped, failed
}

/// The agent's view of the EHR link.
public enum EHRState: String, Codable, Sendable, CaseIterable {
    case online, degraded
    case queueMode = "queue_mode"
    case recovering
}

/// Why a booking was flagged for a person to look at.
public enum ReviewFlag: String, Codable, Sendable, CaseIterable {
    case goLive = "go_live"
    case nearDuplicate = "near_duplicate"
    case outOfHours = "out_of_hours"
    case lowIdentityMatch = "low_identity_match"
    /// Several patients matched the caller's name and birth date and the phone did not settle it.
    case ambiguousMatch = "ambiguous_match"
    case newPatient = "new_patient"
    case retried
    case queued

    public var label: String {
        switch self {
        case .goLive: "go-live"
        case .nearDuplicate: "near-duplicate"
        case .outOfHours: "out of hours"
        case .lowIdentityMatch: "low identity match"
        case .ambiguousMatch: "ambiguous match"
        case .newPatient: "new patient"
        case .retried: "retried"
        case .queued: "queued"
        }
    }

    /// One letter for a column too narrow for the words (Review at 80 columns; `?` has the
    /// legend). Unique with `PitfallFlag`'s letters.
    public var letter: String {
        switch self {
        case .goLive: "G"
        case .nearDuplicate: "D"
        case .outOfHours: "H"
        case .lowIdentityMatch: "I"
        case .ambiguousMatch: "A"
        case .newPatient: "N"
        case .retried: "R"
        case .queued: "Q"
        }
    }
}

/// Operator roles, weakest first. A role may do everything the ones before it may.
public enum OperatorRole: String, Codable, Sendable, CaseIterable, Comparable {
    case viewer, reviewer, `operator`

    public static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Viewers see masked patient details; reviewers and operators need them to verify.
    public var seesPatientDetails: Bool { self >= .reviewer }
    public var mayReview: Bool { self >= .reviewer }
    public var mayTouchOutbox: Bool { self >= .operator }
}
