import Foundation

extension Color {
    /// Color names accepted in themes, by ANSI index (`bright-` prefixes add 8).
    static let ansiNames = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    /// Parses a color as written in a theme: `"default"`, `"#rrggbb"`, an ANSI name
    /// (`"red"`, `"bright-blue"`, `"gray"`), or a 256-palette index (`"color208"`, `"208"`).
    public init?(parsing text: String) {
        let name = text.lowercased().replacingOccurrences(of: "_", with: "-")
        if name == "default" || name == "none" { self = .default; return }
        if name.hasPrefix("#") {
            let hex = name.dropFirst()
            guard hex.count == 6, let value = UInt32(hex, radix: 16) else { return nil }
            self = .rgb(UInt8(value >> 16), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF))
            return
        }
        if let index = Color.ansiNames.firstIndex(of: name) { self = .ansi(UInt8(index)); return }
        if name.hasPrefix("bright-"), let index = Color.ansiNames.firstIndex(of: String(name.dropFirst(7))) {
            self = .ansi(UInt8(index + 8))
            return
        }
        if name == "gray" || name == "grey" { self = .ansi(8); return }
        let digits = name.hasPrefix("color") ? String(name.dropFirst(5)) : name
        if let index = Int(digits), (0...255).contains(index) { self = .indexed(UInt8(index)); return }
        return nil
    }
}
