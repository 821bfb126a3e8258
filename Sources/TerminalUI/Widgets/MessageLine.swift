/// What the program has to say, on a line of its own that never covers data (k9s's flash
/// line). One message at a time: a new one replaces the old; the same text again counts
/// up (`×3`) instead of stacking. Errors stay twice as long.
///
///     let expiry = messages.show("Approved Ann Lee's booking", kind: .info, now: now)
///     return Reaction.redraw.and(.after(expiry.seconds, .messageExpired(expiry.id)))
public struct MessageLine: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case info, error }

    /// How long an information stays, in seconds; an error stays twice as long.
    public static let duration: Double = 5

    public private(set) var text: String?
    public private(set) var kind: Kind = .info
    /// How many times in a row the same text was said.
    public private(set) var repeats = 0
    private var id = 0

    public init() {}

    /// Shows `text`; returns the id its expiry timer must carry and how long it stays.
    public mutating func show(_ text: String, kind: Kind = .info) -> (id: Int, seconds: Double) {
        repeats = (text == self.text && kind == self.kind) ? repeats + 1 : 1
        self.text = text
        self.kind = kind
        id += 1
        return (id, kind == .error ? Self.duration * 2 : Self.duration)
    }

    /// Clears the line if `id` is still the message showing. Returns whether it was.
    @discardableResult
    public mutating func expire(_ id: Int) -> Bool {
        guard id == self.id, text != nil else { return false }
        text = nil
        repeats = 0
        return true
    }

    /// Clears the line if it still says `text` (what it said is no longer so). Returns
    /// whether it did.
    @discardableResult
    public mutating func withdraw(_ text: String) -> Bool {
        guard self.text == text else { return false }
        self.text = nil
        repeats = 0
        return true
    }

    /// Replaces `old` with `new` if the line still says `old` (what it said has changed:
    /// an alert's count), keeping its kind and how long it stays. Returns whether it did.
    @discardableResult
    public mutating func amend(_ old: String, to new: String) -> Bool {
        guard text == old, old != new else { return false }
        text = new
        return true
    }

    /// Draws the message (or nothing) from the first row of `rect`, wrapped at spaces onto
    /// the rows below when it is wider than one (what to do next is often at its end), the
    /// last row ending in `…` if even they cannot hold it. Returns the rows it took.
    @discardableResult
    public func render(into grid: inout CellGrid, rect: Rect, theme: Theme) -> Int {
        guard rect.height > 0, let text else { return 0 }
        let style = theme.style(kind == .info ? "message.info" : "message.error")
        let shown = repeats > 1 ? "\(text)  ×\(repeats)" : text
        let width = rect.width - 2
        var lines = TerminalText.wrap(shown, width: width)
        if lines.count > rect.height {
            let rest = lines[(rect.height - 1)...].joined(separator: " ")
            lines = Array(lines.prefix(rect.height - 1)) + [TerminalText.truncate(rest, to: width)]
        }
        for (index, line) in lines.enumerated() {
            grid.fill(rect.row(index), style: style)
            grid.write(line, x: rect.x + 1, y: rect.y + index, style: style, maxWidth: width)
        }
        return lines.count
    }
}
