import Foundation

/// Any resource a FHIR server may send, so a `Bundle` can hold several types at once.
/// A type this client does not model decodes as `.other` with its name rather than failing.
public indirect enum FHIRResource: Codable, Sendable, Hashable {
    case patient(Patient)
    case practitioner(Practitioner)
    case schedule(Schedule)
    case slot(Slot)
    case appointment(Appointment)
    case coverage(Coverage)
    case communication(Communication)
    case task(FHIRTask)
    case operationOutcome(OperationOutcome)
    case capabilityStatement(CapabilityStatement)
    case bundle(Bundle)
    case other(resourceType: String, id: String?)

    private enum Keys: String, CodingKey { case resourceType, id }

    public init(from decoder: any Decoder) throws {
        let keys = try decoder.container(keyedBy: Keys.self)
        let type = try keys.decode(String.self, forKey: .resourceType)
        switch type {
        case Patient.resourceType: self = .patient(try Patient(from: decoder))
        case Practitioner.resourceType: self = .practitioner(try Practitioner(from: decoder))
        case Schedule.resourceType: self = .schedule(try Schedule(from: decoder))
        case Slot.resourceType: self = .slot(try Slot(from: decoder))
        case Appointment.resourceType: self = .appointment(try Appointment(from: decoder))
        case Coverage.resourceType: self = .coverage(try Coverage(from: decoder))
        case Communication.resourceType: self = .communication(try Communication(from: decoder))
        case FHIRTask.resourceType: self = .task(try FHIRTask(from: decoder))
        case OperationOutcome.resourceType: self = .operationOutcome(try OperationOutcome(from: decoder))
        case CapabilityStatement.resourceType: self = .capabilityStatement(try CapabilityStatement(from: decoder))
        case Bundle.resourceType: self = .bundle(try Bundle(from: decoder))
        default: self = .other(resourceType: type, id: try keys.decodeIfPresent(String.self, forKey: .id))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .patient(let r): try r.encode(to: encoder)
        case .practitioner(let r): try r.encode(to: encoder)
        case .schedule(let r): try r.encode(to: encoder)
        case .slot(let r): try r.encode(to: encoder)
        case .appointment(let r): try r.encode(to: encoder)
        case .coverage(let r): try r.encode(to: encoder)
        case .communication(let r): try r.encode(to: encoder)
        case .task(let r): try r.encode(to: encoder)
        case .operationOutcome(let r): try r.encode(to: encoder)
        case .capabilityStatement(let r): try r.encode(to: encoder)
        case .bundle(let r): try r.encode(to: encoder)
        case .other(let type, let id):
            var keys = encoder.container(keyedBy: Keys.self)
            try keys.encode(type, forKey: .resourceType)
            try keys.encodeIfPresent(id, forKey: .id)
        }
    }

    public var resourceType: String {
        switch self {
        case .patient: Patient.resourceType
        case .practitioner: Practitioner.resourceType
        case .task: FHIRTask.resourceType
        case .schedule: Schedule.resourceType
        case .slot: Slot.resourceType
        case .appointment: Appointment.resourceType
        case .coverage: Coverage.resourceType
        case .communication: Communication.resourceType
        case .operationOutcome: OperationOutcome.resourceType
        case .capabilityStatement: CapabilityStatement.resourceType
        case .bundle: Bundle.resourceType
        case .other(let type, _): type
        }
    }

    public var id: String? {
        switch self {
        case .patient(let r): r.id
        case .practitioner(let r): r.id
        case .schedule(let r): r.id
        case .slot(let r): r.id
        case .appointment(let r): r.id
        case .coverage(let r): r.id
        case .communication(let r): r.id
        case .task(let r): r.id
        case .operationOutcome(let r): r.id
        case .capabilityStatement(let r): r.id
        case .bundle(let r): r.id
        case .other(_, let id): id
        }
    }

    public var patient: Patient? { if case .patient(let r) = self { r } else { nil } }
    public var practitioner: Practitioner? { if case .practitioner(let r) = self { r } else { nil } }
    public var schedule: Schedule? { if case .schedule(let r) = self { r } else { nil } }
    public var slot: Slot? { if case .slot(let r) = self { r } else { nil } }
    public var appointment: Appointment? { if case .appointment(let r) = self { r } else { nil } }
    public var coverage: Coverage? { if case .coverage(let r) = self { r } else { nil } }
    public var communication: Communication? { if case .communication(let r) = self { r } else { nil } }
    public var operationOutcome: OperationOutcome? { if case .operationOutcome(let r) = self { r } else { nil } }
}

/// A set of resources: search results (`searchset`) with paging links.
public struct Bundle: FHIRResourceType {
    public enum BundleType: String, Codable, Sendable, Hashable {
        case document, message, transaction
        case transactionResponse = "transaction-response"
        case batch
        case batchResponse = "batch-response"
        case history, searchset, collection
    }

    public struct Link: Codable, Sendable, Hashable {
        /// `self`, `next`, `previous`, …
        public var relation: String
        public var url: String

        public init(relation: String, url: String) { self.relation = relation; self.url = url }
    }

    public struct Search: Codable, Sendable, Hashable {
        public enum Mode: String, Codable, Sendable, Hashable { case match, include, outcome }
        public var mode: Mode?

        public init(mode: Mode?) { self.mode = mode }
    }

    public struct Entry: Codable, Sendable, Hashable {
        public var fullUrl: String?
        public var resource: FHIRResource?
        public var search: Search?

        public init(fullUrl: String? = nil, resource: FHIRResource?, search: Search? = nil) {
            self.fullUrl = fullUrl; self.resource = resource; self.search = search
        }
    }

    public static let resourceType = "Bundle"
    public private(set) var resourceType: String = "Bundle"
    public var id: String?
    public var meta: Meta?
    public var type: BundleType
    public var total: Int?
    public var link: [Link]?
    public var entry: [Entry]?

    public init(id: String? = nil, meta: Meta? = nil, type: BundleType, total: Int? = nil, link: [Link]? = nil,
                entry: [Entry]? = nil) {
        self.id = id; self.meta = meta; self.type = type; self.total = total; self.link = link; self.entry = entry
    }

    /// The URL of the next page, if the server has more.
    public var nextURL: String? { link?.first { $0.relation == "next" }?.url }

    /// The entries' resources in order.
    public var resources: [FHIRResource] { entry?.compactMap(\.resource) ?? [] }
}

/// The JSON settings FHIR needs: keys sorted so equal resources encode to equal bytes
/// (Foundation on Linux does not keep declaration order), no escaped slashes in URLs.
/// Instants are `FHIRInstant`; optionals are left out rather than written as null.
public enum FHIRJSON {
    /// The media type of FHIR JSON.
    public static let contentType = "application/fhir+json"

    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func encode(_ value: some Encodable) throws -> Data { try encoder().encode(value) }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try JSONDecoder().decode(type, from: data)
    }
}
