/// Insurance eligibility (R4 financial module): the agent asks whether a Coverage is in
/// force today (`CoverageEligibilityRequest`, purpose `validation`), the payer's answer
/// comes back as a `CoverageEligibilityResponse` whose `insurance[].inforce` says yes or no.
///
/// ```swift
/// let asked = CoverageEligibilityRequest(patient: "Patient/p1", created: "2026-11-29", insurer: coverage.payor[0],
///                                        coverage: "Coverage/cov-1")
/// let answer = try await fhir.checkEligibility(asked).value
/// if answer.isInForce { … }
/// ```
public struct CoverageEligibilityRequest: FHIRResourceType {
    public static let resourceType = "CoverageEligibilityRequest"
    public private(set) var resourceType: String = "CoverageEligibilityRequest"
    public var id: String?
    public var meta: Meta?
    public var identifier: [Identifier]?
    /// `active` (required).
    public var status: String
    /// `validation`: is the coverage in force (required, 1..*).
    public var purpose: [String]
    public var patient: Reference
    /// FHIR `dateTime` (required).
    public var created: String
    public var insurer: Reference
    public var insurance: [Insurance]?

    public struct Insurance: Codable, Sendable, Hashable {
        public var focal: Bool?
        public var coverage: Reference
        public init(focal: Bool? = true, coverage: Reference) { self.focal = focal; self.coverage = coverage }
    }

    public init(id: String? = nil, identifier: [Identifier]? = nil, patient: Reference, created: String, insurer: Reference,
                coverage: Reference) {
        self.id = id; self.identifier = identifier; status = "active"; purpose = ["validation"]
        self.patient = patient; self.created = created; self.insurer = insurer
        insurance = [Insurance(coverage: coverage)]
    }
}

public struct CoverageEligibilityResponse: FHIRResourceType {
    public static let resourceType = "CoverageEligibilityResponse"
    public private(set) var resourceType: String = "CoverageEligibilityResponse"
    public var id: String?
    public var meta: Meta?
    public var identifier: [Identifier]?
    public var status: String
    public var purpose: [String]
    public var patient: Reference
    public var created: String
    /// The request answered (required).
    public var request: Reference
    /// `complete`, `error`, `partial`, `queued` (required).
    public var outcome: String
    public var disposition: String?
    public var insurer: Reference
    public var insurance: [Insurance]?

    public struct Insurance: Codable, Sendable, Hashable {
        public var coverage: Reference
        public var inforce: Bool?
        public init(coverage: Reference, inforce: Bool?) { self.coverage = coverage; self.inforce = inforce }
    }

    public init(id: String? = nil, meta: Meta? = nil, patient: Reference, created: String, request: Reference, outcome: String = "complete",
                disposition: String? = nil, insurer: Reference, insurance: [Insurance]) {
        self.id = id; self.meta = meta; status = "active"; purpose = ["validation"]
        self.patient = patient; self.created = created; self.request = request; self.outcome = outcome
        self.disposition = disposition; self.insurer = insurer; self.insurance = insurance
    }

    /// The payer said the coverage asked about is in force.
    public var isInForce: Bool { outcome == "complete" && (insurance ?? []).contains { $0.inforce == true } }
}
