/// Drives a program through the real ``EventLoop`` with a ``MemoryTerminal`` and a
/// manual clock, for tests that read like a user session:
///
///     let driver = ProgramDriver(Counter(), size: Size(width: 40, height: 10))
///     driver.press("j", "j")
///     #expect(driver.grid.text(row: 0) == "count: 2")
///
/// Each step waits until the loop is idle: no key, message or due timer left and no
/// background work running (bounded by `timeout` as a safety net, never a fixed sleep).
public final class ProgramDriver<P: Program> {
    public let terminal: MemoryTerminal
    public let loop: EventLoop<P>
    /// The manual clock's current time in seconds; move it with ``advance(by:)``.
    public private(set) var time: Double = 0
    private let clock: ManualClock

    /// - Parameters:
    ///   - messageFrameInterval: as the real console's loop has it (0: every message drawn
    ///     at once, on the manual clock).
    ///   - settle: wait until the start's work is done (false: return at once, and wait
    ///     with ``waitUntil(timeout:_:)`` for what is to be timed).
    public init(_ program: P, size: Size = Size(width: 80, height: 24), messageFrameInterval: Double = 0, settle: Bool = true) {
        let clock = ManualClock()
        self.clock = clock
        terminal = MemoryTerminal(size: size)
        loop = EventLoop(program: program, terminal: terminal, now: { clock.time }, messageFrameInterval: messageFrameInterval)
        if settle { waitUntilIdle() }
    }

    /// The program's state.
    public var program: P { loop.program }
    /// The screen as the terminal shows it.
    public var grid: CellGrid { terminal.screen }
    /// The screen's text, rows joined by newlines.
    public var screenText: String { terminal.screen.screenText }
    /// Whether the program quit.
    public var isFinished: Bool { loop.isFinished }

    /// Presses keys given in their textual form (`"j"`, `"ctrl-l"`, `"enter"`).
    public func press(_ keys: String...) {
        for text in keys {
            guard let key = Key(parsing: text) else { preconditionFailure("unknown key \(text)") }
            press(key)
        }
    }

    /// Presses one key and waits until idle.
    public func press(_ key: Key) {
        terminal.push([key])
        waitUntilIdle()
    }

    /// Types text character by character.
    public func type(_ text: String) {
        for character in text { press(.char(character)) }
    }

    /// Posts a message as a background thread would, and waits until idle.
    public func post(_ message: P.Message) {
        loop.mailbox.post(message)
        waitUntilIdle()
    }

    /// Changes the terminal size.
    public func resize(to size: Size) {
        terminal.resize(to: size)
        waitUntilIdle()
    }

    /// Moves the clock forward, firing the timers that fall due.
    public func advance(by seconds: Double) {
        clock.time += seconds
        time = clock.time
        waitUntilIdle()
    }

    /// Processes messages until `condition` holds of the drawn screen; false if it still
    /// does not after `timeout` seconds or once nothing is left to wait for.
    @discardableResult
    public func waitUntil(timeout: Double = 5, _ condition: (ProgramDriver) -> Bool) -> Bool {
        let deadline = MonotonicClock.seconds() + timeout
        loop.processReady()
        while !condition(self) {
            let remaining = deadline - MonotonicClock.seconds()
            guard remaining > 0, loop.hasPendingWork, !loop.isFinished else { return false }
            loop.wait(timeout: remaining)
            loop.processReady()
        }
        return true
    }

    /// Processes everything pending, waiting for background work to post its result.
    /// Returns false if work was still running after `timeout` seconds.
    @discardableResult
    public func waitUntilIdle(timeout: Double = 5) -> Bool {
        waitUntil(timeout: timeout) { !$0.loop.hasPendingWork || $0.loop.isFinished }
    }
}

extension ProgramDriver {
    /// Like ``waitUntilIdle(timeout:)`` for async tests: sleeps between looks instead of
    /// blocking, so the background work being waited for can run even when the
    /// concurrency pool's few threads are all busy with other tests.
    @discardableResult
    public func settle(timeout: Double = 10) async -> Bool {
        let deadline = MonotonicClock.seconds() + timeout
        loop.processReady()
        while loop.hasPendingWork && !loop.isFinished {
            if MonotonicClock.seconds() > deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
            loop.processReady()
        }
        return true
    }
}

/// A clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
    var time: Double = 0
}
