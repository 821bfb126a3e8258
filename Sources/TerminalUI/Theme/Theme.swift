import Synchronization
/// A color in a theme's style: a literal color or a name from the theme's palette,
/// looked up when the style is resolved (so a child theme's palette recolors the
/// parent's styles).
public enum ColorReference: Hashable, Sendable {
    case literal(Color)
    case palette(String)
}

/// The part of a style a theme scope sets; unset fields come from the parent scope.
public struct ScopeStyle: Hashable, Sendable {
    public var fg: ColorReference?
    public var bg: ColorReference?
    public var modifiers: Modifiers?

    public init(fg: ColorReference? = nil, bg: ColorReference? = nil, modifiers: Modifiers? = nil) {
        self.fg = fg
        self.bg = bg
        self.modifiers = modifiers
    }
}

/// Semantic styles by scope name. Screens ask for roles, never raw colors:
///
///     grid.write(title, in: rect, style: theme.style("table.row.selected"))
///
/// A scope `a.b.c` inherits field by field from `a.b`, then `a`, then `base`.
public struct Theme: Sendable {
    /// The theme's name (its file name without `.toml`).
    public var name: String
    /// Named colors the styles refer to.
    public var palette: [String: Color] { didSet { resolved = ResolvedStyles() } }
    /// Styles by scope, as written in the theme and its parents.
    public var scopes: [String: ScopeStyle] { didSet { resolved = ResolvedStyles() } }
    /// Styles already resolved: every frame asks for the same few dozen scopes, and
    /// resolving one splits its name and looks up each prefix.
    private var resolved = ResolvedStyles()

    public init(name: String, palette: [String: Color] = [:], scopes: [String: ScopeStyle] = [:]) {
        self.name = name
        self.palette = palette
        self.scopes = scopes
    }

    /// The resolved style of `scope`.
    public func style(_ scope: String) -> Style {
        if let style = resolved.styles.withLock({ $0[scope] }) { return style }
        let style = resolve(scope)
        resolved.styles.withLock { $0[scope] = style }
        return style
    }

    private func resolve(_ scope: String) -> Style {
        var style = Style.plain
        for name in Theme.chain(of: scope) {
            guard let layer = scopes[name] else { continue }
            if let fg = layer.fg { style.fg = color(fg) }
            if let bg = layer.bg { style.bg = color(bg) }
            if let modifiers = layer.modifiers { style.modifiers = modifiers }
        }
        return style
    }

    /// Shared by copies of a theme until one of them changes its palette or scopes.
    private final class ResolvedStyles: Sendable {
        let styles = Mutex<[String: Style]>([:])
    }

    /// `base`, then each prefix of `scope` from the shortest: `a.b.c` → base, a, a.b, a.b.c.
    static func chain(of scope: String) -> [String] {
        var names = ["base"]
        var prefix = ""
        for part in scope.split(separator: ".") {
            prefix = prefix.isEmpty ? String(part) : prefix + "." + part
            if prefix != "base" { names.append(prefix) }
        }
        return names
    }

    /// Whether `scope` or one of its parents is set (other than `base`).
    public func defines(_ scope: String) -> Bool {
        Theme.chain(of: scope).dropFirst().contains { scopes[$0] != nil }
    }

    private func color(_ reference: ColorReference) -> Color {
        switch reference {
        case .literal(let color): return color
        case .palette(let name): return palette[name] ?? .default
        }
    }

    /// This theme laid over `parent`: palette entries of `self` win, and each field a
    /// scope of `self` sets wins over the parent's same scope.
    public func inheriting(from parent: Theme) -> Theme {
        Theme(name: name,
              palette: parent.palette.merging(palette) { _, own in own },
              scopes: parent.scopes.merging(scopes) { inherited, own in
                  ScopeStyle(fg: own.fg ?? inherited.fg, bg: own.bg ?? inherited.bg,
                             modifiers: own.modifiers ?? inherited.modifiers)
              })
    }
}
