/// One group of the help overlay: a key map's title and its bindings.
public struct HelpSection: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var keys: String
        public var help: String
        public var disabledReason: String?

        public init(keys: String, help: String, disabledReason: String? = nil) {
            self.keys = keys
            self.help = help
            self.disabledReason = disabledReason
        }
    }

    public var title: String
    public var entries: [Entry]

    /// A section of words rather than keys (what the header's signs mean).
    public init(title: String, entries: [Entry]) {
        self.title = title
        self.entries = entries
    }

    /// The section for a live key map, so help never drifts from behaviour.
    public init<Action>(_ keyMap: KeyMap<Action>) {
        title = keyMap.title
        entries = keyMap.bindings.map { Entry(keys: $0.keyText, help: $0.help, disabledReason: $0.disabledReason) }
    }
}

/// The `?` overlay: every binding of the given key maps, grouped by context,
/// scrollable with j/k and arrows, closed with Esc or `?`.
public struct HelpOverlay: Sendable {
    public let sections: [HelpSection]
    /// Each section's rows as text, worked out once: every frame and key reads them for the
    /// box's width and its lines.
    private let texts: [[(keys: String, text: String, isDisabled: Bool)]]
    public private(set) var scroll = 0
    /// Lines the box shows at once (the body's height less its border): `G` and PgDn stop
    /// at the last line, not past it.
    public var viewportHeight: Int
    /// Columns the body has: a description longer than the box can be wraps onto more lines.
    public var viewportWidth: Int

    public init(sections: [HelpSection], viewportHeight: Int = 20, viewportWidth: Int = 80) {
        self.sections = sections
        texts = sections.map(Self.texts)
        self.viewportHeight = viewportHeight
        self.viewportWidth = viewportWidth
    }

    private var lastScroll: Int { max(0, lines(body: viewportWidth).count - max(1, viewportHeight - 2)) }

    /// Handles a key; returns false when the overlay should close.
    public mutating func handle(_ key: Key) -> Bool {
        switch key {
        case .escape, .char("?"), .char("q"): return false
        case .char("j"), .down: scroll = min(lastScroll, scroll + 1)
        case .char("k"), .up: scroll = max(0, scroll - 1)
        case .pageDown, .ctrl("f"): scroll = min(lastScroll, scroll + max(1, viewportHeight - 3))
        case .pageUp, .ctrl("b"): scroll = max(0, scroll - max(1, viewportHeight - 3))
        case .char("g"), .home: scroll = 0
        case .char("G"), .end: scroll = lastScroll
        default: break
        }
        return true
    }

    /// The overlay's lines: section titles, then `keys  help` rows, a description too long
    /// for the box wrapped under itself (at 80 columns a disabled key's reason was cut).
    func lines(body: Int) -> [(keys: String, text: String, isTitle: Bool, isDisabled: Bool)] {
        let textWidth = widths(body: body).text
        var lines: [(String, String, Bool, Bool)] = []
        for (section, texts) in zip(sections, texts) {
            if !lines.isEmpty { lines.append(("", "", false, false)) }
            lines.append(("", section.title, true, false))
            for text in texts {
                for (n, part) in TerminalText.wrap(text.text, width: textWidth).enumerated() {
                    lines.append((n == 0 ? text.keys : "", part, false, text.isDisabled))
                }
            }
        }
        return lines
    }

    /// A section's entries as text: a disabled key says why after its description; keys
    /// disabled for the same reason one after another say it once, on a line after them
    /// (a viewer's four review keys repeated one long reason four times).
    private static func texts(_ section: HelpSection) -> [(keys: String, text: String, isDisabled: Bool)] {
        let entries = section.entries
        var texts: [(String, String, Bool)] = []
        for (index, entry) in entries.enumerated() {
            guard let reason = entry.disabledReason else {
                texts.append((entry.keys, entry.help, false))
                continue
            }
            let sharedBefore = index > 0 && entries[index - 1].disabledReason == reason
            let sharedAfter = index + 1 < entries.count && entries[index + 1].disabledReason == reason
            texts.append((entry.keys, sharedBefore || sharedAfter ? entry.help : "\(entry.help) (\(reason))", true))
            if sharedBefore && !sharedAfter { texts.append(("", "↳ \(reason)", true)) }
        }
        return texts
    }

    /// The box as wide as the longest description needs, never wider than the body; the
    /// key column and what is left for the descriptions.
    private func widths(body: Int) -> (box: Int, keys: Int, text: Int) {
        let entries = sections.flatMap(\.entries)
        let keys = min(16, entries.map { TerminalText.width($0.keys) }.max() ?? 0)
        let longest = max(sections.map { TerminalText.width($0.title) }.max() ?? 0,
                          texts.joined().map { TerminalText.width($0.text) }.max() ?? 0)
        let box = min(body, max(TerminalText.width(Self.title) + 6, keys + 2 + longest + 6))
        return (box, keys, max(10, box - 4 - keys - 2))
    }

    static let title = "Keys — j/k scroll, G end, Esc or ? to close"

    public func render(into grid: inout CellGrid, rect: Rect, theme: Theme) {
        let all = lines(body: rect.width)
        let (width, keyWidth, _) = widths(body: rect.width)
        let box = rect.inset(dx: max(0, (rect.width - width) / 2), dy: 1)
        grid.box(box, style: theme.style("help"), title: Self.title, titleStyle: theme.style("help.key"))
        let inner = box.inset(dx: 2, dy: 1)
        let first = min(scroll, max(0, all.count - inner.height))
        for (line, entry) in all.dropFirst(first).prefix(inner.height).enumerated() {
            let row = inner.row(line)
            if entry.isTitle {
                grid.write(entry.text, in: row, style: theme.style("help.key").adding(.underline))
                continue
            }
            let style = theme.style(entry.isDisabled ? "footer.disabled" : "help")
            grid.write(entry.keys, in: Rect(x: row.x, y: row.y, width: keyWidth, height: 1),
                       style: entry.isDisabled ? style : theme.style("help.key"))
            grid.write(entry.text, in: Rect(x: row.x + keyWidth + 2, y: row.y, width: row.width - keyWidth - 2, height: 1),
                       style: style)
        }
    }
}
