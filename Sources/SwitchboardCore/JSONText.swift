import Foundation
import SafeText

/// Small JSON texts for `detail`, `request`, `before`/`after` columns: sorted keys, one line.
///
/// Written by hand because these are built for every audit row and outbox item (a
/// million in a generated history): JSONSerialization bridges every dictionary through
/// NSDictionary and cost most of the generator's time.
public enum JSONText {
    /// An object from `fields`; nil values are left out. Values may be strings, integers,
    /// booleans, doubles, and nested dictionaries or arrays of those.
    public static func object(_ fields: [String: Any?]) -> String {
        var out = ""
        out.reserveCapacity(64)
        write(fields, into: &out)
        return out
    }

    /// JSON of `value`, with DEL, C1, bidi controls and U+2028/U+2029 escaped as well as
    /// what JSONEncoder escapes (it leaves those raw).
    public static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}" }
        let text = String(decoding: data, as: UTF8.self)
        // Outside strings JSON is ASCII, so escaping these scalars anywhere is escaping them in strings.
        guard text.unicodeScalars.contains(where: SafeText.escapedInJSON) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if SafeText.escapedInJSON(scalar) { out.append(contentsOf: escape(scalar).unicodeScalars) } else { out.append(scalar) }
        }
        return String(out)
    }

    /// `\u009b`
    private static func escape(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    private static func write(_ value: Any, into out: inout String) {
        switch value {
        case let s as String: quote(s, into: &out)
        case let b as Bool: out += b ? "true" : "false"
        case let i as Int: out += String(i)
        case let i as Int64: out += String(i)
        case let i as Int32: out += String(i)
        case let d as Double: out += d.isFinite ? String(d) : "null"
        case let object as [String: Any?]:
            out += "{"
            var first = true
            for key in object.keys.sorted() {
                guard let inner = object[key], let present = inner else { continue }
                if !first { out += "," }
                first = false
                quote(key, into: &out)
                out += ":"
                write(present, into: &out)
            }
            out += "}"
        case let object as [String: String]: write(object.mapValues { $0 as Any? }, into: &out)
        case let array as [Any]:
            out += "["
            for (i, element) in array.enumerated() {
                if i > 0 { out += "," }
                write(element, into: &out)
            }
            out += "]"
        default: quote(String(describing: value), into: &out)
        }
    }

    /// RFC 8259 string escaping: quote, backslash and control characters.
    static func quote(_ s: String, into out: inout String) {
        out += "\""
        var plain = true
        // Bytes 0x80 and up may start a C1 control, a bidi control or a separator.
        for u in s.utf8 where u < 0x20 || u == 0x22 || u == 0x5C || u >= 0x7F { plain = false; break }
        if plain {
            out += s
        } else {
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case let c where SafeText.escapedInJSON(c): out += escape(c)
                default: out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
