/// One terminal cell's worth of text: a spacing scalar plus the zero-width scalars that
/// follow it (combining marks, variation selectors, joiners), exactly what ncurses puts
/// into one `cchar_t`.
public struct TextCell: Equatable, Sendable {
    /// The sanitized scalars of the cell.
    public var text: String
    /// Columns taken: 1 or 2.
    public var width: Int
}

extension TerminalText {
    /// ncurses keeps at most this many scalars in one cell (`CCHARW_MAX`).
    static let maxScalarsPerCell = 5

    /// Splits sanitized `text` into terminal cells.
    ///
    /// A grapheme cluster made of several spacing scalars (an emoji ZWJ family, a flag) is
    /// split the way ncurses and `wcwidth` split it, so the grid never disagrees with the
    /// screen about columns. A zero-width scalar with nothing before it leans on a space.
    public static func cells(of text: String) -> [TextCell] {
        var cells: [TextCell] = []
        cells.reserveCapacity(text.utf8.count)
        // Printable ASCII (most of what a table shows) is one cell per byte, nothing to look up.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            for byte in text.utf8 { cells.append(TextCell(text: String(Unicode.Scalar(byte)), width: 1)) }
            return cells
        }
        var scalarsInLast = 0
        for raw in text.unicodeScalars {
            let scalar = visible(raw)
            let width = DisplayWidth.of(scalar)
            if width == 0 {
                if cells.isEmpty {
                    cells.append(TextCell(text: " ", width: 1))
                    scalarsInLast = 1
                }
                if scalarsInLast < maxScalarsPerCell {
                    cells[cells.count - 1].text.unicodeScalars.append(scalar)
                    scalarsInLast += 1
                }
            } else {
                cells.append(TextCell(text: String(scalar), width: max(width, 1)))
                scalarsInLast = 1
            }
        }
        return cells
    }

    /// Display width of `text` in columns.
    public static func width(_ text: String) -> Int { DisplayWidth.of(text) }
}
