/// Horizontal placement of text inside a wider space.
public enum Alignment: Sendable, Hashable {
    case left, center, right
}

extension TerminalText {
    /// The ellipsis appended by ``truncate(_:to:ellipsis:)``.
    public static let ellipsis = "…"

    /// Cuts sanitized `text` to at most `width` columns, ending with `ellipsis` when
    /// something was cut. A wide character never straddles the limit.
    ///
    ///     TerminalText.truncate("Quarterly report", to: 10)   // "Quarterly…"
    public static func truncate(_ text: String, to width: Int, ellipsis: String = ellipsis) -> String {
        fitted(text, to: width, ellipsis: ellipsis).cells.map(\.text).joined()
    }

    /// The cells of ``truncate(_:to:ellipsis:)`` and their width, measured once (a table
    /// draws hundreds of these per frame).
    public static func fitted(_ text: String, to width: Int, ellipsis: String = ellipsis) -> (cells: [TextCell], width: Int) {
        guard width > 0 else { return ([], 0) }
        let cells = cells(of: text)
        let total = cells.reduce(0) { $0 + $1.width }
        if total <= width { return (cells, total) }
        let mark = Self.cells(of: ellipsis)
        let markWidth = mark.reduce(0) { $0 + $1.width }
        let budget = markWidth <= width ? width - markWidth : width
        var out: [TextCell] = []
        var used = 0
        for cell in cells {
            if used + cell.width > budget { break }
            out.append(cell)
            used += cell.width
        }
        return markWidth <= width ? (out + mark, used + markWidth) : (out, used)
    }

    /// Truncates or pads `text` with spaces to exactly `width` columns.
    ///
    ///     TerminalText.pad("42", to: 5, alignment: .right)   // "   42"
    public static func pad(_ text: String, to width: Int, alignment: Alignment = .left) -> String {
        guard width > 0 else { return "" }
        let cut = truncate(text, to: width)
        let gap = width - Self.width(cut)
        switch alignment {
        case .left: return cut + String(repeating: " ", count: gap)
        case .right: return String(repeating: " ", count: gap) + cut
        case .center:
            let left = gap / 2
            return String(repeating: " ", count: left) + cut + String(repeating: " ", count: gap - left)
        }
    }

    /// Breaks sanitized `text` into lines of at most `width` columns, at spaces when it
    /// can and inside a word when the word alone is too long. Newlines are kept as breaks.
    public static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        for paragraph in sanitize(text, keepNewlines: true).split(separator: "\n", omittingEmptySubsequences: false) {
            lines += wrapParagraph(String(paragraph), width: width)
        }
        return lines
    }

    private static func wrapParagraph(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line: [TextCell] = []
        var lineWidth = 0
        func flush() {
            while line.last?.text == " " { lineWidth -= 1; line.removeLast() }
            lines.append(line.map(\.text).joined())
            line = []
            lineWidth = 0
        }
        for word in words(cells(of: text)) {
            let wordWidth = word.reduce(0) { $0 + $1.width }
            let isSpace = word.first?.text == " "
            if isSpace && line.isEmpty && !lines.isEmpty { continue }
            if lineWidth + wordWidth > width && !line.isEmpty {
                flush()
                if isSpace { continue }
            }
            for cell in word {
                if lineWidth + cell.width > width { flush() }
                line.append(cell)
                lineWidth += cell.width
            }
        }
        if !line.isEmpty || lines.isEmpty { flush() }
        return lines
    }

    /// Groups cells into runs of spaces and runs of non-spaces; a figure's space to its
    /// unit or its comparison sign is not a place to break (`≥ 99.7 %` stays on one line).
    private static func words(_ cells: [TextCell]) -> [[TextCell]] {
        var words: [[TextCell]] = []
        for cell in cells {
            let isSpace = cell.text == " "
            if let last = words.last?.last, (last.text == " ") == isSpace {
                words[words.count - 1].append(cell)
            } else {
                words.append([cell])
            }
        }
        var glued: [[TextCell]] = []
        var index = 0
        while index < words.count {
            let text = { (word: [TextCell]) in word.map(\.text).joined() }
            if words[index].first?.text == " ", words[index].count == 1, let before = glued.last, index + 1 < words.count,
               comparisonSigns.contains(text(before)) || units.contains(text(words[index + 1])) {
                glued[glued.count - 1] += words[index] + words[index + 1]
                index += 2
            } else {
                glued.append(words[index])
                index += 1
            }
        }
        return glued
    }

    private static let comparisonSigns: Set<String> = ["≥", "≤", "<", ">"]
    private static let units: Set<String> = ["%", "ms"]
}
