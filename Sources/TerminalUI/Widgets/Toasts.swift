/// Transient messages. Showing one returns its ID; the program schedules its expiry
/// with the loop:
///
///     let id = toasts.show("Saved")
///     return Reaction.redraw.and(.after(Toasts.duration, .toastExpired(id)))
public struct Toasts: Sendable {
    public enum Kind: Sendable { case info, error }

    public struct Toast: Sendable, Equatable {
        public var id: Int
        public var text: String
        public var kind: Kind
    }

    /// How long a toast usually stays, in seconds.
    public static let duration: Double = 4

    /// The toasts showing now, oldest first.
    public private(set) var items: [Toast] = []
    private var nextID = 1

    public init() {}

    @discardableResult
    public mutating func show(_ text: String, kind: Kind = .info) -> Int {
        defer { nextID += 1 }
        items.append(Toast(id: nextID, text: text, kind: kind))
        return nextID
    }

    /// Removes a toast (its expiry arrived). Returns whether it was showing.
    @discardableResult
    public mutating func expire(_ id: Int) -> Bool {
        guard let index = items.firstIndex(where: { $0.id == id }) else { return false }
        items.remove(at: index)
        return true
    }

    /// Draws the newest toasts, right-aligned, upward from the bottom row of `rect`.
    public func render(into grid: inout CellGrid, rect: Rect, theme: Theme) {
        for (line, toast) in items.reversed().prefix(rect.height).enumerated() {
            let text = " " + TerminalText.truncate(toast.text, to: max(1, rect.width - 2)) + " "
            let width = TerminalText.width(text)
            grid.write(text, x: rect.x + rect.width - width, y: rect.y + rect.height - 1 - line,
                       style: theme.style(toast.kind == .info ? "toast.info" : "toast.error"))
        }
    }
}
