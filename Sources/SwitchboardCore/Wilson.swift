import Foundation

/// A rate of `successes` in `trials` with its 95 % Wilson score interval: honest at small
/// samples and near 0 or 1, where the normal approximation claims certainty it has not got.
///
///     Rate(1, of: 4).interval   // 0.046…0.699: one correction in four reviews proves little
public struct Rate: Sendable, Equatable, Codable {
    public static let z = 1.96
    public var successes: Int
    public var trials: Int

    public init(_ successes: Int, of trials: Int) {
        self.successes = successes; self.trials = trials
    }

    public var value: Double? { trials == 0 ? nil : Double(successes) / Double(trials) }
    public var lower: Double? { trials == 0 ? nil : Self.bounds(rate: value!, trials: Double(trials)).lower }
    public var upper: Double? { trials == 0 ? nil : Self.bounds(rate: value!, trials: Double(trials)).upper }

    static func bounds(rate p: Double, trials n: Double) -> (lower: Double, upper: Double) {
        let z2 = z * z
        let denominator = 1 + z2 / n
        let centre = (p + z2 / (2 * n)) / denominator
        let half = z * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot() / denominator
        return (max(0, centre - half), min(1, centre + half))
    }
}

/// Which side of its target a figure must be on.
public enum TargetSide: String, Sendable, Codable {
    /// The figure must be at least the target (first-attempt success, first-call resolution).
    case atLeast = "at_least"
    /// The figure must be under the target (corrections, latency).
    case under
}

/// Where a figure stands against its target.
public enum FigureStatus: Sendable, Equatable, Codable {
    case met
    case missed
    /// The interval straddles the target; `more` samples at the current rate would settle
    /// it (nil: at this rate no number would).
    case notEnoughEvidence(more: Int?)
    case noData

    public var isMet: Bool { self == .met }

    /// Met only when the whole interval is on the right side (docs/go-live.md).
    public static func judge(_ rate: Rate, target: Double, side: TargetSide) -> FigureStatus {
        guard let lower = rate.lower, let upper = rate.upper, let value = rate.value else { return .noData }
        switch side {
        case .atLeast:
            if lower >= target { return .met }
            if upper < target { return .missed }
        case .under:
            if upper < target { return .met }
            if lower >= target { return .missed }
        }
        return .notEnoughEvidence(more: moreTrials(rate: value, from: rate.trials, target: target, side: side))
    }

    /// The fewest extra trials at `rate` after which the interval no longer straddles `target`.
    static func moreTrials(rate: Double, from trials: Int, target: Double, side: TargetSide) -> Int? {
        func settled(_ n: Int) -> Bool {
            let b = Rate.bounds(rate: rate, trials: Double(n))
            switch side {
            case .atLeast: return b.lower >= target || b.upper < target
            case .under: return b.upper < target || b.lower >= target
            }
        }
        var high = max(1, trials)
        while !settled(high) {
            high *= 2
            if high > 1 << 40 { return nil }
        }
        var low = trials
        while low + 1 < high {
            let middle = low + (high - low) / 2
            if settled(middle) { high = middle } else { low = middle }
        }
        return high - trials
    }
}
