import Foundation
import SwitchboardCore

/// Times as the clinic reads them, in the console's time zone. The formatters are built
/// once: making one per cell would cost more than the page query.
public struct TimeText: Sendable {
    private let clockFormat: DateFormatter
    private let secondsFormat: DateFormatter
    private let dayFormat: DateFormatter
    private let monthDayFormat: DateFormatter
    private let stampFormat: DateFormatter
    public let timeZone: TimeZone
    /// Made once: a calendar per call cost more than the page query.
    private let calendar: Calendar

    public init(timeZone: TimeZone = .current) {
        self.timeZone = timeZone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
        func formatter(_ pattern: String) -> DateFormatter {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = timeZone
            f.dateFormat = pattern
            return f
        }
        clockFormat = formatter("HH:mm")
        secondsFormat = formatter("HH:mm:ss")
        dayFormat = formatter("EEE dd HH:mm")
        monthDayFormat = formatter("MMM dd")
        stampFormat = formatter("yyyy-MM-dd HH:mm:ss")
    }

    /// `14:05`
    public func clock(_ t: UnixMillis) -> String { clockFormat.string(from: Date(unixMillis: t)) }
    /// `14:05:09`
    public func clockWithSeconds(_ t: UnixMillis) -> String { secondsFormat.string(from: Date(unixMillis: t)) }
    /// `Tue 04 14:05`
    public func dayAndTime(_ t: UnixMillis) -> String { dayFormat.string(from: Date(unixMillis: t)) }
    /// `Nov 04`
    public func monthAndDay(_ t: UnixMillis) -> String { monthDayFormat.string(from: Date(unixMillis: t)) }
    /// `2025-11-04 14:05:09`
    public func timestamp(_ t: UnixMillis) -> String { stampFormat.string(from: Date(unixMillis: t)) }

    /// Midnight of `t`'s day in this time zone: where "today" starts.
    public func startOfDay(_ t: UnixMillis) -> UnixMillis {
        calendar.startOfDay(for: Date(unixMillis: t)).unixMillis
    }
}
