import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one UI loop. It sleeps in `poll()` on the terminal's input and the mailbox's
/// wake pipe, for no longer than the next timer, and draws only when a reaction asked
/// for it. Only this loop's thread touches the terminal.
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

    /// - Parameter now: seconds on a monotonic clock (tests pass a manual one).
    public init(program: P, terminal: any Terminal, now: @escaping () -> Double = MonotonicClock.seconds) {
        self.program = program
        self.terminal = terminal
        self.now = now
        self.program.resize(to: terminal.size)
        apply(self.program.start())
    }

    /// Runs until the program quits.
    public func run() {
        drawIfNeeded()
        while !isFinished {
            wait(timeout: nextDeadline.map { max(0, $0 - now()) })
            processReady()
        }
    }

    /// When the next timer fires, if any.
    public var nextDeadline: Double? { timers.first?.deadline }

    /// Handles every key, message and due timer available now, then draws if needed.
    public func processReady() {
        for key in terminal.readKeys() where !isFinished {
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
        drawIfNeeded()
    }

    /// Blocks until input, a message, or `timeout` seconds (nil: no limit).
    func wait(timeout: Double?) {
        var descriptors = [pollfd(fd: mailbox.wakeDescriptor, events: Int16(POLLIN), revents: 0)]
        if let input = terminal.inputDescriptor {
            descriptors.append(pollfd(fd: input, events: Int16(POLLIN), revents: 0))
        }
        let milliseconds = timeout.map { Int32(min(($0 * 1000).rounded(.up), Double(Int32.max))) } ?? -1
        _ = poll(&descriptors, nfds_t(descriptors.count), milliseconds)
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
                mailbox.start(work)
            }
        }
    }

    private func drawIfNeeded() {
        guard needsDraw, !isFinished else { return }
        var grid = CellGrid(size: terminal.size)
        program.render(into: &grid)
        if let frame = differ.frame(for: grid, full: needsRepaint) { terminal.draw(frame) }
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
