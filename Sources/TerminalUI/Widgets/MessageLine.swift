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

    /// Draws the message (or nothing) on the first row of `rect`.
    public func render(into grid: inout CellGrid, rect: Rect, theme: Theme) {
        guard rect.height > 0, let text else { return }
        let style = theme.style(kind == .info ? "message.info" : "message.error")
        let shown = repeats > 1 ? "\(text)  ×\(repeats)" : text
        grid.fill(rect.row(0), style: style)
        grid.write(shown, x: rect.x + 1, y: rect.y, style: style, maxWidth: rect.width - 2)
    }
}
