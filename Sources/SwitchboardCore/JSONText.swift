import Foundation

/// Small JSON texts for `detail`, `request`, `before`/`after` columns: sorted keys, one line.
public enum JSONText {
    public static func object(_ fields: [String: Any?]) -> String {
        let present = fields.compactMapValues { $0 }
        guard JSONSerialization.isValidJSONObject(present),
              let data = try? JSONSerialization.data(withJSONObject: present, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    public static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
