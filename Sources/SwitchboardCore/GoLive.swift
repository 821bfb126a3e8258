/// The go-live targets of the integration guide, and the figures measured against them.
public enum GoLiveTargets {
    /// EHR scheduling queries: average response under this.
    public static let ehrLatencyMillis: Double = 200
    /// Share of EHR transactions that succeed on the first attempt.
    public static let firstAttemptSuccess: Double = 0.997
    /// Every PHI read and write to the EHR has an audit record.
    public static let auditCoverage: Double = 1.0
    public static let firstCallResolution: Double = 0.92
    /// The agent goes autonomous when fewer than this share of bookings needed correction.
    public static let correctionRate: Double = 0.02
    /// The monitored window after go-live.
    public static let windowMillis: Int64 = 48 * 3_600_000
    /// The agent goes into queue mode after the EHR is unreachable this long.
    public static let queueModeAfterMillis: Int64 = 10_000
}

/// Where the 48-hour review window stands at a moment.
public struct GoLiveWindow: Sendable, Equatable {
    public var startsAt: UnixMillis
    public var lengthMillis: Int64

    public init(startsAt: UnixMillis, lengthMillis: Int64 = GoLiveTargets.windowMillis) {
        self.startsAt = startsAt; self.lengthMillis = lengthMillis
    }

    public var endsAt: UnixMillis { startsAt + lengthMillis }
    public func contains(_ t: UnixMillis) -> Bool { t >= startsAt && t < endsAt }
    public func remaining(at now: UnixMillis) -> Int64 { max(0, endsAt - now) }
    public func isOver(at now: UnixMillis) -> Bool { now >= endsAt }
}
