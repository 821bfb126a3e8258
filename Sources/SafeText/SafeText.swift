/// The one rule for text from outside (databases, the event stream, the EHR, files) on
/// its way out of the program: to the screen, to stdout and stderr, into JSON.
///
/// Nothing a terminal would interpret survives: C0 controls become the U+2400 control
/// pictures (`ESC` → `␛`, so `"\u{1b}[2J"` prints as `␛[2J`), DEL becomes `␡`, C1
/// controls, bidirectional overrides/isolates/marks, the line and paragraph separators
/// and unassigned code points become `�`, and a tab becomes a space. Everything else,
/// emoji and combining marks included, is kept.
///
///     SafeText.sanitize("\u{1b}]0;pwned\u{07}")   // "␛]0;pwned␇"
///
/// The screen (TerminalUI's `TerminalText`) adds what only a terminal knows (character
/// widths); the command line uses this directly, so it never depends on the screens.
public enum SafeText {
    /// The visible stand-in for a C1 control, a bidi control or an unprintable scalar.
    public static let replacement: Unicode.Scalar = "\u{FFFD}"

    /// Returns `text` with every control made inert and visible.
    /// - Parameter keepNewlines: keep `\n` (and turn `\r\n` into `\n`) for multi-line text.
    public static func sanitize(_ text: String, keepNewlines: Bool = false) -> String {
        sanitize(text, keepNewlines: keepNewlines, visible: visible)
    }

    /// `sanitize` with another per-scalar rule (the terminal's, which also knows widths).
    public static func sanitize(_ text: String, keepNewlines: Bool, visible: (Unicode.Scalar) -> Unicode.Scalar) -> String {
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

    /// The scalar to show in place of `scalar`: itself when harmless, otherwise a stand-in.
    public static func visible(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        switch scalar.value {
        case 0x20...0x7E: return scalar
        case 0x09: return " "
        case 0x00...0x1F: return Unicode.Scalar(0x2400 + scalar.value)!
        case 0x7F: return "\u{2421}"
        case 0x80...0x9F: return replacement
        case _ where isInvisibleControl(scalar): return replacement
        default: return scalar.properties.generalCategory == .unassigned ? replacement : scalar
        }
    }

    /// Bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E/F,
    /// U+202A–U+202E, U+2066–U+2069) and the line and paragraph separators (U+2028/9):
    /// they reorder or break what follows them without showing themselves.
    public static func isInvisibleControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069, 0x2028, 0x2029: true
        default: false
        }
    }

    /// Whether `text` would come out of ``sanitize(_:keepNewlines:)`` unchanged.
    public static func isSafe(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { visible($0) == $0 }
    }

    /// Whether JSON output writes `scalar` as a `\u` escape: RFC 8259's C0 controls, and
    /// also DEL, C1 and the invisible controls above, so a JSON line shown on a terminal
    /// or read by a person cannot carry them raw.
    public static func escapedInJSON(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || isInvisibleControl(scalar)
    }
}
