import ConfigFiles
import Foundation

/// Where themes come from, and loading them by name or path.
///
/// Directories are searched in order (put the user's directory first so it can shadow
/// built-in themes); embedded texts are the last resort, so the program still has its
/// default theme when no directory is found.
///
///     let catalog = ThemeCatalog.standard(appName: "myapp")
///     let (theme, warnings) = catalog.resolve(option)   // --theme NAME|PATH, or nil
public struct ThemeCatalog: Sendable {
    /// Directories holding `NAME.toml` files, searched in order.
    public var directories: [String]
    /// Theme texts by name, used when no directory has the theme.
    public var embedded: [String: String]

    public init(directories: [String], embedded: [String: String] = ["default": Theme.embeddedDefault]) {
        self.directories = directories
        self.embedded = embedded
    }

    /// The usual search path for an app called `appName`:
    /// 1. `$XDG_CONFIG_HOME/<app>/themes` (or `~/.config/<app>/themes`),
    /// 2. `$<APP>_THEMES` (e.g. `MYAPP_THEMES`),
    /// 3. a `Themes/` directory found beside or above the executable, or
    ///    `<prefix>/share/<app>/themes`.
    public static func standard(appName: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                                executablePath: String? = Bundle.main.executablePath,
                                embedded: [String: String] = ["default": Theme.embeddedDefault]) -> ThemeCatalog {
        var directories: [String] = []
        if let config = environment["XDG_CONFIG_HOME"], !config.isEmpty {
            directories.append("\(config)/\(appName)/themes")
        } else if let home = environment["HOME"] {
            directories.append("\(home)/.config/\(appName)/themes")
        }
        if let path = environment["\(appName.uppercased())_THEMES"], !path.isEmpty { directories.append(path) }
        if let executablePath, let builtIn = builtInDirectory(appName: appName, executablePath: executablePath) {
            directories.append(builtIn)
        }
        return ThemeCatalog(directories: directories, embedded: embedded)
    }

    /// Looks for `Themes/default.toml` from the executable's folder upward (a package
    /// checkout: `.build/debug/app` → `Themes/`), then `../share/<app>/themes`.
    static func builtInDirectory(appName: String, executablePath: String) -> String? {
        var folder = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
        let share = folder.deletingLastPathComponent().appendingPathComponent("share/\(appName)/themes")
        for _ in 0..<5 {
            let candidate = folder.appendingPathComponent("Themes")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("default.toml").path) {
                return candidate.path
            }
            folder = folder.deletingLastPathComponent()
        }
        return FileManager.default.fileExists(atPath: share.path) ? share.path : nil
    }

    /// Names of every theme found, sorted, without duplicates.
    public func available() -> [String] {
        var names = Set(embedded.keys)
        for directory in directories {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for file in files where file.hasSuffix(".toml") { names.insert(String(file.dropLast(5))) }
        }
        return names.sorted()
    }

    /// Loads a theme by name or by path (anything with a `/` or ending in `.toml`),
    /// following `inherits`. Warnings are returned; only a missing theme, invalid TOML
    /// or an inheritance cycle throws.
    public func load(_ nameOrPath: String) throws -> (theme: Theme, warnings: [ConfigWarning]) {
        try load(nameOrPath, seen: [])
    }

    /// Loads `selection` (or `default` when nil); on failure falls back to the embedded
    /// default theme and reports the failure as a warning, so the program always starts.
    public func resolve(_ selection: String?) -> (theme: Theme, warnings: [ConfigWarning]) {
        let name = selection ?? "default"
        do {
            return try load(name)
        } catch {
            let fallback = (try? ThemeFile(name: "default", text: Theme.embeddedDefault, file: "(built-in default)"))?.theme
            return (fallback ?? Theme(name: "default"), [ConfigWarning(file: name, line: nil, message: "\(error)")])
        }
    }

    private func load(_ nameOrPath: String, seen: [String]) throws -> (theme: Theme, warnings: [ConfigWarning]) {
        let (name, file, text) = try source(of: nameOrPath)
        if seen.contains(name) { throw ThemeError.inheritanceCycle(seen + [name]) }
        let parsed = try ThemeFile(name: name, text: text, file: file)
        var theme = parsed.theme
        var warnings = parsed.warnings
        if let parent = parsed.inherits {
            let base = try load(parent, seen: seen + [name])
            theme = theme.inheriting(from: base.theme)
            warnings = base.warnings + warnings
        }
        return (theme, warnings + parsed.missingPaletteNames(in: theme.palette))
    }

    private func source(of nameOrPath: String) throws -> (name: String, file: String, text: String) {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".toml") {
            let url = URL(fileURLWithPath: nameOrPath)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw ThemeError.notFound(nameOrPath, searched: [nameOrPath])
            }
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw ThemeError.unreadable(file: url.path) }
            return (url.deletingPathExtension().lastPathComponent, url.path, text)
        }
        for directory in directories {
            let path = "\(directory)/\(nameOrPath).toml"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ThemeError.unreadable(file: path) }
            return (nameOrPath, path, text)
        }
        if let text = embedded[nameOrPath] { return (nameOrPath, "(built-in \(nameOrPath))", text) }
        throw ThemeError.notFound(nameOrPath, searched: directories)
    }
}
