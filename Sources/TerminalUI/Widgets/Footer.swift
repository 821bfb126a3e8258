/// One line of key hints for the bindings that apply now: `q quit  / filter …`.
/// Disabled bindings are dimmed (or left out), and hints that do not fit are dropped.
public enum Footer {
    public static func render<Action>(_ bindings: [KeyBinding<Action>], into grid: inout CellGrid, rect: Rect,
                                      theme: Theme, showDisabled: Bool = true) {
        guard rect.height > 0 else { return }
        grid.fill(rect.row(0), style: theme.style("footer"))
        var x = rect.x + 1
        let end = rect.x + rect.width
        for binding in bindings where binding.showsInFooter && (binding.isEnabled || showDisabled) {
            guard let key = binding.keys.first?.description else { continue }
            let width = TerminalText.width(key) + 1 + TerminalText.width(binding.hint)
            if x + width > end { break }
            let keyStyle = theme.style(binding.isEnabled ? "footer.key" : "footer.disabled")
            let hintStyle = theme.style(binding.isEnabled ? "footer" : "footer.disabled")
            x += grid.write(key, x: x, y: rect.y, style: keyStyle)
            x += grid.write(" " + binding.hint, x: x, y: rect.y, style: hintStyle)
            x += 2
        }
    }
}
