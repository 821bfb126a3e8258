import Foundation
import GRDB
import SwitchboardCore

/// `switchboard audit export`: the audit rows as FHIR R4 AuditEvent resources (in a
/// Bundle, or one per line as NDJSON), or as RFC 4180 CSV of the stored columns.
///
/// Streams: one cursor in one read transaction, output through a small buffer, so memory
/// stays flat on ten million rows. Values are read by their storage class (never
/// decoded into enums, which could trap on a foreign value) and every text is made safe
/// for whoever opens the file: JSON escapes C0, DEL, C1, U+2028/2029 and the bidi
/// controls; CSV shows them as `\u{…}`.
public struct AuditExport: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case fhir, ndjson, csv
    }

    /// Which rows: by `seq` (a number) or by time (`at`), both ends inclusive.
    public enum Bound: Sendable, Equatable {
        case seq(Int64)
        case at(UnixMillis)

        /// A number is a seq; an ISO 8601 instant is a time.
        public init?(_ text: String) {
            if let seq = Int64(text) { self = .seq(seq) } else if let at = parseISO8601(text) { self = .at(at) } else { return nil }
        }
    }

    public var format: Format
    public var from: Bound?
    public var to: Bound?

    public init(format: Format, from: Bound? = nil, to: Bound? = nil) {
        self.format = format; self.from = from; self.to = to
    }

    /// Writes the rows to `output`; `progress` gets rows written and the rows in range
    /// (an estimate from seq). Returns the rows written.
    @discardableResult
    public func write(from audit: AuditStore, to output: FileHandle, now: UnixMillis = Clock.nowMillis(),
                      progress: ((Int, Int64) -> Void)? = nil) throws -> Int {
        var clauses: [String] = []
        var arguments: [any DatabaseValueConvertible] = []
        for (bound, op) in [(from, ">="), (to, "<=")] {
            switch bound {
            case .seq(let seq)?: clauses.append("seq \(op) ?"); arguments.append(seq)
            case .at(let at)?: clauses.append("at \(op) ?"); arguments.append(at)
            case nil: break
            }
        }
        let sql = "SELECT \(StoredRowHasher.columnList) FROM audit_event"
            + (clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")) + " ORDER BY seq"
        var out = OutputBuffer(handle: output)
        var written = 0
        try audit.read { db in
            let estimate = try Int64.fetchOne(db, sql: "SELECT max(seq) - min(seq) + 1 FROM audit_event") ?? 0
            switch format {
            case .fhir:
                out.append("{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"timestamp\":\(Self.json(Self.instant(now))),\"entry\":[")
            case .csv:
                out.append(StoredRowHasher.columns.joined(separator: ",") + "\r\n")
            case .ndjson: break
            }
            let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
            while let row = try rows.next() {
                let values = (0..<StoredRowHasher.columns.count).map { StoredValue(row[$0] as DatabaseValue) }
                switch format {
                case .fhir:
                    out.append((written == 0 ? "" : ",") + "{\"resource\":" + Self.auditEvent(values) + "}")
                case .ndjson:
                    out.append(Self.auditEvent(values) + "\n")
                case .csv:
                    out.append(values.map { Self.csvField($0.text) }.joined(separator: ",") + "\r\n")
                }
                written += 1
                if let progress, written & 0x3FFF == 0 { progress(written, estimate) }
                try out.flushIfFull()
            }
            if format == .fhir { out.append("]}\n") }
        }
        try out.flush()
        return written
    }

    // MARK: FHIR R4 AuditEvent

    /// One AuditEvent, one line of JSON. Columns by index in `StoredRowHasher.columns`.
    static func auditEvent(_ v: [StoredValue]) -> String {
        let seq = v[0].text ?? "", at = v[1].integer ?? 0, actor = v[2].text ?? ""
        let action = v[4].text ?? "", ehrSystem = v[5].text, transport = v[6].text, method = v[7].text
        let resourceType = v[8].text, resourceID = v[9].text, outcome = v[10].text ?? "", httpStatus = v[11].text
        let isOperator = actor.hasPrefix("operator:")

        var type: String
        switch transport {
        case "hl7v2"?:
            let event = method.flatMap { $0.split(separator: "^").last.map(String.init) } ?? "unknown"
            type = coding("http://terminology.hl7.org/CodeSystem/v2-0003", event, nil)
        case .some:
            type = coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation")
        case nil:
            type = coding("urn:switchboard:audit-event-type", isOperator ? "operator-action" : "agent-action", nil)
        }
        var subtype = [coding("urn:switchboard:audit-action", action, nil)]
        if transport == "fhir" || transport == "rest", let interaction = restInteraction(method: method, resourceID: resourceID) {
            subtype.append(coding("http://hl7.org/fhir/restful-interaction", interaction, nil))
        }
        var fields: [String] = [
            "\"resourceType\":\"AuditEvent\"",
            "\"id\":" + json("audit-" + seq),
            "\"type\":" + type,
            "\"subtype\":[" + subtype.joined(separator: ",") + "]",
            "\"action\":" + json(actionCode(action: action, method: method)),
            "\"recorded\":" + json(instant(at)),
            "\"outcome\":" + json(outcome),
        ]
        if let httpStatus { fields.append("\"outcomeDesc\":" + json("HTTP \(httpStatus)")) }
        let role = coding("http://terminology.hl7.org/CodeSystem/extra-security-role-type", isOperator ? "humanuser" : "dataprocessor", nil)
        fields.append("\"agent\":[{\"type\":{\"coding\":[\(role)]},\"who\":{\"identifier\":{\"system\":\"urn:switchboard:actor\",\"value\":\(json(actor))},"
                      + "\"display\":\(json(actor))},\"requestor\":true}]")
        fields.append("\"source\":{" + (ehrSystem.map { "\"site\":\(json($0))," } ?? "")
                      + "\"observer\":{\"display\":\(json(actor))},\"type\":[" + coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server") + "]}")
        var entity: [String] = []
        if let resourceID, resourceID.contains("/") {
            entity.append("\"what\":{\"reference\":\(json(resourceID))}")
        } else if let resourceType {
            entity.append("\"what\":{\"type\":\(json(resourceType))}")
        }
        if let resourceType { entity.append("\"type\":" + coding("http://hl7.org/fhir/resource-types", resourceType, nil)) }
        var details: [String] = []
        for (index, name) in StoredRowHasher.columns.enumerated() where ![1, 2, 4, 8, 9, 10].contains(index) {
            if let text = v[index].text { details.append("{\"type\":\(json(name)),\"valueString\":\(json(text))}") }
        }
        entity.append("\"detail\":[" + details.joined(separator: ",") + "]")
        fields.append("\"entity\":[{" + entity.joined(separator: ",") + "}]")
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// C, R, U, D or E (FHIR AuditEvent.action) from the action's verb, else the method.
    static func actionCode(action: String, method: String?) -> String {
        switch action.split(separator: ".").last.map(String.init) ?? "" {
        case "create": return "C"
        case "read": return "R"
        case "update", "approve", "correct", "recorrect", "accept_ehr", "discard": return "U"
        case "delete", "undo": return "D"
        case "search", "probe", "retry": return "E"
        default:
            switch method?.uppercased() {
            case "GET"?: return "R"
            case "POST"?: return "C"
            case "PUT"?, "PATCH"?: return "U"
            case "DELETE"?: return "D"
            default: return "E"
            }
        }
    }

    static func restInteraction(method: String?, resourceID: String?) -> String? {
        switch method?.uppercased() {
        case "GET"?: return resourceID == nil ? "search-type" : "read"
        case "POST"?: return "create"
        case "PUT"?: return "update"
        case "PATCH"?: return "patch"
        case "DELETE"?: return "delete"
        default: return nil
        }
    }

    static func coding(_ system: String, _ code: String, _ display: String?) -> String {
        "{\"system\":\(json(system)),\"code\":\(json(code))" + (display.map { ",\"display\":\(json($0))" } ?? "") + "}"
    }

    /// `2026-11-24T10:59:02.091Z` (by hand: `String(format:)` costs more than the rest of a row).
    static func instant(_ millis: UnixMillis) -> String {
        // Floor division without subtracting first: `millis - ms` overflows at Int64.min
        // (a damaged row), and a trap here would end the whole export.
        let ms = Int(((millis % 1000) + 1000) % 1000)
        var t = time_t(millis / 1000 - (millis % 1000 < 0 ? 1 : 0))
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let year = Int(parts.tm_year) + 1900
        let yyyy = year >= 1000 ? "\(year)" : String(repeating: "0", count: max(0, 4 - String(year).count)) + "\(year)"
        let fraction = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(yyyy)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(fraction)Z"
    }

    // MARK: Safe text

    /// Characters that must never reach a reader raw: C0, DEL, C1, the line and paragraph
    /// separators (which end a line in JavaScript and some editors), and the bidi
    /// controls (which reorder what a person sees, "Trojan Source").
    static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// A JSON string literal with every unsafe character escaped as `\uXXXX`.
    public static func json(_ text: String) -> String {
        // Most values are plain ASCII with nothing to escape.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }) { return "\"" + text + "\"" }
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let s where isUnsafe(s): out += String(format: "\\u%04x", s.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// An RFC 4180 field: quoted when it holds a comma, quote, CR or LF; unsafe
    /// characters shown as `\u{XXXX}`. NULL is the empty field.
    static func csvField(_ text: String?) -> String {
        guard let text else { return "" }
        var shown = ""
        shown.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if isUnsafe(scalar) { shown += String(format: "\\u{%04X}", scalar.value) } else { shown.unicodeScalars.append(scalar) }
        }
        guard shown.contains(where: { $0 == "," || $0 == "\"" }) else { return shown }
        return "\"" + shown.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// A column's value by its storage class, as text for output.
struct StoredValue {
    let value: DatabaseValue

    init(_ value: DatabaseValue) { self.value = value }

    var text: String? {
        switch value.storage {
        case .null: nil
        case .int64(let v): String(v)
        case .double(let v): String(v)
        case .string(let s): s
        case .blob(let data): data.base64EncodedString()
        }
    }

    var integer: Int64? {
        if case .int64(let v) = value.storage { return v }
        return nil
    }
}

/// Output gathered into 256 KiB writes.
private struct OutputBuffer {
    let handle: FileHandle
    var bytes: [UInt8] = []

    init(handle: FileHandle) {
        self.handle = handle
        bytes.reserveCapacity(300_000)
    }

    mutating func append(_ text: String) { bytes.append(contentsOf: text.utf8) }

    mutating func flushIfFull() throws { if bytes.count >= 262_144 { try flush() } }

    mutating func flush() throws {
        guard !bytes.isEmpty else { return }
        try handle.write(contentsOf: bytes)
        bytes.removeAll(keepingCapacity: true)
    }
}
