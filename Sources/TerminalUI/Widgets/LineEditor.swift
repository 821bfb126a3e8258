/// One line of editable text with a cursor: typing inserts, Backspace/Delete erase,
/// Left/Right/Home/End (and Ctrl-A/Ctrl-E) move, Ctrl-U clears before the cursor,
/// Ctrl-K after it.
public struct LineEditor: Sendable, Equatable {
    public private(set) var text: String
    /// The cursor, in characters from the start.
    public private(set) var cursor: Int

    public init(_ text: String = "") {
        self.text = text
        cursor = text.count
    }

    /// Replaces the text and puts the cursor at its end.
    public mutating func set(_ text: String) {
        self.text = text
        cursor = text.count
    }

    /// Applies an editing key; returns false for keys it does not edit with.
    public mutating func handle(_ key: Key) -> Bool {
        var characters = Array(text)
        switch key {
        case .char(let character):
            characters.insert(character, at: cursor)
            cursor += 1
        case .backspace:
            guard cursor > 0 else { return true }
            characters.remove(at: cursor - 1)
            cursor -= 1
        case .delete:
            guard cursor < characters.count else { return true }
            characters.remove(at: cursor)
        case .left: cursor = max(0, cursor - 1)
        case .right: cursor = min(characters.count, cursor + 1)
        case .home, .ctrl("a"): cursor = 0
        case .end, .ctrl("e"): cursor = characters.count
        case .ctrl("u"):
            characters.removeFirst(cursor)
            cursor = 0
        case .ctrl("k"): characters.removeLast(characters.count - cursor)
        default: return false
        }
        text = String(characters)
        return true
    }

    /// Draws the text in one row of `rect`, scrolled so the cursor shows; returns where
    /// the cursor is, for `grid.cursor`.
    @discardableResult
    public func render(into grid: inout CellGrid, rect: Rect, style: Style) -> Position {
        let characters = Array(text)
        let widths = characters.map { TerminalText.width(String($0)) }
        var first = 0
        while widths[first..<cursor].reduce(0, +) >= rect.width && first < cursor { first += 1 }
        grid.write(String(characters[first...]), in: Rect(x: rect.x, y: rect.y, width: rect.width, height: 1), style: style)
        return Position(x: rect.x + widths[first..<cursor].reduce(0, +), y: rect.y)
    }
}
