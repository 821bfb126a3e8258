import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one UI loop. It sleeps in `poll()` on the terminal's input and the mailbox's
/// wake pipe, for no longer than the next timer or the moment the last frame said it
/// changes on its own (`CellGrid.wakeAfter`), and draws only when a reaction asked for
/// it. An idle screen with no clock on it sleeps until a key or a message. Only this
/// loop's thread touches the terminal.
public final class EventLoop<P: Program> {
    /// The program's current state.
    public private(set) var program: P
    public let terminal: any Terminal
    /// Where other threads post messages.
    public let mailbox = Mailbox<P.Message>()
    /// Whether the program asked to quit.
    public private(set) var isFinished = false

    private let now: () -> Double
    private var differ = FrameDiffer()
    private var timers: [(deadline: Double, order: Int, message: P.Message)] = []
    private var timerCount = 0
    private var needsDraw = true
    private var needsRepaint = true
    /// When the last frame changes with time alone, if it does.
    private var clockDeadline: Double?
    /// Frames rendered, and frames that reached the terminal (some rendered frames
    /// change nothing and are not sent): what tests and benchmarks count.
    public private(set) var renders = 0
    public private(set) var framesDrawn = 0
    /// Times `run` woke from its sleep (input, a message, a deadline).
    public private(set) var wakes = 0

    /// Frames that only messages asked for come at most this often after another such
    /// frame (seconds; 0: at once).
    private let messageFrameInterval: Double
    private var lastDrawAt = -Double.infinity
    /// Whether the last frame was drawn for messages alone. The first message after a
    /// frame drawn for anything else (the start, a key) is drawn at once: it is, as a
    /// rule, the answer to the read that frame asked for (the first screen's rows), and
    /// the user is waiting for it; a stream's next messages come at most every interval.
    private var lastFrameForMessages = false
    /// When a frame held back by `messageFrameInterval` is drawn.
    private var heldDraw: Double?
    /// Work the reactions of one pass asked for, started once that pass's frame is drawn:
    /// on two cores a read started before the frame (a recount of millions of rows) takes
    /// the CPU the frame needs. The program's first work starts at once (see `init`).
    private var startAfterDraw: [@Sendable () async -> P.Message?]?

    /// - Parameter now: seconds on a monotonic clock (tests pass a manual one).
    /// - Parameter messageFrameInterval: the shortest time between two frames drawn for
    ///   messages alone (a busy event stream is drawn once per interval, not per event);
    ///   a key, a resize or the clock draws at once, and so does the first message after them.
    public init(program: P, terminal: any Terminal, now: @escaping () -> Double = MonotonicClock.seconds,
                messageFrameInterval: Double = 0) {
        self.program = program
        self.terminal = terminal
        self.now = now
        self.messageFrameInterval = messageFrameInterval
        self.program.resize(to: terminal.size)
        // The first read starts here; `run` gives it a moment before the first frame.
        apply(self.program.start())
    }

    /// How long the first frame waits for the answer to the program's first work.
    private let firstAnswerWait = 0.05

    /// Runs until the program quits.
    public func run() {
        // The first frame waits a moment for the answer to the start's work (the first
        // screen's rows, a few milliseconds away): the terminal is then sent one frame
        // with them, not one without them and another at once. A key, or the moment
        // passing, draws it anyway.
        if mailbox.isBusy {
            // Meanwhile this thread would sit idle: the frame is made once, not sent, so
            // the one-time costs of a first render and diff are paid before the answer.
            var unsent = CellGrid(size: terminal.size)
            program.render(into: &unsent)
            var scratch = FrameDiffer()
            _ = scratch.frame(for: unsent, full: true)
            wait(timeout: firstAnswerWait)
            wakes += 1
            processReady()
        }
        drawIfNeeded(prompt: true)
        while !isFinished {
            // Within the frame interval after a frame drawn for messages, messages wait
            // (whatever they change is drawn at the interval's end anyway): a stream of
            // hundreds of events a second wakes the loop about once a frame, not once per
            // event. Keys still wake it at once, and so does the first message after a frame
            // drawn for anything else (the first screen's rows after the start's frame).
            let quietUntil = lastDrawAt + messageFrameInterval
            let quiet = heldDraw != nil || (lastFrameForMessages && now() < quietUntil)
            let deadline = [nextDeadline, quiet ? quietUntil : nil].compactMap { $0 }.min()
            wait(timeout: deadline.map { max(0, $0 - now()) }, messages: !quiet)
            wakes += 1
            processReady()
        }
    }

    /// When the next timer fires, if any.
    public var nextDeadline: Double? {
        [timers.first?.deadline, clockDeadline, heldDraw].compactMap { $0 }.min()
    }

    /// Handles every key, message and due timer available now, then draws if needed.
    public func processReady() {
        startAfterDraw = []
        defer {
            let work = startAfterDraw ?? []
            startAfterDraw = nil
            for task in work { mailbox.start(task) }
        }
        // A key or the clock draws at once; messages alone may wait for the frame interval.
        var prompt = false
        for key in terminal.readKeys() where !isFinished {
            prompt = true
            if key == .resize {
                program.resize(to: terminal.size)
                needsDraw = true
                needsRepaint = true
            }
            apply(program.handle(key))
        }
        for message in mailbox.drain() where !isFinished { apply(program.update(message)) }
        let time = now()
        while let first = timers.first, first.deadline <= time, !isFinished {
            timers.removeFirst()
            apply(program.update(first.message))
        }
        if let clock = clockDeadline, clock <= time, !isFinished {
            clockDeadline = nil
            needsDraw = true
            prompt = true
            apply(program.clockReached())
        }
        drawIfNeeded(prompt: prompt)
    }

    /// Blocks until input, a message (unless `messages` is false), or `timeout` seconds
    /// (nil: no limit).
    func wait(timeout: Double?, messages: Bool = true) {
        var descriptors: [pollfd] = messages ? [pollfd(fd: mailbox.wakeDescriptor, events: Int16(POLLIN), revents: 0)] : []
        let stop = terminal.stopDescriptor
        if let stop { descriptors.append(pollfd(fd: stop, events: Int16(POLLIN), revents: 0)) }
        if let input = terminal.inputDescriptor {
            descriptors.append(pollfd(fd: input, events: Int16(POLLIN), revents: 0))
        }
        let milliseconds = timeout.map { Int32(min(($0 * 1000).rounded(.up), Double(Int32.max))) } ?? -1
        _ = poll(&descriptors, nfds_t(descriptors.count), milliseconds)
        // Asked to stop (SIGTERM, a closed window's SIGHUP): end as `q` does, so what the
        // program set up is taken down by its own code.
        if stop != nil, descriptors.contains(where: { $0.fd == stop && $0.revents != 0 }) {
            isFinished = true
        }
        // The terminal went away (its window closed and no SIGHUP came): its input says
        // so on every poll from now on, and waiting on it again would spin a core forever.
        if terminal.inputDescriptor != nil, let input = descriptors.last,
           input.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
            isFinished = true
        }
    }

    /// Whether messages are queued or work started by a reaction is still running.
    var hasPendingWork: Bool { mailbox.isBusy }

    private func apply(_ reaction: Reaction<P.Message>) {
        needsDraw = needsDraw || reaction.redraw
        needsRepaint = needsRepaint || reaction.repaint
        isFinished = isFinished || reaction.quit
        if reaction.bell { terminal.bell() }
        for effect in reaction.effects {
            switch effect {
            case let .after(seconds, message):
                timerCount += 1
                timers.append((now() + seconds, timerCount, message))
                timers.sort { ($0.deadline, $0.order) < ($1.deadline, $1.order) }
            case let .task(work):
                if startAfterDraw != nil { startAfterDraw!.append(work) } else { mailbox.start(work) }
            }
        }
    }

    private func drawIfNeeded(prompt: Bool) {
        guard needsDraw, !isFinished else { return }
        let time = now()
        if !prompt, !needsRepaint, lastFrameForMessages, time - lastDrawAt < messageFrameInterval {
            heldDraw = lastDrawAt + messageFrameInterval
            return
        }
        heldDraw = nil
        lastDrawAt = time
        lastFrameForMessages = !prompt && !needsRepaint
        var grid = CellGrid(size: terminal.size)
        program.render(into: &grid)
        renders += 1
        // Never sooner than a millisecond: a clock that claims to change "now" must not spin.
        clockDeadline = grid.wakeAfter.map { time + max(0.001, $0) }
        if let frame = differ.frame(for: grid, full: needsRepaint) {
            terminal.draw(frame)
            framesDrawn += 1
        }
        needsDraw = false
        needsRepaint = false
    }
}

/// Seconds on the monotonic clock.
public enum MonotonicClock {
    public static func seconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
