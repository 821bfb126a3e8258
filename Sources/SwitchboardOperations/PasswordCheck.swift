import Foundation
#if canImport(CPAM)
import CPAM
#endif

/// Asks the system (PAM) whether a password is the OS user's, to unlock the console after
/// its automatic logoff, as vlock does. Service `switchboard` when `/etc/pam.d/switchboard`
/// exists, else `other` (Debian: the common pam_unix stack). Where PAM cannot answer there
/// is no check, and the lock ends the console instead.
///
///     switch PasswordCheck.system()?.check(user: me.user, password: typed) { case .accepted?: … }
public struct PasswordCheck: Sendable {
    public enum Answer: Sendable, Equatable {
        case accepted
        /// A wrong password, or an account that may not be used now.
        case refused
        /// PAM itself could not answer (no configuration, a module missing).
        case unavailable
    }

    public let service: String

    public init(service: String) { self.service = service }

    /// The system's check, or nil when this build has no PAM or the machine no PAM configuration.
    public static func system(pamDirectory: String = "/etc/pam.d") -> PasswordCheck? {
        #if canImport(CPAM)
        let files = FileManager.default
        if files.fileExists(atPath: pamDirectory + "/switchboard") { return PasswordCheck(service: "switchboard") }
        if files.fileExists(atPath: pamDirectory + "/other") || files.fileExists(atPath: "/etc/pam.conf") { return PasswordCheck(service: "other") }
        return nil
        #else
        return nil
        #endif
    }

    /// Blocks for as long as PAM takes (pam_unix waits about two seconds after a wrong
    /// password): call it off the UI thread.
    public func check(user: String, password: String) -> Answer {
        #if canImport(CPAM)
        var started: Int32 = 0
        let status = sb_pam_check(service, user, password, &started)
        if status == sb_pam_success() { return .accepted }
        if started == 0 || [sb_pam_abort(), sb_pam_system_err(), sb_pam_buf_err(), sb_pam_conv_err()].contains(status) {
            return .unavailable
        }
        return .refused
        #else
        return .unavailable
        #endif
    }
}
