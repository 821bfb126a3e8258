import SwitchboardCore

/// What a frame shows of the clock. While a frame is drawn, every text computed from
/// `now` (an age, a countdown, "OVERDUE", "due") notes when it next changes; the UI loop
/// then sleeps until the earliest of them. A frame that shows no clock wakes nothing:
///
///     let watch = ClockWatch(now: now)
///     ClockWatch.$current.withValue(watch) { render(into: &grid, now: now) }
///     watch.next   // the instant the first visible clock text changes, or nil
///
/// Outside a watch (command-line output, key handling) the notes cost one look-up.
public final class ClockWatch: @unchecked Sendable {
    /// The watch of the frame being drawn on this thread, if any.
    @TaskLocal public static var current: ClockWatch?

    public let now: UnixMillis
    /// The earliest instant after `now` at which a noted text changes.
    public private(set) var next: UnixMillis?

    public init(now: UnixMillis) { self.now = now }

    /// Something shown changes at `instant` (a deadline passing, a day ending).
    public func note(_ instant: UnixMillis) {
        guard instant > now else { return }
        if next.map({ instant < $0 }) ?? true { next = instant }
    }

    /// Notes `instant` on the current frame's watch, if one is running.
    public static func changes(at instant: UnixMillis) { current?.note(instant) }

    /// `now - start` for a text that grows with the clock (an age, a call's length), noting
    /// when it next changes: the next multiple of `step`, by default the step of
    /// ``formatDuration(millis:)`` and ages (seconds under a minute, minutes under a day,
    /// hours after).
    public static func elapsed(since start: UnixMillis, now: UnixMillis, step: Int64? = nil) -> Int64 {
        let elapsed = millisBetween(start, now)
        if let watch = current, elapsed >= 0, elapsed < Int64.max / 2 {
            let unit = step ?? textStep(elapsed)
            watch.note(now + (unit - elapsed % unit))
        }
        return elapsed
    }

    /// `now - start` for one of many texts that grow by the second on one screen (a list
    /// of live calls): they move together on the clock's whole seconds instead of each on
    /// its own, so the screen changes once a second, not once per row (at 40 rows, 40
    /// frames a second). The text lags the exact figure by less than a second.
    public static func elapsedOnTheSecond(since start: UnixMillis, now: UnixMillis) -> Int64 {
        let second = now - ((now % 1_000) + 1_000) % 1_000
        current?.note(second + 1_000)
        return millisBetween(start, second)
    }

    /// `end - now` for a countdown (a window, a retry, a lease), noting when it next
    /// changes; rounding up or down, the text changes within the remainder of one step
    /// (one spare wake at most when the two disagree), and at `end` itself.
    public static func remaining(until end: UnixMillis, now: UnixMillis, step: Int64? = nil) -> Int64 {
        let remaining = millisBetween(now, end)
        if let watch = current, remaining > 0, remaining < Int64.max / 2 {
            let unit = step ?? textStep(remaining)
            watch.note(now + remaining % unit + 1)
        }
        // At the end the text turns (`due`, `expired`, `closed`), on either side of it.
        if let watch = current, remaining >= 0 {
            watch.note(end)
            watch.note(end.addingClamped(1))
        }
        return remaining
    }

    /// How long a duration text keeps its words: `42s` moves each second, `37m` and
    /// `1h51m` each minute, `3d04h` each hour.
    static func textStep(_ millis: Int64) -> Int64 {
        switch millis {
        case ..<60_000: return 1_000
        case ..<86_400_000: return 60_000
        default: return 3_600_000
        }
    }
}

extension GoLiveWindow {
    /// ``remaining(at:)`` as a frame shows it: the countdown notes when its text moves
    /// and when the window closes.
    public func remainingShown(at now: UnixMillis) -> Int64 { max(0, ClockWatch.remaining(until: endsAt, now: now)) }
}
