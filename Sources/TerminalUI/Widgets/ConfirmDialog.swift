/// A question with choices, for destructive actions. The safe choice has the focus when
/// the dialog opens, so a stray Enter does no harm; Esc always cancels.
///
///     var dialog = ConfirmDialog(title: "Discard 3 items?", message: "This cannot be undone.",
///                                confirm: "Discard")
///     switch dialog.handle(key) { case .chosen(1): discard(); case .cancelled, .chosen: close(); case .pending: break }
public struct ConfirmDialog: Sendable {
    public struct Choice: Sendable, Equatable {
        public var label: String
        /// A key that picks this choice directly (e.g. `y`, `n`).
        public var shortcut: Key?
        public init(_ label: String, shortcut: Key? = nil) {
            self.label = label
            self.shortcut = shortcut
        }
    }

    public enum Outcome: Sendable, Equatable {
        case pending
        case chosen(Int)
        case cancelled
    }

    public var title: String
    public var message: String
    public var choices: [Choice]
    /// The index of the focused choice.
    public private(set) var focus: Int

    /// - Parameter safeChoice: the index focused on open.
    public init(title: String, message: String, choices: [Choice], safeChoice: Int) {
        self.title = title
        self.message = message
        self.choices = choices
        focus = safeChoice
    }

    /// Two choices, Cancel (index 0, `n`, focused) and `confirm` (index 1, `y`).
    public init(title: String, message: String, confirm: String, cancel: String = "Cancel") {
        self.init(title: title, message: message,
                  choices: [Choice(cancel, shortcut: .char("n")), Choice(confirm, shortcut: .char("y"))], safeChoice: 0)
    }

    public mutating func handle(_ key: Key) -> Outcome {
        switch key {
        case .escape: return .cancelled
        case .enter: return .chosen(focus)
        case .left, .backTab, .char("h"): focus = (focus + choices.count - 1) % choices.count
        case .right, .tab, .char("l"): focus = (focus + 1) % choices.count
        default:
            if let index = choices.firstIndex(where: { $0.shortcut == key }) { return .chosen(index) }
        }
        return .pending
    }

    public func render(into grid: inout CellGrid, rect: Rect, theme: Theme) {
        let width = min(rect.width, max(40, TerminalText.width(message) + 4))
        let lines = TerminalText.wrap(message, width: width - 4)
        let box = rect.centered(width: width, height: lines.count + 4)
        grid.box(box, style: theme.style("dialog"), title: title, titleStyle: theme.style("dialog.title"))
        for (index, line) in lines.prefix(box.height - 4).enumerated() {
            grid.write(line, in: box.inset(dx: 2).row(1 + index), style: theme.style("dialog"))
        }
        let labels = choices.map { "[ \($0.label) ]" }
        let total = labels.reduce(0) { $0 + TerminalText.width($1) } + 2 * (labels.count - 1)
        var x = box.x + max(2, (box.width - total) / 2)
        for (index, label) in labels.enumerated() {
            let style = theme.style(index == focus ? "dialog.button.focused" : "dialog.button")
            x += grid.write(label, x: x, y: box.y + box.height - 2, style: style, maxWidth: box.x + box.width - 1 - x) + 2
        }
    }
}
