import SwitchboardCore

/// When a screen's background count may run: one at a time, one more if asked while one
/// runs (k9s drops overlapping refreshes likewise), and for data changes at most every
/// `everyMillis` — while the agent writes all the time, a count per commit would keep a
/// core busy. A change that has to wait is `due`; at `dueAt` the console's clock wakes
/// the screen's tick, which asks again.
struct CountSchedule {
    let everyMillis: Int64
    private(set) var running = false
    private(set) var due = false
    private var again = false
    private var lastFinishedAt: UnixMillis?

    init(everyMillis: Int64) { self.everyMillis = everyMillis }

    /// When a waiting count may start (nil: none waits, or one is running and its end asks).
    var dueAt: UnixMillis? {
        guard due, !running else { return nil }
        return (lastFinishedAt ?? 0).addingClamped(everyMillis)
    }

    /// Whether to start a count now; `force` when what is counted changed (a filter, a view).
    mutating func start(force: Bool, now: UnixMillis) -> Bool {
        if running {
            again = true
            return false
        }
        if !force, let last = lastFinishedAt, now - last < everyMillis {
            due = true
            return false
        }
        due = false
        running = true
        return true
    }

    /// Nothing to count (e.g. a filter is on): forget the waiting change.
    mutating func skip() { due = false }

    /// A count came back; returns whether another was asked for meanwhile.
    mutating func finished(now: UnixMillis) -> Bool {
        running = false
        lastFinishedAt = now
        defer { again = false }
        return again
    }
}
