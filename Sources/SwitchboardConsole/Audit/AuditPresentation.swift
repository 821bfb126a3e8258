import Foundation
import SwitchboardCore
import SwitchboardOperations
import TerminalUI

/// Turns audit rows into table cells and a row into every one of its fields: pure, no
/// terminal. Failures stand out by their FHIR outcome code.
struct AuditPresentation {
    let time: TimeText
    /// Who looks: a viewer sees `Patient/•••` and masked notes (PatientMasking).
    var identity: OperatorIdentity

    /// The action is what happened, whole at any width (the agent's longest,
    /// `communication.create`, is 20): at 80 columns the call column gives way to it (the
    /// call is in the details). Seq has room for ten million; wider terminals give the room
    /// to actor, action, resource and call. Outcome is the FHIR code the filter
    /// takes (`outcome:8`), and failures are coloured by it.
    static let columns: [TableColumn] = [
        TableColumn("Seq", minWidth: 8, alignment: .right),
        TableColumn("Time", minWidth: 8),
        TableColumn("Actor", minWidth: 9, maxWidth: 24, flex: 1),
        TableColumn("Action", minWidth: 20, maxWidth: 24, flex: 1),
        TableColumn("Resource", minWidth: 8, maxWidth: 30, flex: 1),
        TableColumn("HTTP", minWidth: 4, alignment: .right),
        TableColumn("ms", minWidth: 4, alignment: .right),
        TableColumn("Out", minWidth: 3, alignment: .right),
        TableColumn("Call", minWidth: 12, maxWidth: 16),
    ]

    func cells(_ e: AuditEvent) -> [String] {
        [
            e.seq.map(String.init) ?? "",
            time.clockWithSeconds(e.at),
            e.actor,
            e.action,
            identity.resourceReference(Self.resource(e)),
            e.httpStatus.map(String.init) ?? "",
            e.latencyMs.map(String.init) ?? "",
            String(e.outcome.rawValue),
            e.callId ?? "",
        ]
    }

    func scope(_ e: AuditEvent) -> String {
        switch e.outcome {
        case .success: "table.row"
        case .minorFailure: "status.warn"
        case .seriousFailure, .majorFailure: "status.error"
        }
    }

    /// `Appointment/a393`, or the type alone (the agent writes the id with or without its type).
    static func resource(_ e: AuditEvent) -> String {
        guard let id = e.resourceId else { return e.resourceType ?? "" }
        guard let type = e.resourceType, !id.hasPrefix(type + "/") else { return id }
        return type + "/" + id
    }

    /// Every field of the row, the detail JSON pretty-printed, and its links in the chain.
    func pane(_ e: AuditEvent, revealed: Bool = false) -> DetailPane {
        let identity = revealed ? identity.revealing : identity
        let resource = identity.resourceReference(Self.resource(e))
        func text(_ value: CustomStringConvertible?) -> String { value.map(\.description) ?? "—" }
        return DetailPane(items: [
            .heading("Audit row \(text(e.seq))"),
            .field("Time", "\(time.timestamp(e.at))  (\(e.at))"),
            .field("Actor", e.actor),
            .field("Action", e.action),
            .field("Call", text(e.callId)),
            .field("EHR", "\(text(e.ehrSystem))  \(text(e.transport?.rawValue))"),
            .field("Request", "\(text(e.method)) \(resource.isEmpty ? "—" : resource)"),
            .field("HTTP status", text(e.httpStatus)),
            .field("Latency", e.latencyMs.map { "\($0) ms" } ?? "—"),
            .field("Attempt", text(e.attempt)),
            .field("Outcome", "\(e.outcome.rawValue) (\(e.outcome.label))"),
            .blank,
            .field("Detail", Self.pretty(identity.auditDetail(text: e.detail))),
            .blank,
            .field("prev_hash", e.prevHash),
            .field("hash", e.hash),
        ])
    }

    /// The JSON indented with sorted keys; as stored when it is not JSON.
    static func pretty(_ detail: String?) -> String {
        guard let detail, !detail.isEmpty else { return "—" }
        guard let object = try? JSONSerialization.jsonObject(with: Data(detail.utf8), options: [.fragmentsAllowed]),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed]),
              let text = String(data: data, encoding: .utf8) else { return detail }
        return text
    }

    /// `532`, `48.2k`, `1.2M`: counts in the header at a glance.
    static func count(_ n: Int64) -> String {
        switch n {
        case ..<10_000: return "\(n)"
        case ..<1_000_000: return String(format: "%.1fk", Double(n) / 1000).replacingOccurrences(of: ".0k", with: "k")
        default: return String(format: "%.1fM", Double(n) / 1_000_000).replacingOccurrences(of: ".0M", with: "M")
        }
    }
}
