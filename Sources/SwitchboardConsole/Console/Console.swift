import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStream
import TerminalUI

/// Messages into the console's one loop, from timers, background work and watchers.
public enum ConsoleMessage: Sendable {
    /// Another process (or this one) committed to a database.
    case databasesChanged
    /// The once-a-second clock for the window countdown and ages.
    case tick
    case toastExpired(Int)
    case review(ReviewMessage)
    /// The practice's providers from the EHR, for every screen that names them.
    case providersFound(Result<ProviderDirectory, EHRFailure>)
    case goLive(GoLiveMessage)
    case outbox(OutboxMessage)
    case calls(CallsMessage)
    case audit(AuditMessage)
    /// A message from the live event stream.
    case stream(EventStreamMessage)
}

/// The console: one program in one loop. It owns the screens, the command line, the
/// help overlay and transient messages; screens render into the cell grid.
public struct Console: Program {
    public typealias Message = ConsoleMessage

    private let context: ConsoleContext
    private let theme: Theme
    private var globalKeys: KeyMap<ConsoleAction>
    /// One per `ScreenName`, in its order; each keeps its state while another is shown.
    private var screens: [any ConsoleScreen]
    private var current = ScreenName.review
    private var command: CommandPrompt?
    /// Earlier `:` commands, for Up/Down in the next one.
    private var commandHistory: [String] = []
    private var help: HelpOverlay?
    private var toasts = Toasts()
    private var size = Size(width: 80, height: 24)
    private let sizeGuard = SizeGuard()
    /// What the live event stream says about the agent and the EHR.
    private var live = LiveStatus()
    /// HIPAA automatic logoff: after this long without a key the screen hides all data.
    private let idleLockSeconds: Double
    /// When the last key came, on the console's clock; looked at on the once-a-second
    /// tick (no timer per key, and a suspended laptop still counts its sleep).
    private var lastKeyAt: UnixMillis
    private var locked = false
    /// Rows the listings left out as unreadable (a damaged database): counted on the
    /// status line, each new one told once (table, key, column, why; never its content).
    private var unreadableCount = 0

    init(context: ConsoleContext, theme: Theme, remapping: [String: [String]], warnings: [String], idleLockMinutes: Int) {
        self.context = context
        self.theme = theme
        idleLockSeconds = Double(max(1, idleLockMinutes)) * 60
        lastKeyAt = context.now()
        globalKeys = ConsoleKeys.global()
        screens = ScreenName.allCases.map { $0.makeScreen(context: context) }
        var problems = warnings
        if !remapping.isEmpty {
            problems += globalKeys.applyRemapping(remapping.filter { Self.globalActions.contains($0.key) }, file: "config.toml").map(\.description)
            // An action bound on several screens (down, filter, …) is remapped on each, and
            // its problems reported once.
            var reported: Set<String> = []
            for index in screens.indices {
                for map in screens[index].keyMaps.indices {
                    let names = Set(screens[index].keyMaps[map].bindings.map(\.action.rawValue))
                    let found = screens[index].keyMaps[map].applyRemapping(remapping.filter { names.contains($0.key) }, file: "config.toml")
                    problems += found.map(\.description).filter { reported.insert($0).inserted }
                }
            }
            let known = Set(ConsoleAction.allCases.map(\.rawValue))
            problems += remapping.keys.filter { !known.contains($0) }.sorted().map { "config.toml: [keys] \($0): no such action" }
        }
        for problem in problems.prefix(3) { toasts.show(problem, kind: .error) }
    }

    private static let globalActions = Set(ConsoleKeys.global().bindings.map(\.action.rawValue))

    public mutating func start() -> Reaction<ConsoleMessage> {
        var reaction = Reaction<ConsoleMessage>.after(1, .tick).and(screens[index].refresh())
        // The providers' names, asked once: not on every data change, which would press an
        // EHR that is down with a request per commit.
        if let ehr = context.ehr { reaction = reaction.and(.run { await ehr.providersFound() }) }
        for toast in toasts.items { reaction = reaction.and(.after(Toasts.duration * 2, .toastExpired(toast.id))) }
        return reaction
    }

    public mutating func resize(to size: Size) {
        self.size = size
        for index in screens.indices { screens[index].resize(bodyHeight: size.height - 3) }
    }

    // MARK: Keys

    public mutating func handle(_ key: Key) -> Reaction<ConsoleMessage> {
        if key == .resize { return .repaint }
        lastKeyAt = context.now()
        if locked {
            if key == .enter { locked = false }
            return key == .ctrl("c") ? .quit : .redraw
        }
        return handleUnlocked(key)
    }

    private mutating func handleUnlocked(_ key: Key) -> Reaction<ConsoleMessage> {
        if !sizeGuard.fits(size) {
            return key == .char("q") || key == .ctrl("c") ? .quit : .none
        }
        if var overlay = help {
            if key == .escape || key == .char("?") || key == .char("q") { help = nil } else { _ = overlay.handle(key); help = overlay }
            return .redraw
        }
        if var prompt = command { return handleCommand(key, prompt: &prompt) }
        if screens[index].capturesKeys { return after(screens[index].handleCaptured(key)) }
        if screens[index].handleScroll(key) { return .redraw }
        if key == .ctrl("c") { return .quit }
        if let binding = globalKeys.binding(for: key) { return perform(binding) }
        for map in screens[index].keyMaps {
            if let binding = map.binding(for: key) { return perform(binding) }
        }
        return .none
    }

    private mutating func perform(_ binding: KeyBinding<ConsoleAction>) -> Reaction<ConsoleMessage> {
        if let reason = binding.disabledReason { return notify(reason, kind: .error) }
        switch binding.action {
        case .quit: return .quit
        case .help:
            // The screen's own keys first: with a digit per screen, "Anywhere" would push
            // them below the fold of an 80x24 terminal.
            help = HelpOverlay(sections: (screens[index].keyMaps.reversed() + [globalKeys]).map(HelpSection.init))
            return .redraw
        case .command:
            command = CommandPrompt(prompt: ":", names: ScreenName.allCases.map(\.rawValue) + ["quit", "help"], history: commandHistory)
            return .redraw
        case .repaint: return .repaint
        case .nextScreen, .previousScreen:
            let all = ScreenName.allCases, step = binding.action == .nextScreen ? 1 : all.count - 1
            return show(all[(index + step) % all.count])
        default:
            if let screen = ScreenName.allCases.first(where: { $0.action == binding.action }) { return show(screen) }
            return after(screens[index].perform(binding.action))
        }
    }

    private mutating func handleCommand(_ key: Key, prompt: inout CommandPrompt) -> Reaction<ConsoleMessage> {
        switch prompt.handle(key) {
        case .editing:
            command = prompt
            return .redraw
        case .cancelled:
            command = nil
            return .redraw
        case .submitted(let text):
            commandHistory = prompt.history
            command = nil
            let word = text.trimmingCharacters(in: .whitespaces).lowercased()
            if word == "q" || word == "quit" { return .quit }
            if word == "help" { return perform(globalKeys.binding(of: .help)!) }
            if let screen = ScreenName(rawValue: word) { return show(screen) }
            let names = ScreenName.allCases.map { ":" + $0.rawValue }.joined(separator: ", ")
            return notify("No such screen or command: \(word). Try \(names), :help, :quit.", kind: .error)
        }
    }

    /// The screen on show, by its place in `ScreenName.allCases`.
    private var index: Int { ScreenName.allCases.firstIndex(of: current)! }

    /// Switches to `screen`, which re-reads what it shows (screens off screen do not
    /// follow the databases: an idle console reads for one screen only).
    private mutating func show(_ screen: ScreenName) -> Reaction<ConsoleMessage> {
        guard screen != current else { return .redraw }
        current = screen
        return after(screens[index].refresh())
    }

    /// Shows the screen's notices as transient messages, each with its expiry timer.
    private mutating func after(_ reaction: Reaction<ConsoleMessage>) -> Reaction<ConsoleMessage> {
        var result = reaction.and(.redraw)
        for notice in screens[index].notices { result = result.and(notify(notice.text, kind: notice.kind)) }
        screens[index].notices.removeAll()
        return result
    }

    private mutating func notify(_ text: String, kind: Toasts.Kind) -> Reaction<ConsoleMessage> {
        let id = toasts.show(text, kind: kind)
        return Reaction.redraw.and(.after(kind == .error ? Toasts.duration * 2 : Toasts.duration, .toastExpired(id)))
    }

    // MARK: Messages

    public mutating func update(_ message: ConsoleMessage) -> Reaction<ConsoleMessage> {
        let reaction = updateScreens(message)
        let count = context.unreadableCount
        guard count != unreadableCount else { return reaction }
        let new = context.unreadable.dropFirst(unreadableCount)
        unreadableCount = count
        return new.prefix(3).reduce(reaction) { $0.and(notify($1.description, kind: .error)) }
    }

    private mutating func updateScreens(_ message: ConsoleMessage) -> Reaction<ConsoleMessage> {
        switch message {
        case .databasesChanged:
            return after(screens[index].refresh())
        case .tick:
            // Ages and the window clock move once a second; only changed cells are sent.
            if Double(context.now() - lastKeyAt) >= idleLockSeconds * 1000 { locked = true }
            return Reaction.redraw.and(.after(1, .tick)).and(after(screens[index].tick()))
        case .toastExpired(let id):
            return toasts.expire(id) ? .redraw : .none
        case .review(let inner):
            return deliver(to: .review) { (screen: inout ReviewScreen) in screen.update(inner) }
        case .providersFound(let result):
            for at in screens.indices { screens[at].providersArrived(result) }
            return .redraw
        case .goLive(let inner):
            return deliver(to: .golive) { (screen: inout GoLiveScreen) in screen.update(inner) }
        case .outbox(let inner):
            return deliver(to: .outbox) { (screen: inout OutboxScreen) in screen.update(inner) }
        case .calls(let inner):
            return deliver(to: .calls) { (screen: inout CallsScreen) in screen.update(inner) }
        case .audit(let inner):
            return deliver(to: .audit) { (screen: inout AuditScreen) in screen.update(inner) }
        case .stream(let streamMessage):
            guard live.apply(streamMessage) else { return .redraw }
            return after(screens[index].refresh())
        }
    }

    /// Background work's answer to the screen that asked, on screen or not.
    private mutating func deliver<S: ConsoleScreen>(to name: ScreenName, _ body: (inout S) -> Reaction<ConsoleMessage>) -> Reaction<ConsoleMessage> {
        let at = ScreenName.allCases.firstIndex(of: name)!
        guard var screen = screens[at] as? S else { return .none }
        let reaction = body(&screen)
        screens[at] = screen
        return name == current ? after(reaction) : reaction
    }

    // MARK: Rendering

    public func render(into grid: inout CellGrid) {
        guard sizeGuard.fits(grid.size) else { return sizeGuard.render(into: &grid, theme: theme) }
        let area = Rect(grid.size)
        grid.fill(area, style: theme.style("base"))
        if locked {
            let lines = ["Switchboard is locked", "No key for \(Int(idleLockSeconds / 60)) minutes; patient details are hidden.",
                         "Press Enter to continue as \(context.identity.user)."]
            let box = area.centered(width: area.width, height: lines.count)
            for (index, line) in lines.enumerated() {
                grid.write(line, in: box.row(index), style: theme.style(index == 0 ? "header.title" : "base"), alignment: .center)
            }
            return
        }
        let (header, rest) = area.splitTop(1)
        let (body, bottom) = rest.splitBottom(2)
        renderHeader(into: &grid, rect: header)
        screens[index].render(into: &grid, rect: body, theme: theme)
        let (statusLine, footer) = bottom.splitTop(1)
        if let prompt = command ?? screens[index].filterPrompt {
            prompt.render(into: &grid, rect: statusLine, theme: theme)
        } else {
            renderStatus(into: &grid, rect: statusLine)
        }
        if let hints = screens[index].captureHints {
            grid.fill(footer, style: theme.style("footer"))
            grid.write(hints, x: footer.x + 1, y: footer.y, style: theme.style("footer"), maxWidth: footer.width - 2)
        } else {
            Footer.render(footerBindings, into: &grid, rect: footer, theme: theme)
        }
        toasts.render(into: &grid, rect: body, theme: theme)
        if let help { help.render(into: &grid, rect: body, theme: theme) }
    }

    private var footerBindings: [KeyBinding<ConsoleAction>] {
        let all = screens[index].keyMaps.flatMap(\.bindings) + globalKeys.bindings
        guard let only = screens[index].footerActions else { return all }
        return all.filter { only.contains($0.action) || $0.action == .quit }
    }

    private func renderHeader(into grid: inout CellGrid, rect: Rect) {
        grid.fill(rect, style: theme.style("header"))
        var x = rect.x + 1
        x += grid.write("Switchboard", x: x, y: rect.y, style: theme.style("header.title"))
        x += grid.write(" │ " + current.title, x: x, y: rect.y, style: theme.style("header.title"))
        let now = context.now()
        // The EHR's state first: on a narrow terminal the screen's figures are cut, not
        // "QUEUE MODE".
        let parts = [live.ehrPart].compactMap { $0 } + screens[index].headerParts(now: now)
        for part in parts {
            x += grid.write(" │ ", x: x, y: rect.y, style: theme.style("header"))
            x += grid.write(part.text, x: x, y: rect.y, style: theme.style(part.scope), maxWidth: max(0, rect.x + rect.width - x))
        }
        let who = "\(context.identity.user) · \(context.identity.readOnly ? "read-only" : context.identity.role.rawValue) "
        let width = TerminalText.width(who)
        if x + width + 2 < rect.x + rect.width {
            grid.write(who, x: rect.x + rect.width - width, y: rect.y, style: theme.style("header"))
        }
    }

    private func renderStatus(into grid: inout CellGrid, rect: Rect) {
        let damaged = unreadableCount == 0 ? "" : "\(unreadableCount) unreadable row\(unreadableCount == 1 ? "" : "s") left out · "
        let text = damaged + screens[index].statusText + live.streamText
        let position = screens[index].positionText.map { " \($0) " } ?? ""
        let positionWidth = TerminalText.width(position)
        grid.write(text, x: rect.x + 1, y: rect.y, style: theme.style("table.row.dim"), maxWidth: rect.width - 2 - positionWidth)
        grid.write(position, x: rect.x + rect.width - positionWidth, y: rect.y, style: theme.style("table.header"))
    }
}
