/// A terminal color. Themes name colors; the backend degrades them to what the terminal
/// can show (see ``ColorDepth``).
public enum Color: Hashable, Sendable {
    /// The terminal's own foreground or background.
    case `default`
    /// One of the 16 ANSI colors (0–7 normal, 8–15 bright).
    case ansi(UInt8)
    /// An index into the 256-color palette.
    case indexed(UInt8)
    /// A 24-bit color.
    case rgb(UInt8, UInt8, UInt8)
}

/// Text attributes that do not depend on color support: they stay under `NO_COLOR`.
public struct Modifiers: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let bold = Modifiers(rawValue: 1 << 0)
    public static let dim = Modifiers(rawValue: 1 << 1)
    public static let italic = Modifiers(rawValue: 1 << 2)
    public static let underline = Modifiers(rawValue: 1 << 3)
    public static let reverse = Modifiers(rawValue: 1 << 4)

    /// Names used in theme files, in a stable order.
    public static let names: [(String, Modifiers)] = [
        ("bold", .bold), ("dim", .dim), ("italic", .italic), ("underline", .underline), ("reverse", .reverse),
    ]
}

/// How one cell looks: foreground, background and modifiers.
///
///     Style(fg: .ansi(1), modifiers: [.bold])
public struct Style: Hashable, Sendable {
    public var fg: Color
    public var bg: Color
    public var modifiers: Modifiers

    public init(fg: Color = .default, bg: Color = .default, modifiers: Modifiers = []) {
        self.fg = fg
        self.bg = bg
        self.modifiers = modifiers
    }

    /// The terminal's default look.
    public static let plain = Style()

    /// This style with `extra` modifiers added.
    public func adding(_ extra: Modifiers) -> Style {
        Style(fg: fg, bg: bg, modifiers: modifiers.union(extra))
    }
}
