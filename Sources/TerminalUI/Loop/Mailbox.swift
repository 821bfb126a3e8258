import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The thread-safe way into the UI loop. Any thread may ``post(_:)``; the loop is woken
/// through a self-pipe it polls together with the terminal's input.
public final class Mailbox<Message: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [Message] = []
    private var running = 0
    private let readEnd: Int32
    private let writeEnd: Int32

    public init() {
        guard let ends = nonBlockingPipe() else { preconditionFailure("cannot create the wake pipe") }
        (readEnd, writeEnd) = ends
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// Queues `message` for the loop and wakes it.
    public func post(_ message: Message) {
        lock.lock()
        pending.append(message)
        let wasEmpty = pending.count == 1
        lock.unlock()
        if wasEmpty { wake() }
    }

    /// The descriptor the loop polls; readable when messages are waiting.
    var wakeDescriptor: Int32 { readEnd }

    /// Takes every waiting message, oldest first.
    func drain() -> [Message] {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &buffer, buffer.count) > 0 {}
        lock.lock()
        defer { lock.unlock() }
        let messages = pending
        pending.removeAll()
        return messages
    }

    /// Whether messages are waiting or background work started by the loop is running.
    var isBusy: Bool {
        lock.lock()
        defer { lock.unlock() }
        return !pending.isEmpty || running > 0
    }

    /// Runs `work` as a task whose message, if any, is posted here.
    func start(_ work: @escaping @Sendable () async -> Message?) {
        lock.lock()
        running += 1
        lock.unlock()
        Task(executorPreference: BackgroundExecutor.shared) { [self] in
            finish(await work())
        }
    }

    private func finish(_ message: Message?) {
        lock.lock()
        running -= 1
        if let message { pending.append(message) }
        lock.unlock()
        wake()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }
}

/// A pipe whose ends never block (a wake-up written to a full pipe is already pending), or
/// nil when none can be made.
func nonBlockingPipe() -> (read: Int32, write: Int32)? {
    var ends: [Int32] = [-1, -1]
    guard pipe(&ends) == 0 else { return nil }
    for end in ends { _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK) }
    return (ends[0], ends[1])
}
