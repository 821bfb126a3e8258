import SafeText

/// Makes text from outside (databases, network, files) safe to draw: `SafeText`'s rule
/// (controls made visible, C1 and bidi controls and separators replaced), and a scalar
/// the terminal cannot draw (no width) replaced too.
///
///     TerminalText.sanitize("\u{1b}]0;pwned\u{07}")   // "␛]0;pwned␇"
public enum TerminalText {
    /// The visible stand-in for a C1 control, a bidi control or an unprintable scalar.
    public static let replacement: Unicode.Scalar = SafeText.replacement

    /// Returns `text` with every control made inert and visible.
    /// - Parameter keepNewlines: keep `\n` (and turn `\r\n` into `\n`) for multi-line text.
    public static func sanitize(_ text: String, keepNewlines: Bool = false) -> String {
        SafeText.sanitize(text, keepNewlines: keepNewlines, visible: visible)
    }

    /// The scalar to draw in place of `scalar`: itself when harmless, otherwise a stand-in.
    public static func visible(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        let safe = SafeText.visible(scalar)
        guard safe == scalar, scalar.value > 0x7E else { return safe }
        return DisplayWidth.of(scalar) < 0 ? replacement : scalar
    }

    /// Whether `text` would be drawn unchanged by ``sanitize(_:keepNewlines:)``.
    public static func isSafe(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { visible($0) == $0 }
    }
}
