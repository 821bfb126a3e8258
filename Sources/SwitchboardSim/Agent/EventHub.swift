import DequeModule
import Foundation
import SwitchboardCore

/// Where the agent says what it does: every event gets an id, goes into a bounded ring
/// (for SSE subscribers and `Last-Event-ID` resume) and, with `--ndjson`, one line of a file.
///
/// Publishing never waits for a subscriber: subscribers read the ring at their own pace, and
/// one that falls further behind than the ring holds is told to reconcile from the databases.
/// Ids grow across restarts because they start from the clock (microseconds since 1970).
///
///     let hub = try EventHub(capacity: 10_000, ndjsonPath: "/tmp/events.ndjson")
///     hub.publish(.ehrState(.init(state: .online, at: Clock.nowMillis())))
public final class EventHub: @unchecked Sendable {
    public struct Entry: Sendable {
        public var id: Int64
        public var type: String
        public var frame: String
    }

    /// What a subscriber gets after its cursor.
    public struct Batch: Sendable {
        public var entries: [Entry]
        /// Events after the cursor were already dropped from the ring: the reader missed some.
        public var missed: Bool
    }

    private let condition = NSCondition()
    private var ring: Deque<Entry> = []
    private let capacity: Int
    private var lastID: Int64 = 0
    /// The first id of this run, and the newest id evicted from the ring: a cursor before
    /// either has missed events (a previous run's downtime, or a full ring).
    private var firstID: Int64 = 0
    private var evictedThrough: Int64 = 0
    private var closed = false
    private let ndjson: FileHandle?
    private var published = 0

    public init(capacity: Int = 10_000, ndjsonPath: String? = nil) throws {
        self.capacity = max(1, capacity)
        if let ndjsonPath {
            if !FileManager.default.fileExists(atPath: ndjsonPath) {
                guard FileManager.default.createFile(atPath: ndjsonPath, contents: nil) else {
                    throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: ndjsonPath])
                }
            }
            guard let handle = FileHandle(forWritingAtPath: ndjsonPath) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: ndjsonPath])
            }
            handle.seekToEndOfFile()
            ndjson = handle
        } else {
            ndjson = nil
        }
    }

    /// Publishes one event and returns its id.
    @discardableResult
    public func publish(_ event: AgentEvent) -> Int64 {
        let micros = Int64(Date().timeIntervalSince1970 * 1_000_000)
        condition.lock()
        defer { condition.unlock() }
        let id = max(lastID + 1, micros)
        lastID = id
        if firstID == 0 { firstID = id }
        ring.append(Entry(id: id, type: event.type, frame: event.sseFrame(id: id)))
        if ring.count > capacity { evictedThrough = ring.removeFirst().id }
        published += 1
        if let ndjson { try? ndjson.write(contentsOf: Data(event.ndjsonLine(id: id).utf8)) }
        condition.broadcast()
        return id
    }

    /// The id of the newest event, 0 before the first.
    public var newestID: Int64 { condition.withLock { lastID } }

    /// Events published since this hub started.
    public var publishedCount: Int { condition.withLock { published } }

    /// Up to `limit` events after `cursor`, waiting up to `timeout` for one to come.
    /// Returns an empty batch on timeout or once the hub is closed.
    public func events(after cursor: Int64, limit: Int = 512, waitingUpTo timeout: Duration) -> Batch {
        let deadline = Date().addingTimeInterval(Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        condition.lock()
        defer { condition.unlock() }
        while lastID <= cursor && !closed {
            if !condition.wait(until: deadline) { break }
        }
        guard lastID > cursor else { return Batch(entries: [], missed: false) }
        // Ids are increasing: find the first entry after the cursor by bisection.
        var low = 0, high = ring.count
        while low < high {
            let mid = (low + high) / 2
            if ring[mid].id <= cursor { low = mid + 1 } else { high = mid }
        }
        let missed = cursor < max(firstID, evictedThrough)
        let end = min(ring.count, low + limit)
        return Batch(entries: Array(ring[low ..< end]), missed: missed)
    }

    public var isClosed: Bool { condition.withLock { closed } }

    /// Wakes every waiting subscriber and stops writing the NDJSON file.
    public func close() {
        condition.lock()
        closed = true
        try? ndjson?.synchronize()
        try? ndjson?.close()
        condition.broadcast()
        condition.unlock()
    }
}
