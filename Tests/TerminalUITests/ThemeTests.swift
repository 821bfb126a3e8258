import Foundation
import Testing
@testable import TerminalUI

/// The package's `Themes/` directory, found from this file's path.
let packageThemes = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Themes").path

/// Scopes the generic engine and its users draw with; every theme must cover them.
let genericScopes = [
    "base", "header", "header.title", "header.clock", "header.warning", "footer", "footer.key", "footer.disabled",
    "table.header", "table.row", "table.row.selected", "table.row.marked", "table.row.dim", "status.ok",
    "status.warn", "status.error", "detail.label", "detail.value", "dialog", "dialog.title", "dialog.button",
    "dialog.button.focused", "form.field", "form.field.focused", "message.info", "message.error", "tabs", "tabs.current", "command", "help",
    "help.key", "metric.ok", "metric.bad",
]

/// A fresh directory; the caller removes it.
func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "tui-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite struct ThemeTests {
    let catalog = ThemeCatalog(directories: [packageThemes])

    @Test(arguments: ["default", "light", "high-contrast", "monochrome"])
    func shippedThemesLoadCleanly(name: String) throws {
        let (theme, warnings) = try catalog.load(name)
        #expect(warnings == [])
        for scope in genericScopes where scope != "base" {
            #expect(theme.scopes[scope] != nil, "\(name) lacks \(scope)")
        }
    }

    @Test func monochromeUsesOnlyModifiers() throws {
        let theme = try catalog.load("monochrome").theme
        for scope in theme.scopes.keys {
            #expect(theme.style(scope).fg == .default && theme.style(scope).bg == .default, "\(scope)")
        }
        #expect(theme.style("table.row.selected").modifiers.contains(.reverse))
    }

    @Test func defaultFileBeginsWithTheEmbeddedText() throws {
        let file = try String(contentsOfFile: packageThemes + "/default.toml", encoding: .utf8)
        #expect(file.hasPrefix(Theme.embeddedDefault))
    }

    @Test func embeddedDefaultWorksWithoutDirectories() throws {
        let (theme, warnings) = try ThemeCatalog(directories: ["/nonexistent"]).load("default")
        #expect(warnings == [])
        #expect(theme.style("table.row.selected").modifiers == [.reverse, .bold])
        #expect(theme.style("status.error").fg == .rgb(0xff, 0x5f, 0x5f))
    }

    @Test func scopesFallBackFieldByField() throws {
        let text = """
        [palette]
        accent = "#102030"
        [styles]
        base = { fg = "white", bg = "black" }
        "table" = { fg = "red" }
        "table.row" = { modifiers = ["bold"] }
        "table.row.selected" = { bg = "accent" }
        """
        let theme = try ThemeFile(name: "t", text: text, file: "t.toml").theme
        #expect(theme.style("table.row.selected") == Style(fg: .ansi(1), bg: .rgb(0x10, 0x20, 0x30), modifiers: [.bold]))
        #expect(theme.style("table.row.selected.extra") == theme.style("table.row.selected"))
        #expect(theme.style("table.header") == Style(fg: .ansi(1), bg: .ansi(0)))
        #expect(theme.style("nothing.here") == Style(fg: .ansi(7), bg: .ansi(0)))
    }

    /// Styles are resolved once and kept; a copy whose palette or scopes change resolves
    /// afresh, and the original keeps its own.
    @Test func changedThemesDoNotKeepOldStyles() throws {
        var theme = Theme(name: "t", palette: ["accent": .ansi(1)],
                          scopes: ["base": ScopeStyle(fg: .palette("accent")), "table": ScopeStyle(bg: .literal(.ansi(4)))])
        let original = theme
        #expect(theme.style("table.row") == Style(fg: .ansi(1), bg: .ansi(4)))
        theme.palette["accent"] = .ansi(2)
        #expect(theme.style("table.row") == Style(fg: .ansi(2), bg: .ansi(4)))
        theme.scopes["table.row"] = ScopeStyle(modifiers: [.bold])
        #expect(theme.style("table.row") == Style(fg: .ansi(2), bg: .ansi(4), modifiers: [.bold]))
        #expect(original.style("table.row") == Style(fg: .ansi(1), bg: .ansi(4)))
    }

    @Test func childPaletteRecolorsParentStyles() throws {
        let light = try catalog.load("light").theme
        let dark = try catalog.load("default").theme
        #expect(light.style("table.row.selected").fg == .rgb(0x00, 0x5f, 0xd7))
        #expect(light.style("table.row.selected").modifiers == dark.style("table.row.selected").modifiers)
    }

    @Test func badKeysAndColorsAreWarningsWithLines() throws {
        let text = """
        inherits = "default"
        colour = "red"

        [palette]
        accent = "#12345"
        [styles]
        "table.row" = { fg = "#zz0000", shade = 3 }
        "footer" = { modifiers = ["blinking"] }
        "header" = { fg = "nosuchcolor" }
        """
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try text.write(toFile: directory + "/broken.toml", atomically: true, encoding: .utf8)
        let (theme, warnings) = try ThemeCatalog(directories: [directory, packageThemes]).load("broken")
        let file = directory + "/broken.toml"
        #expect(warnings.map(\.description) == [
            "\(file):2: unknown key \"colour\"",
            "\(file):5: bad color for palette entry \"accent\": \"#12345\"",
        ] + warnings.dropFirst(2).map(\.description))
        let rest = Set(warnings.dropFirst(2).map(\.description))
        #expect(rest == [
            "\(file):7: bad color \"#zz0000\" for fg of \"table.row\"",
            "\(file):7: unknown field \"shade\" in style \"table.row\"",
            "\(file):8: unknown modifier \"blinking\" in \"footer\"",
            "\(file):9: \"header\" uses unknown color \"nosuchcolor\"",
        ])
        #expect(theme.style("table.row").fg == .rgb(0xd0, 0xd0, 0xd0))
    }

    @Test func syntaxErrorsCarryTheLine() {
        let error = #expect(throws: ThemeError.self) {
            _ = try ThemeFile(name: "x", text: "a = 1\nb = = 2\n", file: "x.toml")
        }
        guard case let .syntax(file, line, _)? = error else { Issue.record("not a syntax error"); return }
        #expect(file == "x.toml" && line == 2)
    }

    @Test func themeByPathAndListing() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "inherits = \"monochrome\"\n".write(toFile: directory + "/mine.toml", atomically: true, encoding: .utf8)
        let user = ThemeCatalog(directories: [directory, packageThemes])
        #expect(user.available() == ["default", "high-contrast", "light", "mine", "monochrome"])
        let byPath = try ThemeCatalog(directories: [packageThemes]).load(directory + "/mine.toml")
        #expect(byPath.theme.name == "mine")
        #expect(byPath.theme.style("header").modifiers == [.reverse])
    }

    @Test func cyclesAndMissingThemesFallBackToDefault() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "inherits = \"b\"\n".write(toFile: directory + "/a.toml", atomically: true, encoding: .utf8)
        try "inherits = \"a\"\n".write(toFile: directory + "/b.toml", atomically: true, encoding: .utf8)
        let catalog = ThemeCatalog(directories: [directory])
        #expect(throws: ThemeError.inheritanceCycle(["a", "b", "a"])) { try catalog.load("a") }
        let (theme, warnings) = catalog.resolve("nope")
        #expect(theme.name == "default")
        #expect(warnings.count == 1 && warnings[0].description.contains("\"nope\" not found"))
    }

    @Test func standardSearchPath() {
        let catalog = ThemeCatalog.standard(appName: "demo",
                                            environment: ["HOME": "/home/u", "DEMO_THEMES": "/opt/themes"],
                                            executablePath: packageThemes + "/../.build/debug/demo")
        #expect(catalog.directories.count == 3)
        #expect(catalog.directories[0] == "/home/u/.config/demo/themes")
        #expect(catalog.directories[1] == "/opt/themes")
        #expect(catalog.directories[2].hasSuffix("/Themes"))
    }
}
