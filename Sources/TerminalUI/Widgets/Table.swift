import Foundation

/// A scrolling table over rows it was given. It keeps a window of rows around the
/// viewport, follows the selected row by identity when a new window replaces the old one,
/// and marks rows by ID. It never reads: when a move needs rows it does not hold, it says
/// which (``TableNeed``), the program reads them in the background, and hands them back with
/// ``apply(_:)`` or ``extend(_:)``. Until then the selection stops at the edge it has.
///
///     var table = Table<Item, Int>(columns: [TableColumn("Name", minWidth: 10, flex: 1)], id: \.id)
///     table.viewportHeight = 20                        // from Program.resize(to:)
///     table.apply(try source.window(around: nil, chunk: table.chunk))   // in the background
///     if let need = table.move(.down) { /* read the page it names, then table.extend(page) */ }
///     table.render(into: &grid, rect: area, theme: theme) { [$0.name] }
public struct Table<Row, ID: Hashable> {
    /// A selection movement.
    public enum Motion: Sendable {
        case up, down, pageUp, pageDown, first, last
    }

    public var columns: [TableColumn]
    public let id: (Row) -> ID
    /// The column sorted on and its direction, shown with ▲ or ▼.
    public var sort: (column: Int, ascending: Bool)?
    /// Marked rows (multi-selection), by ID.
    public var marked: Set<ID> = []
    /// Whether the header's right end shows `positionText`; off when the program shows
    /// it elsewhere (on a narrow screen it covers the last column's title).
    public var showsPosition = true
    /// Rows visible at once; set it from the layout (the selection stays in view).
    public var viewportHeight = 20 {
        didSet { scrollIntoView() }
    }

    /// The rows held now, in display order: a window, not the data set.
    public private(set) var window: [Row] = []
    /// The index in ``window`` of the first visible row.
    public private(set) var top = 0
    public private(set) var selectedID: ID?
    /// A read for rows beyond the window is under way: moves do not ask again.
    public private(set) var isWaiting = false
    /// Whether any window has been applied yet (before that the table is "loading", not empty).
    public private(set) var hasRows = false
    private var selectedIndex = 0
    private var reachesStart = true
    private var reachesEnd = true
    /// The 1-based position of `window[0]`, when the reader could tell.
    private var firstPosition: Int?
    public private(set) var total: Int?

    /// Rows drawn lately, by what they show (a cache: copies of the table share it; a test
    /// gives a copy its own to draw every row afresh).
    var drawnLines = DrawnLines()

    public init(columns: [TableColumn], id: @escaping (Row) -> ID) {
        self.columns = columns
        self.id = id
    }

    private var pageSize: Int { max(1, viewportHeight) }
    /// How many rows a background read should fetch on each side of the selection.
    public var chunk: Int { pageSize * 2 }
    private var maxWindow: Int { pageSize * 6 }

    /// The selected row, if any.
    public var selectedRow: Row? { window.isEmpty ? nil : window[selectedIndex] }

    /// The row a fresh window should be read around: the selected one.
    public var anchor: Row? { selectedRow }

    /// Whether the very first row of the list is selected (or the list is empty): a list
    /// whose newest rows come first follows them from here, as `tail -f` would.
    public var isOnFirstRow: Bool { window.isEmpty || (reachesStart && selectedIndex == 0) }

    /// `position/total` (e.g. `37/1204`) when both are known from one read; `total` alone otherwise.
    public var positionText: String? {
        guard let total else { return nil }
        guard let first = firstPosition, !window.isEmpty else { return "\(total)" }
        return "\(min(first + selectedIndex, max(total, 1)))/\(total)"
    }

    /// Takes a freshly read window. The selection stays on the same row (by ID) at the
    /// same screen line; if that row is gone, the row that took its place is selected.
    public mutating func apply(_ w: TableWindow<Row>) {
        let line = selectedIndex - top
        hasRows = true
        isWaiting = false
        window = w.rows
        reachesStart = w.reachesStart
        reachesEnd = w.reachesEnd
        // A read that did not count (a page at either end) keeps the last count; the end
        // of the list still says where its rows stand.
        total = w.total ?? total
        firstPosition = w.firstPosition ?? (w.reachesEnd && w.total == nil ? total.map { $0 - w.rows.count + 1 } : nil)
        let keep = selectedID
        let index = window.firstIndex { id($0) == keep } ?? w.anchorIndex
        top = max(0, index - line)
        select(index)
    }

    /// Whether a window read around the row `anchorID` came back after the selection left
    /// that row for one the window does not hold (`G` while the read was under way):
    /// applying it would take the selection back. The caller reads again around the
    /// selection instead. A read from the top (no anchor) follows the top and is never outrun.
    public func isOutrun(by w: TableWindow<Row>, readAround anchorID: ID?) -> Bool {
        guard let anchorID, let selectedID, selectedID != anchorID else { return false }
        return !w.rows.contains { id($0) == selectedID }
    }

    /// Selects the row with `rowID` in a freshly read window (a row to jump to), a third
    /// of the way down the viewport.
    public mutating func reveal(_ w: TableWindow<Row>, select rowID: ID) {
        apply(w)
        guard let index = window.firstIndex(where: { id($0) == rowID }) else { return }
        top = max(0, index - pageSize / 3)
        select(index)
    }

    /// Moves the selection within the rows held; returns the read that would let it go
    /// further, if one is needed and none is under way.
    public mutating func move(_ motion: Motion) -> TableNeed<Row>? {
        guard !window.isEmpty else { return nil }
        switch motion {
        case .up: select(selectedIndex - 1)
        case .down: select(selectedIndex + 1)
        case .pageUp: select(selectedIndex - pageSize)
        case .pageDown: select(selectedIndex + pageSize)
        case .first:
            if reachesStart { select(0) } else { return ask(.first) }
        case .last:
            if reachesEnd { select(window.count - 1) } else { return ask(.last) }
        }
        if selectedIndex >= window.count - pageSize, !reachesEnd, let last = window.last { return ask(.after(last)) }
        if selectedIndex < pageSize, !reachesStart, let first = window.first { return ask(.before(first)) }
        return nil
    }

    private mutating func ask(_ need: TableNeed<Row>) -> TableNeed<Row>? {
        guard !isWaiting else { return nil }
        isWaiting = true
        return need
    }

    /// Takes the page read for a ``TableNeed``. A page for a window that has since been
    /// replaced (its edge row is no longer the edge) is dropped.
    public mutating func extend(_ page: TablePage<Row>) {
        isWaiting = false
        switch page.need {
        case .first, .last:
            guard var w = page.window else { return }
            if case .last = page.need { w.anchorIndex = max(0, w.rows.count - 1) } else { w.anchorIndex = 0 }
            selectedID = nil
            apply(w)
            if case .last = page.need { top = max(0, window.count - pageSize) }
        case .after(let edge):
            guard let last = window.last, id(last) == id(edge) else { return }
            window += page.rows
            reachesEnd = page.rows.count < page.limit
        case .before(let edge):
            guard let first = window.first, id(first) == id(edge) else { return }
            window.insert(contentsOf: page.rows, at: 0)
            reachesStart = page.rows.count < page.limit
            top += page.rows.count
            selectedIndex += page.rows.count
            firstPosition = firstPosition.map { $0 - page.rows.count }
        }
        trim()
    }

    /// Lets go of the selected row's identity: the next window selects the row that took
    /// its place (after an approval, the next undecided booking, not the approved one in
    /// the decided part of the list).
    public mutating func forgetSelection() { selectedID = nil }

    /// A read for rows beyond the window failed: moves may ask again.
    public mutating func readFailed() { isWaiting = false }

    /// Marks or unmarks the selected row.
    public mutating func toggleMark() {
        guard let selectedID else { return }
        if marked.remove(selectedID) == nil { marked.insert(selectedID) }
    }

    /// The IDs of the rows held in the window (what the view shows around the selection).
    public var windowIDs: [ID] { window.map(id) }

    /// Marks every row held, or, when they all are, unmarks them.
    public mutating func toggleAll() {
        let ids = Set(windowIDs)
        if ids.isSubset(of: marked) { marked.subtract(ids) } else { marked.formUnion(ids) }
    }

    /// Selects window index `index` (clamped) and scrolls it into view.
    private mutating func select(_ index: Int) {
        guard !window.isEmpty else {
            selectedID = nil
            selectedIndex = 0
            top = 0
            return
        }
        selectedIndex = min(max(index, 0), window.count - 1)
        selectedID = id(window[selectedIndex])
        scrollIntoView()
    }

    private mutating func scrollIntoView() {
        guard !window.isEmpty else { return }
        if selectedIndex < top { top = selectedIndex }
        if selectedIndex >= top + pageSize { top = selectedIndex - pageSize + 1 }
        if reachesEnd { top = max(0, min(top, window.count - pageSize)) }
    }

    /// Drops rows far from the viewport so the window stays bounded.
    private mutating func trim() {
        let excess = window.count - maxWindow
        guard excess > 0 else { return }
        let head = min(excess, max(0, top - chunk))
        if head > 0 {
            window.removeFirst(head)
            reachesStart = false
            top -= head
            selectedIndex -= head
            firstPosition = firstPosition.map { $0 + head }
        }
        let tail = window.count - maxWindow
        if tail > 0 {
            window.removeLast(tail)
            reachesEnd = false
        }
    }

    /// Each column's width in a table `width` columns wide (the mark gutter taken off;
    /// 0: the column does not fit), so a screen can write a cell for the room it gets.
    public func columnWidths(in width: Int) -> [Int] { TableColumn.widths(of: columns, in: width - 1) }

    /// Draws the header (with the sort mark and position) and the visible rows.
    /// - Parameters:
    ///   - cells: a row's texts, one per column (sanitized when drawn); computed at draw
    ///     time, so cells that depend on the clock move with it.
    ///   - scope: the theme scope of an unselected, unmarked row.
    public func render(into grid: inout CellGrid, rect: Rect, theme: Theme, cells: (Row) -> [String],
                       scope: (Row) -> String = { _ in "table.row" }) {
        guard rect.height > 0, rect.width > 2 else { return }
        let widths = columnWidths(in: rect.width)
        let (headerRect, body) = rect.splitTop(1)
        grid.fill(headerRect, style: theme.style("table.header"))
        var titles = columns.map(\.title)
        if let sort, titles.indices.contains(sort.column) { titles[sort.column] += sort.ascending ? " ▲" : " ▼" }
        draw(titles, widths: widths, in: headerRect, style: theme.style("table.header"), gutter: " ", grid: &grid)
        if showsPosition, let positionText {
            let width = TerminalText.width(positionText)
            grid.write(positionText, x: rect.x + rect.width - width, y: rect.y, style: theme.style("table.header"))
        }
        // The viewport the layout gives now, whatever height the state was last told.
        let lines = body.height
        let start = selectedIndex >= top + lines ? selectedIndex - lines + 1 : top
        for line in 0..<lines {
            let index = start + line
            guard index < window.count else { break }
            let row = window[index]
            let isMarked = marked.contains(id(row))
            let rowScope = index == selectedIndex ? "table.row.selected" : isMarked ? "table.row.marked" : scope(row)
            let style = theme.style(rowScope)
            let key = DrawnLine(texts: cells(row), style: style, gutter: isMarked ? "*" : " ", widths: widths,
                                alignments: columns.map(\.alignment), width: body.width, room: grid.width - body.x)
            grid.paste(drawnLines.line(for: key) { drawLine(key) }, x: body.x, y: body.y + line)
        }
    }

    /// One row as `render` used to draw it in place (filled, then its cells), drawn on a
    /// grid of its own so the cells can be kept: under load most rows come back unchanged
    /// frame after frame, and measuring their text again was most of a frame.
    private func drawLine(_ key: DrawnLine) -> ArraySlice<Cell> {
        var scratch = CellGrid(width: max(0, key.room), height: 1)
        let rect = Rect(x: 0, y: 0, width: key.width, height: 1)
        scratch.fill(rect, style: key.style)
        draw(key.texts, widths: key.widths, in: rect, style: key.style, gutter: key.gutter, grid: &scratch)
        // The cells `render` touched: the row's width, or as far as its columns went.
        let drawn = key.widths.filter { $0 > 0 }.reduce(1) { $0 + $1 + 1 } - 1
        return scratch.cells.prefix(min(scratch.width, max(key.width, drawn)))
    }

    private func draw(_ texts: [String], widths: [Int], in rect: Rect, style: Style, gutter: String, grid: inout CellGrid) {
        grid.write(gutter, x: rect.x, y: rect.y, style: style)
        var x = rect.x + 1
        for (index, width) in widths.enumerated() where width > 0 {
            let text = index < texts.count ? texts[index] : ""
            grid.write(text, in: Rect(x: x, y: rect.y, width: width, height: 1), style: style,
                       alignment: columns[index].alignment)
            x += width + 1
        }
    }
}

/// Rows the table needs read: after or before a row it holds, or either end.
public enum TableNeed<Row> {
    case after(Row)
    case before(Row)
    case first
    case last
}

/// A page read for a ``Need``.
public struct TablePage<Row> {
    public var need: TableNeed<Row>
    public var rows: [Row]
    /// How many rows were asked for: fewer means the list ends there.
    public var limit: Int
    public var window: TableWindow<Row>?

    /// Rows after or before a row: `rows` in display order.
    public init(need: TableNeed<Row>, rows: [Row], limit: Int) {
        self.need = need
        self.rows = rows
        self.limit = limit
        window = nil
    }

    /// Either end of the list: a whole window.
    public init(need: TableNeed<Row>, window: TableWindow<Row>) {
        self.need = need
        rows = window.rows
        limit = window.rows.count
        self.window = window
    }
}

extension TableNeed: Sendable where Row: Sendable {}
extension TablePage: Sendable where Row: Sendable {}

extension PagedSource {
    /// Reads what a table asked for with `need`, `limit` rows at most (the table's chunk).
    public func page(for need: TableNeed<Row>, limit: Int) throws -> TablePage<Row> {
        switch need {
        case .after(let row): TablePage(need: need, rows: try rows(after: row, limit: limit), limit: limit)
        case .before(let row): TablePage(need: need, rows: try rows(before: row, limit: limit), limit: limit)
        case .first: TablePage(need: need, window: try window(fromEnd: false, chunk: limit))
        case .last: TablePage(need: need, window: try window(fromEnd: true, chunk: limit))
        }
    }
}

/// What a drawn table row depends on: equal keys draw equal cells.
struct DrawnLine: Hashable {
    var texts: [String]
    var style: Style
    var gutter: String
    var widths: [Int]
    var alignments: [Alignment]
    var width: Int
    /// Columns from the row's start to the grid's edge.
    var room: Int
}

/// The cells of rows drawn lately: emptied when it holds 256 rows (a few screens' worth, at
/// most ~1.6 MB at 200 columns), so rows that scrolled away or changed do not pile up.
final class DrawnLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [DrawnLine: ArraySlice<Cell>] = [:]

    func line(for key: DrawnLine, draw: () -> ArraySlice<Cell>) -> ArraySlice<Cell> {
        if let known = lock.withLock({ lines[key] }) { return known }
        let line = draw()
        lock.withLock {
            if lines.count >= 256 { lines.removeAll(keepingCapacity: true) }
            lines[key] = line
        }
        return line
    }
}
