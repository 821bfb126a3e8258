/// One key press, decoded from the terminal.
///
/// Keys have a textual form for config files and help, parsed by ``init(parsing:)`` and
/// printed by ``description``: `"j"`, `"G"`, `"?"`, `"space"`, `"ctrl-l"`, `"enter"`,
/// `"esc"`, `"tab"`, `"shift-tab"`, `"backspace"`, `"delete"`, `"up"`, `"pgdn"`, `"home"`,
/// `"f5"`.
public enum Key: Hashable, Sendable, CustomStringConvertible {
    /// A printable character, including space.
    case char(Character)
    /// Control plus a letter `a`–`z` (not the ones that are Tab, Enter or Backspace).
    case ctrl(Character)
    case enter, escape, tab, backTab, backspace, delete, insert
    case up, down, left, right, pageUp, pageDown, home, end
    /// A function key, F1–F12.
    case function(Int)
    /// The terminal changed size (not a key press, but delivered with them).
    case resize

    private static let names: [(String, Key)] = [
        ("enter", .enter), ("esc", .escape), ("tab", .tab), ("shift-tab", .backTab), ("backspace", .backspace),
        ("delete", .delete), ("insert", .insert), ("up", .up), ("down", .down), ("left", .left), ("right", .right),
        ("pgup", .pageUp), ("pgdn", .pageDown), ("home", .home), ("end", .end), ("space", .char(" ")),
        ("resize", .resize),
    ]

    private static let aliases: [String: Key] = [
        "return": .enter, "escape": .escape, "backtab": .backTab, "del": .delete, "pageup": .pageUp,
        "pagedown": .pageDown, "bs": .backspace,
    ]

    /// Parses the textual form; names are case-insensitive, single characters are not.
    public init?(parsing text: String) {
        if text.count == 1, let character = text.first {
            guard let key = Key.character(character) else { return nil }
            self = key
            return
        }
        let name = text.lowercased()
        if let key = Key.names.first(where: { $0.0 == name })?.1 ?? Key.aliases[name] {
            self = key
            return
        }
        if name.hasPrefix("ctrl-"), name.count == 6, let letter = name.last, let key = Key.control(letter) {
            self = key
            return
        }
        if name.hasPrefix("f"), let number = Int(name.dropFirst()), (1...12).contains(number) {
            self = .function(number)
            return
        }
        return nil
    }

    /// The key for a typed character, or nil for a control character.
    static func character(_ character: Character) -> Key? {
        guard let scalar = character.unicodeScalars.first, scalar.value >= 0x20, scalar.value != 0x7F else { return nil }
        return .char(character)
    }

    /// Control plus `letter`; Ctrl-I, Ctrl-M and Ctrl-H are Tab, Enter and Backspace
    /// because terminals send the same byte.
    static func control(_ letter: Character) -> Key? {
        switch letter {
        case "i": return .tab
        case "m", "j": return .enter
        case "h": return .backspace
        case "a"..."z": return .ctrl(letter)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .char(" "): return "space"
        case .char(let character): return String(character)
        case .ctrl(let letter): return "ctrl-\(letter)"
        case .function(let number): return "f\(number)"
        default: return Key.names.first { $0.1 == self }!.0
        }
    }
}
