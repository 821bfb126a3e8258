import CNcurses
import Testing
@testable import TerminalUI

@Suite struct KeyTests {
    @Test(arguments: ["j", "G", "?", "/", ":", "space", "ctrl-l", "ctrl-x", "enter", "esc", "tab", "shift-tab",
                      "backspace", "delete", "insert", "up", "down", "left", "right", "pgup", "pgdn", "home", "end",
                      "f1", "f5", "f12", "é", "日"])
    func textRoundTrips(text: String) throws {
        let key = try #require(Key(parsing: text))
        #expect(key.description == text)
    }

    @Test func aliasesAndRejects() {
        #expect(Key(parsing: "Escape") == .escape)
        #expect(Key(parsing: "CTRL-L") == .ctrl("l"))
        #expect(Key(parsing: "ctrl-i") == .tab)
        #expect(Key(parsing: "pagedown") == .pageDown)
        #expect(Key(parsing: " ") == .char(" "))
        for bad in ["", "f13", "f0", "ctrl-1", "meta-x", "jj", "\u{1b}"] { #expect(Key(parsing: bad) == nil, "\(bad)") }
    }

    @Test func decodesCharacters() {
        let ok = sb_ok()
        #expect(Key.decode(status: ok, code: 0x6A) == .char("j"))
        #expect(Key.decode(status: ok, code: 0x0D) == .enter)
        #expect(Key.decode(status: ok, code: 0x0A) == .enter)
        #expect(Key.decode(status: ok, code: 0x1B) == .escape)
        #expect(Key.decode(status: ok, code: 0x09) == .tab)
        #expect(Key.decode(status: ok, code: 0x7F) == .backspace)
        #expect(Key.decode(status: ok, code: 0x0C) == .ctrl("l"))
        #expect(Key.decode(status: ok, code: 0x20) == .char(" "))
        #expect(Key.decode(status: ok, code: 0x65E5) == .char("日"))
        #expect(Key.decode(status: sb_err(), code: 0x6A) == nil)
    }

    @Test func decodesFunctionKeys() {
        let yes = sb_key_code_yes()
        let cases: [(Int32, Key)] = [
            (KEY_UP, .up), (KEY_DOWN, .down), (KEY_LEFT, .left), (KEY_RIGHT, .right), (KEY_PPAGE, .pageUp),
            (KEY_NPAGE, .pageDown), (KEY_HOME, .home), (KEY_END, .end), (KEY_DC, .delete), (KEY_BTAB, .backTab),
            (KEY_BACKSPACE, .backspace), (KEY_RESIZE, .resize), (sb_key_f(1), .function(1)), (sb_key_f(12), .function(12)),
        ]
        for (code, key) in cases { #expect(Key.decode(status: yes, code: UInt32(code)) == key) }
        #expect(Key.decode(status: yes, code: UInt32(sb_key_f(13))) == nil)
    }
}

enum DemoAction: String, Hashable, Sendable {
    case up, down, discard, refresh, quit
}

@Suite struct KeyMapTests {
    func map() -> KeyMap<DemoAction> {
        KeyMap(title: "List", bindings: [
            KeyBinding(keys: [.char("k"), .up], action: .up, hint: "up"),
            KeyBinding(keys: [.char("j"), .down], action: .down, hint: "down"),
            KeyBinding(keys: [.char("d")], action: .discard, hint: "discard", help: "Discard the item", isDestructive: true),
            KeyBinding(keys: [.ctrl("r")], action: .refresh, hint: "refresh"),
            KeyBinding(keys: [.char("q")], action: .quit, hint: "quit"),
        ])
    }

    @Test func lookUpByKeyAndAction() {
        let keys = map()
        #expect(keys.binding(for: .down)?.action == .down)
        #expect(keys.binding(for: .char("x")) == nil)
        #expect(keys.binding(of: .discard)?.help == "Discard the item")
        #expect(keys.binding(of: .up)?.keyText == "k/up")
    }

    @Test func readOnlyRemovesDestructiveBindings() {
        var keys = map()
        keys.removeDestructive()
        #expect(keys.binding(for: .char("d")) == nil)
        #expect(keys.bindings.count == 4)
    }

    @Test func disabledReasonIsKept() {
        var keys = map()
        keys.setDisabledReason("nothing selected", for: .discard)
        #expect(keys.binding(for: .char("d"))?.disabledReason == "nothing selected")
        keys.setDisabledReason(nil, for: .discard)
        #expect(keys.binding(for: .char("d"))?.isEnabled == true)
    }

    @Test func remapFromTOMLWithWarnings() throws {
        let config = """
        theme = "light"

        [keys]
        discard = ["x", "ctrl-x"]
        explode = ["e"]
        refresh = ["ctrl-r", "hyper-r"]
        quit = "j"
        """
        var keys = map()
        let warnings = try keys.applyRemapping(toml: config, file: "config.toml")
        #expect(keys.binding(for: .char("x"))?.action == .discard)
        #expect(keys.binding(for: .ctrl("x"))?.action == .discard)
        #expect(keys.binding(for: .char("d")) == nil)
        #expect(warnings.map(\.description) == [
            "config.toml:5: unknown action \"explode\"",
            "config.toml:6: unknown key \"hyper-r\" for refresh",
            "config.toml: key \"j\" is bound to both down and quit in List; down wins",
        ])
        #expect(keys.binding(for: .char("j"))?.action == .down)
    }
}
