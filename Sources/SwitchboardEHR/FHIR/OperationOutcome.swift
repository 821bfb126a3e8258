/// What went wrong, in FHIR's words: the body of every error a FHIR server returns.
///
///     OperationOutcome(.error, .conflict, "Slot/s-1 is already booked")
public struct OperationOutcome: FHIRResourceType {
    public enum Severity: String, Codable, Sendable, Hashable {
        case fatal, error, warning, information
    }

    /// R4 `IssueType` codes.
    public enum IssueType: String, Codable, Sendable, Hashable, CaseIterable {
        case invalid, structure, required, value, invariant, security, login, unknown, expired, forbidden
        case suppressed, processing
        case notSupported = "not-supported"
        case duplicate
        case multipleMatches = "multiple-matches"
        case notFound = "not-found"
        case deleted
        case tooLong = "too-long"
        case codeInvalid = "code-invalid"
        case `extension`
        case tooCostly = "too-costly"
        case businessRule = "business-rule"
        case conflict, transient
        case lockError = "lock-error"
        case noStore = "no-store"
        case exception, timeout, incomplete, throttled, informational
    }

    public struct Issue: Codable, Sendable, Hashable {
        public var severity: Severity
        public var code: IssueType
        public var details: CodeableConcept?
        public var diagnostics: String?
        public var expression: [String]?

        public init(severity: Severity, code: IssueType, details: CodeableConcept? = nil, diagnostics: String? = nil,
                    expression: [String]? = nil) {
            self.severity = severity; self.code = code; self.details = details; self.diagnostics = diagnostics
            self.expression = expression
        }
    }

    public static let resourceType = "OperationOutcome"
    public private(set) var resourceType: String = "OperationOutcome"
    public var id: String?
    public var meta: Meta?
    public var issue: [Issue]

    public init(id: String? = nil, meta: Meta? = nil, issue: [Issue]) {
        self.id = id; self.meta = meta; self.issue = issue
    }

    /// One issue: the usual shape of an error body.
    public init(_ severity: Severity, _ code: IssueType, _ diagnostics: String) {
        self.init(issue: [Issue(severity: severity, code: code, diagnostics: diagnostics)])
    }

    /// The first issue's diagnostics, for an error message.
    public var summary: String {
        guard let first = issue.first else { return "no issue given" }
        return first.diagnostics ?? first.details?.text ?? first.code.rawValue
    }
}

/// The server's self-description at `GET [base]/metadata`.
public struct CapabilityStatement: FHIRResourceType {
    public enum PublicationStatus: String, Codable, Sendable, Hashable {
        case draft, active, retired, unknown
    }

    public enum Kind: String, Codable, Sendable, Hashable {
        case instance, capability, requirements
    }

    public struct Software: Codable, Sendable, Hashable {
        public var name: String
        public var version: String?

        public init(name: String, version: String? = nil) { self.name = name; self.version = version }
    }

    public struct Implementation: Codable, Sendable, Hashable {
        public var description: String
        public var url: String?

        public init(description: String, url: String? = nil) { self.description = description; self.url = url }
    }

    public struct Interaction: Codable, Sendable, Hashable {
        /// `read`, `vread`, `update`, `create`, `search-type`, …
        public var code: String

        public init(_ code: String) { self.code = code }
    }

    public struct SearchParam: Codable, Sendable, Hashable {
        public var name: String
        /// `string`, `date`, `reference`, `token`, …
        public var type: String

        public init(name: String, type: String) { self.name = name; self.type = type }
    }

    public struct Resource: Codable, Sendable, Hashable {
        public var type: String
        public var interaction: [Interaction]?
        public var conditionalCreate: Bool?
        public var searchParam: [SearchParam]?

        public init(type: String, interaction: [Interaction]? = nil, conditionalCreate: Bool? = nil,
                    searchParam: [SearchParam]? = nil) {
            self.type = type; self.interaction = interaction; self.conditionalCreate = conditionalCreate
            self.searchParam = searchParam
        }
    }

    public struct Security: Codable, Sendable, Hashable {
        public var service: [CodeableConcept]?
        public var description: String?

        public init(service: [CodeableConcept]? = nil, description: String? = nil) {
            self.service = service; self.description = description
        }
    }

    public struct Rest: Codable, Sendable, Hashable {
        /// `server` or `client`.
        public var mode: String
        public var security: Security?
        public var resource: [Resource]?

        public init(mode: String, security: Security? = nil, resource: [Resource]? = nil) {
            self.mode = mode; self.security = security; self.resource = resource
        }
    }

    public static let resourceType = "CapabilityStatement"
    public private(set) var resourceType: String = "CapabilityStatement"
    public var id: String?
    public var meta: Meta?
    public var name: String?
    public var status: PublicationStatus
    /// FHIR `dateTime`.
    public var date: String
    public var kind: Kind
    public var software: Software?
    public var implementation: Implementation?
    public var fhirVersion: String
    public var format: [String]
    public var rest: [Rest]?

    public init(id: String? = nil, meta: Meta? = nil, name: String? = nil, status: PublicationStatus, date: String,
                kind: Kind, software: Software? = nil, implementation: Implementation? = nil,
                fhirVersion: String = "4.0.1", format: [String] = ["json"], rest: [Rest]? = nil) {
        self.id = id; self.meta = meta; self.name = name; self.status = status; self.date = date; self.kind = kind
        self.software = software; self.implementation = implementation; self.fhirVersion = fhirVersion
        self.format = format; self.rest = rest
    }
}
