import SwitchboardCore
import TerminalUI

/// A screen whose body is one table under its column titles: the page it reads follows
/// the screen's height, and moves past the rows it holds ask the runner for more.
protocol TableScreen: ConsoleScreen {
    associatedtype Row: Sendable
    associatedtype RowID: Hashable
    var table: Table<Row, RowID> { get set }
    /// The read that fetches what the table asks for, in this screen's query.
    func pageWork(_ need: TableNeed<Row>, limit: Int) -> ConsoleWork
}

extension TableScreen {
    /// The list movements every table screen shares (nil for any other action): the
    /// selection moves at once, and a read for more rows starts when it nears the edge.
    mutating func move(for action: ConsoleAction) -> ScreenStep? {
        let motion: Table<Row, RowID>.Motion
        switch action {
        case .down: motion = .down
        case .up: motion = .up
        case .pageDown: motion = .pageDown
        case .pageUp: motion = .pageUp
        case .first: motion = .first
        case .last: motion = .last
        default: return nil
        }
        guard let need = table.move(motion) else { return ScreenStep.none }
        return .work(pageWork(need, limit: table.chunk))
    }

    /// Folds in a page read for the table: dropped when it was read for another query than
    /// the one on show (`current` false), said as an error when the read failed.
    mutating func extend(_ result: Result<TablePage<Row>, WriteFailure>, current: Bool, cannotRead: String) -> ScreenStep {
        guard current else {
            table.readFailed()
            return .none
        }
        switch result {
        case .success(let page):
            table.extend(page)
            return .none
        case .failure(let failure):
            table.readFailed()
            return .error("\(cannotRead): \(failure.text)")
        }
    }

    /// The table at the body's height; without rows, why: the failed read (as an error,
    /// after `cannotRead`), "reading…" before the first read is back, or `empty`.
    func renderTable(into grid: inout CellGrid, rect: Rect, theme: Theme, cells: (Row) -> [String], scope: (Row) -> String,
                     failure: String?, cannotRead: String, empty: String) {
        table.render(into: &grid, rect: rect, theme: theme, cells: cells, scope: scope)
        guard table.window.isEmpty else { return }
        let text = failure.map { "\(cannotRead): \($0)" } ?? (table.hasRows ? empty : "Reading…")
        grid.write(text, x: rect.x + 2, y: rect.y + 2, style: theme.style(failure == nil ? "table.row.dim" : "status.error"),
                   maxWidth: rect.width - 4)
    }
}

extension CommandPrompt {
    /// A key on a live filter line: the text to filter by now (after every edit, and on
    /// Enter) and whether the line stays open. Esc closes it and clears the filter
    /// (`text` nil, `open` false), as the footer's "esc clear" says.
    mutating func liveFilter(_ key: Key) -> (text: String?, open: Bool) {
        switch handle(key) {
        case .submitted(let text): (text, false)
        case .cancelled: (nil, false)
        default: (text, true)
        }
    }
}
