import SwitchboardCore
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
    /// The anchor half of `v` (checkpoints under the configured key, heads seen before);
    /// nil checks checkpoints without a key and remembers nothing.
    var chainCheck: AuditVerifier? = nil
}
