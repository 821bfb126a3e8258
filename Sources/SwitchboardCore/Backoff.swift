/// Exponential backoff with full jitter (AWS architecture blog's "full jitter"):
/// the n-th retry waits a random time in [0, min(cap, base·2ⁿ)], so many clients
/// that failed together do not retry together.
public struct BackoffPolicy: Sendable, Equatable {
    public var baseMillis: Int64
    public var capMillis: Int64
    public var maxAttempts: Int

    public init(baseMillis: Int64 = 500, capMillis: Int64 = 60_000, maxAttempts: Int = 8) {
        self.baseMillis = baseMillis; self.capMillis = capMillis; self.maxAttempts = maxAttempts
    }

    /// The ceiling of the wait before retry `attempt` (1-based: the wait after the first failure).
    public func ceiling(forAttempt attempt: Int) -> Int64 {
        let shift = min(max(attempt - 1, 0), 30)
        let grown = baseMillis.multipliedReportingOverflow(by: Int64(1) << shift)
        return grown.overflow ? capMillis : min(capMillis, grown.partialValue)
    }

    /// A jittered wait before retry `attempt`; `unit` is a random number in [0, 1).
    public func delay(forAttempt attempt: Int, unit: Double) -> Int64 {
        Int64(Double(ceiling(forAttempt: attempt)) * min(max(unit, 0), 1))
    }

    public func delay<G: RandomNumberGenerator>(forAttempt attempt: Int, using rng: inout G) -> Int64 {
        delay(forAttempt: attempt, unit: Double.random(in: 0..<1, using: &rng))
    }

    /// Whether another try is allowed after `attempts` tries.
    public func allowsRetry(after attempts: Int) -> Bool { attempts < maxAttempts }
}
