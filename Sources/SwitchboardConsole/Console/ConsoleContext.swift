import SwitchboardCore
import SwitchboardOperations

/// What every screen knows of its surroundings: who is at the keyboard, the go-live
/// clock, the settings that shape what it shows, and which databases and services are
/// there. No store and no EHR client: screens ask for work, the runner does it.
struct ConsoleContext: Sendable {
    let identity: OperatorIdentity
    let clock: GoLiveClock
    let overdueMillis: Int64
    let undoSeconds: Int
    let hasOutbox: Bool
    let hasEHR: Bool
    let now: @Sendable () -> UnixMillis
    /// Ring the terminal's bell when an alert starts (`[alerts] bell`).
    var bellOnAlert = false
}
