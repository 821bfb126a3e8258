/// Makes text from outside (databases, network, files) safe to draw.
///
/// Nothing that a terminal would interpret survives: C0 controls become the U+2400
/// control pictures (`ESC` → `␛`, so `"\u{1b}[2J"` shows as `␛[2J`), DEL becomes `␡`,
/// C1 controls and bidirectional overrides/isolates/marks become `�`, and a tab becomes a
/// space. Everything else, including emoji and combining marks, is kept.
///
///     TerminalText.sanitize("\u{1b}]0;pwned\u{07}")   // "␛]0;pwned␇"
public enum TerminalText {
    /// The visible stand-in for a C1 control, a bidi control or an unprintable scalar.
    public static let replacement: Unicode.Scalar = "\u{FFFD}"

    /// Returns `text` with every control made inert and visible.
    /// - Parameter keepNewlines: keep `\n` (and turn `\r\n` into `\n`) for multi-line text.
    public static func sanitize(_ text: String, keepNewlines: Bool = false) -> String {
        var out = String.UnicodeScalarView()
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            if keepNewlines && scalar == "\n" {
                if previousWasCR { out.removeLast() }
                out.append("\n")
            } else {
                out.append(visible(scalar))
            }
            previousWasCR = keepNewlines && scalar == "\r"
        }
        return String(out)
    }

    /// The scalar to draw in place of `scalar`: itself when harmless, otherwise a stand-in.
    public static func visible(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        switch scalar.value {
        case 0x09: return " "
        case 0x00...0x1F: return Unicode.Scalar(0x2400 + scalar.value)!
        case 0x7F: return "\u{2421}"
        case 0x80...0x9F: return replacement
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return replacement
        case 0x20...0x7E: return scalar
        default: return DisplayWidth.of(scalar) < 0 ? replacement : scalar
        }
    }

    /// Whether `text` would be drawn unchanged by ``sanitize(_:keepNewlines:)``.
    public static func isSafe(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { visible($0) == $0 }
    }
}
