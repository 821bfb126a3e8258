import Foundation
import SwitchboardCore

extension OperatorIdentity {
    /// A patient's name as this operator may see it: in full for reviewers and operators,
    /// initials only for viewers (`Ann Lee` → `A. L.`).
    public func patientName(_ display: String?) -> String {
        guard let display, !display.isEmpty else { return "" }
        if seesPatientDetails { return display }
        return display.split(whereSeparator: { $0 == " " || $0 == "," })
            .compactMap { $0.first.map { "\($0.uppercased())." } }
            .joined(separator: " ")
    }
}

extension OperatorIdentity {
    /// A caller's number as this operator may see it. The agent stores only the last four
    /// digits; viewers see the last two (`***-***-0142` → `***-***-**42`), so a row cannot
    /// be tied to a patient's phone.
    public func callerNumber(_ masked: String?) -> String {
        guard let masked, !masked.isEmpty else { return "—" }
        return seesPatientDetails ? masked : Call.caller(masked, showingLast: Call.digitsShownToViewers)
    }
}

/// What a viewer sees of text that may carry patient details: the shape, never the values.
/// Reviewers and operators see it whole; a viewer can reveal one record on purpose (an
/// audit row, `phi.reveal`).
extension OperatorIdentity {
    public static let maskedValue = "•••"

    /// A request body's lines as this operator may see them. HL7 v2: each segment's name
    /// with its fields masked (`PID|•••`), MSH kept whole (routing, no patient); JSON: the
    /// resource type and the names of the fields, never their values.
    public func requestBody(_ lines: [String]) -> [String] {
        if seesPatientDetails { return lines }
        let text = lines.joined(separator: "\n")
        if let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] {
            let type = object["resourceType"] as? String
            let names = object.keys.filter { $0 != "resourceType" }.sorted()
            return ["\(type ?? "JSON") body, patient details masked; fields: \(names.joined(separator: ", "))"]
        }
        return lines.map { line in
            let segment = line.prefix { $0 != "|" }
            if segment == "MSH" { return line }
            let named = segment.count == 3 && segment.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
            return named ? "\(segment)|\(Self.maskedValue)" : Self.maskedValue
        }
    }

    /// `Patient/p-123` (or a bare patient id under `resourceType` Patient) as this operator
    /// may see it: `Patient/•••` for a viewer.
    public func resourceReference(_ reference: String) -> String {
        if seesPatientDetails { return reference }
        return reference.hasPrefix("Patient/") ? "Patient/\(Self.maskedValue)" : reference
    }

    /// Free text written about a patient (a call's summary, an audit row's note) as this
    /// operator may see it: hidden for a viewer.
    public func freeText(_ text: String?) -> String? {
        guard let text else { return nil }
        return seesPatientDetails ? text : "\(Self.maskedValue) (patient details hidden)"
    }

    /// A URL with its query (which may search by name or birth date) hidden for a viewer.
    public func requestURL(_ url: String) -> String {
        if seesPatientDetails { return url }
        guard let mark = url.firstIndex(of: "?") else { return resourceReferenceInURL(url) }
        return resourceReferenceInURL(String(url[..<mark])) + "?\(Self.maskedValue)"
    }

    private func resourceReferenceInURL(_ url: String) -> String {
        guard let range = url.range(of: "/Patient/") else { return url }
        return String(url[..<range.upperBound]) + Self.maskedValue
    }

    /// An audit row's detail JSON as this operator may see it: patient references, notes
    /// and names masked for a viewer; the rest (ids of items and bookings, codes) kept.
    public func auditDetail(text detail: String?) -> String? {
        guard let detail, !seesPatientDetails else { return detail }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(detail.utf8))) as? [String: Any] else {
            return freeText(detail)
        }
        return JSONText.object(maskValues(object))
    }

    private func maskValues(_ object: [String: Any]) -> [String: Any?] {
        let freeTextKeys: Set<String> = ["note", "summary", "reason", "patient", "patient_display", "name", "before", "after",
                                         "birth_date", "phone", "address", "text"]
        var out: [String: Any?] = [:]
        for (key, value) in object {
            if freeTextKeys.contains(key) { out[key] = Self.maskedValue; continue }
            switch value {
            case let text as String: out[key] = text.contains("Patient/") ? resourceReference(text) : text
            case let nested as [String: Any]: out[key] = maskValues(nested)
            default: out[key] = value
            }
        }
        return out
    }
}

extension OperatorIdentity {
    /// This operator with patient details shown, for one record a viewer chose to reveal
    /// (the reveal itself is an audit row); never a change of role for anything else.
    public var revealing: OperatorIdentity {
        var copy = self
        copy.revealsPatientDetails = true
        return copy
    }
}
