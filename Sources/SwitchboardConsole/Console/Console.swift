import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import SwitchboardStream
import TerminalUI

/// Messages into the console's one loop, from timers, background work and watchers.
public enum ConsoleMessage: Sendable {
    /// Another process (or this one) committed to a database.
    case databasesChanged
    case messageExpired(Int)
    /// The practice's providers from the EHR, for every screen that names them.
    case providersFound(Result<ProviderDirectory, EHRFailure>)
    /// A message from the live event stream.
    case stream(EventStreamMessage)
    /// What background work found or did, for the screen that asked.
    case screen(ScreenMessage)
    /// The alert rules, evaluated in the background.
    case alertsEvaluated(Result<AlertEvaluation, AlertsUnavailable>)
    /// The shift hand-off, read in the background.
    case handoffRead(Result<String, AlertsUnavailable>)
}

/// Why the alert rules (or the hand-off) could not be read, in words.
public struct AlertsUnavailable: Error, Sendable {
    var text: String
}

/// A screen's own message, opaque outside the console.
public struct ScreenMessage: Sendable {
    enum Inner: Sendable {
        case review(ReviewMessage)
        case goLive(GoLiveMessage)
        case outbox(OutboxMessage)
        case calls(CallsMessage)
        case audit(AuditMessage)
        case lock(LockMessage)
    }

    let inner: Inner
}

extension ConsoleMessage {
    static func review(_ message: ReviewMessage) -> ConsoleMessage { .screen(ScreenMessage(inner: .review(message))) }
    static func goLive(_ message: GoLiveMessage) -> ConsoleMessage { .screen(ScreenMessage(inner: .goLive(message))) }
    static func outbox(_ message: OutboxMessage) -> ConsoleMessage { .screen(ScreenMessage(inner: .outbox(message))) }
    static func calls(_ message: CallsMessage) -> ConsoleMessage { .screen(ScreenMessage(inner: .calls(message))) }
    static func audit(_ message: AuditMessage) -> ConsoleMessage { .screen(ScreenMessage(inner: .audit(message))) }
    static func lock(_ message: LockMessage) -> ConsoleMessage { .screen(ScreenMessage(inner: .lock(message))) }
}

/// The console: one program in one loop. It owns the screens, the command line, the
/// help overlay and the message line; screens render into the cell grid and hand their
/// work to the operations runner, the only part that does I/O.
public struct Console: Program {
    public typealias Message = ConsoleMessage

    private let context: ConsoleContext
    private let runner: OperationsRunner
    private let theme: Theme
    private var globalKeys: KeyMap<ConsoleAction>
    /// One per `ScreenName`, in its order; each keeps its state while another is shown.
    private var screens: [any ConsoleScreen]
    /// Screens off screen whose data changed since they were last read: read when shown.
    private var stale: Set<ScreenName> = []
    private var current = ScreenName.review
    private var command: CommandPrompt?
    /// Earlier `:` commands, for Up/Down in the next one.
    private var commandHistory: [String] = []
    private var help: HelpOverlay?
    private var messages = MessageLine()
    private var size = Size(width: 80, height: 24)
    private let sizeGuard = SizeGuard()
    private let time = TimeText()
    /// What the live event stream says about the agent and the EHR.
    private var live = LiveStatus()
    /// HIPAA automatic logoff: after this long without a key the screen hides all data.
    private let idleLockSeconds: Double
    /// When the last key came, on the console's clock; looked at when the clock wakes the
    /// loop (no timer per key, and a suspended laptop still counts its sleep).
    private var lastKeyAt: UnixMillis
    private var lock = ConsoleLock()
    /// Problems found in the config and theme, said once the loop runs.
    private var startupProblems: [String]
    /// Rows the listings left out as unreadable (a damaged database): counted on the
    /// status line, each new one told once (table, key, column, why; never its content).
    private var unreadableCount = 0
    /// The alerts on now (the header's badge, `!`), evaluated at most every few seconds
    /// after a change, one evaluation at a time.
    private var alerts: AlertEvaluation?
    private var alertCounts = CountSchedule(everyMillis: 5_000)
    /// The `!` list or the hand-off (`H`), over the screen; Esc closes it.
    private var alertsOverlay: DetailPane?
    private var overlayTitle = "Alerts"
    /// When the event stream last said anything (the stream-silent rule).
    private var streamLastHeard: UnixMillis?
    /// Renewed by everything that may change the frame but the stream's counters, so
    /// that a frame only they change is the kept one with a new status line.
    private var generation = KeptFrame.newGeneration()
    private let kept = KeptFrame()
    /// Until the first message comes back (the first screen's rows, as a rule): the alert
    /// rules (a scan of both databases) and the EHR's providers are asked for after it, so
    /// the first frame with data does not share two cores with them.
    private var awaitingFirstMessage = true

    init(context: ConsoleContext, runner: OperationsRunner, theme: Theme, remapping: [String: [String]], warnings: [String],
         idleLockMinutes: Int) {
        self.context = context
        self.runner = runner
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
        startupProblems = problems
    }

    private static let globalActions = Set(ConsoleKeys.global().bindings.map(\.action.rawValue))

    public mutating func start() -> Reaction<ConsoleMessage> {
        generation = KeptFrame.newGeneration()
        var reaction = apply(screens[index].refresh(now: context.now()))
        if !startupProblems.isEmpty {
            let more = startupProblems.count > 1 ? " (and \(startupProblems.count - 1) more: see `switchboard status`)" : ""
            reaction = reaction.and(say(startupProblems[0] + more, kind: .error))
        }
        return reaction
    }

    public mutating func resize(to size: Size) {
        generation = KeptFrame.newGeneration()
        self.size = size
        help?.viewportHeight = Layout(size).body.height - 2
        help?.viewportWidth = Layout(size).body.width
        for index in screens.indices { screens[index].resize(body: Layout(size).body.size) }
    }

    // MARK: Keys

    public mutating func handle(_ key: Key) -> Reaction<ConsoleMessage> {
        generation = KeptFrame.newGeneration()
        if key == .resize { return .repaint }
        lastKeyAt = context.now()
        if lock.isLocked {
            if key == .ctrl("c") { return .quit }
            return lock.handle(key).map { Reaction.redraw.and(run($0)) } ?? .redraw
        }
        return handleUnlocked(key)
    }

    private mutating func handleUnlocked(_ key: Key) -> Reaction<ConsoleMessage> {
        if !sizeGuard.fits(size) {
            return key == .char("q") || key == .ctrl("c") ? .quit : .none
        }
        if var overlay = help {
            if overlay.handle(key) { help = overlay } else { help = nil }
            return .redraw
        }
        if var overlay = alertsOverlay {
            if key == .escape || key == .char("q") { alertsOverlay = nil } else { _ = overlay.handle(key); alertsOverlay = overlay }
            return .redraw
        }
        if var prompt = command { return handleCommand(key, prompt: &prompt) }
        if key == .escape, screens[index].isWaitingForLock {
            screens[index].gaveUpWaiting()
            return Reaction.redraw.and(.run { LockWait.console.giveUp(); return nil })
                .and(say("Gave up waiting for the agent's lock: nothing was written.", kind: .error))
        }
        let now = context.now()
        if screens[index].capturesKeys { return apply(screens[index].handleCaptured(key, now: now)) }
        if screens[index].handleScroll(key) { return .redraw }
        if key == .ctrl("c") { return .quit }
        if let binding = globalKeys.binding(for: key) { return perform(binding) }
        for map in screens[index].keyMaps {
            if let binding = map.binding(for: key) { return perform(binding) }
        }
        return .none
    }

    /// `switchboard handoff`'s Markdown as the overlay shows it: `##` lines as headings,
    /// `- ` as bullets, `**overdue**` as OVERDUE (the Review screen's word), and no `#` title
    /// (the overlay's own title says it); the marks themselves were on screen before.
    static func handoffItems(markdown: String) -> [DetailPane.Item] {
        markdown.components(separatedBy: "\n").compactMap { line -> DetailPane.Item? in
            if line.hasPrefix("# ") { return nil }
            if line.hasPrefix("## ") { return .heading(String(line.dropFirst(3))) }
            if line.isEmpty { return .blank }
            var text = line.hasPrefix("- ") ? "• " + line.dropFirst(2) : line
            while let open = text.range(of: "**"), let close = text.range(of: "**", range: open.upperBound..<text.endIndex) {
                text.replaceSubrange(open.lowerBound..<close.upperBound, with: text[open.upperBound..<close.lowerBound].uppercased())
            }
            return .text(text)
        }.drop { $0 == .blank }.map { $0 }
    }

    private mutating func perform(_ binding: KeyBinding<ConsoleAction>) -> Reaction<ConsoleMessage> {
        if let reason = binding.disabledReason { return say("\(binding.keyText) \(binding.hint): \(reason)", kind: .error) }
        switch binding.action {
        case .quit: return .quit
        case .help:
            help = HelpOverlay(sections: helpSections, viewportHeight: Layout(size).body.height - 2, viewportWidth: Layout(size).body.width)
            return .redraw
        case .command:
            command = CommandPrompt(prompt: ":", names: ScreenName.allCases.flatMap(\.commandNames) + ["quit", "help", "lock"], history: commandHistory)
            return .redraw
        case .repaint: return .repaint
        case .alerts:
            overlayTitle = "Alerts"
            alertsOverlay = AlertsList.pane(alerts, now: context.now(), time: time)
            return .redraw
        case .handoff:
            overlayTitle = "Shift hand-off, last 8 hours"
            alertsOverlay = DetailPane(items: [.text("Reading the audit…")])
            return run(.handoff(since: context.now() - 8 * 3_600_000))
        case .nextScreen, .previousScreen:
            let all = ScreenName.allCases, step = binding.action == .nextScreen ? 1 : all.count - 1
            return show(all[(index + step) % all.count])
        default:
            if let screen = ScreenName.allCases.first(where: { $0.action == binding.action }) { return show(screen) }
            return apply(screens[index].perform(binding.action, now: context.now()))
        }
    }

    /// The screen's own keys first (with a digit per screen, "Anywhere" would push them
    /// below the fold of an 80x24 terminal), then what its columns' letters mean; keys this
    /// role may not use are listed too, dimmed, with the reason.
    private var helpSections: [HelpSection] {
        screens[index].keyMaps.reversed().map(HelpSection.init) + screens[index].legend + [HelpSection(globalKeys), LiveStatus.explained]
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
            if word.isEmpty { return .redraw }
            if word == "q" || word == "quit" { return .quit }
            if word == "help" { return perform(globalKeys.binding(of: .help)!) }
            if word == "lock" { return lockNow(idleMinutes: nil) }
            if let screen = ScreenName.allCases.first(where: { $0.commandNames.contains(word) }) { return show(screen) }
            let names = ScreenName.allCases.flatMap(\.commandNames) + ["quit", "help", "lock"]
            if let guess = Suggestion.closest(to: word, among: names) {
                return say("No such screen or command: \(word). Did you mean :\(guess)?", kind: .error)
            }
            let list = ScreenName.allCases.map { ":" + $0.commandNames[0] }.joined(separator: ", ")
            return say("No such screen or command: \(word). Try \(list), :help, :quit.", kind: .error)
        }
    }

    /// The screen on show, by its place in `ScreenName.allCases`.
    private var index: Int { ScreenName.allCases.firstIndex(of: current)! }

    /// Switches to `screen`, which reads what it shows (screens off screen do not follow
    /// the databases: an idle console reads for one screen only).
    private mutating func show(_ screen: ScreenName) -> Reaction<ConsoleMessage> {
        guard screen != current else { return .redraw }
        current = screen
        stale.remove(screen)
        return apply(screens[index].refresh(now: context.now()))
    }

    /// Turns a screen's step into the loop's reaction: its work to the runner, its timers
    /// to the loop, its words to the message line.
    private mutating func apply(_ step: ScreenStep) -> Reaction<ConsoleMessage> {
        var reaction = Reaction<ConsoleMessage>.redraw
        for work in step.work { reaction = reaction.and(run(work)) }
        for timer in step.later { reaction = reaction.and(.after(timer.seconds, timer.message)) }
        for line in step.say { reaction = reaction.and(say(line.text, kind: line.kind)) }
        return reaction
    }

    /// Asks for the alert rules off the UI thread: now (`force`), or at most every few
    /// seconds after a change.
    private mutating func evaluateAlerts(force: Bool) -> Reaction<ConsoleMessage> {
        guard alertCounts.start(force: force, now: context.now()) else { return .none }
        return run(.alerts(streamLastHeard: streamLastHeard))
    }

    /// What the message line says when `alert` starts.
    private func alertMessage(_ alert: Alert) -> String { "Alert: \(alert.summary) (\(keyName(.alerts)) lists them)" }

    private func keyName(_ action: ConsoleAction) -> String { globalKeys.binding(of: action)?.keys.first?.description ?? action.rawValue }

    private func run(_ work: ConsoleWork) -> Reaction<ConsoleMessage> {
        let runner = runner
        return .run { await runner.perform(work) }
    }

    private mutating func say(_ text: String, kind: MessageLine.Kind) -> Reaction<ConsoleMessage> {
        let shown = messages.show(text, kind: kind)
        return Reaction.redraw.and(.after(shown.seconds, .messageExpired(shown.id)))
    }

    // MARK: Messages

    public mutating func update(_ message: ConsoleMessage) -> Reaction<ConsoleMessage> {
        var reaction = Reaction<ConsoleMessage>.none
        if awaitingFirstMessage {
            awaitingFirstMessage = false
            // The providers' names, asked once: not on every data change, which would press an
            // EHR that is down with a request per commit.
            if context.hasEHR { reaction = reaction.and(run(.providers)) }
            reaction = reaction.and(evaluateAlerts(force: true))
        }
        switch message {
        case .stream(let streamMessage): return reaction.and(follow(streamMessage))
        // A data change starts the shown screen's read and the alerts' evaluation, none of
        // it drawn until it comes back (as a message of its own): the frame stays as it is.
        case .databasesChanged: break
        default: generation = KeptFrame.newGeneration()
        }
        reaction = reaction.and(updateScreens(message))
        let count = runner.unreadableCount
        guard count != unreadableCount else { return reaction }
        generation = KeptFrame.newGeneration()
        let new = runner.unreadable.dropFirst(unreadableCount)
        unreadableCount = count
        return new.prefix(3).reduce(reaction) { $0.and(say($1.description, kind: .error)) }
    }

    /// The moment the last frame named has come (a clock text moves, the idle lock or a
    /// count falls due): no tick in between, so an idle console with no clock on screen
    /// sleeps until a key or a data change.
    public mutating func clockReached() -> Reaction<ConsoleMessage> {
        generation = KeptFrame.newGeneration()
        let now = context.now()
        var reaction = Reaction<ConsoleMessage>.redraw
        if !lock.isLocked, Double(now - lastKeyAt) >= idleLockSeconds * 1000 {
            reaction = reaction.and(lockNow(idleMinutes: Int(idleLockSeconds / 60)))
        }
        // A rule may turn on with time alone (a silent stream, an item failing too long):
        // evaluated again when the last evaluation said it would.
        let alertsDue = alertCounts.due || (alerts?.nextChange.map { now >= $0 } ?? false)
        return reaction.and(apply(screens[index].tick(now: now))).and(alertsDue ? evaluateAlerts(force: false) : .none)
    }

    private mutating func updateScreens(_ message: ConsoleMessage) -> Reaction<ConsoleMessage> {
        let now = context.now()
        switch message {
        case .databasesChanged:
            stale = Set(ScreenName.allCases).subtracting([current])
            return apply(screens[index].refresh(now: now)).and(evaluateAlerts(force: false))
        case .messageExpired(let id):
            return messages.expire(id) ? .redraw : .none
        case .providersFound(let result):
            var reaction = Reaction<ConsoleMessage>.redraw
            for at in screens.indices { reaction = reaction.and(apply(screens[at].providersArrived(result))) }
            return reaction
        case .screen(let message):
            switch message.inner {
            case .review(let inner): return deliver(to: .review) { (screen: inout ReviewScreen) in screen.update(inner, now: now) }
            case .goLive(let inner): return deliver(to: .golive) { (screen: inout GoLiveScreen) in screen.update(inner, now: now) }
            case .outbox(let inner): return deliver(to: .outbox) { (screen: inout OutboxScreen) in screen.update(inner, now: now) }
            case .calls(let inner): return deliver(to: .calls) { (screen: inout CallsScreen) in screen.update(inner, now: now) }
            case .audit(let inner): return deliver(to: .audit) { (screen: inout AuditScreen) in screen.update(inner, now: now) }
            case .lock(.ends): return .quit
            case .lock(.checked(let answer)):
                lock.checked(answer, user: context.identity.user)
                if !lock.isLocked { lastKeyAt = now }
                return .redraw
            }
        case .alertsEvaluated(let result):
            // Asked for again while this one ran (the stream heard, a data change): once
            // more, no sooner than the rules' interval.
            let again: Reaction<ConsoleMessage> = alertCounts.finished(now: now) ? evaluateAlerts(force: false) : .none
            switch result {
            case .success(let evaluation):
                let started = evaluation.active.filter { new in !(alerts?.active.contains { $0.rule == new.rule } ?? false) }
                // An alert that ended takes back what the message line still says of it; one
                // whose figures moved says the new ones (it said "1 … overdue" beside 13 rows
                // marked OVERDUE while the demo's past was played).
                for before in alerts?.active ?? [] {
                    if let now = evaluation.active.first(where: { $0.rule == before.rule }) {
                        messages.amend(alertMessage(before), to: alertMessage(now))
                    } else {
                        messages.withdraw(alertMessage(before))
                    }
                }
                alerts = evaluation
                if overlayTitle == "Alerts", var overlay = alertsOverlay {
                    overlay.replaceItems(with: AlertsList.pane(evaluation, now: now, time: time))
                    alertsOverlay = overlay
                }
                // A new alert is said once, unless it would cover what the operator's last
                // action said; the badge counts it either way.
                let ring = (!started.isEmpty && context.bellOnAlert ? Reaction<ConsoleMessage>.bell : .redraw).and(again)
                guard let first = started.first, messages.text == nil else { return ring }
                return ring.and(say(alertMessage(first), kind: .error))
            case .failure(let problem):
                return say("Alerts could not be evaluated: \(problem.text)", kind: .error).and(again)
            }
        case .handoffRead(let result):
            guard overlayTitle != "Alerts", var overlay = alertsOverlay else { return .none }
            switch result {
            case .success(let text): overlay.replaceItems(with: Self.handoffItems(markdown: text))
            case .failure(let problem): overlay.replaceItems(with: [.text("Cannot read the hand-off: \(problem.text)")])
            }
            alertsOverlay = overlay
            return .redraw
        case .stream(let streamMessage):
            return follow(streamMessage)
        }
    }

    /// A stream message. Its counters are the status line's alone (the next frame is the
    /// kept one with a new status line); a new EHR state or a reconnect changes more.
    private mutating func follow(_ message: EventStreamMessage) -> Reaction<ConsoleMessage> {
        let now = context.now()
        streamLastHeard = now
        // A stream heard (again) ends its "not heard" or "silent" alert now: no data change
        // or clock asks for the rules again, and the header kept the alert on a live stream.
        let heard = alerts?.active.contains { $0.rule == .streamSilent } == true ? evaluateAlerts(force: true) : .none
        let before = live.ehr
        let reconcile = live.apply(message)
        guard live.ehr != before || reconcile else { return Reaction.redraw.and(heard) }
        generation = KeptFrame.newGeneration()
        if live.ehr != before {
            live.ehrSince = now
            for at in screens.indices { screens[at].ehrStateChanged(live.ehr) }
        }
        return (reconcile ? updateScreens(.databasesChanged) : .redraw).and(heard)
    }

    /// Background work's answer to the screen that asked, on screen or not: what it says
    /// is shown either way, so nothing is lost while its screen is off.
    private mutating func deliver<S: ConsoleScreen>(to name: ScreenName, _ body: (inout S) -> ScreenStep) -> Reaction<ConsoleMessage> {
        let at = ScreenName.allCases.firstIndex(of: name)!
        guard var screen = screens[at] as? S else { return .none }
        let step = body(&screen)
        screens[at] = screen
        return apply(step)
    }

    // MARK: Rendering

    /// Where everything goes: the tab bar, the screen's figures, the body, the message
    /// line (its own, never over rows), the status line and the footer.
    struct Layout {
        var tabs: Rect
        var figures: Rect
        var body: Rect
        var message: Rect
        var status: Rect
        var footer: Rect

        init(_ size: Size) {
            let area = Rect(size)
            let (tabs, rest) = area.splitTop(1)
            let (figures, rest2) = rest.splitTop(1)
            let (body, bottom) = rest2.splitBottom(3)
            let (message, lower) = bottom.splitTop(1)
            let (status, footer) = lower.splitTop(1)
            self.tabs = tabs
            self.figures = figures
            self.body = body
            self.message = message
            self.status = status
            self.footer = footer
        }
    }

    /// Draws the frame, and says when it next changes with time alone: the earliest
    /// change of a clock text drawn (each notes it on the frame's ``ClockWatch``), the idle
    /// lock, and work the clock releases (a count held back, an alert rule turning with time).
    public func render(into grid: inout CellGrid) {
        let now = context.now()
        let textsChange: UnixMillis?
        if let frame = kept.frame(generation: generation, size: grid.size, now: now) {
            grid = frame.grid
            if showsStatus(grid.size) { renderStatus(into: &grid, rect: Layout(grid.size).status) }
            textsChange = frame.next
        } else {
            let texts = ClockWatch(now: now)
            ClockWatch.$current.withValue(texts) { renderFrame(into: &grid, now: now) }
            kept.keep(grid, generation: generation, next: texts.next)
            textsChange = texts.next
        }
        // What comes due with time alone is looked at on every frame, kept or not (a read
        // started since the last whole frame may have moved it).
        let watch = ClockWatch(now: now)
        if let textsChange { watch.note(textsChange) }
        if !lock.isLocked {
            watch.note(lastKeyAt + Int64(idleLockSeconds * 1000))
            // Work already due that the last wake did not start is looked at again in a
            // second (as the old tick did), never in a spin.
            for at in [alertCounts.dueAt, alerts?.nextChange, screens[index].tickDue].compactMap({ $0 }) {
                watch.note(at > now ? at : now + 1000)
            }
        }
        grid.wakeAfter = watch.next.map { Double($0 - now) / 1000 }
    }

    /// Whether the frame has a status line (no lock, no prompt over it, room for it).
    private func showsStatus(_ size: Size) -> Bool {
        sizeGuard.fits(size) && !lock.isLocked && command == nil && screens[index].filterPrompt == nil
    }

    private func renderFrame(into grid: inout CellGrid, now: UnixMillis) {
        guard sizeGuard.fits(grid.size) else { return sizeGuard.render(into: &grid, theme: theme) }
        let area = Rect(grid.size)
        grid.fill(area, style: theme.style("base"))
        if lock.isLocked { return renderLock(into: &grid, area: area) }
        let layout = Layout(grid.size)
        renderTabs(into: &grid, rect: layout.tabs)
        renderFigures(into: &grid, rect: layout.figures, now: now)
        screens[index].render(into: &grid, rect: layout.body, theme: theme, now: now)
        let status = showsStatus(grid.size)
        // A message too long for its line takes the status line too while it shows (never
        // the rows above); a prompt keeps the status line for itself.
        let messageRows = messages.render(into: &grid, rect: Rect(x: layout.message.x, y: layout.message.y, width: layout.message.width,
                                                                  height: status ? 2 : 1), theme: theme)
        if status {
            if messageRows < 2 { renderStatus(into: &grid, rect: layout.status) }
        } else if let prompt = command ?? screens[index].filterPrompt {
            // With the message line above it, so Tab's candidates have a row to show on.
            prompt.render(into: &grid, rect: Rect(x: layout.message.x, y: layout.message.y, width: layout.message.width, height: 2),
                          theme: theme)
        }
        if let hints = screens[index].captureHints {
            grid.fill(layout.footer, style: theme.style("footer"))
            grid.write(hints, x: layout.footer.x + 1, y: layout.footer.y, style: theme.style("footer"), maxWidth: layout.footer.width - 2)
        } else {
            Footer.render(footerBindings, into: &grid, rect: layout.footer, theme: theme, showDisabled: false)
        }
        if let help { help.render(into: &grid, rect: layout.body, theme: theme) }
        if var alertsOverlay {
            let box = layout.body.inset(dx: max(1, (layout.body.width - 100) / 2), dy: 1)
            grid.box(box, style: theme.style("help"), title: "\(overlayTitle) — j/k scroll, Esc to close", titleStyle: theme.style("help.key"))
            let inner = box.inset(dx: 2, dy: 1)
            grid.fill(inner, style: theme.style("help"))
            alertsOverlay.viewportHeight = inner.height
            alertsOverlay.render(into: &grid, rect: inner, theme: theme)
        }
    }

    /// Locks the console (idle time, or `:lock`) and has the runner record it.
    private mutating func lockNow(idleMinutes: Int?) -> Reaction<ConsoleMessage> {
        help = nil
        command = nil
        guard let work = lock.lock(idleMinutes: idleMinutes) else { return .redraw }
        return Reaction.redraw.and(run(work))
    }

    private func renderLock(into grid: inout CellGrid, area: Rect) {
        let lines = lock.lines(user: context.identity.user)
        let box = area.centered(width: area.width, height: lines.count)
        for (index, line) in lines.enumerated() {
            grid.write(line, in: box.row(index), style: theme.style(index == 0 ? "header.title" : "base"), alignment: .center)
        }
    }

    /// The footer: the keys this role may use here (the others are in `?`, with why),
    /// and `?` always.
    private var footerBindings: [KeyBinding<ConsoleAction>] {
        var all = screens[index].keyMaps.flatMap(\.bindings) + globalKeys.bindings
        if let only = screens[index].footerActions { all = all.filter { only.contains($0.action) || $0.action == .quit } }
        all = all.filter(\.isEnabled)
        // `?` first among the global keys, so a narrow footer never drops it.
        if let helpKey = globalKeys.binding(of: .help) {
            all.removeAll { $0.action == .help }
            all.insert(helpKey, at: 0)
        }
        return all
    }

    /// The five screens by digit and name, the current one standing out; who is at the
    /// keyboard at the right.
    private func renderTabs(into grid: inout CellGrid, rect: Rect) {
        grid.fill(rect, style: theme.style("header"))
        var x = rect.x
        let who = " \(context.identity.user) · \(context.identity.readOnly ? "read-only" : context.identity.role.rawValue) "
        let whoWidth = TerminalText.width(who)
        let end = rect.x + rect.width - whoWidth
        for screen in ScreenName.allCases {
            let digit = globalKeys.binding(of: screen.action)?.keys.first?.description ?? ""
            let label = " \(digit) \(screen.title) "
            guard x + TerminalText.width(label) < end else { break }
            x += grid.write(label, x: x, y: rect.y, style: theme.style(screen == current ? "tabs.current" : "tabs"))
        }
        if x < end { grid.write(who, x: end, y: rect.y, style: theme.style("header")) }
    }

    /// The screen's name (in words, for a terminal that shows no highlight), the EHR's
    /// state and the screen's figures, whole parts only: on a narrow terminal the least
    /// important parts go first, and no number is ever cut.
    private func renderFigures(into grid: inout CellGrid, rect: Rect, now: UnixMillis) {
        grid.fill(rect, style: theme.style("header"))
        var x = rect.x + 1
        x += grid.write("Switchboard │ \(current.title)", x: x, y: rect.y, style: theme.style("header.title"))
        var parts = screens[index].headerParts(now: now)
        if let ehr = live.ehrPart(now: now, time: time) { parts.insert(HeaderPart(ehr.text, scope: ehr.scope, priority: 0), at: 0) }
        if let active = alerts?.active, !active.isEmpty {
            let critical = active.contains { $0.severity == .critical }
            parts.insert(HeaderPart("⚠ \(active.count) alert\(active.count == 1 ? "" : "s") (\(keyName(.alerts)))",
                                    scope: critical ? "status.error" : "status.warn", priority: 0), at: 0)
        }
        let separator = " │ "
        let fitting = HeaderLine.fit(parts, width: rect.x + rect.width - 1 - x - TerminalText.width(separator),
                                     separatorWidth: TerminalText.width(separator))
        for part in fitting {
            x += grid.write(separator, x: x, y: rect.y, style: theme.style("header"))
            x += grid.write(part.text, x: x, y: rect.y, style: theme.style(part.scope), maxWidth: max(0, rect.x + rect.width - 1 - x))
        }
    }

    private func renderStatus(into grid: inout CellGrid, rect: Rect) {
        grid.fill(rect, style: theme.style("base"))  // drawn alone over a kept frame too
        let damaged = unreadableCount == 0 ? "" : "\(unreadableCount) unreadable row\(unreadableCount == 1 ? "" : "s") left out · "
        let text = damaged + screens[index].statusText + live.streamText
        let position = screens[index].positionText.map { " \($0) " } ?? ""
        let positionWidth = TerminalText.width(position)
        grid.write(text, x: rect.x + 1, y: rect.y, style: theme.style("table.row.dim"), maxWidth: rect.width - 2 - positionWidth)
        grid.write(position, x: rect.x + rect.width - positionWidth, y: rect.y, style: theme.style("table.header"))
    }
}

/// Fits header parts into a width by dropping whole parts, least important first, and
/// keeping the rest in their order.
enum HeaderLine {
    static func fit(_ parts: [HeaderPart], width: Int, separatorWidth: Int) -> [HeaderPart] {
        var kept = parts
        func total(_ parts: [HeaderPart]) -> Int {
            parts.map { TerminalText.width($0.text) }.reduce(0, +) + max(0, parts.count - 1) * separatorWidth
        }
        // Priority 0 (the EHR's state, a broken chain) is never dropped: if it alone is
        // too wide, it is clipped at the edge rather than hidden.
        while total(kept) > width, let drop = kept.indices.filter({ kept[$0].priority > 0 })
            .max(by: { (kept[$0].priority, $0) < (kept[$1].priority, $1) }) {
            kept.remove(at: drop)
        }
        return kept
    }
}

