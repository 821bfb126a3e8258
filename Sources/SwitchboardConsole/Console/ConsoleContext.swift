import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore

/// What every screen works with: the databases, who is at the keyboard, the go-live
/// clock, and the EHR (when configured). Built once at start.
struct ConsoleContext: Sendable {
    let audit: AuditStore
    let identity: OperatorIdentity
    let actions: ReviewActions
    let clock: GoLiveClock
    let overdueMillis: Int64
    let ehr: EHRLookup?
    let now: @Sendable () -> UnixMillis

    /// The rows both databases' listings left out because a column could not be read.
    var unreadable: [UnreadableRow] { audit.unreadable.rows + (actions.outbox?.unreadable.rows ?? []) }
    var unreadableCount: Int { audit.unreadable.count + (actions.outbox?.unreadable.count ?? 0) }
}

extension EHRLookup {
    /// The practice's providers as the console message every screen receives.
    func providersFound() async -> ConsoleMessage {
        do {
            return .providersFound(.success(try await providerDirectory()))
        } catch {
            return .providersFound(.failure(EHRFailure(text: "\(error)")))
        }
    }
}
