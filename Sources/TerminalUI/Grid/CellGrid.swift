/// One screen cell: the text of one terminal column (see ``TextCell``) and its style.
/// The second column of a wide character is a *continuation* cell with empty text.
///
/// The text is kept inline (``CellText``), so a cell holds no reference: a grid is copied,
/// compared and freed as plain memory. A console on a busy stream copies and compares
/// whole frames dozens of times a second, and retaining and releasing a String per cell
/// was most of that.
public struct Cell: Hashable, Sendable {
    private var packed: CellText
    public var style: Style

    public init(_ text: String, style: Style = .plain) {
        packed = CellText(text)
        self.style = style
    }

    /// The cell's text (at most ``CellText/capacity`` bytes of UTF-8 are kept).
    public var text: String {
        get { packed.string }
        set { packed = CellText(newValue) }
    }

    /// A space in the default style.
    public static let blank = Cell(" ")

    /// Whether this cell is covered by the wide character on its left.
    public var isContinuation: Bool { packed.isEmpty }
}

/// Up to 20 bytes of UTF-8 held inline: ncurses keeps at most 5 scalars in a cell
/// (``TerminalText/maxScalarsPerCell``) and a scalar is at most 4 bytes. A longer text
/// keeps its whole scalars that fit.
struct CellText: Hashable, Sendable {
    static let capacity = 20
    private var bytes: (UInt64, UInt64, UInt32) = (0, 0, 0)
    private var count: UInt8 = 0

    init(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            var n = min(utf8.count, Self.capacity)
            // Cut before a continuation byte: only whole scalars are kept.
            while n < utf8.count, n > 0, utf8[n] & 0xC0 == 0x80 { n -= 1 }
            withUnsafeMutableBytes(of: &bytes) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(utf8)[0..<n])) }
            count = UInt8(n)
        }
    }

    var isEmpty: Bool { count == 0 }

    var string: String {
        withUnsafeBytes(of: bytes) { String(decoding: $0[0..<Int(count)], as: UTF8.self) }
    }

    static func == (a: CellText, b: CellText) -> Bool {
        a.count == b.count && a.bytes.0 == b.bytes.0 && a.bytes.1 == b.bytes.1 && a.bytes.2 == b.bytes.2
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(bytes.0)
        hasher.combine(bytes.1)
        hasher.combine(bytes.2)
        hasher.combine(count)
    }
}

/// A width x height matrix of cells that screens draw into; the terminal backend only
/// copies it to the screen. Writing sanitizes, measures and clips:
///
///     var grid = CellGrid(width: 20, height: 2)
///     grid.write("名前: Zoë", x: 0, y: 0, style: theme.style("detail.value"))
///     grid.text(row: 0)   // "名前: Zoë"
public struct CellGrid: Hashable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]
    /// Where the terminal shows its cursor (text input); `nil` hides it.
    public var cursor: Position?
    /// Seconds after this frame at which it changes on its own (a clock text moving) or
    /// the program next needs the clock; nil: nothing changes until a key or a message.
    /// The loop sleeps until then instead of ticking.
    public var wakeAfter: Double?

    public init(width: Int, height: Int, fill: Cell = .blank) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: fill, count: self.width * self.height)
    }

    public init(size: Size) { self.init(width: size.width, height: size.height) }

    public var size: Size { Size(width: width, height: height) }

    /// The cell at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> Cell {
        cells[y * width + x]
    }

    /// Writes `text` from column `x` of row `y`, clipped to `maxWidth` columns and to the
    /// grid. Returns the number of columns written. A wide character that does not fit
    /// whole is replaced by a space.
    @discardableResult
    public mutating func write(_ text: String, x: Int, y: Int, style: Style = .plain, maxWidth: Int? = nil) -> Int {
        guard y >= 0, y < height else { return 0 }
        let limit = min(width, x + (maxWidth ?? width))
        var column = x
        for cell in TerminalText.cells(of: text) {
            if column >= limit { break }
            if column + cell.width > limit {
                if column >= 0 { put(Cell(" ", style: style), x: column, y: y) }
                column += 1
                break
            }
            if column >= 0 {
                put(Cell(cell.text, style: style), x: column, y: y)
                if cell.width == 2 { put(Cell("", style: style), x: column + 1, y: y) }
            }
            column += cell.width
        }
        return max(0, column - max(x, 0))
    }

    /// Writes `text` padded or truncated (with an ellipsis) to exactly `rect.width`
    /// columns in the first row of `rect`.
    public mutating func write(_ text: String, in rect: Rect, style: Style = .plain, alignment: Alignment = .left) {
        guard rect.height > 0, rect.width > 0, rect.y >= 0, rect.y < height else { return }
        // What `TerminalText.pad` gives, measured once and put cell by cell.
        let (cells, used) = TerminalText.fitted(text, to: rect.width)
        let gap = rect.width - used
        let left = alignment == .left ? 0 : alignment == .right ? gap : gap / 2
        let space = Cell(" ", style: style)
        for column in rect.x..<(rect.x + left) where column >= 0 { put(space, x: column, y: rect.y) }
        var column = rect.x + left
        for cell in cells {
            // A wide character cut by the grid's edge leaves a space, as `write` does.
            if column + cell.width > width {
                if column >= 0 { put(space, x: column, y: rect.y) }
                break
            }
            if column >= 0 {
                put(Cell(cell.text, style: style), x: column, y: rect.y)
                if cell.width == 2 { put(Cell("", style: style), x: column + 1, y: rect.y) }
            }
            column += cell.width
        }
        for column in column..<(rect.x + rect.width) where column >= 0 { put(space, x: column, y: rect.y) }
    }

    /// Puts `line` (cells another grid drew) from column `x` of row `y`, clipped to the grid.
    public mutating func paste(_ line: ArraySlice<Cell>, x: Int, y: Int) {
        guard y >= 0, y < height else { return }
        var column = x
        for cell in line {
            if column >= width { break }
            put(cell, x: column, y: y)
            column += 1
        }
    }

    /// Fills `rect` with spaces in `style`.
    public mutating func fill(_ rect: Rect, style: Style = .plain) {
        for row in max(rect.y, 0)..<min(rect.y + rect.height, height) {
            for column in max(rect.x, 0)..<max(max(rect.x, 0), min(rect.x + rect.width, width)) {
                put(Cell(" ", style: style), x: column, y: row)
            }
        }
    }

    /// Changes the style of the cells in `rect`, keeping their text.
    public mutating func restyle(_ rect: Rect, style: Style) {
        for row in max(rect.y, 0)..<min(rect.y + rect.height, height) {
            for column in max(rect.x, 0)..<max(max(rect.x, 0), min(rect.x + rect.width, width)) {
                cells[row * width + column].style = style
            }
        }
    }

    /// Sets one cell, blanking the other half of any wide character it breaks.
    private mutating func put(_ cell: Cell, x: Int, y: Int) {
        guard x >= 0, x < width else { return }
        let index = y * width + x
        if cells[index].isContinuation && !cell.isContinuation && x > 0 {
            cells[index - 1].text = " "
        }
        if x + 1 < width && cells[index + 1].isContinuation {
            cells[index + 1].text = " "
        }
        cells[index] = cell
    }

    /// The text of row `y`, continuation cells skipped and trailing spaces removed.
    public func text(row y: Int) -> String {
        var line = ""
        for x in 0..<width where !self[x, y].isContinuation {
            line += self[x, y].text
        }
        while line.last == " " { line.removeLast() }
        return line
    }

    /// Every row's text joined with newlines: the snapshot tests compare against.
    public var screenText: String {
        (0..<height).map { text(row: $0) }.joined(separator: "\n")
    }
}
