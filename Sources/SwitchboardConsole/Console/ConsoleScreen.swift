import SwitchboardCore
import SwitchboardOperations
import TerminalUI

/// What the console asks of every screen. A screen's state is a value: keys, ticks and
/// messages change it and return a ``ScreenStep`` (work for the operations runner, words
/// for the message line); `render` draws it from that value and `now` alone. No screen
/// touches a store or the EHR.
protocol ConsoleScreen {
    /// Its bindings, after read-only mode and roles (the console remaps them once).
    var keyMaps: [KeyMap<ConsoleAction>] { get set }
    /// A dialog, form or text line has the keyboard: keys go to `handleCaptured`.
    var capturesKeys: Bool { get }
    /// Only these actions apply in the current mode (nil: all), for the footer.
    var footerActions: Set<ConsoleAction>? { get }
    /// The footer while something captures keys (its keys are its own, not the key map's).
    var captureHints: String? { get }
    /// The bottom line's prompt while filtering.
    var filterPrompt: CommandPrompt? { get }
    /// A write of this screen's waits for the agent's lock: `Esc` gives up on it.
    var isWaitingForLock: Bool { get }

    mutating func perform(_ action: ConsoleAction, now: UnixMillis) -> ScreenStep
    mutating func handleCaptured(_ key: Key, now: UnixMillis) -> ScreenStep
    /// Keys a details pane scrolls with before the key map sees them; true if taken.
    mutating func handleScroll(_ key: Key) -> Bool
    /// The one read of everything it shows: when it comes on screen and when the
    /// databases change.
    mutating func refresh(now: UnixMillis) -> ScreenStep
    /// When the console's clock wakes the loop while on screen (clocks move in `render`):
    /// a coalesced recount may be due.
    mutating func tick(now: UnixMillis) -> ScreenStep
    /// When `tick` has work to start (a recount held back), if ever: the loop sleeps until then.
    var tickDue: UnixMillis? { get }
    /// The operator gave up on a write that waited for the lock.
    mutating func gaveUpWaiting()

    /// The header's figures after the screen's name.
    func headerParts(now: UnixMillis) -> [HeaderPart]
    /// What its codes and signs mean, for `?` after its keys.
    var legend: [HelpSection] { get }
    /// The status line: what narrows the rows (filter, selection), and the position.
    var statusText: String { get }
    var positionText: String? { get }
    func render(into grid: inout CellGrid, rect: Rect, theme: Theme, now: UnixMillis)
    /// The body's size (between the header and the message line), at start and on every resize.
    mutating func resize(body: Size)
    /// The answer to the one question about the practice's providers, for every screen.
    mutating func providersArrived(_ result: Result<ProviderDirectory, EHRFailure>) -> ScreenStep
    /// The EHR's state as the event stream tells it changed (nil: nobody says).
    mutating func ehrStateChanged(_ state: EHRState?)
}

extension ConsoleScreen {
    mutating func providersArrived(_ result: Result<ProviderDirectory, EHRFailure>) -> ScreenStep { .none }
    var isWaitingForLock: Bool { false }
    mutating func ehrStateChanged(_ state: EHRState?) {}
    mutating func gaveUpWaiting() {}
    mutating func handleScroll(_ key: Key) -> Bool { false }
    var tickDue: UnixMillis? { nil }
    var legend: [HelpSection] { [] }

    /// The key bound to `action` now, as the footer writes it (remapping changes it).
    func keyName(_ action: ConsoleAction) -> String {
        for map in keyMaps {
            if let key = map.binding(of: action)?.keys.first { return key.description }
        }
        return action.rawValue
    }
}

/// The screens the `:` command line, Tab and the digits switch between, in Tab order.
enum ScreenName: String, CaseIterable {
    case review
    case calls
    case golive
    case outbox
    case audit

    /// The digit that goes straight to it.
    var action: ConsoleAction {
        switch self {
        case .review: .reviewScreen
        case .calls: .callsScreen
        case .golive: .goLiveScreen
        case .outbox: .outboxScreen
        case .audit: .auditScreen
        }
    }

    var title: String {
        switch self {
        case .golive: "Go-live"
        default: rawValue.capitalized
        }
    }

    /// What `:` accepts for it: its name and its title as written (`:go-live`, `:golive`).
    var commandNames: [String] {
        let titled = title.lowercased()
        return titled == rawValue ? [rawValue] : [titled, rawValue]
    }

    func makeScreen(context: ConsoleContext) -> any ConsoleScreen {
        switch self {
        case .review: ReviewScreen(context: context)
        case .calls: CallsScreen(context: context)
        case .golive: GoLiveScreen(context: context)
        case .outbox: OutboxScreen(context: context)
        case .audit: AuditScreen(context: context)
        }
    }
}
