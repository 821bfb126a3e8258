import Foundation
import Testing
@testable import TerminalUI

/// A small program exercising every kind of reaction.
struct CounterProgram: Program {
    enum Message: Sendable { case tick, loaded(Int), bump }
    var count = 0
    var ticks = 0
    var size = Size(width: 0, height: 0)

    mutating func start() -> Reaction<Message> { .after(1, .tick) }
    mutating func resize(to size: Size) { self.size = size }

    mutating func handle(_ key: Key) -> Reaction<Message> {
        switch key {
        case .char("j"): count += 1; return .redraw
        case .char("n"): return .none
        case .char("l"): return .run { .loaded(40) }
        case .ctrl("l"): return .repaint
        case .char("q"): return .quit
        default: return .none
        }
    }

    mutating func update(_ message: Message) -> Reaction<Message> {
        switch message {
        case .tick: ticks += 1; return Reaction.redraw.and(.after(1, .tick))
        case .loaded(let value): count += value; return .redraw
        case .bump: count += 100; return .redraw
        }
    }

    func render(into grid: inout CellGrid) {
        grid.write("count: \(count)", x: 0, y: 0)
        grid.write("ticks: \(ticks)", x: 0, y: 1)
        grid.write("\(size.width)x\(size.height)", x: 0, y: 2)
    }
}

@Suite struct LoopTests {
    @Test func keysDriveTheProgram() {
        let driver = ProgramDriver(CounterProgram(), size: Size(width: 20, height: 4))
        driver.press("j", "j")
        #expect(driver.grid.text(row: 0) == "count: 2")
        #expect(driver.program.count == 2)
    }

    @Test func unchangedFrameWritesNothingAndOneChangeWritesOneCell() {
        let driver = ProgramDriver(CounterProgram(), size: Size(width: 20, height: 4))
        #expect(driver.terminal.frames.count == 1)
        #expect(driver.terminal.frames[0].isFull)
        driver.press("n")
        #expect(driver.terminal.frames.count == 1)
        driver.press("j")
        #expect(driver.terminal.frames.count == 2)
        #expect(driver.terminal.frames[1].writes.map(\.cell.text) == ["1"])
        #expect(driver.terminal.frames[1].writes.map(\.position) == [Position(x: 7, y: 0)])
    }

    @Test func identicalRedrawIsSkipped() {
        var differ = FrameDiffer()
        var grid = CellGrid(width: 5, height: 1)
        grid.write("abc", x: 0, y: 0)
        #expect(differ.frame(for: grid)?.isFull == true)
        #expect(differ.frame(for: grid) == nil)
        grid.cursor = Position(x: 1, y: 0)
        #expect(differ.frame(for: grid)?.writes.count == 0)
        #expect(differ.frame(for: grid, full: true)?.writes.count == 5)
    }

    @Test func repaintRedrawsEverything() {
        let driver = ProgramDriver(CounterProgram(), size: Size(width: 20, height: 4))
        driver.press("ctrl-l")
        #expect(driver.terminal.frames.last?.isFull == true)
        #expect(driver.terminal.frames.last?.writes.count == 80)
    }

    @Test func timersFireOnTheManualClock() {
        let driver = ProgramDriver(CounterProgram(), size: Size(width: 20, height: 4))
        #expect(driver.loop.nextDeadline == 1)
        driver.advance(by: 0.5)
        #expect(driver.grid.text(row: 1) == "ticks: 0")
        driver.advance(by: 0.5)
        #expect(driver.grid.text(row: 1) == "ticks: 1")
        driver.advance(by: 1)
        #expect(driver.grid.text(row: 1) == "ticks: 2")
        #expect(driver.loop.nextDeadline == 3)
    }

    @Test func backgroundWorkAndPostedMessagesArrive() async {
        let driver = ProgramDriver(CounterProgram(), size: Size(width: 20, height: 4))
        driver.terminal.push([.char("l")])
        await driver.settle()
        #expect(driver.grid.text(row: 0) == "count: 40")
        let mailbox = driver.loop.mailbox
        await Task.detached { mailbox.post(.bump) }.value
        await driver.settle()
        #expect(driver.grid.text(row: 0) == "count: 140")
    }

    @Test func resizeReachesTheProgramAndRepaints() {
        let driver = ProgramDriver(CounterProgram(), size: Size(width: 20, height: 4))
        driver.resize(to: Size(width: 30, height: 5))
        #expect(driver.grid.text(row: 2) == "30x5")
        #expect(driver.terminal.frames.last?.isFull == true)
    }

    @Test func quitStopsTheLoop() {
        let driver = ProgramDriver(CounterProgram(), size: Size(width: 20, height: 4))
        driver.press("q")
        #expect(driver.isFinished)
    }

    @Test func screenMatchesGridAfterManyDiffs() {
        let terminal = MemoryTerminal(size: Size(width: 6, height: 2))
        var differ = FrameDiffer()
        for text in ["日本語", "ab日c", "abcdef", "x本"] {
            var grid = CellGrid(width: 6, height: 2)
            grid.write(text, x: 0, y: 1)
            if let frame = differ.frame(for: grid) { terminal.draw(frame) }
            #expect(terminal.screen.screenText == grid.screenText)
        }
    }

    /// Under a busy stream a frame is mostly the last one pasted: only the cells that
    /// changed are written, and a grid drawn afresh with the same cells writes nothing.
    @Test func aFrameWritesOnlyTheCellsThatChanged() {
        var differ = FrameDiffer()
        var grid = CellGrid(width: 30, height: 3)
        grid.write("Calls ● live", x: 0, y: 0)
        grid.write("stream: live · 41 events", x: 0, y: 2)
        _ = differ.frame(for: grid)
        var next = grid
        next.write("stream: live · 42 events", x: 0, y: 2)
        #expect(differ.frame(for: next)?.writes.map(\.position) == [Position(x: 16, y: 2)])
        var afresh = CellGrid(width: 30, height: 3)
        afresh.write("Calls ● live", x: 0, y: 0)
        afresh.write("stream: live · 42 events", x: 0, y: 2)
        #expect(differ.frame(for: afresh) == nil)
        afresh.write("x", x: 29, y: 1)
        #expect(differ.frame(for: afresh)?.writes.map(\.position) == [Position(x: 29, y: 1)])
    }

    /// A stream of events as the console gets under load (one every millisecond): the
    /// loop takes them in batches, waking about once a frame interval, not per event.
    @Test func aFloodOfMessagesWakesTheLoopAboutOnceAFrame() {
        let loop = EventLoop(program: FloodProgram(), terminal: MemoryTerminal(size: Size(width: 20, height: 2)),
                             messageFrameInterval: 0.016)
        let running = LoopRun(loop)
        for _ in 0..<400 {
            loop.mailbox.post(.event)
            usleep(1_000)
        }
        loop.mailbox.post(.stop)
        running.wait()
        #expect(loop.program.events == 400)
        #expect(loop.wakes < 150, "\(loop.wakes) wakes for 400 messages")
        #expect(loop.renders > 5, "frames still come while they flow: \(loop.renders)")
    }

    /// A terminal that hangs up with no SIGHUP (its input reports POLLHUP on every poll)
    /// ends the loop instead of spinning a core on it forever.
    @Test func aTerminalThatHangsUpEndsTheLoop() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]) }
        close(ends[1])  // the far end is gone: the read end says POLLHUP from now on
        let loop = EventLoop(program: FloodProgram(), terminal: HungUpTerminal(input: ends[0]))
        let running = LoopRun(loop)
        #expect(running.wait(seconds: 5), "the loop should end within a second of the hang-up")
        #expect(loop.wakes < 10, "\(loop.wakes) wakes")
    }

    /// The start's read has answered when the loop comes to its first frame: that frame
    /// already has the rows (before, an empty frame went out first and the rows a frame
    /// later). The answer is posted by the test: the loop's own work can start late while
    /// other tests hold the threads.
    @Test func theFirstFrameHasTheStartsAnswer() async {
        let terminal = MemoryTerminal(size: Size(width: 20, height: 2))
        let loop = EventLoop(program: FirstReadProgram(), terminal: terminal)
        loop.mailbox.post(.rows)
        await LoopRun(loop).finished()
        #expect(terminal.frames.count == 1)
        #expect(terminal.screen.text(row: 0) == "rows")
    }

    /// A read still running does not hold the screen back for long: the first frame
    /// comes without its answer. (Async tests: a synchronous wait would hold a thread of
    /// Swift's pool, which the loop's work needs to start.)
    @Test func theFirstFrameDoesNotWaitForASlowAnswer() async {
        let terminal = MemoryTerminal(size: Size(width: 20, height: 2))
        await LoopRun(EventLoop(program: FirstReadProgram(), terminal: terminal)).finished()
        #expect(terminal.frames.count == 1, "the first frame is drawn before the program quits at 0.3 s")
        #expect(terminal.screen.text(row: 0) == "loading")
    }

    /// A driver that does not settle returns before the start's work is done, and
    /// `waitUntil` stops at the first frame that shows what it waits for (what the
    /// benchmark times), not when the work after it is done.
    @Test func theDriverCanWaitForAFrameRatherThanForIdle() {
        let driver = ProgramDriver(TwoReadsProgram(), size: Size(width: 20, height: 2), settle: false)
        #expect(driver.waitUntil { $0.screenText.contains("first") })
        #expect(driver.loop.hasPendingWork, "the second read is still running")
        #expect(!driver.waitUntil(timeout: 0.05) { $0.screenText.contains("never") }, "gives up at its timeout")
        driver.waitUntilIdle()
        #expect(driver.screenText.contains("second"))
        #expect(!driver.waitUntil(timeout: 5) { $0.screenText.contains("never") }, "gives up at once with nothing left to wait for")
    }

    @Test func waitBlocksUntilTheWakePipeFires() {
        let loop = EventLoop(program: CounterProgram(), terminal: MemoryTerminal())
        let start = MonotonicClock.seconds()
        loop.wait(timeout: 0.05)
        #expect(MonotonicClock.seconds() - start >= 0.04)
        loop.mailbox.post(.bump)
        let woken = MonotonicClock.seconds()
        loop.wait(timeout: 5)
        #expect(MonotonicClock.seconds() - woken < 1)
    }
}

/// Counts messages; `.stop` quits.
struct FloodProgram: Program {
    enum Message: Sendable { case event, stop }
    var events = 0
    mutating func resize(to size: Size) {}
    mutating func handle(_ key: Key) -> Reaction<Message> { .none }
    mutating func update(_ message: Message) -> Reaction<Message> {
        switch message {
        case .event: events += 1; return .redraw
        case .stop: return .quit
        }
    }
    func render(into grid: inout CellGrid) { grid.write("events: \(events)", x: 0, y: 0) }
    mutating func clockReached() -> Reaction<Message> { .none }
}

/// Starts with a read that takes a second; quits at 0.3 s.
struct FirstReadProgram: Program {
    enum Message: Sendable { case rows, stop }
    var hasRows = false
    mutating func start() -> Reaction<Message> {
        Reaction.run { () async -> Message? in
            try? await Task.sleep(for: .seconds(1))
            return .rows
        }.and(.after(0.3, .stop))
    }
    mutating func resize(to size: Size) {}
    mutating func handle(_ key: Key) -> Reaction<Message> { .none }
    mutating func update(_ message: Message) -> Reaction<Message> {
        switch message {
        case .rows: hasRows = true; return .redraw
        case .stop: return .quit
        }
    }
    func render(into grid: inout CellGrid) { grid.write(hasRows ? "rows" : "loading", x: 0, y: 0) }
    mutating func clockReached() -> Reaction<Message> { .none }
}

/// A loop running on a thread of its own until its program quits.
final class LoopRun<P: Program>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let loop: EventLoop<P>
    init(_ loop: EventLoop<P>) {
        self.loop = loop
        Thread { [self] in
            self.loop.run()
            done.signal()
        }.start()
    }
    func wait() { done.wait() }
    /// Waits without holding a thread of Swift's pool.
    func finished() async {
        await withCheckedContinuation { (ended: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { [self] in
                done.wait()
                ended.resume()
            }
        }
    }
    /// False if the loop still runs after `seconds`.
    func wait(seconds: Double) -> Bool { done.wait(timeout: .now() + seconds) == .success }
}

/// A terminal whose input is a descriptor the test controls (a pipe), drawing nowhere.
final class HungUpTerminal: Terminal {
    let input: Int32
    init(input: Int32) { self.input = input }
    var size: Size { Size(width: 20, height: 2) }
    var inputDescriptor: Int32? { input }
    func readKeys() -> [Key] { [] }
    func draw(_ frame: Frame) {}
    func bell() {}
}

/// Two reads, one after the other: "first" after 20 ms, "second" 300 ms later.
struct TwoReadsProgram: Program {
    enum Message: Sendable { case first, second }
    var text = "loading"
    mutating func start() -> Reaction<Message> {
        Reaction.run { () async -> Message? in
            try? await Task.sleep(for: .milliseconds(20))
            return .first
        }
    }
    mutating func resize(to size: Size) {}
    mutating func handle(_ key: Key) -> Reaction<Message> { .none }
    mutating func update(_ message: Message) -> Reaction<Message> {
        switch message {
        case .first:
            text = "first"
            return Reaction.redraw.and(.run { () async -> Message? in
                try? await Task.sleep(for: .milliseconds(300))
                return .second
            })
        case .second: text = "second"; return .redraw
        }
    }
    func render(into grid: inout CellGrid) { grid.write(text, x: 0, y: 0) }
    mutating func clockReached() -> Reaction<Message> { .none }
}
