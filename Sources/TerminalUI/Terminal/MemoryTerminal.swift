/// A terminal in memory for tests: keys are pushed in, frames are recorded, and
/// ``screen`` shows what a real terminal would display after applying them.
public final class MemoryTerminal: Terminal {
    public private(set) var size: Size
    /// Every frame drawn, oldest first.
    public private(set) var frames: [Frame] = []
    /// The screen as the frames left it.
    public private(set) var screen: CellGrid
    private var keys: [Key] = []

    public init(size: Size = Size(width: 80, height: 24)) {
        self.size = size
        screen = CellGrid(size: size)
    }

    public var inputDescriptor: Int32? { nil }

    /// Makes `keys` available to the next ``readKeys()``.
    public func push(_ keys: [Key]) { self.keys += keys }

    /// Changes the size and delivers a resize key, as a terminal would.
    public func resize(to size: Size) {
        self.size = size
        keys.append(.resize)
    }

    public func readKeys() -> [Key] {
        defer { keys.removeAll() }
        return keys
    }

    /// How many times the program rang the bell.
    public private(set) var bells = 0

    public func bell() { bells += 1 }

    public func draw(_ frame: Frame) {
        frames.append(frame)
        if frame.isFull { screen = CellGrid(size: size) }
        for write in frame.writes {
            screen.write(write.cell.text, x: write.position.x, y: write.position.y, style: write.cell.style)
        }
        screen.cursor = frame.cursor
    }
}
