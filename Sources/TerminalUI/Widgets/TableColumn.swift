/// A table column: its title, how wide it may be, and how its cells align.
public struct TableColumn: Sendable, Equatable {
    public var title: String
    public var minWidth: Int
    public var maxWidth: Int?
    /// Share of the spare width this column takes (0: stays at `minWidth`).
    public var flex: Int
    public var alignment: Alignment

    public init(_ title: String, minWidth: Int, maxWidth: Int? = nil, flex: Int = 0, alignment: Alignment = .left) {
        self.title = title
        self.minWidth = minWidth
        self.maxWidth = maxWidth
        self.flex = flex
        self.alignment = alignment
    }

    /// Column widths for `totalWidth` columns with one space between columns. Columns
    /// that do not fit at their minimum width are dropped from the right (width 0);
    /// spare width goes to flexible columns by their share, up to their maximum.
    public static func widths(of columns: [TableColumn], in totalWidth: Int) -> [Int] {
        var widths = columns.map(\.minWidth)
        var visible = columns.count
        while visible > 1 && widths[0..<visible].reduce(0, +) + visible - 1 > totalWidth { visible -= 1 }
        for index in visible..<columns.count { widths[index] = 0 }
        guard visible > 0 else { return widths }
        if widths[0] > totalWidth { widths[0] = max(0, totalWidth); return widths }
        var spare = totalWidth - widths[0..<visible].reduce(0, +) - (visible - 1)
        while spare > 0 {
            let growable = (0..<visible).filter { columns[$0].flex > 0 && widths[$0] < (columns[$0].maxWidth ?? Int.max) }
            guard !growable.isEmpty else { break }
            let shares = growable.reduce(0) { $0 + columns[$1].flex }
            var given = 0
            for index in growable {
                let room = (columns[index].maxWidth ?? Int.max) - widths[index]
                let add = min(room, max(1, spare * columns[index].flex / shares), spare - given)
                widths[index] += add
                given += add
                if given == spare { break }
            }
            spare -= given
        }
        return widths
    }
}
