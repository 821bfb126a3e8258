/// Label/value pairs and free text, wrapped by display width and scrollable.
///
///     var pane = DetailPane(items: [.field("Name", name), .blank, .text(notes)])
///     pane.render(into: &grid, rect: area, theme: theme)
public struct DetailPane: Sendable {
    public enum Item: Sendable, Equatable {
        case field(String, String)
        case heading(String)
        case text(String)
        case blank
    }

    public var items: [Item]
    /// The first line shown.
    public private(set) var scroll = 0
    /// Rows visible at once; set it from the layout.
    public var viewportHeight = 10

    public init(items: [Item]) { self.items = items }

    /// New content for the same pane (a fresh read), keeping where the reader scrolled to.
    public mutating func replaceItems(with items: [Item]) { self.items = items }

    public mutating func replaceItems(with pane: DetailPane) { items = pane.items }

    /// j/k, arrows, PgUp/PgDn, g/G scroll; returns whether the key was one of them.
    public mutating func handle(_ key: Key) -> Bool {
        switch key {
        case .char("j"), .down: scroll += 1
        case .char("k"), .up: scroll -= 1
        case .pageDown: scroll += max(1, viewportHeight - 1)
        case .pageUp: scroll -= max(1, viewportHeight - 1)
        case .char("g"), .home: scroll = 0
        case .char("G"), .end: scroll = Int.max / 2
        default: return false
        }
        scroll = max(0, scroll)
        return true
    }

    /// The wrapped lines for `width` columns, each with the scope it is drawn in.
    public func lines(width: Int) -> [(text: String, scope: String, label: String?)] {
        let labelWidth = min(width / 3, items.compactMap { item -> Int? in
            if case let .field(label, _) = item { return TerminalText.width(label) }
            return nil
        }.max() ?? 0)
        var lines: [(String, String, String?)] = []
        for item in items {
            switch item {
            case let .field(label, value):
                let wrapped = TerminalText.wrap(value, width: max(1, width - labelWidth - 2))
                for (index, line) in wrapped.enumerated() {
                    lines.append((line, "detail.value", index == 0 ? TerminalText.pad(label, to: labelWidth) : String(repeating: " ", count: labelWidth)))
                }
            case .heading(let text): lines.append((text, "detail.label", nil))
            case .text(let text): lines += TerminalText.wrap(text, width: width).map { ($0, "detail.value", nil) }
            case .blank: lines.append(("", "detail.value", nil))
            }
        }
        return lines
    }

    public func render(into grid: inout CellGrid, rect whole: Rect, theme: Theme) {
        // A column's margin each side, as the tables' rows and the Go-live page have.
        let rect = whole.width > 2 ? whole.inset(dx: 1) : whole
        let all = lines(width: rect.width)
        let first = min(scroll, max(0, all.count - rect.height))
        for (index, line) in all.dropFirst(first).prefix(rect.height).enumerated() {
            let row = rect.row(index)
            var x = row.x
            if let label = line.label {
                x += grid.write(label, x: x, y: row.y, style: theme.style("detail.label")) + 2
            }
            grid.write(line.text, in: Rect(x: x, y: row.y, width: row.x + row.width - x, height: 1), style: theme.style(line.scope))
        }
    }
}
