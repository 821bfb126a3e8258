import SwitchboardCore

/// A FHIR `instant`: a moment to the second, written in UTC as `2026-11-25T09:30:00Z`.
///
/// Reading accepts any offset and fractional seconds (`2026-11-25T04:30:00.000-05:00`),
/// as real EHRs send both. Formatting is hand-rolled because a sandbox answering
/// hundreds of slot searches a second should not build an `ISO8601DateFormatter` per value.
///
///     let start = FHIRInstant(millis: 1_795_599_000_000)
///     start.text   // "2026-11-25T09:30:00Z"
public struct FHIRInstant: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var millis: UnixMillis

    public init(millis: UnixMillis) { self.millis = millis }

    public init?(_ text: String) {
        guard let millis = FHIRInstant.parse(text) else { return nil }
        self.millis = millis
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let millis = FHIRInstant.parse(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a FHIR instant: \(text)")
        }
        self.millis = millis
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    public static func < (a: Self, b: Self) -> Bool { a.millis < b.millis }

    public var description: String { text }

    /// `YYYY-MM-DDThh:mm:ssZ` (milliseconds are dropped: FHIR instants here are whole seconds).
    public var text: String {
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        let (y, m, d) = civilDate(days: seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400)
        let s = ((seconds % 86400) + 86400) % 86400
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(s / 3600, 2)):\(pad(s % 3600 / 60, 2)):\(pad(s % 60, 2))Z"
    }

    /// The calendar day in UTC, `YYYY-MM-DD` (a FHIR `date`).
    public var dateText: String { String(text.prefix(10)) }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDThh:mm[:ss[.fff]]` with `Z` or `±hh:mm`; a missing zone is UTC.
    /// A bare date is midnight UTC of that day.
    public static func parse(_ text: String) -> UnixMillis? {
        let b = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var n: Int64 = 0
            for c in b[from ..< from + count] {
                guard c >= 48, c <= 57 else { return nil }
                n = n * 10 + Int64(c - 48)
            }
            return n
        }
        guard let y = number(0, 4), b.count >= 10, b[4] == 45, b[7] == 45,
              let mo = number(5, 2), let d = number(8, 2), (1 ... 12).contains(mo), (1 ... 31).contains(d)
        else { return nil }
        var millis = daysFromCivil(y, mo, d) * 86_400_000
        if b.count == 10 { return millis }
        guard b[10] == 84 || b[10] == 116, let h = number(11, 2), b.count > 13, b[13] == 58, let mi = number(14, 2),
              h < 24, mi < 60
        else { return nil }
        millis += (h * 3600 + mi * 60) * 1000
        var i = 16
        if i < b.count, b[i] == 58 {
            guard let s = number(i + 1, 2), s < 61 else { return nil }
            millis += s * 1000
            i += 3
            if i < b.count, b[i] == 46 {
                i += 1
                var scale: Int64 = 100
                let digitsStart = i
                while i < b.count, b[i] >= 48, b[i] <= 57 {
                    millis += Int64(b[i] - 48) * scale
                    scale /= 10
                    i += 1
                }
                guard i > digitsStart else { return nil }
            }
        }
        if i == b.count { return millis }
        switch b[i] {
        case 90, 122: return i + 1 == b.count ? millis : nil
        case 43, 45:
            guard b.count == i + 6, let oh = number(i + 1, 2), b[i + 3] == 58, let om = number(i + 4, 2) else { return nil }
            let offset = (oh * 3600 + om * 60) * 1000
            return b[i] == 43 ? millis - offset : millis + offset
        default: return nil
        }
    }
}

private func pad(_ n: Int64, _ width: Int) -> String {
    let s = String(n)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}
