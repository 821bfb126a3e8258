/// A `:` command line with completion and history, or a `/` filter line with the same
/// editing. Tab completes from ``names`` (and lists the candidates when several
/// match), Up/Down walk the history, Enter submits, Esc cancels.
///
///     var prompt = CommandPrompt(prompt: ":", names: ["quit", "queue", "theme"])
///     switch prompt.handle(key) { case .submitted(let command): run(command); case .cancelled: close(); case .editing: break }
public struct CommandPrompt: Sendable {
    public enum Outcome: Sendable, Equatable {
        case editing
        case submitted(String)
        case cancelled
    }

    public var prompt: String
    /// Names Tab completes.
    public var names: [String]
    /// Earlier submissions, oldest first.
    public private(set) var history: [String]
    public private(set) var editor = LineEditor()
    /// The names matching the current text after Tab, when more than one.
    public private(set) var candidates: [String] = []
    private var historyIndex: Int?

    public init(prompt: String = ":", names: [String] = [], history: [String] = []) {
        self.prompt = prompt
        self.names = names
        self.history = history
    }

    /// A `/` filter line: the app filters live on ``text`` while the outcome is `.editing`.
    public static func filter(history: [String] = []) -> CommandPrompt {
        CommandPrompt(prompt: "/", history: history)
    }

    public var text: String { editor.text }

    /// Opens the prompt empty, keeping the history.
    public mutating func reset() {
        editor = LineEditor()
        candidates = []
        historyIndex = nil
    }

    public mutating func handle(_ key: Key) -> Outcome {
        switch key {
        case .escape:
            return .cancelled
        case .enter:
            let submitted = editor.text
            if !submitted.isEmpty && history.last != submitted { history.append(submitted) }
            reset()
            return .submitted(submitted)
        case .tab:
            complete()
        case .up:
            guard !history.isEmpty else { break }
            let index = max(0, (historyIndex ?? history.count) - 1)
            historyIndex = index
            editor.set(history[index])
        case .down:
            guard let index = historyIndex else { break }
            if index + 1 < history.count {
                historyIndex = index + 1
                editor.set(history[index + 1])
            } else {
                historyIndex = nil
                editor.set("")
            }
        default:
            if editor.handle(key) { candidates = [] }
        }
        return .editing
    }

    private mutating func complete() {
        let typed = editor.text
        let matches = names.filter { $0.hasPrefix(typed) }.sorted()
        guard let first = matches.first else { candidates = []; return }
        if matches.count == 1 {
            editor.set(first)
            candidates = []
            return
        }
        var common = first
        for match in matches.dropFirst() {
            while !match.hasPrefix(common) { common.removeLast() }
        }
        editor.set(common)
        candidates = matches
    }

    /// Draws the prompt line on the last row of `rect` and the candidates on the row
    /// above it; sets the cursor.
    public func render(into grid: inout CellGrid, rect: Rect, theme: Theme) {
        guard rect.height > 0 else { return }
        let style = theme.style("command")
        let line = rect.row(rect.height - 1)
        grid.fill(line, style: style)
        let promptWidth = grid.write(prompt, x: line.x, y: line.y, style: style)
        let inputRect = Rect(x: line.x + promptWidth, y: line.y, width: line.width - promptWidth, height: 1)
        grid.cursor = editor.render(into: &grid, rect: inputRect, style: style)
        if !candidates.isEmpty && rect.height > 1 {
            grid.write(candidates.joined(separator: "  "), in: rect.row(rect.height - 2), style: theme.style("help"))
        }
    }
}
