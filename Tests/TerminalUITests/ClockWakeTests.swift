import Testing
@testable import TerminalUI

/// A clock the program reads, moved by the test together with the driver's.
final class WallClock: @unchecked Sendable {
    var seconds = 0.0
}

/// Shows how long it has been up, in whole minutes, and says when that text changes.
struct UptimeProgram: Program {
    enum Message: Sendable { case bump }
    let clock: WallClock
    var showsClock = true
    /// Ask for a wake every second although the text does not change.
    var wakesEverySecond = false
    var bumps = 0

    mutating func handle(_ key: Key) -> Reaction<Message> { key == .char("j") ? .redraw : .none }
    mutating func update(_ message: Message) -> Reaction<Message> { bumps += 1; return .redraw }

    func render(into grid: inout CellGrid) {
        grid.write("bumps: \(bumps)", x: 0, y: 0)
        if wakesEverySecond { grid.wakeAfter = 1 }
        guard showsClock else { return }
        let elapsed = Int(clock.seconds)
        grid.write("up \(elapsed / 60)m", x: 0, y: 1)
        grid.wakeAfter = Double(60 - elapsed % 60)
    }
}

@Suite struct ClockWakeTests {
    func driver(_ program: UptimeProgram, interval: Double = 0) -> ProgramDriver<UptimeProgram> {
        ProgramDriver(program, size: Size(width: 20, height: 3), messageFrameInterval: interval)
    }

    func wait(_ seconds: Double, _ clock: WallClock, _ driver: ProgramDriver<UptimeProgram>) {
        clock.seconds += seconds
        driver.advance(by: seconds)
    }

    @Test func aClockInMinutesWakesTheLoopOncePerMinuteNotPerSecond() {
        let clock = WallClock()
        let driver = driver(UptimeProgram(clock: clock))
        #expect(driver.loop.renders == 1)
        #expect(driver.loop.nextDeadline == 60)
        wait(1, clock, driver)
        wait(58, clock, driver)
        #expect(driver.loop.renders == 1, "nothing on screen changed: no frame rendered")
        #expect(driver.grid.text(row: 1) == "up 0m")
        wait(1, clock, driver)
        #expect(driver.grid.text(row: 1) == "up 1m", "crossing the minute repaints with no key pressed")
        #expect(driver.loop.renders == 2)
        #expect(driver.loop.nextDeadline == 120)
        wait(600, clock, driver)
        #expect(driver.grid.text(row: 1) == "up 11m", "a late wake draws the time it wakes at")
    }

    @Test func aScreenWithNoClockSleepsUntilSomethingHappens() {
        let clock = WallClock()
        let driver = driver(UptimeProgram(clock: clock, showsClock: false))
        #expect(driver.loop.nextDeadline == nil)
        wait(3600, clock, driver)
        #expect(driver.loop.renders == 1)
        driver.press("j")
        #expect(driver.loop.renders == 2)
        #expect(driver.terminal.frames.count == 1, "a redraw that changes no cell writes nothing")
    }

    @Test func aWakeThatChangesNoCellSendsNoFrame() {
        let clock = WallClock()
        let driver = driver(UptimeProgram(clock: clock, showsClock: false, wakesEverySecond: true))
        wait(1, clock, driver)
        wait(1, clock, driver)
        #expect(driver.loop.renders == 3)
        #expect(driver.terminal.frames.count == 1)
    }

    @Test func messagesAloneAreDrawnOncePerFrameIntervalKeysAtOnce() {
        let clock = WallClock()
        let driver = driver(UptimeProgram(clock: clock, showsClock: false), interval: 0.05)
        driver.post(.bump)
        #expect(driver.grid.text(row: 0) == "bumps: 1", "the first message after a frame drawn for anything else (the answer to a read) is drawn at once")
        driver.post(.bump)
        driver.post(.bump)
        driver.post(.bump)
        #expect(driver.grid.text(row: 0) == "bumps: 1", "held for the frame interval")
        #expect(driver.loop.nextDeadline == 0.05)
        driver.advance(by: 0.05)
        #expect(driver.grid.text(row: 0) == "bumps: 4")
        #expect(driver.terminal.frames.count == 3, "three messages, one frame")
        driver.post(.bump)
        #expect(driver.grid.text(row: 0) == "bumps: 4", "still held: the last frame was for messages too")
        driver.press("j")
        #expect(driver.grid.text(row: 0) == "bumps: 5", "a key draws at once, with what came before it")
        driver.post(.bump)
        #expect(driver.grid.text(row: 0) == "bumps: 6", "and the first message after the key's frame")
    }
}
