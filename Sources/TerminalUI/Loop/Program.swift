/// An interactive program driven by the ``EventLoop``: keys and messages come in,
/// reactions go out, and the screen is a pure function of the state.
///
///     struct Counter: Program {
///         enum Message: Sendable { case tick }
///         var count = 0
///         mutating func handle(_ key: Key) -> Reaction<Message> {
///             switch key {
///             case .char("j"): count += 1; return .redraw
///             case .char("q"): return .quit
///             default: return .none
///             }
///         }
///         mutating func update(_ message: Message) -> Reaction<Message> { .none }
///         func render(into grid: inout CellGrid) { grid.write("count: \(count)", x: 0, y: 0) }
///     }
///
///     let terminal = try CursesTerminal()
///     defer { terminal.restore() }
///     let loop = EventLoop(program: Counter(), terminal: terminal)
///     // hand loop.mailbox to background work: mailbox.post(.tick)
///     loop.run()
public protocol Program {
    associatedtype Message: Sendable

    /// Called once before the first frame; may schedule timers or start work.
    mutating func start() -> Reaction<Message>
    /// The screen size, before the first frame and after every resize.
    mutating func resize(to size: Size)
    /// A key press.
    mutating func handle(_ key: Key) -> Reaction<Message>
    /// A message: from a timer, finished work, or ``Mailbox/post(_:)`` on another thread.
    mutating func update(_ message: Message) -> Reaction<Message>
    /// Draws the whole screen. Set `grid.cursor` to show the text cursor, and
    /// `grid.wakeAfter` when what it shows changes with time alone.
    func render(into grid: inout CellGrid)
    /// The time the last frame's `wakeAfter` named has come: the frame is drawn again
    /// after this (only changed cells reach the terminal).
    mutating func clockReached() -> Reaction<Message>
}

extension Program {
    public mutating func start() -> Reaction<Message> { .none }
    public mutating func resize(to size: Size) {}
    public mutating func clockReached() -> Reaction<Message> { .redraw }
}
