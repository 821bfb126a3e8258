import TerminalUI

/// A screen whose body is one table under its column titles: the page it reads follows
/// the screen's height.
protocol TableScreen: ConsoleScreen {
    associatedtype Rows: PagedSource & StoreBackedSource
    var table: Table<Rows> { get set }
}

extension TableScreen {
    mutating func resize(bodyHeight: Int) {
        table.viewportHeight = max(1, bodyHeight - 1)
    }

    /// The list movements every table screen shares; false for any other action.
    mutating func move(for action: ConsoleAction) -> Bool {
        switch action {
        case .down: table.move(.down)
        case .up: table.move(.up)
        case .pageDown: table.move(.pageDown)
        case .pageUp: table.move(.pageUp)
        case .first: table.move(.first)
        case .last: table.move(.last)
        default: return false
        }
        return true
    }

    /// The table at the body's height; without rows, why: the failed read (as an error,
    /// after `cannotRead`), or `empty`.
    func renderTable(into grid: inout CellGrid, rect: Rect, theme: Theme, cannotRead: String, empty: String) {
        var table = table
        table.viewportHeight = max(1, rect.height - 1)
        table.render(into: &grid, rect: rect, theme: theme)
        guard table.window.isEmpty else { return }
        let failure = table.source.failure
        grid.write(failure.map { "\(cannotRead): \($0)" } ?? empty, x: rect.x + 2, y: rect.y + 2,
                   style: theme.style(failure == nil ? "table.row.dim" : "status.error"), maxWidth: rect.width - 4)
    }
}

extension CommandPrompt {
    /// A key on a live filter line: the text to filter by now (after every edit, and on
    /// Enter) and whether the line stays open. Esc closes it and keeps what was typed.
    mutating func liveFilter(_ key: Key) -> (text: String?, open: Bool) {
        switch handle(key) {
        case .submitted(let text): (text, false)
        case .cancelled: (nil, false)
        default: (text, true)
        }
    }
}
