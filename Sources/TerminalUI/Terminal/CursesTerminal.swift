import CNcurses
import Foundation

/// Why the real terminal could not be used.
public enum TerminalError: Error, Equatable, CustomStringConvertible {
    /// Standard input or output is not a terminal (a pipe, a file).
    case notATerminal
    /// `TERM` is unset, `dumb`, or unknown to terminfo.
    case unsupportedTerminal(String?)

    public var description: String {
        switch self {
        case .notATerminal:
            return "standard input and output must be a terminal (not a pipe or a file)"
        case .unsupportedTerminal(nil):
            return "TERM is not set; set it to your terminal type, e.g. TERM=xterm-256color"
        case .unsupportedTerminal(let name?):
            return "terminal type \"\(name)\" cannot draw this interface; try TERM=xterm-256color"
        }
    }
}

/// The ncurses backend: raw keys, no echo, no mouse capture, a hidden cursor except
/// where a frame puts one, colors degraded to what the terminal shows, and only the
/// changed cells of each frame written. Call ``restore()`` before exiting; fatal
/// signals (INT, TERM, HUP, QUIT) restore the terminal on their own.
public final class CursesTerminal: Terminal {
    /// The color depth in use (after `NO_COLOR` and terminfo).
    public let colorDepth: ColorDepth
    private let screen: OpaquePointer
    private var pairs = ColorPairs()
    private var isRestored = false
    /// The last cell's style and what it became in curses: a frame's cells come in runs
    /// of one style, so each run is degraded and its color pair found once.
    private var lastStyle: Style?
    private var lastLook: (attributes: attr_t, pair: Int32) = (0, 0)
    /// One buffer for every cell's characters instead of an array per cell (a full
    /// 120x40 frame is 4,800 cells).
    private var characters: [wchar_t] = []

    /// Starts ncurses on standard input and output.
    /// - Parameter environment: consulted for `TERM`, `NO_COLOR` and `COLORTERM`.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else { throw TerminalError.notATerminal }
        guard let term = environment["TERM"], !term.isEmpty else { throw TerminalError.unsupportedTerminal(nil) }
        guard term != "dumb" else { throw TerminalError.unsupportedTerminal(term) }
        TerminalLocale.ensureUTF8()
        guard let screen = newterm(term, sb_stdout(), sb_stdin()) else { throw TerminalError.unsupportedTerminal(term) }
        self.screen = screen
        set_term(screen)
        // ncurses (6.4) flushes its output at every cursor move while a screen is in its
        // "initial" state, which only leaving and resuming it ends: a frame went out in a
        // write(2) per line, 50 to 100 of them. Leaving and resuming now sends each frame
        // in a few large writes. Before colors start: with colors on, leaving sends the
        // terminal's color reset, an OSC ending in BEL.
        endwin()
        doupdate()
        raw()
        noecho()
        nonl()
        keypad(sb_stdscr(), true)
        nodelay(sb_stdscr(), true)
        // No look for typed-ahead keys in the middle of each refresh (two polls a frame
        // under a busy stream): the loop reads keys itself before every frame.
        typeahead(-1)
        set_escdelay(25)
        curs_set(0)
        var depth = ColorDepth.none
        if has_colors() {
            start_color()
            use_default_colors()
            depth = ColorDepth.detect(environment: environment, terminalColors: Int(sb_colors()))
            // ncurses writes 24-bit colors only through a direct-color terminfo entry.
            if depth == .truecolor && sb_colors() < 1 << 24 { depth = .palette256 }
            if depth == .palette256 && sb_colors() < 256 { depth = .ansi8 }
        }
        colorDepth = depth
        pairs.limit = Int(sb_color_pairs())
        stopPipe = nonBlockingPipe()
        sb_install_restore_handlers(stopPipe?.write ?? -1)
    }

    /// The pipe a stop signal is written to (read end polled by the loop).
    private var stopPipe: (read: Int32, write: Int32)?

    public var stopDescriptor: Int32? { stopPipe?.read }

    deinit { restore() }

    public var size: Size { Size(width: Int(sb_getmaxx(sb_stdscr())), height: Int(sb_getmaxy(sb_stdscr()))) }

    public var inputDescriptor: Int32? { STDIN_FILENO }

    public func readKeys() -> [Key] {
        var keys: [Key] = []
        var code: wint_t = 0
        while true {
            let status = wget_wch(sb_stdscr(), &code)
            if status == sb_err() { break }
            if let key = Key.decode(status: status, code: UInt32(code)) { keys.append(key) }
        }
        return keys
    }

    public func bell() { _ = beep() }

    public func draw(_ frame: Frame) {
        if frame.isFull {
            clearok(sb_curscr(), true)
            erase()
        }
        for write in frame.writes { put(write) }
        if let cursor = frame.cursor {
            move(Int32(cursor.y), Int32(cursor.x))
            curs_set(1)
        } else {
            curs_set(0)
        }
        refresh()
    }

    /// Ends ncurses and gives the terminal back as it was. Safe to call twice.
    public func restore() {
        guard !isRestored else { return }
        isRestored = true
        endwin()
        sb_remove_restore_handlers()
        if let stopPipe {
            close(stopPipe.read)
            close(stopPipe.write)
            self.stopPipe = nil
        }
        delscreen(screen)
    }

    private func put(_ write: CellWrite) {
        if write.cell.style != lastStyle {
            let style = write.cell.style.degraded(to: colorDepth)
            let pair = colorDepth == .none ? 0 : pairs.pair(fg: colorNumber(style.fg), bg: colorNumber(style.bg))
            lastLook = (attributes(style.modifiers), Int32(pair))
            lastStyle = write.cell.style
        }
        characters.removeAll(keepingCapacity: true)
        for scalar in write.cell.text.unicodeScalars { characters.append(wchar_t(bitPattern: scalar.value)) }
        characters.append(0)
        _ = sb_put_cell(Int32(write.position.y), Int32(write.position.x), characters, lastLook.attributes, lastLook.pair)
    }

    private func colorNumber(_ color: Color) -> Int32 {
        switch color {
        case .default: return -1
        case .ansi(let index), .indexed(let index): return Int32(index)
        case let .rgb(r, g, b): return Int32(r) << 16 | Int32(g) << 8 | Int32(b)
        }
    }

    private func attributes(_ modifiers: Modifiers) -> attr_t {
        var attributes = sb_a_normal()
        if modifiers.contains(.bold) { attributes |= sb_a_bold() }
        if modifiers.contains(.dim) { attributes |= sb_a_dim() }
        if modifiers.contains(.italic) { attributes |= sb_a_italic() }
        if modifiers.contains(.underline) { attributes |= sb_a_underline() }
        if modifiers.contains(.reverse) { attributes |= sb_a_reverse() }
        return attributes
    }
}

/// Color pairs allocated on first use and cached by (fg, bg); extended pairs, so more
/// than 256 combinations work where the terminal allows them.
struct ColorPairs {
    var limit = 0
    private var cache: [Int64: Int] = [:]

    /// The pair for `fg` on `bg` (-1 is the terminal default); 0 when none are left.
    mutating func pair(fg: Int32, bg: Int32) -> Int {
        if fg == -1 && bg == -1 { return 0 }
        let key = Int64(fg) << 32 | Int64(UInt32(bitPattern: bg))
        if let pair = cache[key] { return pair }
        let pair = cache.count + 1
        guard pair < limit, init_extended_pair(Int32(pair), fg, bg) == sb_ok() else { return 0 }
        cache[key] = pair
        return pair
    }
}

/// The stop signal (SIGTERM, SIGHUP, SIGINT) that ended the loop, if one did. Here, beside
/// the handler that records it: the C shim's state is per file that uses it.
public enum StopSignal {
    public static var received: Int32? {
        let signal = sb_stop_signal_received()
        return signal == 0 ? nil : signal
    }

    /// Once the program has cleaned up: ends the process as the signal would have, so
    /// whoever started it sees it stopped by that signal (a shell's `128 + N`).
    public static func endProcessIfReceived() {
        guard let received else { return }
        signal(received, SIG_DFL)
        raise(received)
    }
}
