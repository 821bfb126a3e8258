/// HL7 v2 messages: segments separated by `\r`, fields by MSH-1 (usually `|`), and
/// components, repetitions, escapes and subcomponents by the four characters of MSH-2
/// (usually `^~\&`). Values in this model are unescaped; `encoded()` escapes them again.
///
///     let message = try HL7Message(parsing: "MSH|^~\\&|AGENT|CLINIC|EHR|CLINIC|20261125093000||ADT^A04|42|P|2.5\rPID|1||p-1||O'Brien^Siobhán")
///     message.type        // ("ADT", "A04")
///     message["PID"]?[5][2]  // "Siobhán"

/// The five characters that structure a message.
public struct HL7Delimiters: Sendable, Hashable {
    public var field: Character = "|"
    public var component: Character = "^"
    public var repetition: Character = "~"
    public var escape: Character = "\\"
    public var subcomponent: Character = "&"

    public init() {}

    /// MSH-2 as written: component, repetition, escape, subcomponent.
    public var encodingCharacters: String { String([component, repetition, escape, subcomponent]) }

    func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case field: out += "\(escape)F\(escape)"
            case component: out += "\(escape)S\(escape)"
            case subcomponent: out += "\(escape)T\(escape)"
            case repetition: out += "\(escape)R\(escape)"
            case escape: out += "\(escape)E\(escape)"
            // A raw segment separator inside a value would split the segment.
            case "\r": out += "\(escape)X0D\(escape)"
            case "\n": out += "\(escape)X0A\(escape)"
            case "\r\n": out += "\(escape)X0D0A\(escape)"
            default: out.append(c)
            }
        }
        return out
    }

    func unescaped(_ text: Substring) -> String {
        guard text.contains(escape) else { return String(text) }
        var out = ""
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            guard c == escape, let close = text[text.index(after: i)...].firstIndex(of: escape) else {
                out.append(c); i = text.index(after: i); continue
            }
            let code = text[text.index(after: i) ..< close]
            switch code {
            case "F": out.append(field)
            case "S": out.append(component)
            case "T": out.append(subcomponent)
            case "R": out.append(repetition)
            case "E": out.append(escape)
            case _ where code.first == "X" && code.count > 1 && code.count % 2 == 1:
                let hex = Array(code.dropFirst())
                var bytes: [UInt8] = []
                for k in stride(from: 0, to: hex.count, by: 2) {
                    guard let b = UInt8(String(hex[k ... k + 1]), radix: 16) else { bytes = []; break }
                    bytes.append(b)
                }
                if bytes.isEmpty { out += text[i ... close] } else { out += String(decoding: bytes, as: UTF8.self) }
            // Formatting escapes (\.br\, \H\, …) and anything unknown are kept as sent.
            default: out += text[i ... close]
            }
            i = text.index(after: close)
        }
        return out
    }
}

/// One field: repetitions of components of subcomponents, all unescaped.
/// Indexing by component is 1-based, as HL7 documents count (`PID-5.2` is `pid[5][2]`).
public struct HL7Field: Sendable, Hashable, ExpressibleByStringLiteral {
    public var repetitions: [[[String]]]

    public init(repetitions: [[[String]]]) { self.repetitions = repetitions }

    /// A field with one repetition of the given components (each without subcomponents).
    public init(components: [String]) { self.repetitions = [components.map { [$0] }] }

    public init(_ value: String) { self.init(components: [value]) }

    public init(stringLiteral value: String) { self.init(value) }

    public static let empty = HL7Field(repetitions: [])

    /// Component `n` (1-based) of the first repetition, first subcomponent; "" when absent.
    public subscript(component: Int) -> String {
        guard let first = repetitions.first, component >= 1, component <= first.count else { return "" }
        return first[component - 1].first ?? ""
    }

    /// The first component of the first repetition.
    public var value: String { self[1] }

    public var isEmpty: Bool { repetitions.allSatisfy { $0.allSatisfy { $0.allSatisfy(\.isEmpty) } } }
}

public struct HL7Segment: Sendable, Hashable {
    /// Three characters: `MSH`, `PID`, `SCH`, …
    public var name: String
    /// `fields[0]` is field 1. For MSH, field 1 is the field separator and field 2 the
    /// encoding characters, both kept as written.
    public var fields: [HL7Field]

    public init(_ name: String, _ fields: [HL7Field]) { self.name = name; self.fields = fields }

    /// Field `n` (1-based, as in `PID-5`); empty when absent.
    public subscript(n: Int) -> HL7Field {
        get { n >= 1 && n <= fields.count ? fields[n - 1] : .empty }
        set {
            guard n >= 1 else { return }
            while fields.count < n { fields.append(.empty) }
            fields[n - 1] = newValue
        }
    }
}

public enum HL7ParseError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case missingMSH
    case badEncodingCharacters
    case badSegmentName(String)

    public var description: String {
        switch self {
        case .empty: "empty message"
        case .missingMSH: "message does not start with an MSH segment"
        case .badEncodingCharacters: "MSH-1/MSH-2 do not hold a field separator and four encoding characters"
        case .badSegmentName(let name): "bad segment name \"\(name)\""
        }
    }
}

public struct HL7Message: Sendable, Hashable {
    public var delimiters: HL7Delimiters
    public var segments: [HL7Segment]

    public init(delimiters: HL7Delimiters = HL7Delimiters(), segments: [HL7Segment]) {
        self.delimiters = delimiters; self.segments = segments
    }

    /// Reads a message. Segments may end in `\r` (the standard), `\n` or `\r\n`.
    public init(parsing text: String) throws(HL7ParseError) {
        let lines = text.split(omittingEmptySubsequences: true) { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let header = lines.first else { throw .empty }
        guard header.hasPrefix("MSH") else { throw .missingMSH }
        // "MSH|^~\\&|": the separator, the four encoding characters, the separator again.
        let chars = Array(header.dropFirst(3).prefix(6))
        guard chars.count == 6, chars[5] == chars[0], Set(chars[0 ..< 5]).count == 5,
              !chars.contains(where: { $0.isLetter || $0.isNumber || $0 == " " })
        else { throw .badEncodingCharacters }
        var d = HL7Delimiters()
        (d.field, d.component, d.repetition, d.escape, d.subcomponent) = (chars[0], chars[1], chars[2], chars[3], chars[4])
        delimiters = d
        segments = try lines.enumerated().map { at, line throws(HL7ParseError) in try HL7Message.segment(line, d, isHeader: at == 0) }
    }

    /// Only the header's MSH-1 and MSH-2 are delimiters; a later line that starts with MSH
    /// (two messages run together) is read as an ordinary segment, so it is written back
    /// as it came (found by `switchboard-bench fuzz`).
    private static func segment(_ line: Substring, _ d: HL7Delimiters, isHeader: Bool) throws(HL7ParseError) -> HL7Segment {
        let raw = line.split(separator: d.field, omittingEmptySubsequences: false)
        let name = String(raw[0])
        guard name.count == 3, name.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber) }) else {
            throw .badSegmentName(String(name.prefix(20)))
        }
        func field(_ text: Substring) -> HL7Field {
            HL7Field(repetitions: text.split(separator: d.repetition, omittingEmptySubsequences: false).map { rep in
                rep.split(separator: d.component, omittingEmptySubsequences: false).map { comp in
                    comp.split(separator: d.subcomponent, omittingEmptySubsequences: false).map { d.unescaped($0) }
                }
            })
        }
        if isHeader {
            let rest = raw.dropFirst(2).map(field)
            return HL7Segment(name, [HL7Field(String(d.field)), HL7Field(String(raw.count > 1 ? raw[1] : ""))] + rest)
        }
        return HL7Segment(name, raw.dropFirst().map(field))
    }

    /// The message as sent on the wire: segments joined by `\r`, values escaped.
    public func encoded() -> String {
        let d = delimiters
        func field(_ f: HL7Field) -> String {
            f.repetitions.map { rep in
                rep.map { comp in comp.map(d.escaped).joined(separator: String(d.subcomponent)) }
                    .joined(separator: String(d.component))
            }.joined(separator: String(d.repetition))
        }
        return segments.enumerated().map { at, seg in
            if at == 0 && seg.name == "MSH" {
                return "MSH" + String(d.field) + d.encodingCharacters + String(d.field)
                    + seg.fields.dropFirst(2).map(field).joined(separator: String(d.field))
            }
            return ([seg.name] + seg.fields.map(field)).joined(separator: String(d.field))
        }.joined(separator: "\r") + "\r"
    }

    /// The first segment with this name.
    public subscript(name: String) -> HL7Segment? { segments.first { $0.name == name } }

    public var header: HL7Segment { segments[0] }

    /// MSH-9: message code and trigger event, e.g. `("SIU", "S12")`.
    public var type: (code: String, event: String) { (header[9][1], header[9][2]) }

    /// MSH-10, echoed in the ACK's MSA-2.
    public var controlID: String { header[10].value }
}
