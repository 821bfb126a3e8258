/// FHIR R4 datatypes used by the scheduling resources. Optional members are left out of
/// the JSON when nil (FHIR forbids `null`); arrays are optional for the same reason
/// (FHIR forbids `[]`).

/// `Resource.meta`: the server's version and last change of a resource.
public struct Meta: Codable, Sendable, Hashable {
    public var versionId: String?
    public var lastUpdated: FHIRInstant?

    public init(versionId: String? = nil, lastUpdated: FHIRInstant? = nil) {
        self.versionId = versionId; self.lastUpdated = lastUpdated
    }
}

/// A link to another resource, e.g. `Reference("Patient/p-00042")`.
public struct Reference: Codable, Sendable, Hashable, ExpressibleByStringLiteral {
    /// `Type/id` (relative) or an absolute URL.
    public var reference: String?
    public var display: String?

    public init(_ reference: String, display: String? = nil) {
        self.reference = reference; self.display = display
    }

    public init(stringLiteral value: String) { self.init(value) }

    /// The id part of `Type/id` (or of `…/Type/id/_history/n`).
    public var id: String? {
        guard let reference else { return nil }
        var parts = reference.split(separator: "/")
        if parts.count >= 4, parts[parts.count - 2] == "_history" { parts.removeLast(2) }
        return parts.count >= 2 ? String(parts[parts.count - 1]) : nil
    }

    /// The resource type part of `Type/id`.
    public var resourceType: String? {
        guard let reference else { return nil }
        var parts = reference.split(separator: "/")
        if parts.count >= 4, parts[parts.count - 2] == "_history" { parts.removeLast(2) }
        return parts.count >= 2 ? String(parts[parts.count - 2]) : nil
    }
}

public struct Coding: Codable, Sendable, Hashable {
    public var system: String?
    public var code: String?
    public var display: String?

    public init(system: String? = nil, code: String? = nil, display: String? = nil) {
        self.system = system; self.code = code; self.display = display
    }
}

public struct CodeableConcept: Codable, Sendable, Hashable {
    public var coding: [Coding]?
    public var text: String?

    public init(coding: [Coding]? = nil, text: String? = nil) {
        self.coding = coding; self.text = text
    }

    /// The first coding's code, which is how scheduling systems usually compare types.
    public var code: String? { coding?.first?.code }
}

public struct HumanName: Codable, Sendable, Hashable {
    public enum Use: String, Codable, Sendable, Hashable {
        case usual, official, temp, nickname, anonymous, old, maiden
    }

    public var use: Use?
    public var text: String?
    public var family: String?
    public var given: [String]?
    public var prefix: [String]?
    public var suffix: [String]?

    public init(use: Use? = nil, text: String? = nil, family: String? = nil, given: [String]? = nil,
                prefix: [String]? = nil, suffix: [String]? = nil) {
        self.use = use; self.text = text; self.family = family; self.given = given
        self.prefix = prefix; self.suffix = suffix
    }

    /// `text` if the EHR sent one, else given names then family.
    public var displayName: String {
        if let text, !text.isEmpty { return text }
        return ((given ?? []) + [family].compactMap { $0 }).joined(separator: " ")
    }
}

public struct ContactPoint: Codable, Sendable, Hashable {
    public enum System: String, Codable, Sendable, Hashable {
        case phone, fax, email, pager, url, sms, other
    }

    public enum Use: String, Codable, Sendable, Hashable {
        case home, work, temp, old, mobile
    }

    public var system: System?
    public var value: String?
    public var use: Use?
    public var rank: Int?

    public init(system: System? = nil, value: String? = nil, use: Use? = nil, rank: Int? = nil) {
        self.system = system; self.value = value; self.use = use; self.rank = rank
    }
}

public struct Identifier: Codable, Sendable, Hashable {
    public enum Use: String, Codable, Sendable, Hashable {
        case usual, official, temp, secondary, old
    }

    public var use: Use?
    public var type: CodeableConcept?
    public var system: String?
    public var value: String?

    public init(use: Use? = nil, type: CodeableConcept? = nil, system: String? = nil, value: String? = nil) {
        self.use = use; self.type = type; self.system = system; self.value = value
    }
}

/// A FHIR `Period`. Its bounds are `dateTime`s, which may be dates (`2026-01-01`) or
/// instants, so they stay text; `FHIRInstant.parse` reads both.
public struct Period: Codable, Sendable, Hashable {
    public var start: String?
    public var end: String?

    public init(start: String? = nil, end: String? = nil) {
        self.start = start; self.end = end
    }
}
