import Foundation
import SwitchboardCore
import TOMLKit
import ConfigFiles

/// Turns a parsed config table into settings, keeping what it understands and warning
/// about the rest with the line it is on.
public struct ConfigurationReader {
    public let file: String
    public let lines: SourceLines
    public let isKeyName: (String) -> Bool
    public var warnings: [ConfigWarning] = []

    /// Key names that hold secrets. They are refused wherever they appear, and their
    /// values are never repeated in a warning.
    public static let secretNames: Set<String> = ["secret", "client_secret", "password", "token", "access_token", "api_key"]

    public static let topLevelKeys = [
        "audit", "audit_key", "outbox", "events", "ca_file", "theme", "read_only", "go_live_start", "undo_seconds", "overdue_minutes",
        "idle_lock_minutes", "ehr", "roles", "keys", "alerts", "review_flags",
    ]

    mutating func read(_ table: TOMLTable) -> ConsoleConfiguration {
        var c = ConsoleConfiguration()
        for (key, value) in table.sorted(by: { $0.0 < $1.0 }) {
            if refuseSecret(key, value, table: nil) { continue }
            switch key {
            case "audit": c.auditPath = path(value, key)
            case "audit_key": c.auditKeyPath = path(value, key)
            case "outbox": c.outboxPath = path(value, key)
            case "events": c.events = string(value, key)
            case "ca_file": c.caFile = path(value, key)
            case "theme": c.theme = string(value, key)
            case "read_only":
                if let flag = value.bool { c.readOnly = flag } else { warn(key, "read_only must be true or false") }
            case "go_live_start": c.goLiveStart = instant(value, key)
            case "undo_seconds": c.undoSeconds = number(value, key, in: 0...60, unit: "seconds") ?? c.undoSeconds
            case "overdue_minutes": c.overdueMinutes = number(value, key, in: 1...10_080, unit: "minutes") ?? c.overdueMinutes
            case "idle_lock_minutes": c.idleLockMinutes = number(value, key, in: 1...1_440, unit: "minutes") ?? c.idleLockMinutes
            case "ehr": readEHR(value, into: &c)
            case "roles": readRoles(value, into: &c)
            case "keys": readKeys(value, into: &c)
            case "alerts": readAlerts(value, into: &c)
            case "review_flags": readReviewFlags(value, into: &c)
            default: unknown(key, value, table: nil)
            }
        }
        return c
    }

    private mutating func readEHR(_ value: TOMLValueConvertible, into c: inout ConsoleConfiguration) {
        guard let table = value.table else { return warn("ehr", "[ehr] must be a table") }
        for (key, value) in table.sorted(by: { $0.0 < $1.0 }) {
            if refuseSecret(key, value, table: "ehr") { continue }
            switch key {
            case "base_url": c.ehrBaseURL = url(value, key); c.ehrCredentialsBaseURL = c.ehrBaseURL
            case "token_url": c.ehrTokenURL = url(value, key)
            case "client_id": c.ehrClientID = string(value, key, table: "ehr")
            case "secret_file": c.ehrSecretFile = path(value, key, table: "ehr")
            case "ca_file": c.ehrCAFile = path(value, key, table: "ehr")
            case "key_file": c.ehrKeyFile = path(value, key, table: "ehr")
            case "key_id": c.ehrKeyID = string(value, key, table: "ehr")
            case "pathway":
                guard let text = string(value, key, table: "ehr"), let pathway = Transport(rawValue: text) else {
                    warn(key, "pathway must be fhir, rest or hl7v2", table: "ehr")
                    continue
                }
                c.ehrPathway = pathway
            default: unknown(key, value, table: "ehr")
            }
        }
    }

    /// `[roles]` in a user's config grants nothing: the user writes that file. Roles come
    /// from the system policy (RolePolicy); the table is read only to say so.
    private mutating func readRoles(_ value: TOMLValueConvertible, into c: inout ConsoleConfiguration) {
        if let table = value.table { refuseSecrets(in: table, table: "roles") }
        warn("roles", "[roles] is ignored: roles come from the system policy \(RolePolicy.systemPath), not from a user's config")
    }

    private mutating func readAlerts(_ value: TOMLValueConvertible, into c: inout ConsoleConfiguration) {
        guard let table = value.table else { return warn("alerts", "[alerts] must be a table") }
        var a = c.alerts
        let names = AlertRule.allCases.map(\.rawValue).joined(separator: ", ")
        for (key, value) in table.sorted(by: { $0.0 < $1.0 }) {
            if refuseSecret(key, value, table: "alerts") { continue }
            switch key {
            case "hook": a.hook = string(value, key, table: "alerts")
            case "bell":
                if let flag = value.bool { a.bell = flag } else { warn(key, "bell must be true or false", table: "alerts") }
            case "hook_timeout_seconds": a.hookTimeoutSeconds = number(value, key, in: 1...600, unit: "seconds", table: "alerts") ?? a.hookTimeoutSeconds
            case "state_file": a.stateFile = path(value, key, table: "alerts")
            case "failing_minutes": a.failingMinutes = number(value, key, in: 1...10_080, unit: "minutes", table: "alerts") ?? a.failingMinutes
            case "queue_mode_minutes": a.queueModeMinutes = number(value, key, in: 0...1_440, unit: "minutes", table: "alerts") ?? a.queueModeMinutes
            case "stream_silent_seconds": a.streamSilentSeconds = number(value, key, in: 5...3_600, unit: "seconds", table: "alerts") ?? a.streamSilentSeconds
            case "window_hours_left": a.windowHoursLeft = number(value, key, in: 1...48, unit: "hours", table: "alerts") ?? a.windowHoursLeft
            case "correction_rate_bound":
                if let share = value.double ?? value.int.map(Double.init), share > 0, share < 1 { a.correctionRateBound = share }
                else { warn(key, "correction_rate_bound must be a share between 0 and 1 (0.02 for 2%), not \(value.debugDescription); using the default", table: "alerts") }
            case "disabled", "critical":
                guard let array = value.array, array.allSatisfy({ $0.string != nil }) else {
                    warn(key, "\(key) must be a list of rule names (\(names))", table: "alerts"); continue
                }
                var rules: Set<AlertRule> = []
                for word in array.compactMap(\.string) {
                    if let rule = AlertRule(rawValue: word) { rules.insert(rule) } else { warn(key, "unknown alert rule \"\(word)\" (one of: \(names))", table: "alerts") }
                }
                if key == "disabled" { a.disabled = rules } else { a.critical = rules }
            default: unknown(key, value, table: "alerts")
            }
        }
        c.alerts = a
    }

    /// `[review_flags]`: the pitfall rules (PitfallFlags); a bad value is warned about and left off.
    private mutating func readReviewFlags(_ value: TOMLValueConvertible, into c: inout ConsoleConfiguration) {
        let name = "review_flags"
        guard let table = value.table else { return warn(name, "[review_flags] must be a table") }
        var rules = ReviewFlagRules()
        var hours: (Int, Int)?
        var days: Set<Int>?
        for (key, value) in table.sorted(by: { $0.0 < $1.0 }) {
            if refuseSecret(key, value, table: name) { continue }
            switch key {
            case "lead_time_minutes": rules.leadTimeMinutes = number(value, key, in: 0...43_200, unit: "minutes")
            case "hours": hours = scheduleHours(value, key)
            case "days": days = scheduleDays(value, key)
            case "time_zone":
                if let text = value.string, let zone = TimeZone(identifier: text) { rules.timeZone = zone }
                else { warn(key, "time_zone must be a zone name like \"America/Chicago\", not \(value.debugDescription)", table: name) }
            case "follow_up_types": rules.followUpTypes = words(value, key)
            case "new_patient_types": rules.newPatientTypes = words(value, key)
            case "type_minutes":
                guard let types = value.table else { warn(key, "type_minutes must be a table of TYPE = minutes", table: name); continue }
                for (type, minutes) in types {
                    if let n = minutes.int, n > 0 { rules.typeMinutes[type] = n } else { warn(type, "\(type) must be a number of minutes", table: name) }
                }
            case "providers":
                guard let providers = value.table else { warn(key, "providers must be a table of \"Practitioner/…\" = { hours, days }", table: name); continue }
                for (provider, entry) in providers {
                    guard let entry = entry.table, let h = entry["hours"].flatMap({ scheduleHours($0, "hours") }) else {
                        warn(provider, "\(provider) needs hours = \"08:00-17:00\"", table: name); continue
                    }
                    let d = entry["days"].flatMap { scheduleDays($0, "days") } ?? WeeklyHours.weekdays.days
                    rules.providerSchedules[provider] = WeeklyHours(days: d, opens: h.0, closes: h.1)
                }
            default: unknown(key, value, table: name)
            }
        }
        if hours != nil || days != nil {
            let h = hours ?? (WeeklyHours.weekdays.opens, WeeklyHours.weekdays.closes)
            rules.schedule = WeeklyHours(days: days ?? WeeklyHours.weekdays.days, opens: h.0, closes: h.1)
        }
        c.reviewFlags = rules
    }

    private mutating func scheduleHours(_ value: TOMLValueConvertible, _ key: String) -> (Int, Int)? {
        guard let text = value.string, let h = WeeklyHours.hours(text) else {
            warn(key, "\(key) must be like \"08:00-17:00\", not \(value.debugDescription)", table: "review_flags")
            return nil
        }
        return h
    }

    private mutating func scheduleDays(_ value: TOMLValueConvertible, _ key: String) -> Set<Int>? {
        let names = value.array?.compactMap(\.string) ?? []
        let days = names.compactMap { WeeklyHours.dayNames[String($0.lowercased().prefix(3))] }
        guard !days.isEmpty, days.count == names.count else {
            warn(key, "\(key) must be a list like [\"mon\", \"tue\"], not \(value.debugDescription)", table: "review_flags")
            return nil
        }
        return Set(days)
    }

    private mutating func words(_ value: TOMLValueConvertible, _ key: String) -> Set<String> {
        guard let array = value.array, array.allSatisfy({ $0.string != nil }) else {
            warn(key, "\(key) must be a list of appointment types", table: "review_flags")
            return []
        }
        return Set(array.compactMap(\.string))
    }

    private mutating func readKeys(_ value: TOMLValueConvertible, into c: inout ConsoleConfiguration) {
        guard let table = value.table else { return warn("keys", "[keys] must be a table of action = [\"key\", …]") }
        for (action, value) in table.sorted(by: { $0.0 < $1.0 }) {
            if refuseSecret(action, value, table: "keys") { continue }
            let texts: [String]
            if let single = value.string {
                texts = [single]
            } else if let array = value.array, array.allSatisfy({ $0.string != nil }) {
                texts = array.compactMap(\.string)
            } else {
                warn(action, "keys for \(action) must be a string or a list of strings", table: "keys")
                continue
            }
            let known = texts.filter(isKeyName)
            for text in texts where !isKeyName(text) {
                warn(action, "unknown key \"\(text)\" for \(action) (e.g. \"x\", \"ctrl-x\", \"enter\", \"f5\")", table: "keys")
            }
            c.keys[action] = known
        }
    }

    // MARK: Values

    private mutating func string(_ value: TOMLValueConvertible, _ key: String, table: String? = nil) -> String? {
        guard let text = value.string, !text.isEmpty else {
            warn(key, "\(key) must be a non-empty string", table: table)
            return nil
        }
        return text
    }

    /// A file path; `~/` is the user's home.
    private mutating func path(_ value: TOMLValueConvertible, _ key: String, table: String? = nil) -> String? {
        string(value, key, table: table).map { ($0 as NSString).expandingTildeInPath }
    }

    private mutating func url(_ value: TOMLValueConvertible, _ key: String) -> String? {
        guard let text = string(value, key, table: "ehr") else { return nil }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), url.host != nil,
              scheme == "https" || scheme == "http" else {
            warn(key, "\(key) must be an http(s) URL, not \(value.debugDescription)", table: "ehr")
            return nil
        }
        return text
    }

    private mutating func number(_ value: TOMLValueConvertible, _ key: String, in range: ClosedRange<Int>, unit: String, table: String? = nil) -> Int? {
        guard let n = value.int, range.contains(n) else {
            warn(key, "\(key) must be a whole number of \(unit) from \(range.lowerBound) to \(range.upperBound), not \(value.debugDescription); using the default", table: table)
            return nil
        }
        return n
    }

    /// An ISO 8601 instant with a zone, written as a TOML date-time or as a string.
    private mutating func instant(_ value: TOMLValueConvertible, _ key: String) -> UnixMillis? {
        let text = value.dateTime?.debugDescription ?? value.string
        guard let text, let millis = parseISO8601(text) else {
            warn(key, "\(key) must be an ISO 8601 time with a zone, like 2026-11-24T08:00:00Z, not \(value.debugDescription)")
            return nil
        }
        return millis
    }

    // MARK: Warnings

    /// Refuses a key named like a secret, without repeating its value. Returns whether it did.
    private mutating func refuseSecret(_ key: String, _ value: TOMLValueConvertible, table: String?) -> Bool {
        guard Self.secretNames.contains(key.lowercased()) else { return false }
        warn(key, "\"\(key)\" refused: a secret never goes in the config file (it would be shown, copied and backed up); "
             + "put it in a file only you can read and name that file with secret_file in [ehr]", table: table)
        return true
    }

    private mutating func unknown(_ key: String, _ value: TOMLValueConvertible, table: String?) {
        let place = table.map { " in [\($0)]" } ?? ""
        warn(key, "unknown key \"\(key)\"\(place)", table: table)
        if let nested = value.table { refuseSecrets(in: nested, table: key) }
    }

    /// Secrets hidden in an unknown table are still refused by name.
    private mutating func refuseSecrets(in table: TOMLTable, table name: String) {
        for (key, value) in table.sorted(by: { $0.0 < $1.0 }) {
            if refuseSecret(key, value, table: name) { continue }
            if let nested = value.table { refuseSecrets(in: nested, table: "\(name).\(key)") }
        }
    }

    private mutating func warn(_ key: String, _ message: String, table: String? = nil) {
        warnings.append(ConfigWarning(file: file, line: lines.line(ofKey: key, inTable: table), message: message))
    }
}
