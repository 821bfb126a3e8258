import Foundation
import SwitchboardCore

/// Who is at the console: the OS user and uid, and the role the system policy gives them
/// (RolePolicy). Every decision and audit row carries `user`; operator rows also carry
/// `auditFields` (user, uid, role).
///
///     let me = OperatorIdentity.current(configuration: settings, environment: ProcessInfo.processInfo.environment)
///     if !me.mayReview { … }
public struct OperatorIdentity: Sendable, Equatable {
    public var user: String
    /// The effective uid the name was looked up from.
    public var uid: UInt32
    /// The role in effect: `viewer` whenever the console is read-only.
    public var role: OperatorRole
    public var readOnly: Bool
    /// Patient details shown for one revealed record (`revealing`), whatever the role.
    public var revealsPatientDetails = false

    public init(user: String, uid: UInt32 = geteuid(), role: OperatorRole, readOnly: Bool = false) {
        self.user = user
        self.uid = uid
        self.role = readOnly ? .viewer : role
        self.readOnly = readOnly
    }

    /// The effective user (`geteuid`), so `sudo -u` cannot borrow someone else's name
    /// through `$USER`; `$USER` only when the password database has no entry.
    public static func current(configuration: ConsoleConfiguration, environment: [String: String]) -> OperatorIdentity {
        let user = accountName() ?? environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "uid-\(geteuid())"
        return OperatorIdentity(user: user, uid: geteuid(), role: configuration.roles[user] ?? configuration.defaultRole,
                                readOnly: configuration.readOnly)
    }

    private static func accountName() -> String? {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return nil }
        let text = String(cString: name)
        return text.isEmpty ? nil : text
    }

    /// Who acted, for the detail of an operator's audit row: the OS user, the uid and the role
    /// in effect, so a row says what the person was allowed, not only their name.
    public var auditFields: [String: Any?] {
        ["os_user": user, "uid": Int(uid), "role": role.rawValue]
    }

    /// `fields` with `auditFields` added, as the JSON detail of an audit row.
    public func auditDetail(_ fields: [String: Any?]) -> String {
        JSONText.object(fields.merging(auditFields) { mine, _ in mine })
    }

    public var mayReview: Bool { role.mayReview }
    public var seesPatientDetails: Bool { revealsPatientDetails || role.seesPatientDetails }

    /// Why this operator may not review, or nil if they may.
    public var reviewRefusal: String? {
        if readOnly { return "the console is read-only" }
        if !role.mayReview { return "\(user) is a \(role.rawValue); reviewing needs the reviewer or operator role (roles come from the system policy)" }
        return nil
    }

    /// Why this operator may not mark a planned outage, or nil if they may: it changes
    /// which figures the go-live verdict is judged on, so it takes the operator role.
    public var outageRefusal: String? {
        if readOnly { return "the console is read-only" }
        if !role.mayTouchOutbox { return "\(user) is a \(role.rawValue); planning an outage needs the operator role (roles come from the system policy)" }
        return nil
    }

    /// Why this operator may not retry or discard outbox items, or nil if they may.
    public var outboxRefusal: String? {
        if readOnly { return "the console is read-only" }
        if !role.mayTouchOutbox { return "\(user) is a \(role.rawValue); retrying and discarding need the operator role (roles come from the system policy)" }
        return nil
    }
}
