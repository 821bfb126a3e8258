import CNcurses
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Column widths as the terminal sees them: libc `wcwidth` per Unicode scalar, the same
/// function ncurses uses, so the grid and the screen agree on where every cell lands.
public enum DisplayWidth {
    /// `wcwidth` answers -1 for everything non-ASCII in the "C" locale; a UTF-8
    /// character type is selected once, before the first measurement.
    private static let localeReady: Bool = {
        TerminalLocale.ensureUTF8()
        return true
    }()

    /// Width of one scalar: 0 (combining, zero-width), 1, 2 (wide), or -1 (not printable).
    public static func of(_ scalar: Unicode.Scalar) -> Int {
        if scalar.value < 0x7F { return scalar.value >= 0x20 ? 1 : -1 }
        _ = localeReady
        return Int(sb_wcwidth(scalar.value))
    }

    /// Width of a whole string in terminal columns, after sanitizing.
    public static func of(_ text: String) -> Int {
        TerminalText.cells(of: text).reduce(0) { $0 + $1.width }
    }
}

/// Locale setup shared by measurement and the ncurses backend.
public enum TerminalLocale {
    /// Selects the user's locale, and falls back to `C.UTF-8` for the character type when
    /// the user's locale is not UTF-8. Returns whether a UTF-8 character type is active.
    @discardableResult
    public static func ensureUTF8() -> Bool {
        if isUTF8(setlocale(LC_ALL, "")) || isUTF8(setlocale(LC_CTYPE, nil)) { return true }
        return isUTF8(setlocale(LC_CTYPE, "C.UTF-8"))
    }

    private static func isUTF8(_ name: UnsafeMutablePointer<CChar>?) -> Bool {
        guard let name else { return false }
        let lower = String(cString: name).lowercased()
        return lower.contains("utf-8") || lower.contains("utf8")
    }
}
