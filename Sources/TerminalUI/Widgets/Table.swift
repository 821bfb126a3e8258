/// A scrolling table over a ``PagedSource``. It keeps only a window of rows around the
/// viewport, follows the selected row by identity when rows come and go, and marks rows
/// by ID.
///
///     var table = Table(source: source, columns: [TableColumn("Name", minWidth: 10, flex: 1)]) { [$0.name] }
///     table.viewportHeight = 20      // from Program.resize(to:)
///     table.reload()                 // after the data changed
///     table.move(.down)
///     table.render(into: &grid, rect: area, theme: theme)
public struct Table<Source: PagedSource> {
    /// A selection movement.
    public enum Motion: Sendable {
        case up, down, pageUp, pageDown, first, last
    }

    public var columns: [TableColumn]
    public let source: Source
    /// The cell texts of a row, one per column (sanitized when drawn).
    public var cells: (Source.Row) -> [String]
    /// The theme scope of an unselected, unmarked row (default `table.row`).
    public var rowScope: (Source.Row) -> String = { _ in "table.row" }
    /// The column sorted on and its direction, shown with ▲ or ▼.
    public var sort: (column: Int, ascending: Bool)?
    /// Marked rows (multi-selection), by ID.
    public var marked: Set<Source.ID> = []
    /// Whether the header's right end shows `positionText`; off when the program shows
    /// it elsewhere (on a narrow screen it covers the last column's title).
    public var showsPosition = true
    /// Rows visible at once; set it from the layout (the selection stays in view).
    public var viewportHeight = 20 {
        didSet { if !window.isEmpty { select(selectedIndex) } }
    }

    /// The rows held now, in display order: a window, not the data set.
    public private(set) var window: [Source.Row] = []
    /// The index in ``window`` of the first visible row.
    public private(set) var top = 0
    public private(set) var selectedID: Source.ID?
    private var selectedIndex = 0
    private var windowAtStart = true
    private var windowAtEnd = true
    private var total: Int?
    private var position: Int?

    public init(source: Source, columns: [TableColumn], cells: @escaping (Source.Row) -> [String]) {
        self.source = source
        self.columns = columns
        self.cells = cells
    }

    private var pageSize: Int { max(1, viewportHeight) }
    private var chunk: Int { pageSize * 2 }
    private var maxWindow: Int { pageSize * 6 }

    /// The selected row, if any.
    public var selectedRow: Source.Row? { window.isEmpty ? nil : window[selectedIndex] }

    /// Whether the very first row of the list is selected (or the list is empty): a list
    /// whose newest rows come first follows them from here, as `tail -f` would.
    public var isOnFirstRow: Bool { window.isEmpty || (windowAtStart && selectedIndex == 0) }

    /// `position/total` (e.g. `37/1204`) when the source can tell; `total` alone otherwise.
    public var positionText: String? {
        guard let total else { return nil }
        return position.map { "\($0)/\(total)" } ?? "\(total)"
    }

    /// Re-reads rows around the selected row after the data changed. The selection stays
    /// on the same row (by ID) at the same screen line; if that row is gone, the row that
    /// took its place is selected.
    public mutating func reload() {
        total = source.count()
        guard let anchor = selectedRow else { return load(fromEnd: false) }
        let line = selectedIndex - top
        let above = source.rows(before: anchor, limit: chunk)
        let below = above.isEmpty ? source.rows(after: nil, limit: chunk + 1) : source.rows(after: above.last, limit: chunk + 1)
        window = above + below
        windowAtStart = above.count < chunk
        windowAtEnd = below.count < chunk + 1
        let id = selectedID
        let index = window.firstIndex { source.id(of: $0) == id } ?? above.count
        top = max(0, index - line)
        select(index)
    }

    /// Moves the selection, fetching pages as needed.
    public mutating func move(_ motion: Motion) {
        if window.isEmpty { return load(fromEnd: false) }
        switch motion {
        case .up: moveBy(-1)
        case .down: moveBy(1)
        case .pageUp: moveBy(-pageSize)
        case .pageDown: moveBy(pageSize)
        case .first: load(fromEnd: false)
        case .last: load(fromEnd: true)
        }
    }

    /// Selects `row` (as the source has it now) with the rows around it, wherever it is
    /// in the list: to follow a row whose sort key changed, or to jump to one.
    public mutating func reveal(_ row: Source.Row) {
        total = source.count()
        let above = source.rows(before: row, limit: chunk)
        let below = source.rows(after: row, limit: chunk)
        window = above + [row] + below
        windowAtStart = above.count < chunk
        windowAtEnd = below.count < chunk
        top = max(0, above.count - pageSize / 3)
        select(above.count)
    }

    /// Marks or unmarks the selected row.
    public mutating func toggleMark() {
        guard let id = selectedID else { return }
        if marked.remove(id) == nil { marked.insert(id) }
    }

    /// The usual keys: j/k and arrows, g/G and Home/End, PgUp/PgDn, space to mark.
    /// Returns whether the key was one of them.
    public mutating func handle(_ key: Key) -> Bool {
        switch key {
        case .char("j"), .down: move(.down)
        case .char("k"), .up: move(.up)
        case .char("g"), .home: move(.first)
        case .char("G"), .end: move(.last)
        case .pageDown: move(.pageDown)
        case .pageUp: move(.pageUp)
        case .char(" "): toggleMark()
        default: return false
        }
        return true
    }

    private mutating func load(fromEnd: Bool) {
        if total == nil { total = source.count() }
        window = fromEnd ? source.rows(before: nil, limit: chunk) : source.rows(after: nil, limit: chunk)
        windowAtStart = !fromEnd || window.count < chunk
        windowAtEnd = fromEnd || window.count < chunk
        top = fromEnd ? max(0, window.count - pageSize) : 0
        select(fromEnd ? window.count - 1 : 0)
    }

    private mutating func moveBy(_ delta: Int) {
        var target = selectedIndex + delta
        if target >= window.count - pageSize && !windowAtEnd {
            let more = source.rows(after: window.last, limit: chunk)
            window += more
            windowAtEnd = more.count < chunk
        }
        if target < pageSize && !windowAtStart {
            let more = source.rows(before: window.first, limit: chunk)
            window.insert(contentsOf: more, at: 0)
            windowAtStart = more.count < chunk
            target += more.count
            top += more.count
            selectedIndex += more.count
        }
        select(target)
        trim()
    }

    /// Selects window index `index` (clamped) and scrolls it into view.
    private mutating func select(_ index: Int) {
        guard !window.isEmpty else {
            selectedID = nil
            selectedIndex = 0
            top = 0
            position = nil
            return
        }
        selectedIndex = min(max(index, 0), window.count - 1)
        selectedID = source.id(of: window[selectedIndex])
        if selectedIndex < top { top = selectedIndex }
        if selectedIndex >= top + pageSize { top = selectedIndex - pageSize + 1 }
        if windowAtEnd { top = max(0, min(top, window.count - pageSize)) }
        position = source.position(of: window[selectedIndex])
    }

    /// Drops rows far from the viewport so the window stays bounded.
    private mutating func trim() {
        let excess = window.count - maxWindow
        guard excess > 0 else { return }
        let head = min(excess, max(0, top - chunk))
        if head > 0 {
            window.removeFirst(head)
            windowAtStart = false
            top -= head
            selectedIndex -= head
        }
        let tail = window.count - maxWindow
        if tail > 0 {
            window.removeLast(tail)
            windowAtEnd = false
        }
    }

    /// Draws the header (with the sort mark and position) and the visible rows.
    public func render(into grid: inout CellGrid, rect: Rect, theme: Theme) {
        guard rect.height > 0, rect.width > 2 else { return }
        let widths = TableColumn.widths(of: columns, in: rect.width - 1)
        let (headerRect, body) = rect.splitTop(1)
        grid.fill(headerRect, style: theme.style("table.header"))
        var titles = columns.map(\.title)
        if let sort, titles.indices.contains(sort.column) { titles[sort.column] += sort.ascending ? " ▲" : " ▼" }
        draw(titles, widths: widths, in: headerRect, style: theme.style("table.header"), gutter: " ", grid: &grid)
        if showsPosition, let positionText {
            let width = TerminalText.width(positionText)
            grid.write(positionText, x: rect.x + rect.width - width, y: rect.y, style: theme.style("table.header"))
        }
        for line in 0..<body.height {
            let index = top + line
            guard index < window.count else { break }
            let row = window[index]
            let id = source.id(of: row)
            let isMarked = marked.contains(id)
            let scope = index == selectedIndex ? "table.row.selected" : isMarked ? "table.row.marked" : rowScope(row)
            let style = theme.style(scope)
            grid.fill(body.row(line), style: style)
            draw(cells(row), widths: widths, in: body.row(line), style: style, gutter: isMarked ? "*" : " ", grid: &grid)
        }
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
