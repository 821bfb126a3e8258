/// How many colors the terminal can show. Colors degrade from the top down.
public enum ColorDepth: Int, Comparable, Sendable, CaseIterable {
    /// No colors at all (`NO_COLOR`, or a terminal without colors): modifiers only.
    case none = 0
    /// The 8 basic ANSI colors.
    case ansi8 = 1
    /// The xterm 256-color palette.
    case palette256 = 2
    /// 24-bit color.
    case truecolor = 3

    public static func < (a: ColorDepth, b: ColorDepth) -> Bool { a.rawValue < b.rawValue }

    /// Decides the depth from the environment and the terminal's color count (`COLORS`
    /// from terminfo):
    /// - `NO_COLOR` set to anything non-empty → `.none`;
    /// - a direct-color terminfo (16M colors) → `.truecolor`;
    /// - `COLORTERM=truecolor|24bit` with at least 256 colors → `.truecolor`;
    /// - otherwise 256, 8 or none by the color count.
    public static func detect(environment: [String: String], terminalColors: Int) -> ColorDepth {
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return .none }
        if terminalColors >= 1 << 24 { return .truecolor }
        let colorterm = environment["COLORTERM"]?.lowercased() ?? ""
        if (colorterm == "truecolor" || colorterm == "24bit") && terminalColors >= 256 { return .truecolor }
        if terminalColors >= 256 { return .palette256 }
        if terminalColors >= 8 { return .ansi8 }
        return .none
    }
}

extension Color {
    /// This color as the terminal at `depth` can show it; `.default` when it cannot.
    public func degraded(to depth: ColorDepth) -> Color {
        switch (self, depth) {
        case (.default, _), (_, .none): return .default
        case (.rgb, .truecolor): return self
        case let (.rgb(r, g, b), .palette256): return .indexed(ColorMapping.nearest256(r, g, b))
        case let (.rgb(r, g, b), .ansi8): return .ansi(ColorMapping.nearest8(r, g, b))
        case (.indexed(let i), .ansi8): return .ansi(ColorMapping.indexedTo8(i))
        case (.indexed, _): return self
        case (.ansi(let i), .ansi8): return .ansi(i % 8)
        case (.ansi, _): return self
        }
    }
}

extension Style {
    /// This style with both colors degraded to `depth`; modifiers are kept, so a
    /// reversed selection stays visible without colors.
    public func degraded(to depth: ColorDepth) -> Style {
        Style(fg: fg.degraded(to: depth), bg: bg.degraded(to: depth), modifiers: modifiers)
    }
}
