import Foundation
import SwitchboardCore

/// Why a booking needs a closer look, from the integration guide's pitfalls, beside the
/// agent's own flags: the rules are settings (`[review_flags]` in the config,
/// docs/configuration.md) and the evaluation is a pure function of the booking, its
/// outbox items and the rules, so the Review list, the command line and tests agree.
///
///     let findings = PitfallFlags.evaluate(booking, outbox: [.dead], rules: settings.reviewFlags, now: now)
///     findings.map(\.flag)   // [.notInEHRYet]
public enum PitfallFlag: String, Sendable, Codable, CaseIterable {
    case typeMismatch = "type_mismatch"
    case outsideSchedule = "outside_schedule"
    case underLeadTime = "under_lead_time"
    case notInEHRYet = "not_in_ehr_yet"

    public var label: String {
        switch self {
        case .typeMismatch: "type does not fit"
        case .outsideSchedule: "outside schedule"
        case .underLeadTime: "under lead time"
        case .notInEHRYet: "not in the EHR yet"
        }
    }

    /// One letter for a narrow column, unique with `ReviewFlag.letter`.
    public var letter: String {
        switch self {
        case .typeMismatch: "T"
        case .outsideSchedule: "S"
        case .underLeadTime: "L"
        case .notInEHRYet: "E"
        }
    }
}

/// One finding and its reason in words (no patient details).
public struct PitfallFinding: Sendable, Equatable {
    public var flag: PitfallFlag
    public var why: String
}

/// A provider's working week: days (1 = Sunday … 7 = Saturday, as `Calendar`) and hours
/// in minutes after local midnight.
public struct WeeklyHours: Sendable, Equatable {
    public var days: Set<Int>
    public var opens: Int
    public var closes: Int

    public init(days: Set<Int>, opens: Int, closes: Int) {
        self.days = days; self.opens = opens; self.closes = closes
    }

    /// Monday to Friday, 08:00–17:00.
    public static let weekdays = WeeklyHours(days: [2, 3, 4, 5, 6], opens: 8 * 60, closes: 17 * 60)

    /// `"08:00-17:00"` → minutes; nil if unreadable.
    public static func hours(_ text: String) -> (Int, Int)? {
        let parts = text.split(separator: "-").map { $0.trimmingCharacters(in: .whitespaces) }
        func minutes(_ s: String) -> Int? {
            let hm = s.split(separator: ":")
            guard hm.count == 2, let h = Int(hm[0]), let m = Int(hm[1]), (0...24).contains(h), (0..<60).contains(m) else { return nil }
            return h * 60 + m
        }
        guard parts.count == 2, let open = minutes(parts[0]), let close = minutes(parts[1]), open < close else { return nil }
        return (open, close)
    }

    public static let dayNames = ["sun": 1, "mon": 2, "tue": 3, "wed": 4, "thu": 5, "fri": 6, "sat": 7]
}

/// The rules, as set in `[review_flags]`. Each rule is off until configured, except
/// "not in the EHR yet", which needs no setting.
public struct ReviewFlagRules: Sendable, Equatable {
    /// A booking that starts sooner than this after it was made.
    public var leadTimeMinutes: Int?
    /// Every provider's schedule, unless `providerSchedules` names theirs.
    public var schedule: WeeklyHours?
    public var providerSchedules: [String: WeeklyHours] = [:]
    /// Types only an established patient may have (a new patient does not fit them).
    public var followUpTypes: Set<String> = []
    /// Types for new patients (an established patient does not fit them).
    public var newPatientTypes: Set<String> = []
    /// Type → its length in minutes: a slot of another length does not fit.
    public var typeMinutes: [String: Int] = [:]
    /// The practice's time zone, for schedules.
    public var timeZone: TimeZone = .current

    public init() {}
}

public enum PitfallFlags {
    /// Outbox statuses that mean the booking's write has not reached the EHR.
    public static let notSent: Set<OutboxStatus> = [.pending, .inFlight, .failed, .dead]

    public static func evaluate(_ b: Booking, outbox statuses: [OutboxStatus], rules: ReviewFlagRules) -> [PitfallFinding] {
        var out: [PitfallFinding] = []
        let isNew = b.flags.contains("\"\(ReviewFlag.newPatient.rawValue)\"")
        if b.kind != .cancel, let type = b.appointmentType {
            if isNew && rules.followUpTypes.contains(type) {
                out.append(.init(flag: .typeMismatch, why: "a new patient in a \(type) slot (for established patients)"))
            } else if !isNew && rules.newPatientTypes.contains(type) {
                out.append(.init(flag: .typeMismatch, why: "an established patient in a \(type) slot (for new patients)"))
            }
            let minutes = Int((b.endAt - b.startAt) / 60_000)
            if let wanted = rules.typeMinutes[type], wanted != minutes {
                out.append(.init(flag: .typeMismatch, why: "a \(minutes)-minute slot for a \(type) visit of \(wanted) minutes"))
            }
        }
        if b.kind != .cancel, let hours = b.providerRef.flatMap({ rules.providerSchedules[$0] }) ?? rules.schedule,
           !fits(b.startAt, b.endAt, hours, rules.timeZone) {
            out.append(.init(flag: .outsideSchedule, why: "outside the provider's schedule"))
        }
        if b.kind != .cancel, let lead = rules.leadTimeMinutes, b.startAt - b.bookedAt < Int64(lead) * 60_000 {
            let ahead = max(0, (b.startAt - b.bookedAt) / 60_000)
            out.append(.init(flag: .underLeadTime, why: "booked \(ahead) min ahead; the practice needs \(lead)"))
        }
        let waiting = statuses.filter { notSent.contains($0) }
        if let worst = waiting.max(by: { severity($0) < severity($1) }) {
            out.append(.init(flag: .notInEHRYet, why: "its EHR write is \(worst.rawValue.replacingOccurrences(of: "_", with: " "))"))
        }
        return out
    }

    /// Whether approving asks first: the booking is not in the EHR yet.
    public static func approvalAsksFirst(_ findings: [PitfallFinding]) -> Bool { findings.contains { $0.flag == .notInEHRYet } }

    private static func severity(_ s: OutboxStatus) -> Int {
        switch s {
        case .dead: 3
        case .failed: 2
        case .inFlight: 1
        default: 0
        }
    }

    static func fits(_ start: UnixMillis, _ end: UnixMillis, _ hours: WeeklyHours, _ zone: TimeZone) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let from = calendar.dateComponents([.weekday, .hour, .minute], from: Date(unixMillis: start))
        let to = calendar.dateComponents([.hour, .minute], from: Date(unixMillis: end))
        guard let day = from.weekday, hours.days.contains(day) else { return false }
        let opens = (from.hour ?? 0) * 60 + (from.minute ?? 0)
        var closes = (to.hour ?? 0) * 60 + (to.minute ?? 0)
        if closes <= opens { closes += 24 * 60 }   // ends after midnight
        return opens >= hours.opens && closes <= hours.closes
    }
}
