import Dispatch

/// Where a loop's background work runs: a Dispatch queue of its own, not Swift's
/// cooperative pool. That pool has one thread per core, and a thread blocked in a
/// synchronous wait (a test driving the loop with `ProgramDriver.press`, a caller of
/// `waitUntilIdle`) would otherwise starve the very work it waits for.
final class BackgroundExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = BackgroundExecutor()
    private let queue = DispatchQueue(label: "terminal-ui.background", attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        queue.async { unowned.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
