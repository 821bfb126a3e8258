import Foundation
import SwitchboardEHR

/// The practice's providers, read once from the EHR: a booking row holds only a FHIR
/// reference (`Practitioner/pr-5`), which means nothing to an office manager.
public struct ProviderDirectory: Sendable, Equatable {
    public struct Provider: Sendable, Equatable {
        /// `Practitioner/pr-5`
        public var ref: String
        /// `Dr. Fatima Al-Sayed`, for the form and details.
        public var name: String
        /// `Dr. Al-Sayed`, for a table column.
        public var shortName: String

        public init(ref: String, name: String, shortName: String) {
            self.ref = ref
            self.name = name
            self.shortName = shortName
        }
    }

    /// Sorted by family name, as a practice's own staff list is.
    public let providers: [Provider]
    private let byRef: [String: Provider]

    public init(_ providers: [Provider]) {
        self.providers = providers
        byRef = Dictionary(providers.map { ($0.ref, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Active practitioners with an id; one without a name keeps its id as its name.
    public init(practitioners: [Practitioner]) {
        let listed = practitioners.compactMap { p -> (family: String, Provider)? in
            guard let id = p.id, p.active != false else { return nil }
            let name = p.name?.first
            let title = name?.prefix?.joined(separator: " ") ?? ""
            func titled(_ text: String) -> String { title.isEmpty || text.hasPrefix(title) ? text : "\(title) \(text)" }
            let full = name?.displayName ?? ""
            let shown = full.isEmpty ? id : titled(full)
            let family = name?.family ?? shown
            return (family, Provider(ref: "Practitioner/\(id)", name: shown, shortName: name?.family.map(titled) ?? shown))
        }
        self.init(listed.sorted { ($0.family.lowercased(), $0.1.ref) < ($1.family.lowercased(), $1.1.ref) }.map(\.1))
    }

    public func provider(_ ref: String?) -> Provider? { ref.flatMap { byRef[$0] } }

    /// `Dr. Al-Sayed`, or the reference's id (`pr-5`) for a provider the EHR did not list.
    public static func shortName(of ref: String?, in directory: ProviderDirectory?) -> String {
        guard let ref else { return "—" }
        return directory?.provider(ref)?.shortName ?? String(ref.split(separator: "/").last ?? Substring(ref))
    }

    /// Providers whose name contains `text`, ignoring case and accents ("hernandez"
    /// finds Dr. Sofía Hernández), for the list filter.
    public func refs(named text: String) -> [String] {
        providers.filter { $0.name.range(of: text, options: [.caseInsensitive, .diacriticInsensitive]) != nil }.map(\.ref)
    }
}
