import Foundation

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

    public static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
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
        for u in s.utf8 where u < 0x20 || u == 0x22 || u == 0x5C { plain = false; break }
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
                case let c where c.value < 0x20:
                    out += "\\u00" + (c.value < 0x10 ? "0" : "") + String(c.value, radix: 16)
                default: out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
