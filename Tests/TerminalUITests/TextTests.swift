import Testing
@testable import TerminalUI

@Suite struct SanitizerTests {
    @Test func titleSequenceIsInertAndVisible() {
        let clean = TerminalText.sanitize("\u{1b}]0;pwned\u{07}")
        #expect(clean == "␛]0;pwned␇")
        #expect(!clean.unicodeScalars.contains { $0.value < 0x20 })
    }

    @Test func clearScreenSequenceIsShownNotSent() {
        #expect(TerminalText.sanitize("\u{1b}[2J") == "␛[2J")
    }

    @Test func bidiControlsAreReplaced() {
        for scalar in ["\u{202E}", "\u{202A}", "\u{2066}", "\u{2069}", "\u{200E}", "\u{200F}", "\u{061C}"] {
            #expect(TerminalText.sanitize("ab\(scalar)cd") == "ab\u{FFFD}cd")
        }
    }

    @Test func c1DelAndTab() {
        #expect(TerminalText.sanitize("a\u{9B}31mb") == "a\u{FFFD}31mb")
        #expect(TerminalText.sanitize("a\u{7F}b") == "a␡b")
        #expect(TerminalText.sanitize("a\tb") == "a b")
        #expect(TerminalText.sanitize("a\u{0}b\rc") == "a␀b␍c")
    }

    @Test func newlinesAreVisibleUnlessKept() {
        #expect(TerminalText.sanitize("one\ntwo") == "one␊two")
        #expect(TerminalText.sanitize("one\r\ntwo", keepNewlines: true) == "one\ntwo")
    }

    @Test func harmlessTextIsUntouched() {
        for text in ["Zoë Ångström", "e\u{301}", "日本語", "👍🏽 ok", "Łódź"] {
            #expect(TerminalText.sanitize(text) == text)
            #expect(TerminalText.isSafe(text))
        }
        #expect(!TerminalText.isSafe("\u{1b}[31m"))
    }

    @Test func gridNeverHoldsControls() {
        var grid = CellGrid(width: 30, height: 1)
        grid.write("x\u{1b}[2J\u{202E}y", x: 0, y: 0)
        #expect(grid.text(row: 0) == "x␛[2J\u{FFFD}y")
        #expect(grid.cells.allSatisfy { TerminalText.isSafe($0.text) })
    }
}

@Suite struct WidthTests {
    @Test(arguments: [
        ("abc", 3), ("日本", 4), ("e\u{301}", 1), ("👍", 2), ("", 0), ("a\u{1b}", 2), ("Zoë", 3),
    ])
    func widths(text: String, expected: Int) {
        #expect(TerminalText.width(text) == expected)
    }

    @Test func combiningMarksShareTheirBaseCell() {
        let cells = TerminalText.cells(of: "e\u{301}x")
        #expect(cells.map(\.text) == ["e\u{301}", "x"])
        #expect(TerminalText.cells(of: "\u{301}a").first?.text == " \u{301}")
    }

    @Test func truncateWithEllipsis() {
        #expect(TerminalText.truncate("Quarterly report", to: 10) == "Quarterly…")
        #expect(TerminalText.truncate("short", to: 10) == "short")
        #expect(TerminalText.truncate("日本語テキスト", to: 6) == "日本…")
        #expect(TerminalText.width(TerminalText.truncate("日本語テキスト", to: 6)) == 5)
        let long = String(repeating: "Bartholomew-", count: 40)
        #expect(TerminalText.width(TerminalText.truncate(long, to: 25)) == 25)
    }

    @Test func padAndAlign() {
        #expect(TerminalText.pad("42", to: 5, alignment: .right) == "   42")
        #expect(TerminalText.pad("ab", to: 6, alignment: .center) == "  ab  ")
        #expect(TerminalText.pad("日本語", to: 5) == "日本…")
        #expect(TerminalText.pad("日本", to: 5) == "日本 ")
    }

    @Test func wrapByDisplayWidth() {
        #expect(TerminalText.wrap("the quick brown fox", width: 10) == ["the quick", "brown fox"])
        #expect(TerminalText.wrap("abcdefghij", width: 4) == ["abcd", "efgh", "ij"])
        #expect(TerminalText.wrap("日本語日本語", width: 5) == ["日本", "語日", "本語"])
        #expect(TerminalText.wrap("one\n\ntwo", width: 10) == ["one", "", "two"])
        // A figure stays with its unit and its sign (at 80 columns a go-live reason ended
        // "against ≥ 99.7" with "%" alone on the next line).
        #expect(TerminalText.wrap("missed against ≥ 99.7 %", width: 21) == ["missed against", "≥ 99.7 %"])
        #expect(TerminalText.wrap("latency 240 ms", width: 11) == ["latency", "240 ms"])
    }
}

@Suite struct CellGridTests {
    /// A cell keeps its text inline: everything ncurses can put in one cell comes back
    /// whole (5 scalars of 4 bytes), and anything longer keeps its whole scalars that fit.
    @Test func cellsKeepTheirTextInline() {
        let texts = ["", " ", "a", "é", "e\u{301}", "日", "😀", "👍\u{1F3FD}", "\u{1F469}\u{1F469}\u{1F467}\u{1F466}\u{1F468}",
                     "x\u{301}\u{302}\u{303}\u{304}"]
        for text in texts {
            #expect(Cell(text).text == text)
            #expect(Cell(text).isContinuation == text.isEmpty)
        }
        // 21 bytes: the last four-byte scalar does not fit and is left out whole.
        let long = "a" + String(repeating: "😀", count: 5)
        #expect(Cell(long).text == "a" + String(repeating: "😀", count: 4))
        var cell = Cell("a", style: Style(fg: .ansi(1)))
        cell.text = "日"
        #expect(cell == Cell("日", style: Style(fg: .ansi(1))))
        #expect(cell != Cell("日"))
        #expect(Set([cell, Cell("日", style: Style(fg: .ansi(1))), Cell("a")]).count == 2)
        // A Zalgo-like pile of marks is kept to ncurses' five scalars by the grid.
        var grid = CellGrid(width: 3, height: 1)
        grid.write("a" + String(repeating: "\u{301}", count: 40) + "b", x: 0, y: 0)
        #expect(grid[0, 0].text == "a" + String(repeating: "\u{301}", count: 4))
        #expect(grid[1, 0].text == "b")
    }

    @Test func wideCharacterUsesContinuationCell() {
        var grid = CellGrid(width: 6, height: 1)
        let used = grid.write("a日b", x: 0, y: 0)
        #expect(used == 4)
        #expect(grid[1, 0].text == "日")
        #expect(grid[2, 0].isContinuation)
        #expect(grid.text(row: 0) == "a日b")
    }

    @Test func wideCharacterThatDoesNotFitBecomesSpace() {
        var grid = CellGrid(width: 3, height: 1)
        grid.write("ab日", x: 0, y: 0)
        #expect(grid[2, 0].text == " ")
        #expect(!grid.cells.contains { $0.isContinuation })
    }

    @Test func overwritingHalfAWideCharacterBlanksTheOtherHalf() {
        var grid = CellGrid(width: 4, height: 1)
        grid.write("日本", x: 0, y: 0)
        grid.write("x", x: 1, y: 0)
        #expect(grid.text(row: 0) == " x本")
        grid.write("y", x: 2, y: 0)
        #expect(grid.text(row: 0) == " xy")
        #expect(!grid.cells.contains { $0.isContinuation })
    }

    @Test func clipsToMaxWidthAndGrid() {
        var grid = CellGrid(width: 5, height: 2)
        #expect(grid.write("abcdef", x: 2, y: 0) == 3)
        #expect(grid.write("abcdef", x: 0, y: 1, maxWidth: 2) == 2)
        #expect(grid.screenText == "  abc\nab")
        #expect(grid.write("zz", x: 0, y: 7) == 0)
    }

    @Test func writeInRectPadsAndStyles() {
        var grid = CellGrid(width: 8, height: 1)
        let bold = Style(modifiers: [.bold])
        grid.write("a long title", in: Rect(x: 1, y: 0, width: 6, height: 1), style: bold)
        #expect(grid.text(row: 0) == " a lon…")
        #expect(grid[6, 0].style == bold)
        #expect(grid[7, 0].style == .plain)
    }
}
