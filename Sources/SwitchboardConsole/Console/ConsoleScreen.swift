import SwitchboardCore
import SwitchboardOperations
import TerminalUI

/// What the console asks of every screen. The console owns the loop, the header, the
/// command line, help and toasts; a screen owns its rows, its modes and its keys, and
/// renders its body into the cell grid.
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
    /// Transient messages for the console to show, taken after every call.
    var notices: [(text: String, kind: Toasts.Kind)] { get set }

    mutating func perform(_ action: ConsoleAction) -> Reaction<ConsoleMessage>
    mutating func handleCaptured(_ key: Key) -> Reaction<ConsoleMessage>
    /// Keys a details pane scrolls with before the key map sees them; true if taken.
    mutating func handleScroll(_ key: Key) -> Bool
    /// Re-reads what it shows: when it comes on screen and when the databases change.
    mutating func refresh() -> Reaction<ConsoleMessage>
    /// Once a second while on screen: clocks, ages, coalesced recounts.
    mutating func tick() -> Reaction<ConsoleMessage>

    /// The header's figures after the screen's name.
    func headerParts(now: UnixMillis) -> [(text: String, scope: String)]
    /// The status line: what narrows the rows (filter, selection), and the position.
    var statusText: String { get }
    var positionText: String? { get }
    func render(into grid: inout CellGrid, rect: Rect, theme: Theme)
    mutating func resize(bodyHeight: Int)
    /// The answer to the one question about the practice's providers, for every screen.
    mutating func providersArrived(_ result: Result<ProviderDirectory, EHRFailure>)
}

extension ConsoleScreen {
    mutating func providersArrived(_ result: Result<ProviderDirectory, EHRFailure>) {}
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
