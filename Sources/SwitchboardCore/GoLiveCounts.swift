/// What kind of EHR operation an audit action is, for the latency table (docs/go-live.md).
public enum OperationKind: String, Codable, Sendable, CaseIterable {
    case schedulingQuery = "scheduling_query"
    case write
    case note
    case otherRead = "other_read"

    public init(action: String) {
        switch action {
        case "patient.search", "patient.read", "slot.search", "appointment.search", "appointment.read", "practitioner.search":
            self = .schedulingQuery
        case "appointment.create", "appointment.update", "patient.create": self = .write
        case "communication.create": self = .note
        default: self = .otherRead
        }
    }

    public var label: String {
        switch self {
        case .schedulingQuery: "scheduling queries"
        case .write: "writes"
        case .note: "notes"
        case .otherRead: "other reads"
        }
    }
}

/// First-call resolution of one ended call (docs/go-live.md): resolved on the call, or an
/// urgent triage handed warm to clinical staff. A callback, a drop or any other transfer
/// is a miss.
public enum FirstCallResolution {
    public static func isResolved(intent: String?, outcome: String?) -> Bool {
        outcome == CallOutcome.resolved.rawValue
            || (intent == Workflow.urgentTriage.rawValue && outcome == CallOutcome.transferred.rawValue)
    }
}

/// Latencies of one operation: a count, a total and a histogram to the millisecond up to
/// `limit` (slower requests share the last bucket), so memory does not grow with rows.
public struct LatencyCounts: Sendable, Equatable, Codable {
    public static let limit = 5_000
    public var count = 0
    public var totalMillis: Int64 = 0
    /// Milliseconds → requests. Empty where only the average is kept (trend buckets).
    public var histogram: [Int: Int] = [:]

    public init(count: Int = 0, totalMillis: Int64 = 0, histogram: [Int: Int] = [:]) {
        self.count = count; self.totalMillis = totalMillis; self.histogram = histogram
    }

    public var average: Double? { count == 0 ? nil : Double(totalMillis) / Double(count) }

    /// Nearest rank: the latency under which `q` of the requests answered; nil without a histogram.
    public func percentile(_ q: Double) -> Int? {
        let total = histogram.values.reduce(0, +)
        guard total > 0 else { return nil }
        let wanted = max(1, Int((Double(total) * q).rounded(.up)))
        var seen = 0
        for millis in histogram.keys.sorted() {
            seen += histogram[millis]!
            if seen >= wanted { return millis }
        }
        return Self.limit
    }

    public mutating func add(_ other: LatencyCounts, sign: Int = 1) {
        count += sign * other.count
        totalMillis = totalMillis.addingClamped(sign < 0 ? -other.totalMillis : other.totalMillis)
        for (millis, n) in other.histogram {
            let value = (histogram[millis] ?? 0) + sign * n
            histogram[millis] = value == 0 ? nil : value
        }
    }
}

/// The go-live counts of one stretch of time (the window, a 15-minute bucket, a planned
/// outage): additive, so a window is the sum of its parts and "without planned outages"
/// is the window minus the outages.
public struct GoLiveCounts: Sendable, Equatable, Codable {
    /// Latency by audit action (every attempt of an agent's EHR request).
    public var latency: [String: LatencyCounts] = [:]
    /// First attempts of the agent's EHR transactions, and how they ended.
    public var transactions = 0
    public var succeeded = 0
    /// Business answers: the EHR said "no" correctly. Not successes.
    public var slotTaken = 0
    public var noMatch = 0
    /// Audit rows of outbox sends, and outbox attempts (nil: no outbox database).
    public var auditedSends = 0
    public var sends: Int?
    public var callsEnded = 0
    public var callsResolved = 0
    public var bookingsFlagged = 0
    public var bookingsDecided = 0
    public var bookingsCorrected = 0
    /// Corrections by category (`other` when none was given).
    public var corrections: [String: Int] = [:]

    public init() {}

    public var failed: Int { transactions - succeeded - slotTaken - noMatch }
    public var businessAnswers: Int { slotTaken + noMatch }

    /// Latency of one kind of operation, all its actions together.
    public func latency(of kind: OperationKind) -> LatencyCounts {
        var sum = LatencyCounts()
        for (action, counts) in latency where OperationKind(action: action) == kind { sum.add(counts) }
        return sum
    }

    public mutating func add(_ other: GoLiveCounts, sign: Int = 1) {
        for (action, counts) in other.latency {
            var mine = latency[action] ?? LatencyCounts()
            mine.add(counts, sign: sign)
            latency[action] = mine.count == 0 && mine.histogram.isEmpty ? nil : mine
        }
        transactions += sign * other.transactions
        succeeded += sign * other.succeeded
        slotTaken += sign * other.slotTaken
        noMatch += sign * other.noMatch
        auditedSends += sign * other.auditedSends
        if let s = other.sends { sends = (sends ?? 0) + sign * s }
        callsEnded += sign * other.callsEnded
        callsResolved += sign * other.callsResolved
        bookingsFlagged += sign * other.bookingsFlagged
        bookingsDecided += sign * other.bookingsDecided
        bookingsCorrected += sign * other.bookingsCorrected
        for (category, n) in other.corrections {
            let value = (corrections[category] ?? 0) + sign * n
            corrections[category] = value == 0 ? nil : value
        }
    }

    public static func + (a: GoLiveCounts, b: GoLiveCounts) -> GoLiveCounts { var c = a; c.add(b); return c }
    public static func - (a: GoLiveCounts, b: GoLiveCounts) -> GoLiveCounts { var c = a; c.add(b, sign: -1); return c }
}
