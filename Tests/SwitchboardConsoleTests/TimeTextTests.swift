import Foundation
import SwitchboardCore
import SwitchboardOperations
import Testing

/// The console's times, written by hand from the zone's offset, read as `DateFormatter`
/// (en_US_POSIX) writes them: across years, leap days, both sides of 1970 and the
/// daylight-saving changes of zones east and west of UTC.
@Suite struct TimeTextTests {
    @Test(arguments: ["UTC", "America/New_York", "Europe/London", "Australia/Adelaide", "Asia/Kolkata", "Pacific/Chatham"])
    func everyFormReadsAsDateFormatterWritesIt(zone: String) throws {
        let timeZone = try #require(TimeZone(identifier: zone))
        let time = TimeText(timeZone: timeZone)
        func formatter(_ pattern: String) -> DateFormatter {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = timeZone
            f.dateFormat = pattern
            return f
        }
        let clock = formatter("HH:mm"), seconds = formatter("HH:mm:ss"), day = formatter("EEE dd HH:mm")
        let monthDay = formatter("MMM dd"), stamp = formatter("yyyy-MM-dd HH:mm:ss")
        // Every ~3 days and 0h16m over 30 years around now, plus edges: 1970, before it, a leap day,
        // and the seconds around a daylight-saving change.
        var instants: [UnixMillis] = [0, -1, -86_400_000 - 1, 951_782_400_000, 1_709_164_800_999, 1_710_054_000_000,
                                      1_710_053_999_000, 1_730_613_600_000, 1_730_613_599_999]
        var t: UnixMillis = 1_262_304_000_123
        while t < 2_208_988_800_000 {
            instants.append(t)
            t += 260_173_451
        }
        for t in instants {
            let date = Date(timeIntervalSince1970: Double(t) / 1000)
            #expect(time.clock(t) == clock.string(from: date), "\(zone) \(t)")
            #expect(time.clockWithSeconds(t) == seconds.string(from: date), "\(zone) \(t)")
            #expect(time.dayAndTime(t) == day.string(from: date), "\(zone) \(t)")
            #expect(time.monthAndDay(t) == monthDay.string(from: date), "\(zone) \(t)")
            #expect(time.timestamp(t) == stamp.string(from: date), "\(zone) \(t)")
        }
    }
}
