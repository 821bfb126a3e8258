import ConfigFiles
import TOMLKit

/// A theme file as parsed, before its parent is applied.
///
/// ```toml
/// inherits = "default"
/// [palette]
/// accent = "#5fafff"
/// [styles]
/// "table.row.selected" = { fg = "black", bg = "accent", modifiers = ["bold"] }
/// ```
public struct ThemeFile: Sendable {
    /// The theme this one is laid over, if any.
    public var inherits: String?
    /// The theme as written in this file alone.
    public var theme: Theme
    /// Unknown keys, bad colors and modifiers: skipped, each with its line.
    public var warnings: [ConfigWarning]
    /// The file the theme came from, for warnings.
    public let file: String
    private let lines: SourceLines

    /// Parses theme source text. Throws ``ThemeError/syntax`` only for invalid TOML.
    public init(name: String, text: String, file: String) throws {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ThemeError.syntax(file: file, line: error.source.begin.line, message: error.description)
        }
        self.file = file
        lines = SourceLines(text)
        var parser = Parser(file: file, lines: lines)
        theme = Theme(name: name)
        inherits = nil
        for (key, value) in table {
            switch key {
            case "inherits":
                if let parent = value.string { inherits = parent } else { parser.warn(key, "inherits must be a theme name") }
            case "name", "description":
                break
            case "palette":
                guard let palette = value.table else { parser.warn(key, "[palette] must be a table"); continue }
                theme.palette = parser.palette(palette)
            case "styles":
                guard let styles = value.table else { parser.warn(key, "[styles] must be a table"); continue }
                theme.scopes = parser.styles(styles, palette: theme.palette)
            default:
                parser.warn(key, "unknown key \"\(key)\"")
            }
        }
        warnings = parser.warnings
    }

    /// Warnings for style colors that name no palette entry of the final theme
    /// (checked once the parent's palette is known).
    public func missingPaletteNames(in palette: [String: Color]) -> [ConfigWarning] {
        var warnings: [ConfigWarning] = []
        for (scope, style) in theme.scopes.sorted(by: { $0.key < $1.key }) {
            for case .palette(let name)? in [style.fg, style.bg] where palette[name] == nil {
                warnings.append(ConfigWarning(file: file, line: lines.line(ofKey: scope, inTable: "styles"),
                                              message: "\"\(scope)\" uses unknown color \"\(name)\""))
            }
        }
        return warnings
    }

    private struct Parser {
        let file: String
        let lines: SourceLines
        var warnings: [ConfigWarning] = []

        mutating func warn(_ key: String, _ message: String, table: String? = nil) {
            warnings.append(ConfigWarning(file: file, line: lines.line(ofKey: key, inTable: table), message: message))
        }

        mutating func palette(_ table: TOMLTable) -> [String: Color] {
            var palette: [String: Color] = [:]
            for (name, value) in table {
                if let color = literal(value) {
                    palette[name] = color
                } else {
                    warn(name, "bad color for palette entry \"\(name)\": \(value.debugDescription)", table: "palette")
                }
            }
            return palette
        }

        mutating func styles(_ table: TOMLTable, palette: [String: Color]) -> [String: ScopeStyle] {
            var scopes: [String: ScopeStyle] = [:]
            for (scope, value) in table {
                guard let fields = value.table else {
                    warn(scope, "style \"\(scope)\" must be a table like { fg = \"red\" }", table: "styles")
                    continue
                }
                var style = ScopeStyle()
                for (field, fieldValue) in fields {
                    switch field {
                    case "fg": style.fg = reference(fieldValue, scope: scope, field: field)
                    case "bg": style.bg = reference(fieldValue, scope: scope, field: field)
                    case "modifiers": style.modifiers = modifiers(fieldValue, scope: scope)
                    default: warn(scope, "unknown field \"\(field)\" in style \"\(scope)\"", table: "styles")
                    }
                }
                scopes[scope] = style
            }
            return scopes
        }

        func literal(_ value: TOMLValueConvertible) -> Color? {
            if let index = value.int { return (0...255).contains(index) ? .indexed(UInt8(index)) : nil }
            return value.string.flatMap(Color.init(parsing:))
        }

        mutating func reference(_ value: TOMLValueConvertible, scope: String, field: String) -> ColorReference? {
            if let color = literal(value) { return .literal(color) }
            if let name = value.string, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
                return .palette(name)
            }
            warn(scope, "bad color \(value.debugDescription) for \(field) of \"\(scope)\"", table: "styles")
            return nil
        }

        mutating func modifiers(_ value: TOMLValueConvertible, scope: String) -> Modifiers? {
            guard let array = value.array else {
                warn(scope, "modifiers of \"\(scope)\" must be a list like [\"bold\"]", table: "styles")
                return nil
            }
            var modifiers: Modifiers = []
            for item in array {
                if let name = item.string, let modifier = Modifiers.names.first(where: { $0.0 == name })?.1 {
                    modifiers.insert(modifier)
                } else {
                    warn(scope, "unknown modifier \(item.debugDescription) in \"\(scope)\"", table: "styles")
                }
            }
            return modifiers
        }
    }
}

/// Why a theme could not be loaded at all.
public enum ThemeError: Error, Equatable, CustomStringConvertible {
    case notFound(String, searched: [String])
    case unreadable(file: String)
    case syntax(file: String, line: Int, message: String)
    case inheritanceCycle([String])

    public var description: String {
        switch self {
        case let .notFound(name, searched):
            return "theme \"\(name)\" not found (searched: \(searched.joined(separator: ", ")))"
        case let .unreadable(file): return "\(file): cannot read theme file"
        case let .syntax(file, line, message): return "\(file):\(line): \(message)"
        case let .inheritanceCycle(names): return "themes inherit in a cycle: \(names.joined(separator: " → "))"
        }
    }
}
