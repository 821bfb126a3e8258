import SwitchboardConsole
import TerminalUI

/// Where things are on the console's screen, so tests read it by part, not by line number:
/// the tab bar, the screen's figures, the body, the message line, the status line, the footer.
extension ProgramDriver where P == Console {
    var lines: [String] { screenText.components(separatedBy: "\n") }
    var tabBar: String { lines[0] }
    var figures: String { lines[1] }
    /// The body's lines (between the figures and the message line).
    var body: [String] { Array(lines.dropFirst(2).dropLast(3)) }
    /// A table screen's column titles.
    var columnTitles: String { body[0] }
    /// A table screen's rows on show, without blank lines.
    var rows: [String] { body.dropFirst().filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty } }
    /// The message, with its second row when it is long enough to take the status line.
    var messageLine: String {
        let rows = lines.count
        return messageTakesStatusLine ? lines[rows - 3] + "\n" + lines[rows - 2] : lines[rows - 3]
    }
    /// The status line (while a long message shows, its second row).
    var statusLine: String { lines[lines.count - 2] }
    private var messageTakesStatusLine: Bool {
        let theme = ThemeCatalog(directories: []).resolve(nil).theme
        let style = grid[0, grid.size.height - 2].style
        return style == theme.style("message.info") || style == theme.style("message.error")
    }
    var footer: String { lines[lines.count - 1] }
}

extension ProgramDriver where P == Console {
    /// The tab bar's highlighted screen, by its title (`Review`, `Go-live`, …).
    var currentScreen: String? {
        let current = ThemeCatalog(directories: []).resolve(nil).theme.style("tabs.current")
        let text = (0..<grid.size.width).filter { grid[$0, 0].style == current }.map { grid[$0, 0].text }.joined()
        return text.split(separator: " ").dropFirst().first.map(String.init)
    }
}
