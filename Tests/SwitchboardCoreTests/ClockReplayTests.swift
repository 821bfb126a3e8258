import Foundation
import SwitchboardCore
import Testing

/// The simulator's warm-up clock: the past played fast, for the tasks inside the replay only.
@Suite struct ClockReplayTests {
    @Test func insideAReplayTimeStartsInThePastRunsFastAndNeverPassesNow() async throws {
        let start = Clock.nowMillis()
        let replay = Clock.Replay(from: start - 3_600_000, speed: 1_000, realStart: start)
        let (first, later, child) = await Clock.$replay.withValue(replay) { () async -> (UnixMillis, UnixMillis, UnixMillis) in
            let first = Clock.nowMillis()
            try? await Task.sleep(for: .milliseconds(50))
            let later = Clock.nowMillis()
            // Tasks started inside the replay keep its clock.
            let child = await withTaskGroup(of: UnixMillis.self) { group in
                group.addTask { Clock.nowMillis() }
                return await group.next()!
            }
            return (first, later, child)
        }
        #expect(first < start - 3_500_000, "an hour back: \(start - first) ms")
        #expect(later - first >= 40_000, "50 ms of real time is about 50 s replayed: \(later - first) ms")
        #expect(child >= later && child < start)
        #expect(Clock.nowMillis() >= start, "outside the replay, the real clock")
        let caughtUp = Clock.Replay(from: start - 1_000, speed: 1_000_000, realStart: start)
        try await Task.sleep(for: .milliseconds(5))
        let met = Clock.$replay.withValue(caughtUp) { Clock.nowMillis() }
        #expect(met <= Clock.nowMillis() && met >= start, "once it meets the real clock it is the real clock")
    }
}

@Suite struct DurationTextTests {
    /// `switchboard review list` said `19h7m` where the console said `19h07m`: one
    /// function now, the second unit in two digits.
    @Test func theSecondUnitHasTwoDigits() {
        let minute: Int64 = 60_000, hour = 60 * minute, day = 24 * hour
        #expect(formatDuration(millis: 42_000) == "42s")
        #expect(formatDuration(millis: 7 * minute) == "7m")
        #expect(formatDuration(millis: 19 * hour + 7 * minute) == "19h07m")
        #expect(formatDuration(millis: 2 * day + 4 * hour) == "2d04h")
        #expect(formatDuration(millis: 3 * hour) == "3h" && formatDuration(millis: 3 * hour, keepsZero: true) == "3h00m")
        #expect(formatDuration(millis: -(90 * minute)) == "-1h30m")
    }
}
