extension Theme {
    /// The generic part of the built-in default theme (`Themes/default.toml` begins with
    /// exactly this text), used when no theme directory is found. An app that defines
    /// scopes of its own can embed its whole `default.toml` through
    /// ``ThemeCatalog/embedded``.
    public static let embeddedDefault = """
# default: for dark terminals. Colors are semantic roles; a scope a.b.c inherits each
# unset field from a.b, then a, then base. Modifiers: bold, dim, italic, underline, reverse.
# Selections use `reverse` so they stay visible under NO_COLOR.

[palette]
fg = "#d0d0d0"
muted = "#8a8a8a"
accent = "#5fafff"
marked = "#d7af00"
ok = "#5fd75f"
warn = "#ffaf00"
error = "#ff5f5f"
surface = "#262626"

[styles]
"base" = { fg = "default", bg = "default" }
"header" = { fg = "fg", bg = "surface" }
"header.title" = { fg = "accent", modifiers = ["bold"] }
"header.clock" = { fg = "muted" }
"header.warning" = { fg = "warn", modifiers = ["bold"] }
"footer" = { fg = "fg", bg = "surface" }
"footer.key" = { fg = "accent", modifiers = ["bold"] }
"footer.disabled" = { fg = "muted", modifiers = ["dim"] }
"table.header" = { fg = "muted", modifiers = ["bold", "underline"] }
"table.row" = { fg = "fg" }
"table.row.selected" = { fg = "accent", modifiers = ["reverse", "bold"] }
"table.row.marked" = { fg = "marked", modifiers = ["bold"] }
"table.row.dim" = { fg = "muted", modifiers = ["dim"] }
"status.ok" = { fg = "ok" }
"status.warn" = { fg = "warn" }
"status.error" = { fg = "error", modifiers = ["bold"] }
"detail.label" = { fg = "muted" }
"detail.value" = { fg = "fg" }
"dialog" = { fg = "fg", bg = "surface" }
"dialog.title" = { fg = "accent", modifiers = ["bold"] }
"dialog.summary" = { fg = "muted" }
"dialog.button" = { fg = "fg" }
"dialog.button.focused" = { fg = "accent", modifiers = ["reverse", "bold"] }
"form.field" = { fg = "fg", modifiers = ["underline"] }
"form.field.focused" = { fg = "accent", modifiers = ["underline", "bold"] }
"message.info" = { fg = "accent" }
"message.error" = { fg = "error", modifiers = ["bold"] }
"tabs" = { fg = "muted" }
"tabs.current" = { fg = "accent", modifiers = ["reverse", "bold"] }
"command" = { fg = "fg" }
"help" = { fg = "fg", bg = "surface" }
"help.key" = { fg = "accent", modifiers = ["bold"] }
"metric.ok" = { fg = "ok", modifiers = ["bold"] }
"metric.bad" = { fg = "error", modifiers = ["bold"] }
"""
}
