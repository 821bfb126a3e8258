#if canImport(Glibc)
import Glibc
#endif

/// A place frames are drawn and keys come from: ncurses (``CursesTerminal``) or memory
/// (``MemoryTerminal``). Used by the ``EventLoop`` only, on its thread.
public protocol Terminal: AnyObject {
    /// The current size in cells.
    var size: Size { get }
    /// A descriptor that becomes readable when keys arrive, or nil when keys are pushed
    /// by a test.
    var inputDescriptor: Int32? { get }
    /// A descriptor that becomes readable when the process is asked to stop (SIGTERM,
    /// SIGHUP, SIGINT): the loop then ends as if the user quit.
    var stopDescriptor: Int32? { get }
    /// Every key available now, without blocking.
    func readKeys() -> [Key]
    /// Puts a frame on the screen.
    func draw(_ frame: Frame)
    /// Rings the terminal's bell (or flashes it, as the terminal is set up to).
    func bell()
}

extension Terminal {
    public var stopDescriptor: Int32? { nil }
}

/// One cell to put on the screen.
public struct CellWrite: Hashable, Sendable {
    public var position: Position
    public var cell: Cell
}

/// What changed since the last frame: the cells to write and where the cursor goes.
public struct Frame: Sendable {
    /// Clear the screen first and write every cell (first frame, resize, Ctrl-L).
    public var isFull: Bool
    public var writes: [CellWrite]
    /// The text cursor, or nil to hide it.
    public var cursor: Position?
}

/// Turns successive grids into frames holding only the cells that changed.
public struct FrameDiffer: Sendable {
    private var previous: CellGrid?

    public init() {}

    /// The frame that takes the screen from the last grid to `grid`; nil when nothing
    /// changed (the identical frame is skipped entirely). `full` forces a full frame.
    public mutating func frame(for grid: CellGrid, full: Bool = false) -> Frame? {
        defer { previous = grid }
        guard !full, let previous, previous.size == grid.size else {
            return Frame(isFull: true, writes: writes(of: grid, rows: 0..<grid.height, reserving: grid.cells.count) { _ in true },
                         cursor: grid.cursor)
        }
        let writes = writes(of: grid, rows: Self.rowsThatMayDiffer(previous, grid)) { previous.cells[$0] != grid.cells[$0] }
        if writes.isEmpty && previous.cursor == grid.cursor { return nil }
        return Frame(isFull: false, writes: writes, cursor: grid.cursor)
    }

    /// The rows not bit for bit the same in both grids: a row copied unchanged (most of a
    /// frame under a busy stream is the last one pasted) is skipped with one `memcmp`
    /// instead of comparing its cells' strings one by one. Equal bits are equal cells;
    /// unequal bits may still be equal cells, which the caller compares.
    private static func rowsThatMayDiffer(_ a: CellGrid, _ b: CellGrid) -> [Int] {
        guard a.width > 0 else { return [] }
        let rowBytes = a.width * MemoryLayout<Cell>.stride
        return a.cells.withUnsafeBytes { left in
            b.cells.withUnsafeBytes { right in
                guard let l = left.baseAddress, let r = right.baseAddress else { return [] }
                var rows: [Int] = []
                for y in 0..<a.height where memcmp(l + y * rowBytes, r + y * rowBytes, rowBytes) != 0 { rows.append(y) }
                return rows
            }
        }
    }

    /// Forgets the last grid, so the next frame is full.
    public mutating func invalidate() { previous = nil }

    /// - Parameter reserving: room made at once for this many writes (a full frame's:
    ///   growing the array by doubling copied a full frame's writes over and over).
    private func writes(of grid: CellGrid, rows: some Sequence<Int>, reserving: Int = 0, where changed: (Int) -> Bool) -> [CellWrite] {
        var writes: [CellWrite] = []
        writes.reserveCapacity(reserving)
        for y in rows {
            for index in y * grid.width..<(y + 1) * grid.width where !grid.cells[index].isContinuation && changed(index) {
                writes.append(CellWrite(position: Position(x: index % grid.width, y: y), cell: grid.cells[index]))
            }
        }
        return writes
    }
}
