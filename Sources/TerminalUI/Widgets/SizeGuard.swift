/// Stands in for a screen when the terminal is too small for it.
///
///     if !sizeGuard.fits(grid.size) { return sizeGuard.render(into: &grid, theme: theme) }
public struct SizeGuard: Sendable {
    public var minimum: Size

    public init(minimum: Size = Size(width: 80, height: 24)) { self.minimum = minimum }

    public func fits(_ size: Size) -> Bool { size.width >= minimum.width && size.height >= minimum.height }

    /// A centered message with the size needed and the size there is.
    public func render(into grid: inout CellGrid, theme: Theme) {
        let area = Rect(grid.size)
        grid.fill(area, style: theme.style("base"))
        let lines = [
            "Terminal too small",
            "need \(minimum.width)x\(minimum.height), have \(grid.width)x\(grid.height)",
        ]
        let box = area.centered(width: area.width, height: lines.count)
        for (index, line) in lines.enumerated() {
            grid.write(line, in: box.row(index), style: theme.style(index == 0 ? "status.warn" : "base"), alignment: .center)
        }
    }
}
