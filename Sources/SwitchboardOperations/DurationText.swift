import Foundation
import SwitchboardCore

/// Reads durations as on-call types them: `90s`, `10m`, `8h`, `2d`, `500ms`; a bare number
/// is seconds. Nil for anything else (negative, empty, unknown unit).
///
///     parseDuration("8h")   // 28_800_000
public func parseDuration(_ text: String) -> Int64? {
    let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
    let units: [(String, Double)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
    for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
        let number = trimmed.dropLast(suffix.count)
        // "10ms" must not be read as 10m + "s".
        if suffix == "s", number.hasSuffix("m") { continue }
        guard let value = Double(number), value >= 0, value.isFinite else { return nil }
        return Int64(value * scale)
    }
    guard let seconds = Double(trimmed), seconds >= 0, seconds.isFinite else { return nil }
    return Int64(seconds * 1_000)
}
