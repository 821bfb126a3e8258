import ArgumentParser
import Foundation
import SwitchboardOperations
import SwitchboardCore
import SwitchboardHTTP
import SwitchboardStore
import SafeText

extension Switchboard {
    struct Review: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "review",
            abstract: "Review flagged bookings without the full screen: list, approve, correct.",
            discussion: """
            The same rules as the Review screen: a decision is written at most once, with an audit row \
            naming you (the OS user; your role comes from [roles] in the config). A booking someone \
            already decided is refused with who decided and when (exit status 1); a role or read-only \
            console that may not decide exits with 77.
            """,
            subcommands: [List.self, Approve.self, Correct.self, Again.self])
    }
}

/// Where the databases and the config are, for `switchboard review …`.
struct ReviewOptions: ParsableArguments {
    @OptionGroup var site: SiteOptions

    @Option(help: ArgumentHelp("How long to wait for a database another process has locked.", valueName: "ms"))
    var lockWait: Int = DatabaseFile.defaultBusyTimeoutMillis

    func settings() throws -> ConsoleConfiguration {
        try site.settings(overrides: ConfigurationOverrides(), reportingWarnings: true).settings
    }

    /// The stores, the operator and the rules, opened for `mode`.
    func actions(_ mode: OpenMode) throws -> (ReviewActions, ConsoleConfiguration) {
        let settings = try settings()
        guard let auditPath = settings.auditPath else {
            throw ValidationError("Name the audit database: --audit PATH, or audit in the config file.")
        }
        do {
            let audit = try AuditStore(path: auditPath, mode: mode, busyTimeoutMillis: lockWait)
            let outbox = try settings.outboxPath.map { try OutboxStore(path: $0, mode: mode, busyTimeoutMillis: lockWait) }
            let me = OperatorIdentity.current(configuration: settings, environment: ProcessInfo.processInfo.environment)
            return (ReviewActions(audit: audit, outbox: outbox, operator: me, undoSeconds: settings.undoSeconds), settings)
        } catch let error as StoreError {
            throw failure(error)
        }
    }
}

/// Runs a store call, turning a store error into its one-line message and exit status.
func storeCall<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as StoreError { throw failure(error) } catch let error as UnreadableRow {
        complain("switchboard: \(error)")
        throw ExitCode(ExitStatus.dataError)
    }
}

/// One line on stderr; operator names come from the database, so they are sanitized.
func complain(_ line: String) {
    FileHandle.standardError.write(Data("\(SafeText.sanitize(line))\n".utf8))
}

/// One line on stdout, made safe: ids, references and versions come from the databases
/// and the EHR.
func say(_ line: String) {
    print(SafeText.sanitize(line))
}

/// Rows a listing left out because they could not be read: how many, and which (table,
/// key, column, why — never their content), on stderr.
func reportUnreadable(_ unreadable: UnreadableRows) {
    let count = unreadable.count
    guard count > 0 else { return }
    complain("switchboard: \(count) unreadable row\(count == 1 ? "" : "s") left out (the others are listed):")
    for row in unreadable.rows { complain("  \(row)") }
}

/// A decision that was not recorded: one line saying why, and its exit status (1 when
/// someone decided first or the booking is gone, 77 when the operator may not decide).
func refuseUnlessRecorded(_ outcome: ReviewOutcome, id: String) throws {
    switch outcome {
    case .recorded: return
    case .alreadyDecided(let first):
        complain("\(id): \(whoDecided(first))")
        throw ExitCode.failure
    case .noSuchBooking:
        complain("\(id): no such booking")
        throw ExitCode.failure
    case .notAllowed(let refusal):
        complain("switchboard: not allowed: \(refusal)")
        throw ExitCode(ExitStatus.noPermission)
    }
}

/// "approved by maria.g at 2026-11-25T14:02:11Z"
func whoDecided(_ d: ReviewDecision) -> String {
    "already \(d.decision.rawValue) by \(d.operator) at \(iso8601(d.decidedAt))"
}

extension Switchboard.Review {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List flagged bookings: undecided first, oldest first.",
            discussion: "Patient names are masked (initials) unless your role may see them.")

        @OptionGroup var options: ReviewOptions

        @Flag(help: "Print stable JSON (an array of objects) instead of text.")
        var json = false

        @Flag(help: "Only bookings nobody has decided yet.")
        var undecided = false

        @Option(help: "At most this many bookings.")
        var limit = 50

        @Option(help: ArgumentHelp("Only bookings whose patient (not for a viewer), provider, type or id contains this text.", valueName: "text"))
        var filter: String?

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit must be at least 1.") }
        }

        func run() throws {
            let (actions, settings) = try options.actions(.readOnly)
            let items = try storeCall {
                // A viewer, shown initials, cannot find bookings by the patient's name.
                try actions.audit.reviewQueue(ReviewFilter(undecidedOnly: undecided, text: filter,
                                                           searchesPatientNames: actions.operator.seesPatientDetails), limit: limit)
            }
            let rows = items.map { ReviewListRow($0, for: actions.operator) }
            if json {
                print(JSONText.encode(rows))
            } else {
                print(Self.text(rows, now: Clock.nowMillis(), overdueMillis: Int64(settings.overdueMinutes) * 60_000))
            }
            reportUnreadable(actions.audit.unreadable)
        }

        static func text(_ rows: [ReviewListRow], now: UnixMillis, overdueMillis: Int64) -> String {
            let header = ["BOOKING", "AGE", "PATIENT", "PROVIDER", "TYPE", "START", "KIND", "FLAGS", "DECISION"]
            let body = rows.map { r -> [String] in
                let age = millisBetween(r.bookedAt, now)
                let decision = r.decision.map { "\($0.decision.rawValue) by \($0.operator)" }
                    ?? (age > overdueMillis ? "OVERDUE" : "undecided")
                // Data from the database never reaches the terminal as control sequences.
                return [r.bookingId, formatDuration(millis: age), r.patient ?? "", r.providerRef ?? "", r.appointmentType ?? "",
                        iso8601(r.startAt), r.kind.rawValue, r.flags.joined(separator: ","), decision].map { SafeText.sanitize($0) }
            }
            let widths = header.indices.map { column in ([header] + body).map { $0[column].count }.max() ?? 0 }
            return ([header] + body).map { cells in
                cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
            }.joined(separator: "\n")
        }
    }

    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "approve", abstract: "Approve bookings as made.")

        @OptionGroup var options: ReviewOptions

        @Argument(help: "Booking ids, e.g. bk-0000688.")
        var ids: [String]

        func validate() throws {
            guard !ids.isEmpty else { throw ValidationError("Name at least one booking id.") }
        }

        func run() throws {
            let (actions, _) = try options.actions(.readWrite)
            let outcome = try storeCall { try actions.approveAll(ids, now: Clock.nowMillis()) }
            if let refusal = outcome.notAllowed {
                complain("switchboard: not allowed: \(refusal)")
                throw ExitCode(ExitStatus.noPermission)
            }
            for id in outcome.approved { say("\(id): approved") }
            for first in outcome.alreadyDecided { complain("\(first.bookingId): \(whoDecided(first))") }
            for id in outcome.missing { complain("\(id): no such booking") }
            if !outcome.alreadyDecided.isEmpty || !outcome.missing.isEmpty { throw ExitCode.failure }
        }
    }

    struct Correct: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "correct",
            abstract: "Correct a booking: record the decision and queue the EHR change in the outbox.",
            discussion: """
            The change is an Appointment update conditional on the version the agent saw (If-Match): \
            if anyone changed the appointment since, the EHR refuses it (412) and the booking needs a \
            new look, never a blind retry.
            """)

        @OptionGroup var options: ReviewOptions

        @Argument(help: "The booking id.")
        var id: String

        @OptionGroup var change: CorrectionOptions

        func validate() throws {
            if change.category == nil { throw ValidationError("Say why with --category (\(CorrectionCategory.choices)).") }
        }

        func run() throws {
            let (actions, _) = try options.actions(.readWrite)
            let correction = try change.correction(of: id)
            let outcome: ReviewOutcome
            do {
                outcome = try storeCall { try actions.correct(correction, now: Clock.nowMillis()) }
            } catch let error as CorrectionError {
                complain("switchboard: \(error)")
                throw ExitCode(error == .noOutbox ? ExitStatus.usage : ExitStatus.dataError)
            }
            try refuseUnlessRecorded(outcome, id: id)
            let queued = try storeCall { try actions.correctionStatus(bookingId: id) }
            say("\(id): corrected (\(correction.category.rawValue)); EHR change \(queued.map { "\($0.id) " + CorrectionProgress($0).label } ?? "not queued")")
        }
    }
}

extension Switchboard.Review {
    struct Again: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "again",
            abstract: "Decide again on a booking whose correction the EHR refused (412).",
            discussion: """
            Someone changed the appointment after the agent booked it, so the EHR refused the \
            correction; it is never retried as it was. This reads the appointment as the EHR has it \
            now (the EHR must be configured: --ehr, or ehr in the config) and prints what changed. \
            Then decide: --keep-ehr keeps the EHR's version and drops the correction, or --category \
            with the changes corrects the appointment as it is now (If-Match on its new version).
            """)

        @OptionGroup var options: ReviewOptions

        @Argument(help: "The booking id.")
        var id: String

        @Option(help: ArgumentHelp("The EHR's FHIR base URL (overrides ehr in the config).", valueName: "url"))
        var ehr: String?

        @Flag(help: "The appointment as it is now in the EHR is right: drop the refused correction.")
        var keepEHR = false

        @OptionGroup var change: CorrectionOptions

        func validate() throws {
            if keepEHR && !change.isEmpty { throw ValidationError("Either --keep-ehr or a new correction, not both.") }
        }

        func run() throws {
            let (actions, settings) = try options.actions(.readWrite)
            var site = settings
            if let ehr { site.ehrBaseURL = ehr }
            guard let booking = try storeCall({ try actions.audit.booking(id: id) }) else {
                complain("\(id): no such booking")
                throw ExitCode.failure
            }
            guard try storeCall({ try actions.refusedCorrection(bookingId: id) }) != nil else {
                complain("\(id): the EHR has not refused a correction of it, so there is nothing to decide again")
                throw ExitCode.failure
            }
            guard let lookup = EHRLookup(configuration: site, http: HTTPClient()) else {
                complain("switchboard: deciding again needs the appointment as the EHR has it now: give --ehr URL, or ehr in the config")
                throw ExitCode(ExitStatus.usage)
            }
            let current: AppointmentNow
            do {
                current = try waitFor { try await lookup.appointment(booking.appointmentRef) }
            } catch {
                complain("switchboard: could not read \(booking.appointmentRef) from the EHR: \(error)")
                throw ExitCode(ExitStatus.unavailable)
            }
            let now = Clock.nowMillis()
            say("\(booking.appointmentRef) changed in the EHR since the agent booked it:")
            for line in try storeCall({ try actions.describeChanges(bookingId: id, current: current) }) {
                say("  " + line)
            }
            guard keepEHR || !change.isEmpty else {
                print("Decide with --keep-ehr, or correct the appointment as it is now with --category and the changes.")
                return
            }
            let choice: SecondDecision = keepEHR ? .keepEHR : .reapply(try change.correction(of: id))
            let outcome: ReviewOutcome
            do {
                outcome = try storeCall { try actions.decideAgain(bookingId: id, current: current, choice: choice, now: now) }
            } catch let error as CorrectionError {
                complain("switchboard: \(error)")
                throw ExitCode(ExitStatus.dataError)
            }
            try refuseUnlessRecorded(outcome, id: id)
            say(keepEHR ? "\(id): kept the EHR's version \(current.version); the correction is dropped"
                          : "\(id): correction queued again against version \(current.version)")
        }
    }
}

/// Runs async work to its end from a synchronous command (the EHR client is async; the
/// command line is not). The work runs on the concurrency pool, never this thread.
func waitFor<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<T, any Error>?
    Task.detached {
        do { result = .success(try await work()) } catch { result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try result!.get()
}

/// What a correction changes, shared by `review correct` and `review again`.
struct CorrectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Why: \(CorrectionCategory.choices).", valueName: "category"))
    var category: String?

    @Option(help: "A note for the record.")
    var note: String?

    @Option(help: ArgumentHelp("New start, ISO 8601 (2026-11-26T15:00:00Z).", valueName: "time"))
    var start: String?

    @Option(help: ArgumentHelp("New end, ISO 8601; by default the start plus the booking's length.", valueName: "time"))
    var end: String?

    @Option(help: ArgumentHelp("The free slot to move to (Slot/…); give its --start too.", valueName: "ref"))
    var slot: String?

    @Option(help: ArgumentHelp("A different provider (Practitioner/…).", valueName: "ref"))
    var provider: String?

    @Option(help: ArgumentHelp("A different appointment type code.", valueName: "code"))
    var type: String?

    @Flag(help: "The booking should not exist: cancel the appointment.")
    var cancel = false

    /// Nothing about a correction was given.
    var isEmpty: Bool {
        category == nil && note == nil && start == nil && end == nil && slot == nil && provider == nil && type == nil && !cancel
    }

    func validate() throws {
        if let category, CorrectionCategory(rawValue: category) == nil {
            throw ValidationError("Unknown --category \(category); one of: \(CorrectionCategory.choices).")
        }
        for (flag, value) in [("--start", start), ("--end", end)] where value.map(parseISO8601) == .some(nil) {
            throw ValidationError("\(flag) must be an ISO 8601 time with a zone, like 2026-11-26T15:00:00Z.")
        }
        // The decision records the new time; a slot alone would record the old one.
        if slot != nil && start == nil {
            throw ValidationError("--slot needs the slot's --start (and --end if it is not the booking's length).")
        }
    }

    func correction(of id: String) throws -> Correction {
        guard let category = category.flatMap(CorrectionCategory.init(rawValue:)) else {
            throw ValidationError("Say why with --category (\(CorrectionCategory.choices)).")
        }
        return Correction(bookingId: id, category: category, note: note, newStart: start.flatMap(parseISO8601),
                          newEnd: end.flatMap(parseISO8601), newSlotRef: slot, newProviderRef: provider,
                          newAppointmentType: type, cancel: cancel)
    }
}

extension CorrectionCategory {
    static var choices: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// One line of `review list --json`. Every key is always present (null when empty), so
/// scripts can rely on the shape.
struct ReviewListRow: Encodable {
    var bookingId: String
    var callId: String?
    var kind: BookingKind
    var appointmentRef: String
    var appointmentVersion: String?
    /// Null for a viewer, who sees initials only.
    var patientRef: String?
    var patient: String?
    var providerRef: String?
    var appointmentType: String?
    var startAt: UnixMillis
    var endAt: UnixMillis
    var bookedAt: UnixMillis
    var flags: [String]
    var decision: ReviewDecision?

    init(_ item: ReviewItem, for me: OperatorIdentity) {
        let b = item.booking
        bookingId = b.bookingId; callId = b.callId; kind = b.kind; appointmentRef = b.appointmentRef
        appointmentVersion = b.appointmentVersion
        patientRef = me.seesPatientDetails ? b.patientRef : nil
        patient = me.patientName(b.patientDisplay)
        providerRef = b.providerRef; appointmentType = b.appointmentType
        startAt = b.startAt; endAt = b.endAt; bookedAt = b.bookedAt
        flags = (try? JSONDecoder().decode([String].self, from: Data(b.flags.utf8))) ?? []
        decision = item.decision
    }

    enum CodingKeys: String, CodingKey {
        case kind, patient, flags, decision
        case bookingId = "booking_id", callId = "call_id", appointmentRef = "appointment_ref"
        case appointmentVersion = "appointment_version", patientRef = "patient_ref", providerRef = "provider_ref"
        case appointmentType = "appointment_type", startAt = "start_at", endAt = "end_at", bookedAt = "booked_at"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(bookingId, forKey: .bookingId)
        try c.encode(callId, forKey: .callId)
        try c.encode(kind, forKey: .kind)
        try c.encode(appointmentRef, forKey: .appointmentRef)
        try c.encode(appointmentVersion, forKey: .appointmentVersion)
        try c.encode(patientRef, forKey: .patientRef)
        try c.encode(patient, forKey: .patient)
        try c.encode(providerRef, forKey: .providerRef)
        try c.encode(appointmentType, forKey: .appointmentType)
        try c.encode(startAt, forKey: .startAt)
        try c.encode(endAt, forKey: .endAt)
        try c.encode(bookedAt, forKey: .bookedAt)
        try c.encode(flags, forKey: .flags)
        try c.encode(decision, forKey: .decision)
    }
}
