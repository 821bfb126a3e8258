import TerminalUI

/// What a screen returns from a key, a tick or a message: the work to do off the UI
/// thread (intents as values: "approve these bookings", "read the page after this row"),
/// messages to deliver later (a write's "still waiting" check), and what to tell the
/// user. It never does the work itself; the console hands `work` to the operations
/// runner and shows `say` on the message line.
struct ScreenStep: Sendable {
    var work: [ConsoleWork] = []
    var later: [(seconds: Double, message: ConsoleMessage)] = []
    var say: [(text: String, kind: MessageLine.Kind)] = []

    static var none: ScreenStep { ScreenStep() }

    static func work(_ items: ConsoleWork...) -> ScreenStep { ScreenStep(work: items) }

    static func info(_ text: String) -> ScreenStep { ScreenStep(say: [(text, .info)]) }

    static func error(_ text: String) -> ScreenStep { ScreenStep(say: [(text, .error)]) }

    /// Both steps: work, timers and words concatenated.
    func and(_ other: ScreenStep) -> ScreenStep {
        ScreenStep(work: work + other.work, later: later + other.later, say: say + other.say)
    }

    mutating func add(_ other: ScreenStep) { self = self.and(other) }
}

/// A write under way: after `patience` still running means the agent holds the lock,
/// and the screen says so (and `Esc` gives up) instead of looking frozen.
struct WriteWait: Sendable, Equatable {
    static let patience = 0.4
    var token: Int
    var waiting = false
}

/// One read of what a screen shows at a time: a data change while a read runs asks for
/// one more when it is back, never two at once (k9s drops overlapping refreshes likewise).
struct ReadSchedule: Sendable {
    private(set) var reading = false
    private var again = false

    /// Whether to start a read now (false: one runs; it will be read again when back).
    mutating func start() -> Bool {
        if reading {
            again = true
            return false
        }
        reading = true
        return true
    }

    /// A read came back; returns whether another was asked for meanwhile.
    mutating func finished() -> Bool {
        reading = false
        defer { again = false }
        return again
    }
}

/// One part of the header after the screen's name. When the line is too narrow, whole
/// parts go, highest `priority` number first; a part is never cut mid-number.
struct HeaderPart: Sendable, Equatable {
    var text: String
    var scope: String
    /// 0 is kept longest.
    var priority: Int

    init(_ text: String, scope: String = "header", priority: Int = 1) {
        self.text = text
        self.scope = scope
        self.priority = priority
    }
}
