import Foundation
import SwitchboardCore
import SwitchboardStore
import SwitchboardTesting
import Testing

/// A site made row by row, so every figure is known: real SQLite files through the store
/// (as the agent writes them), a config file, an alert state file and a hook that records
/// each call on a line of its own.
struct SmallSite {
    let scratch: Scratch
    let audit: AuditStore
    let outbox: OutboxStore
    var auditPath: String { scratch.path("audit.sqlite") }
    var outboxPath: String { scratch.path("outbox.sqlite") }
    var configPath: String { scratch.path("config.toml") }
    var statePath: String { scratch.path("state/alerts.json") }
    var hookLog: String { scratch.path("hook.ndjson") }

    init(name: String = #function) throws {
        scratch = Scratch(name)
        audit = try AuditStore(path: scratch.path("audit.sqlite"), mode: .create)
        outbox = try OutboxStore(path: scratch.path("outbox.sqlite"), mode: .create)
        try configure()
    }

    /// The config (the files are the test user's own, so it is an operator), the hook appending to `hookLog`, and `extra` lines
    /// (inside `[alerts]` when `alerts` is given).
    func configure(top: String = "", alerts: String = "") throws {
        let text = """
            \(top)
            [alerts]
            hook = "cat >> '\(hookLog)'"
            state_file = "\(statePath)"
            \(alerts)
            """
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// `switchboard ARGS --audit … --outbox … --config …`, no user config from outside.
    /// `policy`: a role policy file (SWITCHBOARD_POLICY); without one the site's files,
    /// owned by the test's user, make it an operator.
    func switchboard(_ arguments: [String], databases: Bool = true, timeout: TimeInterval = 60, policy: String? = nil) throws -> ProcessResult {
        var env = ProcessInfo.processInfo.environment
        if let policy { env["SWITCHBOARD_POLICY"] = policy }
        env["XDG_CONFIG_HOME"] = scratch.path("xdg-config")
        env["XDG_STATE_HOME"] = scratch.path("xdg-state")
        let paths = databases ? ["--audit", auditPath, "--outbox", outboxPath] : []
        return try run(executable("switchboard"), arguments + paths + ["--config", configPath], environment: env, timeout: timeout)
    }

    /// The hook's calls so far: "started item_dead", "cleared item_dead", …
    func hookCalls() -> [String] {
        guard let text = try? String(contentsOfFile: hookLog, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let event = object["event"] as? String, let rule = object["rule"] as? String else { return "unreadable: \(line)" }
            return "\(event) \(rule)"
        }
    }

    // MARK: Rows, as the agent would write them

    @discardableResult
    func item(_ id: String, status: OutboxStatus, createdAt: UnixMillis, error: String? = nil, httpStatus: Int? = nil,
              bookingId: String? = nil, attempts: Int = 1, attemptEndedAt: UnixMillis? = nil) throws -> OutboxItem {
        var item = OutboxItem(id: id, createdAt: createdAt, callId: "c-\(id)", bookingId: bookingId, ehrSystem: "epic-sandbox",
                              transport: .fhir, operation: "appointment.create", request: "{}", idempotencyKey: "key-\(id)",
                              status: status, attempts: attempts, maxAttempts: 10,
                              nextAttemptAt: status == .failed ? Clock.nowMillis() + 3_600_000 : createdAt,
                              lastError: error, lastHttpStatus: httpStatus, updatedAt: createdAt)
        if status == .dead { item.nextAttemptAt = nil }
        try outbox.enqueue([item])
        if attempts > 0, status != .pending {
            let ended = attemptEndedAt ?? createdAt
            _ = try sqlite3(outboxPath, """
                INSERT OR IGNORE INTO outbox_attempt (item_id, attempt, started_at, ended_at, outcome, http_status, error)
                VALUES ('\(id)', 1, \(ended - 100), \(ended), '\(status == .dead ? "permanent" : "retryable")', \(httpStatus.map(String.init) ?? "NULL"), 'x')
                """)
        }
        return item
    }

    func booking(_ id: String, bookedAt: UnixMillis) throws {
        try audit.recordAgentWork(bookings: [sampleBooking(id, bookedAt: bookedAt)])
    }

    func decide(_ id: String, _ verdict: ReviewVerdict, by who: String, category: String? = nil, at: UnixMillis) throws {
        _ = try audit.decide(ReviewDecision(bookingId: id, decision: verdict, category: category, operator: who, decidedAt: at))
    }

    func probe(at: UnixMillis, failed: Bool) throws {
        try audit.append([AuditEvent(at: at, actor: "agent:sim-1", action: "ehr.probe", ehrSystem: "epic-sandbox", transport: .fhir,
                                     method: "GET", outcome: failed ? .majorFailure : .success, httpStatus: failed ? nil : 200)])
    }
}
