import Dispatch
import Foundation
import SwitchboardCore
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
    let lane = WriteLane()
    /// The settings the alert rules read, and where their state is kept.
    let settings: ConsoleConfiguration
    let alertStatePath: String

    init(audit: AuditStore, outbox: OutboxStore?, identity: OperatorIdentity, undoSeconds: Int, clock: GoLiveClock, ehr: EHRLookup?,
         chainCheck: AuditVerifier, settings: ConsoleConfiguration, alertStatePath: String) {
        self.chainCheck = chainCheck
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
            return .providersFound(.success(try await ehr.providerDirectory()))
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
