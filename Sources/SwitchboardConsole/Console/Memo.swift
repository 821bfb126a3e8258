import Foundation

/// A pure function's answers kept for the values that recur (a frame asks the same
/// question for many rows); bounded, emptied when full. Safe from any thread.
final class Memo<Key: Hashable, Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [Key: Value] = [:]
    private let limit: Int
    private let compute: (Key) -> Value

    init(limit: Int, _ compute: @escaping (Key) -> Value) {
        self.limit = limit
        self.compute = compute
    }

    func value(for key: Key) -> Value {
        if let known = lock.withLock({ answers[key] }) { return known }
        let value = compute(key)
        lock.withLock {
            if answers.count >= limit { answers.removeAll(keepingCapacity: true) }
            answers[key] = value
        }
        return value
    }
}
