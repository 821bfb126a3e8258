import Foundation

/// Unix time in milliseconds, UTC: the unit of every time in the data contract.
public typealias UnixMillis = Int64

public enum Clock {
    /// Now, as the data contract stores it; inside a ``replay`` the replayed moment.
    public static func nowMillis() -> UnixMillis {
        let real = (Date().timeIntervalSince1970 * 1000).rounded()
        guard let replay else { return UnixMillis(real) }
        return UnixMillis(min(real, replay.at(real: real)))
    }

    /// Time that starts in the past and runs `speed` times fast until it meets the real
    /// clock: how the simulator's warm-up plays the hours before the demo in seconds,
    /// every row stamped with the moment it would have had.
    public struct Replay: Sendable {
        public var realStart: Double
        public var replayedStart: UnixMillis
        public var speed: Double

        public init(from replayedStart: UnixMillis, speed: Double, realStart: UnixMillis = Clock.nowMillis()) {
            self.realStart = Double(realStart)
            self.replayedStart = replayedStart
            self.speed = speed
        }

        func at(real: Double) -> Double { Double(replayedStart) + (real - realStart) * speed }
    }

    /// Set for the tasks of a replay (and the tasks they start); nil everywhere else.
    @TaskLocal public static var replay: Replay?
}

extension Date {
    public init(unixMillis: UnixMillis) {
        self.init(timeIntervalSince1970: Double(unixMillis) / 1000)
    }

    public var unixMillis: UnixMillis { UnixMillis((timeIntervalSince1970 * 1000).rounded()) }
}

/// `to - from`, saturating instead of trapping: a damaged row's time may be anything.
public func millisBetween(_ from: UnixMillis, _ to: UnixMillis) -> Int64 {
    let (difference, overflow) = to.subtractingReportingOverflow(from)
    return overflow ? (to > from ? .max : .min) : difference
}

extension FixedWidthInteger {
    /// `self + other`, saturating at the type's bounds (sums of damaged figures).
    public func addingClamped(_ other: Self) -> Self {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    /// The nearest representable value of a double (SQLite's `total()`); NaN is 0.
    public init(clamping value: Double) {
        if value.isNaN { self = 0 } else if value >= Double(Self.max) { self = .max }
        else if value <= Double(Self.min) { self = .min } else { self = Self(value) }
    }
}

/// Short human durations for ages and countdowns: `42s`, `7m`, `3h07m`, `2d04h` (the
/// second unit in two digits, so `19h07m` does not read as 19.7 hours); a whole hour or
/// day is `3h` or `2d`, unless `keepsZero` (a column of ages that tick on: `3h00m`).
public func formatDuration(millis: Int64, keepsZero: Bool = false) -> String {
    let negative = millis < 0
    let s = Int64(clamping: millis.magnitude / 1000)
    func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
    let text: String
    switch s {
    case ..<60: text = "\(s)s"
    case ..<3600: text = "\(s / 60)m"
    case ..<86400: text = (s % 3600) / 60 == 0 && !keepsZero ? "\(s / 3600)h" : "\(s / 3600)h\(two((s % 3600) / 60))m"
    default: text = (s % 86400) / 3600 == 0 && !keepsZero ? "\(s / 86400)d" : "\(s / 86400)d\(two((s % 86400) / 3600))h"
    }
    return negative ? "-" + text : text
}

/// ISO 8601 in UTC, for JSON output and FHIR instants.
public func iso8601(_ millis: UnixMillis) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: Date(unixMillis: millis))
}

/// Parses an ISO 8601 instant (with or without fractional seconds).
public func parseISO8601(_ text: String) -> UnixMillis? {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let d = f.date(from: text) { return d.unixMillis }
    f.formatOptions = [.withInternetDateTime]
    return f.date(from: text)?.unixMillis
}

// Howard Hinnant's days-from-civil and civil-from-days, proleptic Gregorian calendar.
public func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

public func civilDate(days: Int64) -> (Int64, Int64, Int64) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
}
