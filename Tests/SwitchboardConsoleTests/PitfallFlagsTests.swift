import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardTesting
import TerminalUI
import Testing

/// The guide's pitfalls as review flags: the documented `[review_flags]` block, and each
/// rule firing alone on a booking built for it.
@Suite struct PitfallFlagsTests {
    static func rules() throws -> ReviewFlagRules {
        let (c, warnings) = try ConsoleConfiguration.parse(ConfigurationTests.documentedExample(), file: "config.toml", isKeyName: { Key(parsing: $0) != nil })
        #expect(warnings == [])
        return c.reviewFlags
    }

    /// Wednesday 2026-11-25 10:00 in Chicago (16:00 UTC), booked two days ahead, a 20-minute ROUTINE.
    static func booking(type: String = "ROUTINE", startHourUTC: Int = 16, minutes: Int64 = 20, newPatient: Bool = false,
                        bookedBeforeMillis: Int64 = 2 * 86_400_000, provider: String = "Practitioner/dr-lee") -> Booking {
        let start = parseISO8601("2026-11-25T\(String(format: "%02d", startHourUTC)):00:00Z")!
        var b = sampleBooking("b-1", bookedAt: start - bookedBeforeMillis)
        b.startAt = start
        b.endAt = start + minutes * 60_000
        b.appointmentType = type
        b.providerRef = provider
        b.flags = ReviewFlag.encode(newPatient ? [.goLive, .newPatient] : [.goLive])
        return b
    }

    @Test func theDocumentedBlockReadsEveryRule() throws {
        let r = try Self.rules()
        #expect(r.leadTimeMinutes == 120 && r.timeZone.identifier == "America/Chicago")
        #expect(r.schedule == WeeklyHours(days: [2, 3, 4, 5, 6], opens: 480, closes: 1_020))
        #expect(r.providerSchedules["Practitioner/dr-okafor"] == WeeklyHours(days: [2, 4], opens: 540, closes: 780))
        #expect(r.followUpTypes == ["FOLLOWUP"] && r.newPatientTypes == ["NEW"] && r.typeMinutes == ["NEW": 40, "ROUTINE": 20, "FOLLOWUP": 15])
    }

    @Test func eachRuleAlone() throws {
        let r = try Self.rules()
        func flags(_ b: Booking, _ outbox: [OutboxStatus] = [.succeeded]) -> [PitfallFlag] {
            PitfallFlags.evaluate(b, outbox: outbox, rules: r).map(\.flag)
        }
        #expect(flags(Self.booking()) == [], "a fitting booking has no findings")
        #expect(flags(Self.booking(type: "FOLLOWUP", minutes: 15, newPatient: true)) == [.typeMismatch], "a new patient in a follow-up slot")
        #expect(flags(Self.booking(type: "NEW", minutes: 20, newPatient: true)) == [.typeMismatch], "a 20-minute slot for a 40-minute visit")
        #expect(flags(Self.booking(startHourUTC: 23)) == [.outsideSchedule], "17:00 Chicago is after hours")
        #expect(flags(Self.booking(startHourUTC: 19, provider: "Practitioner/dr-okafor")) == [.outsideSchedule], "her own hours end at 13:00")
        #expect(flags(Self.booking(startHourUTC: 16, provider: "Practitioner/dr-okafor")) == [])
        #expect(flags(Self.booking(bookedBeforeMillis: 30 * 60_000)) == [.underLeadTime])
        for status in [OutboxStatus.pending, .inFlight, .failed, .dead] {
            let found = PitfallFlags.evaluate(Self.booking(), outbox: [.succeeded, status], rules: r)
            #expect(found.map(\.flag) == [.notInEHRYet] && PitfallFlags.approvalAsksFirst(found), "\(status)")
        }
        #expect(flags(Self.booking(), [.discarded]) == [], "a discarded write is the operator's decision, not a wait")
        #expect(PitfallFlags.evaluate(Self.booking(bookedBeforeMillis: 30 * 60_000), outbox: [], rules: ReviewFlagRules()).isEmpty,
                "every rule but the outbox's is off until configured")
    }

    @Test func aBadBlockWarnsAndLeavesTheRuleOff() throws {
        let text = "[review_flags]\nhours = \"17:00-08:00\"\ndays = [\"funday\"]\nlead_time_minutes = -5\n"
        let (c, warnings) = try ConsoleConfiguration.parse(text, file: "config.toml", isKeyName: { Key(parsing: $0) != nil })
        #expect(warnings.count == 3, "\(warnings)")
        #expect(c.reviewFlags.schedule == nil && c.reviewFlags.leadTimeMinutes == nil)
    }
}
