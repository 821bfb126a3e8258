import CNcurses

extension Key {
    /// Decodes one `wget_wch` result: `status` is `OK` for a character and
    /// `KEY_CODE_YES` for a function key; nil for anything else (ERR, unknown codes).
    public static func decode(status: Int32, code: UInt32) -> Key? {
        if status == sb_key_code_yes() { return functionKey(Int32(bitPattern: code)) }
        guard status == sb_ok() else { return nil }
        switch code {
        case 0x0D, 0x0A: return .enter
        case 0x1B: return .escape
        case 0x09: return .tab
        case 0x7F, 0x08: return .backspace
        case 0x01...0x1A: return control(Character(Unicode.Scalar(code + 0x60)!))
        default:
            guard let scalar = Unicode.Scalar(code) else { return nil }
            return character(Character(scalar))
        }
    }

    private static func functionKey(_ code: Int32) -> Key? {
        switch code {
        case KEY_UP: return .up
        case KEY_DOWN: return .down
        case KEY_LEFT: return .left
        case KEY_RIGHT: return .right
        case KEY_PPAGE: return .pageUp
        case KEY_NPAGE: return .pageDown
        case KEY_HOME: return .home
        case KEY_END: return .end
        case KEY_DC: return .delete
        case KEY_IC: return .insert
        case KEY_BACKSPACE: return .backspace
        case KEY_ENTER: return .enter
        case KEY_BTAB: return .backTab
        case KEY_RESIZE: return .resize
        default:
            let number = Int(code - sb_key_f(0))
            return (1...12).contains(number) ? .function(number) : nil
        }
    }
}
