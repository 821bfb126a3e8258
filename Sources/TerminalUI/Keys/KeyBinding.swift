/// A key binding as a value: which keys, what they do, and how the footer and the help
/// overlay describe them. Screens list their bindings first; handlers switch on `action`.
///
///     KeyBinding(keys: [.char("d"), .delete], action: Action.discard,
///                hint: "discard", help: "Discard the selected item", isDestructive: true)
public struct KeyBinding<Action: Hashable & Sendable>: Sendable {
    public var keys: [Key]
    public var action: Action
    /// A word or two for the footer.
    public var hint: String
    /// A sentence for the help overlay.
    public var help: String
    /// Whether the action changes or destroys data; read-only mode removes it.
    public var isDestructive: Bool
    /// Why the binding cannot be used right now (shown dimmed, and said when pressed).
    public var disabledReason: String?
    /// Whether the footer lists this binding (help always does).
    public var showsInFooter: Bool

    public init(keys: [Key], action: Action, hint: String, help: String? = nil, isDestructive: Bool = false,
                disabledReason: String? = nil, showsInFooter: Bool = true) {
        self.keys = keys
        self.action = action
        self.hint = hint
        self.help = help ?? hint
        self.isDestructive = isDestructive
        self.disabledReason = disabledReason
        self.showsInFooter = showsInFooter
    }

    /// The keys as written in config files, e.g. `"j/down"`.
    public var keyText: String { keys.map(\.description).joined(separator: "/") }

    public var isEnabled: Bool { disabledReason == nil }
}
