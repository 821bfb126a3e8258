extension CellGrid {
    /// Fills `rect` and draws a single-line border with an optional title on the top edge.
    public mutating func box(_ rect: Rect, style: Style, title: String? = nil, titleStyle: Style? = nil) {
        guard rect.width >= 2, rect.height >= 2 else { return }
        fill(rect, style: style)
        let inner = String(repeating: "─", count: rect.width - 2)
        write("┌" + inner + "┐", x: rect.x, y: rect.y, style: style)
        write("└" + inner + "┘", x: rect.x, y: rect.y + rect.height - 1, style: style)
        for row in 1..<(rect.height - 1) {
            write("│", x: rect.x, y: rect.y + row, style: style)
            write("│", x: rect.x + rect.width - 1, y: rect.y + row, style: style)
        }
        if let title, rect.width > 4 {
            write(" " + TerminalText.truncate(title, to: rect.width - 6) + " ", x: rect.x + 2, y: rect.y,
                  style: titleStyle ?? style)
        }
    }
}
