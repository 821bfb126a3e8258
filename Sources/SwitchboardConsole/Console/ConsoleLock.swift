import Foundation
import SwitchboardCore
import SwitchboardOperations
import TerminalUI

/// HIPAA automatic logoff that is one: after the idle time (or `:lock`) the console hides
/// everything and takes keys only as a password, which PAM checks off the UI thread. Where
/// PAM cannot answer, the lock ends the console. Locking, unlocking and every wrong
/// password are audit rows, written by the runner.
struct ConsoleLock {
    private(set) var isLocked = false
    /// Why it locked, for the lock screen: idle minutes, or nil for `:lock`.
    private(set) var idleMinutes: Int?
    /// Typed while locked; never drawn, not even as a count.
    private var typed = ""
    private(set) var checking = false
    private(set) var note: String?

    /// Locks (once) and asks the runner to record it.
    mutating func lock(idleMinutes: Int?) -> ConsoleWork? {
        guard !isLocked else { return nil }
        isLocked = true
        self.idleMinutes = idleMinutes
        typed = ""
        checking = false
        note = nil
        return .lock(.locked(idleMinutes: idleMinutes))
    }

    /// A key while locked: text goes to the password, Enter has it checked.
    mutating func handle(_ key: Key) -> ConsoleWork? {
        guard !checking else { return nil }
        switch key {
        case .enter:
            guard !typed.isEmpty else {
                note = "Type your password, then Enter."
                return nil
            }
            let password = typed
            typed = ""
            checking = true
            note = nil
            return .lock(.unlock(password: password))
        case .backspace: if !typed.isEmpty { typed.removeLast() }
        case .escape, .ctrl("u"): typed = ""
        case .char(let character): typed.append(character)
        default: break
        }
        return nil
    }

    /// The runner's answer: unlocked, or why not.
    mutating func checked(_ answer: PasswordCheck.Answer, user: String) {
        checking = false
        switch answer {
        case .accepted:
            isLocked = false
            note = nil
        case .refused: note = "That is not the password of \(user). Try again, or Ctrl-C to quit."
        case .unavailable: note = "The system cannot check passwords now (PAM). Ctrl-C quits."
        }
    }

    func lines(user: String) -> [String] {
        let why = idleMinutes.map { "No key for \($0) minute\($0 == 1 ? "" : "s"); patient details are hidden." }
            ?? "Locked on request; patient details are hidden."
        var lines = ["Switchboard is locked", why, checking ? "Checking…" : "Password for \(user), then Enter:"]
        if let note { lines.append(note) }
        lines.append("Ctrl-C quits.")
        return lines
    }
}

/// The lock's work for the runner.
enum LockWork: Sendable {
    case locked(idleMinutes: Int?)
    case unlock(password: String)
}

/// The runner's answers to the lock.
enum LockMessage: Sendable {
    case checked(PasswordCheck.Answer)
    /// No password check here: the lock was recorded and the console ends.
    case ends
}

extension OperationsRunner {
    func perform(_ work: LockWork) async -> ConsoleMessage? {
        let audit = self.audit
        switch work {
        case .locked(let minutes):
            let ends = passwordCheck == nil
            let event = AuditEvent(at: Clock.nowMillis(), actor: "operator:\(identity.user)", action: "console.lock", outcome: .success,
                                   detail: identity.auditDetail(["idle_minutes": minutes, "ends_console": ends ? true : nil]))
            _ = await write { try audit.append([event]) }
            return ends ? .lock(.ends) : nil
        case .unlock(let password):
            guard let passwordCheck else { return .lock(.ends) }
            let user = identity.user
            // The runner's work already runs off the UI thread (the loop's background executor).
            let answer = passwordCheck.check(user: user, password: password)
            let accepted = answer == .accepted
            let event = AuditEvent(at: Clock.nowMillis(), actor: "operator:\(identity.user)",
                                   action: accepted ? "console.unlock" : "console.unlock_failed",
                                   outcome: accepted ? .success : (answer == .refused ? .minorFailure : .seriousFailure),
                                   detail: identity.auditDetail(["pam_service": passwordCheck.service,
                                                                 "why": answer == .unavailable ? "pam_unavailable" : nil]))
            _ = await write { try audit.append([event]) }
            return .lock(.checked(answer))
        }
    }
}
