import Foundation
import SwitchboardCore
import SwitchboardStore

/// The 48-hour go-live window the Review header counts down, and where its start came
/// from. The start is, in order: `go_live_start` in the config; `simulator.json` beside
/// the audit database (written by `switchboard-sim run`); the earliest flagged booking;
/// now.
///
///     let clock = try GoLiveClock.resolve(configuration: settings, audit: store, now: Clock.nowMillis())
///     formatDuration(millis: clock.window.remaining(at: now))   // "31h12m"
public struct GoLiveClock: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case configuration
        case simulator(file: String)
        case firstFlaggedBooking
        /// Nothing said when go-live began: the window starts now.
        case now
    }

    public var window: GoLiveWindow
    public var source: Source

    public init(window: GoLiveWindow, source: Source) {
        self.window = window
        self.source = source
    }

    public static func resolve(configuration: ConsoleConfiguration, audit: AuditStore?, now: UnixMillis) throws -> GoLiveClock {
        if let start = configuration.goLiveStart {
            return GoLiveClock(window: GoLiveWindow(startsAt: start), source: .configuration)
        }
        if let auditPath = audit?.path ?? configuration.auditPath {
            let file = URL(fileURLWithPath: auditPath).deletingLastPathComponent().appendingPathComponent("simulator.json").path
            if let start = simulatorStart(file: file) {
                return GoLiveClock(window: GoLiveWindow(startsAt: start), source: .simulator(file: file))
            }
        }
        if let start = try audit?.firstFlaggedBookingAt() {
            return GoLiveClock(window: GoLiveWindow(startsAt: start), source: .firstFlaggedBooking)
        }
        return GoLiveClock(window: GoLiveWindow(startsAt: now), source: .now)
    }

    /// The go-live start in the agent's `simulator.json` (docs/simulator.md):
    /// `go_live_start_ms` (unix milliseconds), else `go_live_start` (ISO 8601). Nil when
    /// the file or the keys are missing or unreadable.
    public static func simulatorStart(file: String) -> UnixMillis? {
        guard let data = FileManager.default.contents(atPath: file),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        for key in ["go_live_start_ms", "go_live_start"] {
            switch object[key] {
            case let number as NSNumber: return UnixMillis(truncating: number)
            case let text as String: if let millis = parseISO8601(text) { return millis }
            default: continue
            }
        }
        return nil
    }
}
