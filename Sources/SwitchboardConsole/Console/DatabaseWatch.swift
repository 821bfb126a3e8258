import Foundation
import SwitchboardStore

/// Polls `PRAGMA data_version` on both databases from its own thread and posts one
/// message when either changed. A poll reads no table, so the idle cost is a few
/// microseconds four times a second; the screens re-read only after a real commit.
final class DatabaseWatch: @unchecked Sendable {
    private let watches: [ChangeWatch]
    private let interval: TimeInterval
    private let lock = NSLock()
    private var stopped = false

    init(paths: [String], interval: TimeInterval = 0.25) throws(StoreError) {
        var watches: [ChangeWatch] = []
        for path in paths { watches.append(try ChangeWatch(path: path)) }
        self.watches = watches
        self.interval = interval
        for watch in watches { _ = try? watch.hasChanged() }  // the first look always differs
    }

    func start(onChange: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            while !lock.withLock({ stopped }) {
                Thread.sleep(forTimeInterval: interval)
                var changed = false
                for watch in watches where (try? watch.hasChanged()) == true { changed = true }
                if changed { onChange() }
            }
        }
        thread.name = "database-watch"
        thread.start()
    }

    func stop() { lock.withLock { stopped = true } }
}
