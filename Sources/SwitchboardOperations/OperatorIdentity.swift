import Foundation
import SwitchboardCore

/// Who is at the console: the OS user, and the role the config gives them. Every
/// decision and audit row carries `user`.
///
///     let me = OperatorIdentity.current(configuration: settings, environment: ProcessInfo.processInfo.environment)
///     if !me.mayReview { … }
public struct OperatorIdentity: Sendable, Equatable {
    public var user: String
    /// The role in effect: `viewer` whenever the console is read-only.
    public var role: OperatorRole
    public var readOnly: Bool

    public init(user: String, role: OperatorRole, readOnly: Bool = false) {
        self.user = user
        self.role = readOnly ? .viewer : role
        self.readOnly = readOnly
    }

    /// The effective user (`geteuid`), so `sudo -u` cannot borrow someone else's name
    /// through `$USER`; `$USER` only when the password database has no entry.
    public static func current(configuration: ConsoleConfiguration, environment: [String: String]) -> OperatorIdentity {
        let user = accountName() ?? environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "uid-\(geteuid())"
        return OperatorIdentity(user: user, role: configuration.roles[user] ?? configuration.defaultRole,
                                readOnly: configuration.readOnly)
    }

    private static func accountName() -> String? {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return nil }
        let text = String(cString: name)
        return text.isEmpty ? nil : text
    }

    public var mayReview: Bool { role.mayReview }
    public var seesPatientDetails: Bool { role.seesPatientDetails }

    /// Why this operator may not review, or nil if they may.
    public var reviewRefusal: String? {
        if readOnly { return "the console is read-only" }
        if !role.mayReview { return "\(user) is a \(role.rawValue); reviewing needs the reviewer or operator role (see [roles] in the config)" }
        return nil
    }

    /// Why this operator may not mark a planned outage, or nil if they may: it changes
    /// which figures the go-live verdict is judged on, so it takes the operator role.
    public var outageRefusal: String? {
        if readOnly { return "the console is read-only" }
        if !role.mayTouchOutbox { return "\(user) is a \(role.rawValue); planning an outage needs the operator role (see [roles] in the config)" }
        return nil
    }

    /// Why this operator may not retry or discard outbox items, or nil if they may.
    public var outboxRefusal: String? {
        if readOnly { return "the console is read-only" }
        if !role.mayTouchOutbox { return "\(user) is a \(role.rawValue); retrying and discarding need the operator role (see [roles] in the config)" }
        return nil
    }
}
