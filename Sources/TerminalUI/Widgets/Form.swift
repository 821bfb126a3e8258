/// A form of text fields, choice fields and list pickers whose options may arrive later.
/// Tab/Shift-Tab (and Up/Down) move between fields, Enter submits, Esc cancels; the
/// program validates on submit and sets ``message``. A picker loaded with a
/// ``PickerList`` opens under its field while focused and takes Up/Down for itself.
///
///     var form = Form(title: "Move", fields: [
///         FormField(id: "note", label: "Note", kind: .text(LineEditor())),
///         FormField(id: "reason", label: "Reason", kind: .choice(["wrong time", "other"], selected: 0)),
///         FormField(id: "slot", label: "Slot", kind: .picker(.loading)),
///     ])
///     // later, from a message: form.setOptions(.loaded(["09:00", "09:30"], selected: 0), for: "slot")
public struct Form: Sendable {
    public enum Outcome: Sendable, Equatable {
        case editing
        case submitted
        case cancelled
    }

    public var title: String
    /// Lines above the fields saying what the form is about (dim).
    public var summary: [String]
    public var fields: [FormField]
    /// The focused field's index.
    public private(set) var focus = 0
    /// A validation message shown under the fields.
    public var message: String?

    public init(title: String, summary: [String] = [], fields: [FormField]) {
        self.title = title
        self.summary = summary
        self.fields = fields
    }

    /// The value of the field `id`: its text, or the selected option.
    public func value(of id: String) -> String? {
        fields.first { $0.id == id }?.value
    }

    /// The open list of the picker `id`, when it has one.
    public func list(of id: String) -> PickerList? {
        guard case .picker(.list(let list))? = fields.first(where: { $0.id == id })?.kind else { return nil }
        return list
    }

    /// The focused field's open list, if it is a list picker with entries.
    var focusedList: PickerList? {
        guard fields.indices.contains(focus), case .picker(.list(let list)) = fields[focus].kind, !list.entries.isEmpty else { return nil }
        return list
    }

    /// Replaces a picker's options (loading, loaded, failed).
    public mutating func setOptions(_ options: FormField.Options, for id: String) {
        for index in fields.indices where fields[index].id == id { fields[index].kind = .picker(options) }
    }

    public mutating func handle(_ key: Key) -> Outcome {
        switch key {
        case .escape: return .cancelled
        case .enter: return .submitted
        case _ where key != .tab && key != .backTab && focusedList != nil:
            _ = fields[focus].handle(key)
        case .tab, .down: focus = (focus + 1) % max(1, fields.count)
        case .backTab, .up: focus = (focus + max(1, fields.count) - 1) % max(1, fields.count)
        default: if fields.indices.contains(focus) { _ = fields[focus].handle(key) }
        }
        return .editing
    }

    /// Rows the box needs with no list open.
    private var closedHeight: Int { (summary.isEmpty ? 0 : summary.count + 1) + fields.count + 4 }

    public func render(into grid: inout CellGrid, rect: Rect, theme: Theme) {
        let top = summary.isEmpty ? 0 : summary.count + 1
        // An open list takes the rows the screen has spare: a few at 80x24, dozens at 200x50.
        let open = focusedList
        let listRows = open.map { min($0.wantedHeight, max(0, rect.height - closedHeight)) } ?? 0
        let listShown = listRows >= 3 ? listRows : 0
        let height = min(rect.height, closedHeight + listShown)
        let box = rect.centered(width: min(rect.width, 60), height: height)
        grid.box(box, style: theme.style("dialog"), title: title, titleStyle: theme.style("dialog.title"))
        let labelWidth = min(box.width / 3, fields.map { TerminalText.width($0.label) }.max() ?? 0)
        let inner = box.inset(dx: 2, dy: 1)
        for (index, line) in summary.prefix(max(0, inner.height - 1)).enumerated() {
            grid.write(line, in: inner.row(index), style: theme.style("dialog.summary"))
        }
        for (index, field) in fields.enumerated() {
            let below = listShown > 0 && index > focus ? listShown : 0
            guard top + index + below < inner.height - 1 else { break }
            let row = inner.row(top + index + below)
            grid.write(field.label, in: Rect(x: row.x, y: row.y, width: labelWidth, height: 1), style: theme.style("dialog"))
            let valueRect = Rect(x: row.x + labelWidth + 2, y: row.y, width: row.width - labelWidth - 2, height: 1)
            let style = theme.style(index == focus ? "form.field.focused" : "form.field")
            if case .text(let editor) = field.kind {
                let cursor = editor.render(into: &grid, rect: valueRect, style: style)
                if index == focus { grid.cursor = cursor }
            } else {
                grid.write(field.display, in: valueRect, style: style)
            }
            if index == focus, listShown > 0, let open {
                open.render(into: &grid, rect: Rect(x: valueRect.x, y: row.y + 1, width: valueRect.width, height: listShown), theme: theme)
            }
        }
        if let message, inner.height > 0 {
            grid.write(message, in: inner.row(inner.height - 1), style: theme.style("status.error"))
        }
    }
}

/// One field of a ``Form``.
public struct FormField: Sendable {
    /// A picker's options, which may still be loading.
    public enum Options: Sendable, Equatable {
        case loading
        case loaded([String], selected: Int)
        /// A long list under headings, opened while the field has focus.
        case list(PickerList)
        case failed(String)
    }

    public enum Kind: Sendable, Equatable {
        /// Free text.
        case text(LineEditor)
        /// One of a fixed list, cycled with Left/Right or space.
        case choice([String], selected: Int)
        /// One of a list that may be loaded in the background.
        case picker(Options)
    }

    public var id: String
    public var label: String
    public var kind: Kind

    public init(id: String, label: String, kind: Kind) {
        self.id = id
        self.label = label
        self.kind = kind
    }

    /// The text, or the selected option; nil while loading or after a failure.
    public var value: String? {
        switch kind {
        case .text(let editor): return editor.text
        case let .choice(options, selected), let .picker(.loaded(options, selected)):
            return options.indices.contains(selected) ? options[selected] : nil
        case .picker(.list(let list)): return list.selectedEntry?.value
        case .picker: return nil
        }
    }

    /// What the field shows when not being typed into.
    var display: String {
        switch kind {
        case .text(let editor): return editor.text
        case let .choice(options, selected):
            return "‹ \(options.indices.contains(selected) ? options[selected] : "") ›"
        case let .picker(.loaded(options, selected)):
            guard options.indices.contains(selected) else { return "(no options)" }
            return "‹ \(options[selected]) › \(selected + 1)/\(options.count)"
        case .picker(.list(let list)):
            guard let entry = list.selectedEntry else { return "(no options)" }
            return "‹ \(entry.value) › \(list.selected + 1)/\(list.entries.count)"
        case .picker(.loading): return "loading…"
        case .picker(.failed(let error)): return "failed: \(error)"
        }
    }

    /// False when the key is not the field's.
    mutating func handle(_ key: Key) -> Bool {
        switch kind {
        case .picker(.list(var list)):
            let used = list.handle(key)
            kind = .picker(.list(list))
            return used
        case .text(var editor):
            _ = editor.handle(key)
            kind = .text(editor)
        case let .choice(options, selected):
            kind = .choice(options, selected: Self.cycle(selected, count: options.count, key: key))
        case let .picker(.loaded(options, selected)):
            kind = .picker(.loaded(options, selected: Self.cycle(selected, count: options.count, key: key)))
        case .picker: break
        }
        return true
    }

    private static func cycle(_ selected: Int, count: Int, key: Key) -> Int {
        guard count > 0 else { return selected }
        switch key {
        case .right, .char(" "), .char("l"): return (selected + 1) % count
        case .left, .char("h"): return (selected + count - 1) % count
        case .home: return 0
        case .end: return count - 1
        default: return selected
        }
    }
}
