import Foundation
import SwitchboardCore

/// Times as the clinic reads them, in the console's time zone, in fixed English
/// (`en_US_POSIX`) forms. Written out by hand from the zone's offset: a `DateFormatter`
/// builds an ICU formatter on first use, a millisecond of the console's first frame per
/// pattern, and costs more per call than the arithmetic.
public struct TimeText: Sendable {
    public let timeZone: TimeZone
    /// Made once: a calendar per call cost more than the page query.
    private let calendar: Calendar

    public init(timeZone: TimeZone = .current) {
        self.timeZone = timeZone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
    }

    /// `14:05`
    public func clock(_ t: UnixMillis) -> String {
        let c = civil(t)
        return Self.two(c.hour) + ":" + Self.two(c.minute)
    }
    /// `14:05:09`
    public func clockWithSeconds(_ t: UnixMillis) -> String {
        let c = civil(t)
        return Self.two(c.hour) + ":" + Self.two(c.minute) + ":" + Self.two(c.second)
    }
    /// `Tue 04 14:05`
    public func dayAndTime(_ t: UnixMillis) -> String {
        let c = civil(t)
        return Self.weekdays[c.weekday] + " " + Self.two(c.day) + " " + Self.two(c.hour) + ":" + Self.two(c.minute)
    }
    /// `Nov 04`
    public func monthAndDay(_ t: UnixMillis) -> String {
        let c = civil(t)
        return Self.months[c.month - 1] + " " + Self.two(c.day)
    }
    /// `2025-11-04 14:05:09`
    public func timestamp(_ t: UnixMillis) -> String {
        let c = civil(t)
        let year = String(c.year)
        return String(repeating: "0", count: max(0, 4 - year.count)) + year + "-" + Self.two(c.month) + "-" + Self.two(c.day)
            + " " + Self.two(c.hour) + ":" + Self.two(c.minute) + ":" + Self.two(c.second)
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func two(_ n: Int) -> String { n < 10 ? "0" + String(n) : String(n) }

    /// The wall-clock fields of `t` in this time zone (the Gregorian calendar, as
    /// `DateFormatter` shows it; days from 1970 turned into a date the usual way).
    private func civil(_ t: UnixMillis) -> (year: Int, month: Int, day: Int, weekday: Int, hour: Int, minute: Int, second: Int) {
        let date = Date(unixMillis: t)
        let local = Int(floorDivide(t, 1000)) + timeZone.secondsFromGMT(for: date)
        let days = floorDivide(Int64(local), 86_400)
        let second = local - Int(days) * 86_400
        let (year, month, day) = civilDate(days: days)
        // 1970-01-01 was a Thursday (4, counting from Sunday).
        let weekday = Int(((days % 7) + 11) % 7)
        return (Int(year), Int(month), Int(day), weekday, second / 3600, second / 60 % 60, second % 60)
    }

    private func floorDivide(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// Midnight of `t`'s day in this time zone: where "today" starts.
    public func startOfDay(_ t: UnixMillis) -> UnixMillis {
        calendar.startOfDay(for: Date(unixMillis: t)).unixMillis
    }
}
