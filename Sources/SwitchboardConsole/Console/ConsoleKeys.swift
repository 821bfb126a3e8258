import TerminalUI

/// Everything a key can do in the console. Raw values are the names used in the
/// config's `[keys]` table (`approve = ["a", "ctrl-a"]`).
public enum ConsoleAction: String, CaseIterable, Hashable, Sendable {
    // Anywhere
    case quit, help, command, repaint, nextScreen = "next_screen", previousScreen = "previous_screen", alerts, handoff
    /// Digits go straight to a screen: `1` Review, `2` Calls, `3` Go-live, `4` Outbox, `5` Audit.
    case reviewScreen = "review_screen", callsScreen = "calls_screen", goLiveScreen = "golive_screen", outboxScreen = "outbox_screen"
    case auditScreen = "audit_screen"
    // Lists
    case down, up, pageDown = "page_down", pageUp = "page_up", first, last, select, selectAll = "select_all", filter, open, back
    // Review
    case approve, undo, correct, approveSelected = "approve_selected", toggleDecided = "toggle_decided"
    // Outbox
    case retry, retrySelected = "retry_selected", discard, discardAll = "discard_all", nextView = "next_view", previousView = "previous_view"
    // Audit
    case verifyChain = "verify_chain"
    // Details, for a role that sees patient details masked
    case reveal
}

/// The default keys, in one place (k9s/lazygit/less habits). Bindings that write are
/// marked destructive, so read-only mode removes them all in one call.
/// Handlers never test key
/// literals: they receive actions, so remapping in the config reaches every screen, the
/// footer and the `?` overlay alike.
public enum ConsoleKeys {
    public static func global() -> KeyMap<ConsoleAction> {
        KeyMap(title: "Anywhere", bindings: [
            KeyBinding(keys: [.char("q")], action: .quit, hint: "quit", help: "Quit Switchboard"),
            KeyBinding(keys: [.char("?")], action: .help, hint: "help", help: "Show every key"),
            KeyBinding(keys: [.char(":")], action: .command, hint: "command", help: "Command line: :review, :quit, … (Tab completes)"),
            KeyBinding(keys: [.char("!")], action: .alerts, hint: "alerts", help: "The alerts on now: what, since when, what to do",
                       showsInFooter: false),
            KeyBinding(keys: [.char("H")], action: .handoff, hint: "hand-off",
                       help: "The shift hand-off of the last 8 hours: decisions, what is left, stuck items, alerts", showsInFooter: false),
            KeyBinding(keys: [.ctrl("l")], action: .repaint, hint: "redraw", help: "Redraw the whole screen", showsInFooter: false),
            KeyBinding(keys: [.tab], action: .nextScreen, hint: "next", help: "Next screen", showsInFooter: false),
            KeyBinding(keys: [.backTab], action: .previousScreen, hint: "previous", help: "Previous screen", showsInFooter: false),
            KeyBinding(keys: [.char("1")], action: .reviewScreen, hint: "review", help: "The Review screen", showsInFooter: false),
            KeyBinding(keys: [.char("2")], action: .callsScreen, hint: "calls", help: "The Calls screen: calls in progress, then recent ones", showsInFooter: false),
            KeyBinding(keys: [.char("3")], action: .goLiveScreen, hint: "go-live", help: "The Go-live screen: figures against targets",
                       showsInFooter: false),
            KeyBinding(keys: [.char("4")], action: .outboxScreen, hint: "outbox", help: "The Outbox screen", showsInFooter: false),
            KeyBinding(keys: [.char("5")], action: .auditScreen, hint: "audit", help: "The Audit screen: browse and verify the hash chain", showsInFooter: false),
        ])
    }

    /// The list keys with a screen's own words for what opening, filtering or backing
    /// out does there (`help`), and without `space` where rows are not selected for bulk
    /// actions. Selecting serves only those actions: a role that may not take them sees
    /// `space` and `*` disabled with `selectionRefusal`, as the actions are.
    public static func list(selects: Bool, selectionRefusal: String? = nil, help: [ConsoleAction: String] = [:]) -> [KeyBinding<ConsoleAction>] {
        list().bindings.compactMap { binding in
            let selecting = binding.action == .select || binding.action == .selectAll
            guard selects || !selecting else { return nil }
            var binding = binding
            if let words = help[binding.action] { binding.help = words }
            if selecting { binding.disabledReason = selectionRefusal }
            return binding
        }
    }

    public static func list() -> KeyMap<ConsoleAction> {
        KeyMap(title: "Lists", bindings: [
            KeyBinding(keys: [.char("j"), .down], action: .down, hint: "down", help: "Next row", showsInFooter: false),
            KeyBinding(keys: [.char("k"), .up], action: .up, hint: "up", help: "Previous row", showsInFooter: false),
            KeyBinding(keys: [.pageDown, .ctrl("f")], action: .pageDown, hint: "page down", help: "Next page", showsInFooter: false),
            KeyBinding(keys: [.pageUp, .ctrl("b")], action: .pageUp, hint: "page up", help: "Previous page", showsInFooter: false),
            KeyBinding(keys: [.char("g"), .home], action: .first, hint: "top", help: "First row", showsInFooter: false),
            KeyBinding(keys: [.char("G"), .end], action: .last, hint: "bottom", help: "Last row", showsInFooter: false),
            KeyBinding(keys: [.char(" ")], action: .select, hint: "select", help: "Select or unselect the row (for bulk actions)"),
            KeyBinding(keys: [.char("*")], action: .selectAll, hint: "select all",
                       help: "Select every row the view holds around the selection, or unselect them", showsInFooter: false),
            KeyBinding(keys: [.char("/")], action: .filter, hint: "filter", help: "Filter rows by text; Esc clears"),
            KeyBinding(keys: [.enter], action: .open, hint: "details", help: "Open the row: the booking with the call that made it"),
            KeyBinding(keys: [.escape], action: .back, hint: "back", help: "Back out: close details, clear selection or filter"),
        ])
    }

    public static func review() -> KeyMap<ConsoleAction> {
        KeyMap(title: "Review", bindings: [
            KeyBinding(keys: [.char("a")], action: .approve, hint: "approve", help: "Approve the booking (one key; u undoes for a few seconds)", isDestructive: true),
            KeyBinding(keys: [.char("u")], action: .undo, hint: "undo", help: "Undo your last approval while it is still fresh", isDestructive: true),
            KeyBinding(keys: [.char("c")], action: .correct, hint: "correct", help: "Correct the booking: category, new slot from the EHR, note", isDestructive: true),
            KeyBinding(keys: [.char("A")], action: .approveSelected, hint: "approve selected", help: "Approve exactly the selected bookings, after a confirm",
                       isDestructive: true),
            KeyBinding(keys: [.char("d")], action: .toggleDecided, hint: "hide decided", help: "Show only undecided bookings, or all"),
        ])
    }

    public static func outbox() -> KeyMap<ConsoleAction> {
        KeyMap(title: "Outbox", bindings: [
            KeyBinding(keys: [.char("v")], action: .nextView, hint: "view", help: "Next view: stuck, pending, in flight, succeeded, discarded"),
            KeyBinding(keys: [.char("V")], action: .previousView, hint: "previous view", help: "Previous view", showsInFooter: false),
            KeyBinding(keys: [.char("r")], action: .retry, hint: "retry now", help: "Retry the item now: the agent's worker sends it next", isDestructive: true),
            KeyBinding(keys: [.char("R")], action: .retrySelected, hint: "retry selected",
                       help: "Retry exactly the selected items now, or with none selected every item in the view (as filtered), after a confirm with the count",
                       isDestructive: true),
            KeyBinding(keys: [.char("x")], action: .discard, hint: "discard",
                       help: "Discard the item (or the selected items) with a reason, after a confirm; it is never sent", isDestructive: true),
            KeyBinding(keys: [.char("X")], action: .discardAll, hint: "discard all",
                       help: "Discard every item in the view (as filtered), with a reason, after a confirm with the count", isDestructive: true,
                       showsInFooter: false),
        ])
    }

    /// `P` shows one masked record's patient details to a viewer, on purpose: never by
    /// moving about, and every time an audit row (`phi.reveal`). Only for roles that see
    /// patients masked; the others see them anyway.
    public static func reveal() -> KeyBinding<ConsoleAction> {
        KeyBinding(keys: [.char("P")], action: .reveal, hint: "show patient",
                   help: "Show this record's patient details (viewers; recorded in the audit as phi.reveal)")
    }

    public static func audit() -> KeyMap<ConsoleAction> {
        KeyMap(title: "Audit", bindings: [
            KeyBinding(keys: [.char("v")], action: .verifyChain, hint: "verify chain",
                       help: "Verify the whole hash chain in the background; v or Esc again stops it"),
        ])
    }
}
