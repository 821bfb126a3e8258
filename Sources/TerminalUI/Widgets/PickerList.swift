/// A long list to pick one entry from, its entries under headings (days, for free slots).
/// j/k or the arrows move one, PgDn/PgUp or ]/[ a heading at a time, Home/End to the ends;
/// typing jumps: text that starts an entry's label ("14" → the first 14:xx from the
/// selection on) or a heading ("tue" → the first entry under "Tue 01"). A list of 61 slots
/// is a few keys away, not 61 presses of Right.
public struct PickerList: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        /// The heading the entry sits under; nil for entries above every heading.
        public var heading: String?
        public var label: String

        public init(heading: String?, label: String) {
            self.heading = heading
            self.label = label
        }

        /// Heading and label together: what the field shows while the list is closed.
        public var value: String { heading.map { "\($0) \(label)" } ?? label }
    }

    public var entries: [Entry]
    public private(set) var selected: Int
    /// What has been typed to jump since the last move, and whether it found nothing.
    public private(set) var typed = ""
    public private(set) var typedFoundNothing = false

    public init(entries: [Entry], selected: Int = 0) {
        self.entries = entries
        self.selected = entries.isEmpty ? 0 : max(0, min(selected, entries.count - 1))
    }

    public var selectedEntry: Entry? { entries.indices.contains(selected) ? entries[selected] : nil }

    public mutating func select(_ index: Int) {
        guard !entries.isEmpty else { return }
        selected = max(0, min(index, entries.count - 1))
        typed = ""
        typedFoundNothing = false
    }

    /// Moves or jumps for `key`; false when the key is not the list's (the form's, then).
    public mutating func handle(_ key: Key) -> Bool {
        guard !entries.isEmpty else { return false }
        switch key {
        case .down, .right, .char("j"), .char(" "): select(selected + 1)
        case .up, .left, .char("k"): select(selected - 1)
        case .pageDown, .char("]"): select(nextHeadingStart(after: selected) ?? entries.count - 1)
        case .pageUp, .char("["): select(previousHeadingStart(before: selected))
        case .home: select(0)
        case .end: select(entries.count - 1)
        case .backspace:
            guard !typed.isEmpty else { return true }
            typed.removeLast()
            typedFoundNothing = false
        case .char(let c) where c.isLetter || c.isNumber || c == ":":
            jump(typing: c)
        default: return false
        }
        return true
    }

    /// The typed text so far plus `c`, searched from the selection on (it may still be
    /// the one meant); if that finds nothing, `c` alone from the next entry on.
    private mutating func jump(typing c: Character) {
        let longer = typed + String(c).lowercased()
        if let found = firstMatch(longer, from: selected) {
            selected = found
            typed = longer
            typedFoundNothing = false
        } else if let found = firstMatch(String(c).lowercased(), from: selected + 1) {
            selected = found
            typed = String(c).lowercased()
            typedFoundNothing = false
        } else {
            typed = longer
            typedFoundNothing = true
        }
    }

    /// The first entry, from `start` on and round to the beginning, whose label starts
    /// with `text`, or the first under a heading that starts with it.
    private func firstMatch(_ text: String, from start: Int) -> Int? {
        let count = entries.count
        for step in 0 ..< count {
            let index = ((start % count) + step) % count
            let entry = entries[index]
            if entry.label.lowercased().hasPrefix(text) { return index }
            if let heading = entry.heading, heading.lowercased().hasPrefix(text),
               index == 0 || entries[index - 1].heading != heading { return index }
        }
        return nil
    }

    private func nextHeadingStart(after index: Int) -> Int? {
        let heading = entries[index].heading
        return entries.indices.first { $0 > index && entries[$0].heading != heading }
    }

    /// The start of the selection's heading, or of the one before when already there.
    private func previousHeadingStart(before index: Int) -> Int {
        let start = headingStart(of: index)
        return start < index ? start : (start > 0 ? headingStart(of: start - 1) : 0)
    }

    private func headingStart(of index: Int) -> Int {
        var start = index
        while start > 0 && entries[start - 1].heading == entries[index].heading { start -= 1 }
        return start
    }

    /// One line of the open list: a heading, or an entry (by index).
    enum Line: Equatable {
        case heading(String)
        case entry(Int)
    }

    var lines: [Line] {
        var lines: [Line] = []
        var heading: String?
        for (index, entry) in entries.enumerated() {
            if let h = entry.heading, h != heading { lines.append(.heading(h)) }
            heading = entry.heading
            lines.append(.entry(index))
        }
        return lines
    }

    /// Rows the open list would like: every line and the hint above them.
    var wantedHeight: Int { lines.count + 1 }

    /// The open list: a hint (or what was typed), then the lines around the selection,
    /// scrolled so the selection sits a third of the way down; the top row always names
    /// the heading of the rows under it.
    public func render(into grid: inout CellGrid, rect: Rect, theme: Theme) {
        guard rect.height > 0, rect.width > 0 else { return }
        let hint = typed.isEmpty ? "]/[ day  type 14 or tue to jump"
            : typedFoundNothing ? "jump: \(typed) (nothing)" : "jump: \(typed)"
        grid.write(hint, in: rect.row(0), style: theme.style(typedFoundNothing ? "status.error" : "dialog.summary"))
        let lines = self.lines
        let height = rect.height - 1
        guard height > 0 else { return }
        let at = lines.firstIndex(of: .entry(selected)) ?? 0
        let top = max(0, min(at - height / 3, lines.count - height))
        var shown = Array(lines[top ..< min(lines.count, top + height)])
        // A heading scrolled off above sticks to the top row, so every slot shown has its day.
        if at - top > 0, case .entry(let first)? = shown.first, let heading = entries[first].heading {
            shown[0] = .heading(heading)
        }
        for (row, line) in shown.enumerated() {
            let place = rect.row(row + 1)
            switch line {
            case .heading(let heading):
                grid.write(heading, in: place, style: theme.style("dialog.title"))
            case .entry(let index):
                let chosen = index == selected
                let indent = entries[index].heading == nil ? 0 : 2
                let text = (chosen ? "› " : "  ") + entries[index].label
                grid.write(text, in: Rect(x: place.x + indent, y: place.y, width: place.width - indent, height: 1),
                           style: theme.style(chosen ? "dialog.button.focused" : "dialog"))
            }
        }
        if top + height < lines.count {
            let last = rect.row(rect.height - 1)
            let more = "↓ \(lines.count - top - height) more"
            grid.write(more, in: Rect(x: last.x + max(0, last.width - more.count), y: last.y, width: min(more.count, last.width), height: 1),
                       style: theme.style("dialog.summary"))
        }
    }
}
