import ArgumentParser
import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

extension Switchboard {
    struct Outbox: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "outbox",
            abstract: "Unstick the outbox without the full screen: list, show, retry, discard, requeue.",
            discussion: """
            The same rules as the Outbox screen: retrying and discarding need the operator role \
            ([roles] in the config); each action leaves one audit row naming you. Bulk actions \
            (--all-matching) work through the ids that match when you confirm; items that start \
            matching later are left alone. Exit status: 0 all done; 75 some were skipped because \
            the agent was sending them (run again later); 65 some were refused (final, gone, or a \
            permanent EHR answer without --force); 77 not allowed; 64 usage (for example no --yes \
            in a script).
            """,
            subcommands: [List.self, Show.self, Retry.self, Discard.self, Requeue.self])
    }
}

/// Where the databases are and who acts, for `switchboard outbox …`.
struct OutboxOptions: ParsableArguments {
    @OptionGroup var site: SiteOptions

    @Option(help: ArgumentHelp("How long to wait for a database another process has locked.", valueName: "ms"))
    var lockWait: Int = DatabaseFile.defaultBusyTimeoutMillis

    /// The stores and the operator; writing needs the audit database for the audit rows.
    func open(_ mode: OpenMode) throws -> (OutboxActions?, OutboxStore, AuditStore?, ConsoleConfiguration) {
        let settings = try site.settings(overrides: ConfigurationOverrides(), reportingWarnings: true).settings
        guard let outboxPath = settings.outboxPath else {
            throw ValidationError("Name the outbox database: --outbox PATH, or outbox in the config file.")
        }
        if mode == .readWrite && settings.auditPath == nil {
            throw ValidationError("Name the audit database too (--audit PATH): every outbox action leaves an audit row.")
        }
        return try storeCall {
            let outbox = try OutboxStore(path: outboxPath, mode: mode, busyTimeoutMillis: lockWait)
            let audit = try settings.auditPath.map { try AuditStore(path: $0, mode: mode, busyTimeoutMillis: lockWait) }
            let me = OperatorIdentity.current(configuration: settings, environment: ProcessInfo.processInfo.environment)
            return (audit.map { OutboxActions(outbox: outbox, audit: $0, operator: me) }, outbox, audit, settings)
        }
    }
}

extension OutboxOptions {
    /// For a change: the writable stores once the operator may act, and the snapshot of ids
    /// confirmed. Nil (after saying why) when nothing matches or the answer was no.
    func confirmed(_ selection: OutboxSelection, verb: String, done: String, consequence: String = "") throws -> (OutboxActions, OutboxStore, [String])? {
        let (actions, outbox, _, _) = try open(.readWrite)
        guard let actions else { throw ExitCode(ExitStatus.usage) }
        if let refusal = actions.operator.outboxRefusal {
            complain("switchboard: not allowed: \(refusal)")
            throw ExitCode(ExitStatus.noPermission)
        }
        let ids = try selection.snapshot(outbox, now: Clock.nowMillis())
        guard !ids.isEmpty else { print("\(done) 0 (nothing matches)"); return nil }
        guard try confirm(OutboxBulkReport.question(verb, count: ids.count, consequence: consequence), yes: selection.yes) else {
            print("nothing \(done)")
            return nil
        }
        return (actions, outbox, ids)
    }
}

/// Acts on each id not in `skip`, with progress on a terminal, and tells the tally.
func act(on ids: [String], skipping skip: Set<String> = [], tally: inout OutboxTally, outbox: OutboxStore, progress verb: String,
         _ body: (String) throws -> OutboxOutcome) throws {
    let progress = Progress(total: ids.count, verb: verb)
    for (n, id) in ids.enumerated() {
        if !skip.contains(id) { try tally.add(try storeCall { try body(id) }, id: id, outbox: outbox) }
        progress.step(n + 1)
    }
    try tally.finish()
}

/// The list's filters, shared by `list` and the bulk actions (`--all-matching`).
struct OutboxFilterOptions: ParsableArguments {
    @Option(name: .customLong("status"), parsing: .singleValue,
            help: ArgumentHelp("Only items in this status (repeat, or comma-separate): pending, in_flight, succeeded, failed, dead, discarded.", valueName: "status"))
    var statuses: [String] = []

    @Option(help: ArgumentHelp("Only this operation, e.g. appointment.create.", valueName: "name"))
    var operation: String?

    @Option(name: .customLong("error"), help: ArgumentHelp("Only items whose last error contains this text (case-blind).", valueName: "text"))
    var errorText: String?

    @Option(name: .customLong("call"), help: ArgumentHelp("Only items of this call.", valueName: "id"))
    var callId: String?

    @Option(name: .customLong("booking"), help: ArgumentHelp("Only items of this booking.", valueName: "id"))
    var bookingId: String?

    @Option(help: ArgumentHelp("Only items created at least this long ago: 90s, 10m, 8h, 2d.", valueName: "duration"))
    var olderThan: String?

    var isEmpty: Bool { statuses.isEmpty && operation == nil && errorText == nil && callId == nil && bookingId == nil && olderThan == nil }

    func validate() throws { _ = try query() }

    func query() throws -> OutboxQuery {
        var parsed: [OutboxStatus] = []
        for word in statuses.flatMap({ $0.split(separator: ",") }).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let status = OutboxStatus(rawValue: word) else {
                throw ValidationError("Unknown --status \(word); one of: \(OutboxStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            parsed.append(status)
        }
        var age: Int64?
        if let olderThan {
            guard let millis = parseDuration(olderThan) else { throw ValidationError("--older-than: cannot read \"\(olderThan)\"; write e.g. 90s, 10m, 8h.") }
            age = millis
        }
        return OutboxQuery(statuses: parsed, operation: operation, errorText: errorText, callId: callId, bookingId: bookingId, olderThanMillis: age)
    }
}

/// Ids named on the line, or `--all-matching` the filters, with the confirmation rules.
struct OutboxSelection: ParsableArguments {
    @Argument(help: "Item ids, e.g. ob-1a2b3c4d5e6f7.")
    var ids: [String] = []

    @Flag(help: "Act on every item matching the filters, as they match when you confirm.")
    var allMatching = false

    @OptionGroup var filters: OutboxFilterOptions

    @Flag(name: [.customShort("y"), .long], help: "Do not ask (needed when not on a terminal).")
    var yes = false

    func validate() throws {
        if allMatching && !ids.isEmpty { throw ValidationError("Either ids or --all-matching with filters, not both.") }
        if !allMatching && ids.isEmpty { throw ValidationError("Name item ids, or use --all-matching with filters.") }
        if !allMatching && !filters.isEmpty { throw ValidationError("Filters only apply with --all-matching.") }
        if allMatching && filters.isEmpty { throw ValidationError("--all-matching needs at least one filter (e.g. --status failed).") }
    }

    /// The ids to act on: the named ones, or the snapshot of the matching ones.
    func snapshot(_ outbox: OutboxStore, now: UnixMillis) throws -> [String] {
        allMatching ? try storeCall { try outbox.ids(matching: try filters.query(), now: now) } : ids
    }
}

/// Asks on a terminal; in a script, refuses unless `--yes` was given.
func confirm(_ question: String, yes: Bool, flag: String = "--yes") throws -> Bool {
    if yes { return true }
    guard isatty(STDIN_FILENO) == 1 else {
        complain("switchboard: \(question) Not on a terminal: add \(flag) to go ahead.")
        throw ExitCode(ExitStatus.usage)
    }
    FileHandle.standardError.write(Data("\(TerminalText.sanitize(question)) [y/N] ".utf8))
    let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased()
    return answer == "y" || answer == "yes"
}

/// What a bulk action did, told at the end (`OutboxBulkReport`, as the screen says it), and
/// its exit status.
struct OutboxTally {
    var verb: String
    var report = OutboxBulkReport()

    mutating func add(_ outcome: OutboxOutcome, id: String, outbox: OutboxStore) throws {
        if case .notAllowed(let why) = outcome {
            complain("switchboard: not allowed: \(why)")
            throw ExitCode(ExitStatus.noPermission)
        }
        let statusNow: OutboxStatus? = if case .refused = outcome { (try? outbox.item(id: id))?.status } else { nil }
        report.add(outcome, id: id, statusNow: statusNow)
    }

    /// The items of `ids` the EHR refused for good: each warned about with what to do
    /// instead; unless `force`, or a yes on a terminal, they are held back and counted as
    /// refused. Returns the ids held back.
    mutating func holdBackPermanentRefusals(_ ids: [String], actions: OutboxActions, force: Bool, verb: String) throws -> Set<String> {
        let permanent = try storeCall { try actions.permanentRefusals(itemIds: ids) }
        guard !permanent.isEmpty, !force else { return [] }
        for refusal in permanent { complain("warning: \(refusal.warning)") }
        let question = "\(permanent.count) of them were refused for good by the EHR; \(verb) those anyway?"
        if isatty(STDIN_FILENO) == 1, try confirm(question, yes: false) { return [] }
        for refusal in permanent {
            report.refused.append((refusal.itemId, "last answer \(refusal.answer) is permanent (--force to \(verb) it anyway); \(refusal.instead)"))
        }
        return Set(permanent.map(\.itemId))
    }

    func finish() throws {
        print(report.summary(verb))
        for (id, why) in report.skipped { complain("  skipped \(id): \(why)") }
        for (id, why) in report.refused { complain("  refused \(id): \(why)") }
        if !report.refused.isEmpty { throw ExitCode(ExitStatus.dataError) }
        if !report.skipped.isEmpty { throw ExitCode(ExitStatus.temporaryFailure) }
    }
}

/// "retrying 12/300" on a terminal, for bulk work; nothing in a script.
struct Progress {
    let total: Int
    let verb: String
    let shown = isatty(STDERR_FILENO) == 1

    func step(_ n: Int) {
        guard shown, total > 1, n == total || n % 10 == 0 else { return }
        FileHandle.standardError.write(Data("\r\(verb) \(n)/\(total)\(n == total ? "\n" : "")".utf8))
    }
}

extension Switchboard.Outbox {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List outbox items, oldest first.",
            discussion: "--json prints one object per line (NDJSON), so a large list streams; the request body is left out (see `outbox show`).")

        @OptionGroup var options: OutboxOptions
        @OptionGroup var filters: OutboxFilterOptions

        @Flag(help: "One JSON object per line (NDJSON) instead of a table.")
        var json = false

        @Option(help: "At most this many items (0: all).")
        var limit = 200

        func validate() throws {
            guard limit >= 0 else { throw ValidationError("--limit must be 0 (all) or more.") }
        }

        func run() throws {
            let (_, outbox, audit, settings) = try options.open(.readOnly)
            let me = OperatorIdentity.current(configuration: settings, environment: ProcessInfo.processInfo.environment)
            // Finding items by words of an error hidden from this role would tell what it says.
            if filters.errorText != nil, !me.seesPatientDetails {
                complain("switchboard: not allowed: --error searches the EHR's answers, which can name patients; the \(me.role.rawValue) role does not see them")
                throw ExitCode(ExitStatus.noPermission)
            }
            let now = Clock.nowMillis()
            let query = try filters.query()
            let ehr = try storeCall { try audit.flatMap { try EHRStateReading.read(audit: $0, outbox: outbox, now: now)?.state } }
            var listed = 0, rows: [[String]] = []
            // One encoder for every line: making one per line cost more than reading the row.
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            try storeCall {
                try outbox.forEachPage(matching: query, now: now, pageSize: limit == 0 ? 1_000 : min(1_000, limit)) { page in
                    let items = limit == 0 ? page : Array(page.prefix(limit - listed))
                    let attempts = try outbox.lastAttempts(ofItems: items.map(\.id))
                    for item in items {
                        let row = OutboxListRow(item, lastAttempt: attempts[item.id], now: now, ehr: ehr, identity: me)
                        if json { print(row.line(encoder)) } else { rows.append(row.cells(now: now)) }
                    }
                    listed += items.count
                    return limit == 0 || listed < limit
                }
            }
            if !json { print(table(["ID", "STATUS", "OPERATION", "BOOKING", "AGE", "TRIES", "NEXT", "LAST ERROR"], rows)) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "One item: its fields, every try, and what to do with it.")

        @OptionGroup var options: OutboxOptions

        @Argument(help: "The item id.")
        var id: String

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func run() throws {
            let (_, outbox, audit, settings) = try options.open(.readOnly)
            let now = Clock.nowMillis()
            guard let item = try storeCall({ try outbox.item(id: id) }) else {
                complain("\(id): no such outbox item")
                throw ExitCode(ExitStatus.noInput)
            }
            let attempts = try storeCall { try outbox.attempts(ofItem: id) }
            let ehr = try storeCall { try audit.flatMap { try EHRStateReading.read(audit: $0, outbox: outbox, now: now)?.state } }
            let me = OperatorIdentity.current(configuration: settings, environment: ProcessInfo.processInfo.environment)
            let refusal = PermanentRefusal(item, lastAttempt: attempts.last)
            if json {
                var object = (try? JSONSerialization.jsonObject(with: Data(JSONText.encode(item).utf8)) as? [String: Any]) ?? [:]
                // The request body holds patient details: only for roles that see them.
                if !me.seesPatientDetails {
                    object["request"] = NSNull()
                    if item.lastError != nil { object["last_error"] = me.freeText(item.lastError) }
                }
                object["schedule"] = OutboxSchedule.text(item, now: now, ehr: ehr)
                object["permanent_refusal"] = refusal.map { $0.warning } ?? NSNull()
                object["attempt_history"] = attempts.map { attempt in
                    var shown = attempt
                    shown.error = me.freeText(attempt.error)
                    return (try? JSONSerialization.jsonObject(with: Data(JSONText.encode(shown).utf8))) ?? NSNull()
                }
                let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
                print(String(decoding: data, as: UTF8.self))
                return
            }
            var lines: [(String, String)] = [
                ("id", item.id), ("status", item.status.rawValue), ("next", OutboxSchedule.text(item, now: now, ehr: ehr)),
                ("operation", item.operation), ("transport", item.transport.rawValue), ("ehr", item.ehrSystem),
                ("call", item.callId ?? "-"), ("booking", item.bookingId ?? "-"),
                ("created", "\(iso8601(item.createdAt)) (\(formatDuration(millis: millisBetween(item.createdAt, now))) ago)"),
                ("attempts", "\(item.attempts) of \(item.maxAttempts)"),
                ("last error", me.freeText(item.lastError) ?? "-"), ("last HTTP status", item.lastHttpStatus.map(String.init) ?? "-"),
                ("lease", item.leaseOwner.map { "\($0) until \(iso8601(item.leaseUntil ?? 0))" } ?? "-"),
            ]
            if me.seesPatientDetails { lines.append(("request", item.request)) }
            for (label, value) in lines { print(label.padding(toLength: 17, withPad: " ", startingAt: 0) + TerminalText.sanitize(value)) }
            if !attempts.isEmpty {
                print("tries:")
                for a in attempts {
                    print("  #\(a.attempt) \(iso8601(a.startedAt)) \(a.outcome) \(a.answer)"
                          + TerminalText.sanitize(me.freeText(a.error).map { ": " + errorText($0, after: a.answer) } ?? ""))
                }
            }
            if let refusal { print("warning: " + TerminalText.sanitize(refusal.warning)) }
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retry",
            abstract: "Send items again now (one more try each).",
            discussion: """
            An item whose last answer was a permanent refusal (409, 412, another 4xx, HL7 AR) gets \
            the same answer again: you are asked first and told what to do instead (decide the \
            booking again, or discard); in a script such items are refused unless --force is given.
            """)

        @OptionGroup var options: OutboxOptions
        @OptionGroup var selection: OutboxSelection

        @Flag(help: "Retry items the EHR refused for good as well (needed in a script).")
        var force = false

        func run() throws {
            guard let (actions, outbox, ids) = try options.confirmed(selection, verb: "Retry", done: "retried") else { return }
            var tally = OutboxTally(verb: "retried")
            let skip = try tally.holdBackPermanentRefusals(ids, actions: actions, force: force, verb: "retry")
            // A batch per commit (`retryAll`): a retry of hundreds of items is one commit per hundred.
            var seen: Set<String> = []
            let wanted = ids.filter { !skip.contains($0) && seen.insert($0).inserted }
            let progress = Progress(total: wanted.count, verb: "retrying")
            for start in stride(from: 0, to: wanted.count, by: 100) {
                let batch = Array(wanted[start ..< min(wanted.count, start + 100)])
                let outcome = try storeCall { try actions.retryAll(batch, now: Clock.nowMillis()) }
                if let why = outcome.notAllowed { try tally.add(.notAllowed(why), id: batch[0], outbox: outbox) }
                for id in outcome.done { try tally.add(.done, id: id, outbox: outbox) }
                for (id, why) in outcome.refused { try tally.add(.refused(why), id: id, outbox: outbox) }
                progress.step(min(wanted.count, start + 100))
            }
            try tally.finish()
        }
    }

    struct Discard: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "discard",
            abstract: "Never send items; the reason goes on the item and into the audit.")

        @OptionGroup var options: OutboxOptions
        @OptionGroup var selection: OutboxSelection

        @Option(help: ArgumentHelp("Why (required): it is kept on the item and in the audit row.", valueName: "text"))
        var reason: String?

        func validate() throws {
            guard let reason, !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw ValidationError("Say why with --reason: it goes into the audit.")
            }
        }

        func run() throws {
            guard let reason, let (actions, outbox, ids) = try options.confirmed(selection, verb: "Discard", done: "discarded",
                                                                               consequence: "They will never be sent.") else { return }
            var tally = OutboxTally(verb: "discarded")
            try act(on: ids, tally: &tally, outbox: outbox, progress: "discarding") {
                try actions.discard(itemId: $0, reason: reason, now: Clock.nowMillis())
            }
        }
    }

    struct Requeue: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "requeue",
            abstract: "Put failed or dead items back in the queue with a fresh attempt budget.",
            discussion: """
            Unlike retry (one more try, now), requeue gives each item --attempts new tries, due \
            now, with the agent's backoff between them: for items that died during an outage that \
            is over. The attempt count is kept, so the history of tries stays whole. Items the EHR \
            refused for good are refused unless --force (or a yes on a terminal).
            """)

        @OptionGroup var options: OutboxOptions
        @OptionGroup var selection: OutboxSelection

        @Option(help: "How many new tries each item gets.")
        var attempts = 10

        @Flag(help: "Requeue items the EHR refused for good as well.")
        var force = false

        func validate() throws {
            guard (1 ... 100).contains(attempts) else { throw ValidationError("--attempts must be from 1 to 100.") }
        }

        func run() throws {
            guard let (actions, outbox, ids) = try options.confirmed(selection, verb: "Requeue", done: "requeued",
                                                                   consequence: "Each gets \(attempts) fresh tries.") else { return }
            var tally = OutboxTally(verb: "requeued")
            let skip = try tally.holdBackPermanentRefusals(ids, actions: actions, force: force, verb: "requeue")
            try act(on: ids, skipping: skip, tally: &tally, outbox: outbox, progress: "requeueing") {
                try actions.requeue(itemId: $0, attempts: attempts, now: Clock.nowMillis())
            }
        }
    }
}

/// One line of `outbox list --json`: every key always present (null when empty).
struct OutboxListRow: Encodable {
    var id: String
    var status: String
    var operation: String
    var callId: String?
    var bookingId: String?
    var transport: String
    var createdAt: UnixMillis
    var updatedAt: UnixMillis
    var attempts: Int
    var maxAttempts: Int
    var nextAttemptAt: UnixMillis?
    var leaseOwner: String?
    var lastError: String?
    var lastHttpStatus: Int?
    var schedule: String
    var permanentRefusal: String?

    /// `identity`: the error is free text that can name the patient, hidden as the console hides it.
    init(_ item: OutboxItem, lastAttempt: OutboxAttempt?, now: UnixMillis, ehr: EHRState?, identity: OperatorIdentity) {
        id = item.id; status = item.status.rawValue; operation = item.operation; callId = item.callId; bookingId = item.bookingId
        transport = item.transport.rawValue; createdAt = item.createdAt; updatedAt = item.updatedAt; attempts = item.attempts
        maxAttempts = item.maxAttempts
        nextAttemptAt = item.isHeld ? nil : item.nextAttemptAt
        leaseOwner = item.leaseOwner; lastError = identity.freeText(item.lastError); lastHttpStatus = item.lastHttpStatus
        schedule = OutboxSchedule.text(item, now: now, ehr: ehr)
        permanentRefusal = item.status == .succeeded ? nil : PermanentRefusal(item, lastAttempt: lastAttempt)?.answer
    }

    enum CodingKeys: String, CodingKey {
        case id, status, operation, transport, attempts, schedule
        case callId = "call_id", bookingId = "booking_id", createdAt = "created_at", updatedAt = "updated_at"
        case maxAttempts = "max_attempts", nextAttemptAt = "next_attempt_at", leaseOwner = "lease_owner"
        case lastError = "last_error", lastHttpStatus = "last_http_status", permanentRefusal = "permanent_refusal"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id); try c.encode(status, forKey: .status); try c.encode(operation, forKey: .operation)
        try c.encode(callId, forKey: .callId); try c.encode(bookingId, forKey: .bookingId); try c.encode(transport, forKey: .transport)
        try c.encode(createdAt, forKey: .createdAt); try c.encode(updatedAt, forKey: .updatedAt); try c.encode(attempts, forKey: .attempts)
        try c.encode(maxAttempts, forKey: .maxAttempts); try c.encode(nextAttemptAt, forKey: .nextAttemptAt)
        try c.encode(leaseOwner, forKey: .leaseOwner); try c.encode(lastError, forKey: .lastError)
        try c.encode(lastHttpStatus, forKey: .lastHttpStatus); try c.encode(schedule, forKey: .schedule)
        try c.encode(permanentRefusal, forKey: .permanentRefusal)
    }

    func line(_ encoder: JSONEncoder) -> String {
        (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    func cells(now: UnixMillis) -> [String] {
        let said = permanentRefusal.map { "[\($0)] " + errorText(lastError ?? "", after: $0) } ?? (lastError ?? "")
        let error = said.count > 48 ? String(said.prefix(47)) + "…" : said
        return [id, status, operation, bookingId ?? "-", formatDuration(millis: millisBetween(createdAt, now)), "\(attempts)/\(maxAttempts)", schedule,
                error].map { TerminalText.sanitize($0) }
    }
}

/// Columns padded to their widest cell; the cells are already sanitized.
func table(_ header: [String], _ rows: [[String]]) -> String {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    return ([header] + rows).map { cells in
        cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }.joined(separator: "\n")
}
