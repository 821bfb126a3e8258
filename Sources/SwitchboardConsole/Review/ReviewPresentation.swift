import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

/// Turns review items into table cells: pure, no terminal, table-tested. Text from the
/// databases is drawn through the grid, which sanitizes it.
struct ReviewPresentation {
    var identity: OperatorIdentity
    var now: UnixMillis
    /// An undecided booking older than this stands out.
    var overdueMillis: Int64
    /// Correction progress by booking, from the outbox: short for the row, in full for details.
    var corrections: [String: String] = [:]
    var correctionDetails: [String: String] = [:]
    /// Names for provider references, when the EHR has told them.
    var providers: ProviderDirectory?
    /// The guide's pitfalls by booking, shown beside the agent's flags.
    var pitfalls: [String: [PitfallFinding]] = [:]
    /// Why in one letter per flag, for a column narrower than `whyWordsWidth` (80 columns
    /// leave it 3, where words were cut to `ne…`, new patient or near-duplicate alike);
    /// `?` has the legend, the details the words.
    var whyInLetters = false
    static let whyWordsWidth = 14
    let time: TimeText
    /// Today, in the console's time zone: found once per frame, not once per row.
    private let today: Range<UnixMillis>

    init(identity: OperatorIdentity, now: UnixMillis, overdueMillis: Int64, time: TimeText) {
        self.identity = identity
        self.now = now
        self.overdueMillis = overdueMillis
        self.time = time
        let start = time.startOfDay(now)
        // A day is 23 to 25 hours: tomorrow starts at the midnight after noon today.
        today = start..<max(start + 1, time.startOfDay(start + 36 * 3_600_000))
    }

    /// Minimum widths add up to 80 columns (with gaps and the mark gutter); wider
    /// terminals give the spare room to the patient, provider, reasons and status.
    static let columns: [TableColumn] = [
        TableColumn("Booked", minWidth: 6),
        TableColumn("Patient", minWidth: 9, maxWidth: 32, flex: 4),
        TableColumn("Provider", minWidth: 9, maxWidth: 18, flex: 1),
        TableColumn("Type", minWidth: 8, maxWidth: 10, flex: 1),
        TableColumn("Appt", minWidth: 12),
        TableColumn("Kind", minWidth: 6),
        TableColumn("Why", minWidth: 3, maxWidth: 34, flex: 2),
        TableColumn("Age", minWidth: 6, alignment: .right),
        TableColumn("Status", minWidth: 12, maxWidth: 24, flex: 1),
    ]

    func cells(_ item: ReviewItem) -> [String] {
        let b = item.booking
        return [
            bookedText(b.bookedAt),
            patient(b.patientDisplay),
            providerShortName(b.providerRef),
            b.appointmentType ?? "—",
            dayAndTime(b.startAt),
            b.kind.label,
            why(item),
            Self.age(ClockWatch.elapsed(since: b.bookedAt, now: now)),
            status(item),
        ]
    }

    static let whyColumn = columns.firstIndex { $0.title == "Why" }!

    /// The agent's flags (but go-live, which every row has) and the guide's pitfalls: words,
    /// or letters (`?` for a flag this version does not know; the details show its word).
    func why(_ item: ReviewItem) -> String {
        let flags = Self.flagTexts.value(for: item.booking.flags) + (pitfalls[item.id] ?? []).map { ($0.flag.label, $0.flag.letter) }
        return whyInLetters ? flags.map(\.letter).joined() : flags.map(\.label).joined(separator: ", ")
    }

    /// What each letter of a narrow Why column stands for, for `?`.
    static let whyLegend = HelpSection(
        title: "Why, in letters where the column is narrow",
        entries: ReviewFlag.allCases.filter { $0 != .goLive }.map { HelpSection.Entry(keys: $0.letter, help: $0.label) }
            + PitfallFlag.allCases.map { HelpSection.Entry(keys: $0.letter, help: "\($0.label) (the guide's pitfall)") }
            + [HelpSection.Entry(keys: "?", help: "a flag this version does not know: the details name it")])

    func scope(_ item: ReviewItem) -> String {
        if item.isDecided { return "review.row.decided" }
        return isOverdue(item) ? "review.row.overdue" : "table.row"
    }

    func isOverdue(_ item: ReviewItem) -> Bool {
        guard !item.isDecided else { return false }
        ClockWatch.changes(at: item.booking.bookedAt.addingClamped(overdueMillis).addingClamped(1))
        return millisBetween(item.booking.bookedAt, now) > overdueMillis
    }

    func status(_ item: ReviewItem) -> String {
        if let progress = corrections[item.id] { return progress }
        guard let d = item.decision else { return isOverdue(item) ? "OVERDUE" : "undecided" }
        return (d.decision == .approved ? "✓ " : "✎ ") + d.operator
    }

    /// Viewers see initials only; reviewers need the name to verify the booking.
    func patient(_ display: String?) -> String {
        let shown = identity.patientName(display)
        return shown.isEmpty ? "—" : shown
    }

    /// The flags' words and letters by the agent's JSON, go-live left out: a handful of
    /// combinations recur on every row of every frame, and a JSON decoder per row cost more
    /// than the page query.
    private static let flagTexts = Memo<String, [(label: String, letter: String)]>(limit: 512) { json in
        ReviewFlag.decodeWords(json).compactMap { word in
            guard let flag = ReviewFlag(rawValue: word) else { return (word, "?") }
            return flag == .goLive ? nil : (flag.label, flag.letter)
        }
    }

    /// Ages in at most five columns, precise enough to act on: `42s`, `37m`, `1h51m`, `3d04h`.
    static func age(_ millis: Int64) -> String { formatDuration(millis: max(0, millis), keepsZero: true) }

    /// When it was booked: the time today, the date on other days (`14:05`, `Nov 27`).
    func bookedText(_ t: UnixMillis) -> String {
        ClockWatch.changes(at: today.upperBound)  // at midnight today's times become dates
        return today.contains(t) ? clock(t) : time.monthAndDay(t)
    }

    /// `Dr. Fatima Al-Sayed (Practitioner/pr-5)`, or the reference alone when no name is known.
    func provider(_ ref: String?) -> String {
        guard let ref else { return "—" }
        return providers?.provider(ref).map { "\($0.name) (\(ref))" } ?? ref
    }

    /// `Dr. Al-Sayed`, or the reference's id when no name is known.
    func providerShortName(_ ref: String?) -> String { ProviderDirectory.shortName(of: ref, in: providers) }

    /// `Practitioner/dr-okafor` → `dr-okafor`.
    static func shortRef(_ ref: String) -> String { ref.split(separator: "/").last.map(String.init) ?? ref }

    func clock(_ t: UnixMillis) -> String { time.clock(t) }
    func dayAndTime(_ t: UnixMillis) -> String { time.dayAndTime(t) }
    func timestamp(_ t: UnixMillis) -> String { time.timestamp(t) }
}
