import Dispatch
import Foundation
import SwitchboardCore
import SwitchboardEHR
import SwitchboardOperations
import SwitchboardStore

/// Work a screen asks for, as a value: what to read or write, never how. The screens
/// return it from key handlers, ticks and messages; the ``OperationsRunner`` does it.
enum ConsoleWork: Sendable {
    case review(ReviewWork)
    case outbox(OutboxWork)
    case calls(CallsWork)
    case audit(AuditWork)
    case goLive(GoLiveWork)
    /// The practice's providers, from the EHR.
    case providers
    /// The alert rules on the databases now, with the hook run on each change (the same
    /// state file as `switchboard check`, so a site is paged once whoever watches it).
    case alerts(streamLastHeard: UnixMillis?)
    /// The shift hand-off since a moment, as text (the same as `switchboard handoff`).
    case handoff(since: UnixMillis)
    /// The idle lock: record it, check a password.
    case lock(LockWork)
}

/// The one place the console does I/O: it turns ``ConsoleWork`` into store and EHR calls
/// off the UI thread and answers with a message for the loop. Writes go one at a time
/// through one lane (the agent holds the write lock often; two console writes queue
/// behind each other, not beside), reads run beside them.
struct OperationsRunner: Sendable {
    let audit: AuditStore
    let outbox: OutboxStore?
    let reviews: ReviewActions
    let outboxActions: OutboxActions?
    let identity: OperatorIdentity
    let clock: GoLiveClock
    let ehr: EHRLookup?
    /// The anchor half of a chain walk: signed checkpoints and the heads seen before.
    let chainCheck: AuditVerifier
    /// The OS password check that unlocks the console; nil: the lock ends the console.
    let passwordCheck: PasswordCheck?
    let lane = WriteLane()
    /// The settings the alert rules read, and where their state is kept.
    let settings: ConsoleConfiguration
    let alertStatePath: String

    init(audit: AuditStore, outbox: OutboxStore?, identity: OperatorIdentity, undoSeconds: Int, clock: GoLiveClock, ehr: EHRLookup?,
         chainCheck: AuditVerifier, passwordCheck: PasswordCheck?, settings: ConsoleConfiguration, alertStatePath: String) {
        self.chainCheck = chainCheck
        self.passwordCheck = passwordCheck
        self.settings = settings
        self.alertStatePath = alertStatePath
        self.audit = audit
        self.outbox = outbox
        self.identity = identity
        self.clock = clock
        self.ehr = ehr
        reviews = ReviewActions(audit: audit, outbox: outbox, operator: identity, undoSeconds: undoSeconds)
        outboxActions = outbox.map { OutboxActions(outbox: $0, audit: audit, operator: identity) }
    }

    func perform(_ work: ConsoleWork) async -> ConsoleMessage? {
        switch work {
        case .review(let w): await perform(w)
        case .outbox(let w): await perform(w)
        case .calls(let w): await perform(w)
        case .audit(let w): await perform(w)
        case .goLive(let w): await perform(w)
        case .providers: await providersFound()
        case .alerts(let heard): alertsEvaluated(heard: heard)
        case .handoff(let since): handoffRead(since: since)
        case .lock(let w): await perform(w)
        }
    }

    /// The shift hand-off as `switchboard handoff` prints it (Markdown).
    func handoffRead(since: UnixMillis) -> ConsoleMessage {
        do {
            let handoff = try ShiftHandoff.read(audit: audit, outbox: outbox, configuration: settings,
                                                alerts: AlertStateFile.read(path: alertStatePath), since: since, now: Clock.nowMillis())
            return .handoffRead(.success(handoff.shown(to: identity).markdown(time: TimeText())))
        } catch {
            return .handoffRead(.failure(AlertsUnavailable(text: "\(error)")))
        }
    }

    /// The rows both databases' listings left out because a column could not be read
    /// (counters the stores keep as they read; no I/O).
    var unreadable: [UnreadableRow] { audit.unreadable.rows + (outbox?.unreadable.rows ?? []) }
    var unreadableCount: Int { audit.unreadable.count + (outbox?.unreadable.count ?? 0) }

    /// The practice's providers as the message every screen receives.
    func providersFound() async -> ConsoleMessage? {
        guard let ehr else { return nil }
        do {
            return .providersFound(.success(try await ehrRead("practitioner.search", resourceType: "Practitioner") {
                () async throws(FHIRError) in try await ehr.providerDirectory()
            }))
        } catch {
            return .providersFound(.failure(EHRFailure(text: "\(error)")))
        }
    }

    func alertsEvaluated(heard: UnixMillis?) -> ConsoleMessage {
        let now = Clock.nowMillis()
        do {
            let figures = try AlertFigures.read(audit: audit, outbox: outbox, configuration: settings, streamLastHeard: heard, now: now)
            let round = try AlertRound.run(settings: settings.alerts, statePath: alertStatePath, figures: figures, heard: heard, now: now)
            return .alertsEvaluated(.success(round.evaluation))
        } catch {
            return .alertsEvaluated(.failure(AlertsUnavailable(text: "\(error)")))
        }
    }

    /// A viewer's deliberate look at one masked record: the audit row comes first, and the
    /// screen shows the details only when it is written (nil), never otherwise.
    func recordReveal(screen: String, fields: [String: String], callId: String?) async -> WriteFailure? {
        var detail: [String: Any?] = ["screen": screen]
        for (key, value) in fields { detail[key] = value }
        let event = AuditEvent(at: Clock.nowMillis(), actor: "operator:\(identity.user)", callId: callId, action: "phi.reveal",
                               outcome: .success, detail: identity.auditDetail(detail))
        let audit = self.audit
        if case .failure(let failure) = await write({ try audit.append([event]) }) { return failure }
        return nil
    }

    /// One read of the EHR, and its audit row like the agent's reads: `operator:<user>`, the
    /// action, the site's transport, `GET`, the outcome and HTTP status of a failure, the
    /// latency, and who read (user, uid, role). The row waits in the write lane; a failure
    /// to write it is not the read's failure (the agent's lock can hold it off).
    func ehrRead<T: Sendable>(_ action: String, resourceType: String, resourceId: String? = nil, callId: String? = nil,
                              _ body: () async throws(FHIRError) -> T) async throws(FHIRError) -> T {
        let started = DispatchTime.now().uptimeNanoseconds
        let result: Result<T, FHIRError>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        let latency = Int((DispatchTime.now().uptimeNanoseconds &- started) / 1_000_000)
        var outcome = AuditOutcome.success, status: Int?, why: String?
        if case .failure(let error) = result {
            (outcome, status) = Self.auditOutcome(of: error)
            why = Self.failureKind(error)
        }
        let event = AuditEvent(at: Clock.nowMillis(), actor: "operator:\(identity.user)", callId: callId, action: action,
                               ehrSystem: nil, transport: ehr?.pathway, method: "GET", resourceType: resourceType,
                               resourceId: resourceId, outcome: outcome, httpStatus: status, latencyMs: latency, attempt: 1,
                               detail: identity.auditDetail(["error": why]))
        let audit = self.audit
        _ = await write { try audit.append([event]) }
        return try result.get()
    }

    /// A miss the operator expects (not found) is a minor failure; the rest serious.
    static func auditOutcome(of error: FHIRError) -> (AuditOutcome, Int?) {
        switch error {
        case .notFound: (.minorFailure, 404)
        case .unauthorized: (.seriousFailure, 401)
        case .conflict: (.minorFailure, 409)
        case .preconditionFailed: (.minorFailure, 412)
        case .rateLimited: (.seriousFailure, 429)
        case .unavailable: (.seriousFailure, 503)
        case .server(let status, _): (.seriousFailure, status)
        case .transport, .authentication, .invalidResponse: (.seriousFailure, nil)
        }
    }

    /// The kind of failure, in a word: never the server's diagnostics (they may name a patient).
    static func failureKind(_ error: FHIRError) -> String {
        switch error {
        case .unauthorized: "unauthorized"
        case .notFound: "not_found"
        case .conflict: "conflict"
        case .preconditionFailed: "precondition_failed"
        case .rateLimited: "rate_limited"
        case .unavailable: "unavailable"
        case .server: "server"
        case .transport: "transport"
        case .authentication: "authentication"
        case .invalidResponse: "invalid_response"
        }
    }

    /// Runs a write in the lane; a failure comes back as words for the message line.
    func write<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async -> Result<T, WriteFailure> {
        await lane.run {
            LockWait.console.reset()  // a give-up nobody waited for must not fail this write
            do {
                return .success(try body())
            } catch {
                return .failure(WriteFailure(text: "\(error)"))
            }
        }
    }

    /// Runs a read off the UI thread; a failure comes back as words.
    func read<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async -> Result<T, WriteFailure> {
        do {
            return .success(try body())
        } catch {
            return .failure(WriteFailure(text: "\(error)"))
        }
    }
}

/// Why a read or a write did not happen, in the store's words (it names the file, never
/// a patient).
struct WriteFailure: Error, Sendable, Equatable {
    var text: String
}

/// One serial lane for the console's writes (`BEGIN IMMEDIATE` waits for the agent's lock
/// there, not on the UI thread). A Dispatch queue, not an actor: a write blocked in
/// SQLite's busy wait must not hold one of the cooperative pool's few threads.
final class WriteLane: Sendable {
    private let queue = DispatchQueue(label: "switchboard.console.writes")

    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }
}
