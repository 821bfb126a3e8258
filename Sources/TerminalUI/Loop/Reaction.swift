/// What a program wants after handling a key or a message. One dispatcher, the
/// ``EventLoop``, applies it, so handlers stay short and testable:
///
///     case .refresh: return .redraw.and(.run { await fetch() })
///     case .quit: return .quit
public struct Reaction<Message: Sendable>: Sendable {
    /// Draw the next frame (only changed cells reach the terminal).
    public var redraw: Bool
    /// Clear the terminal and draw every cell (Ctrl-L).
    public var repaint: Bool
    /// Leave the loop.
    public var quit: Bool
    /// Ring the terminal's bell once.
    public var bell = false
    /// Timers and background work to start.
    public var effects: [Effect<Message>]

    public init(redraw: Bool = false, repaint: Bool = false, quit: Bool = false, effects: [Effect<Message>] = []) {
        self.redraw = redraw
        self.repaint = repaint
        self.quit = quit
        self.effects = effects
    }

    /// Nothing changed.
    public static var none: Reaction { Reaction() }
    /// Something on screen changed.
    public static var redraw: Reaction { Reaction(redraw: true) }
    /// Redraw the whole screen from scratch.
    public static var repaint: Reaction { Reaction(redraw: true, repaint: true) }
    /// Stop the loop.
    public static var quit: Reaction { Reaction(quit: true) }

    /// Delivers `message` after `seconds` (a message's expiry, a clock tick that re-arms).
    public static func after(_ seconds: Double, _ message: Message) -> Reaction {
        Reaction(effects: [.after(seconds, message)])
    }

    /// Runs `work` off the UI thread and delivers its message, if any, to `update`.
    public static func run(_ work: @escaping @Sendable () async -> Message?) -> Reaction {
        Reaction(effects: [.task(work)])
    }

    /// Rings the bell (and redraws).
    public static var bell: Reaction {
        var reaction = Reaction(redraw: true)
        reaction.bell = true
        return reaction
    }

    /// Both reactions: flags are or-ed, effects concatenated.
    public func and(_ other: Reaction) -> Reaction {
        var both = Reaction(redraw: redraw || other.redraw, repaint: repaint || other.repaint, quit: quit || other.quit,
                            effects: effects + other.effects)
        both.bell = bell || other.bell
        return both
    }
}

/// Work a reaction asks the loop to start.
public enum Effect<Message: Sendable>: Sendable {
    /// Deliver a message after a delay in seconds.
    case after(Double, Message)
    /// Run async work and deliver its result.
    case task(@Sendable () async -> Message?)
}
