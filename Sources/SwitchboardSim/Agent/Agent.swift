import Foundation
import SwitchboardCore
import SwitchboardEHR
import SwitchboardHTTP
import SwitchboardStore

/// How the simulated agent works.
public struct AgentConfiguration: Sendable {
    public var agentID: String
    public var callsPerMinute: Double = 6
    public var concurrency = 20
    /// Appointment writes over FHIR, or as SIU messages over MLLP.
    public var transport: Transport = .fhir
    public var seed: UInt64 = 1
    /// Stop starting calls after this many; nil runs until stopped.
    public var callLimit: Int?
    /// Calls played first, before the live rate: the demo opens on a practice that has
    /// already taken calls. With `warmUpMillis` they are spread over that much of the
    /// past, replayed in about `warmUpRealMillis` (their rows stamped with the times they
    /// would have had); with 0, back to back now with the talking cut 100-fold.
    public var warmUpCalls = 0
    public var warmUpMillis: Int64 = 0
    public var warmUpRealMillis: Int64 = 3_000
    /// Called once the warm-up's calls have all ended, before the first live call (the
    /// simulator turns the warm-up's faults off there).
    public var warmUpEnded: (@Sendable () async -> Void)?
    public var goLive: GoLiveWindow
    /// Multiplies the "talking" between steps: 1 is a person on the phone, 0.01 a load test.
    public var talkScale = 1.0
    public var requestTimeout: Duration = .seconds(8)
    /// The CAs the agent trusts for the EHR's HTTPS and MLLP over TLS (nil: the system store).
    public var caFile: String?
    public var leaseMillis: Int64 = 10_000
    public var heartbeatEvery: Duration = .seconds(5)
    public var backoff = BackoffPolicy(baseMillis: 300, capMillis: 10_000, maxAttempts: 10)
    public var ehrSystem = "ehr-sandbox"
    /// How often the chain's head is signed when it moved (besides every N rows).
    public var checkpointEvery: Duration = .seconds(60)

    public init(agentID: String, goLive: GoLiveWindow) {
        self.agentID = agentID; self.goLive = goLive
    }
}

struct AgentSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A step's audit context: which call, what it was for, and what to note (never PHI search terms).
struct StepContext: Sendable {
    var callID: String?
    var step: String
    var action: String
    var attempt: Int
    var detail: [String: String]
}

/// Plays the practice's AI phone agent: starts calls at the configured rate, runs each as
/// a task through one workflow against the EHR, writes what a real agent writes (audit,
/// calls, bookings, outbox) and says it on the event stream. A drain worker sends what the
/// outbox holds once the EHR answers again.
///
///     let agent = try Agent(configuration: config, endpoints: endpoints, practice: practice,
///                           ledger: ledger, hub: hub, http: HTTPClient())
///     await agent.run()      // until the call limit is reached and the outbox is empty, or cancelled
///     await agent.stop()     // in-flight leases handed back
public final class Agent: @unchecked Sendable {
    let configuration: AgentConfiguration
    let fhir: FHIRClient
    /// FHIR, or on a REST site the vendor's API: what the steps read and write through.
    let ehr: EHRClients
    let mllp: MLLPClient?
    let practice: Practice
    let ledger: AgentLedger
    let hub: EventHub
    let link: EHRLink
    let actor: String
    private let rng: Locked<SeededRandom>
    let counters = Locked(Counters())
    /// Items the drain worker has claimed and not yet finished with, their booking's
    /// confirmation included: an item is marked sent before its booking learns the
    /// appointment, so "nothing unsent" alone is not yet "done".
    let draining = Locked(0)
    /// The two calls of a racing pair that have seen their slot (see `book`).
    let racers = Locked([String: Int]())

    struct Counters {
        var started = 0
        var ended = 0
        var inProgress = 0
        var ehrRequests = 0
    }

    public struct Stats: Sendable {
        public var callsStarted: Int
        public var callsEnded: Int
        public var callsInProgress: Int
        public var ehrRequests: Int
    }

    public var stats: Stats {
        counters.withLock { Stats(callsStarted: $0.started, callsEnded: $0.ended, callsInProgress: $0.inProgress, ehrRequests: $0.ehrRequests) }
    }

    public init(configuration: AgentConfiguration, endpoints: SandboxEndpoints, secretFile: String, directory: URL,
                audit: AuditStore, outbox: OutboxStore, hub: EventHub, http: HTTPClient,
                checkpoints: CheckpointSigner? = nil) throws {
        self.configuration = configuration
        let auth = OAuthClientCredentials(tokenURL: endpoints.tokenURL, audience: endpoints.fhirBaseURL, clientID: endpoints.clientID, secretFile: secretFile,
                                          scope: "system/*.read system/*.write", http: http)
        fhir = FHIRClient(baseURL: endpoints.fhirBaseURL, http: http, auth: auth, timeout: configuration.requestTimeout)
        var rest: RESTClient?
        if configuration.transport == .rest {
            guard let base = endpoints.restBaseURL else { throw AgentSetupError("the EHR sandbox serves no REST API") }
            rest = RESTClient(baseURL: base, http: http, auth: auth, timeout: configuration.requestTimeout)
        }
        ehr = EHRClients(fhir: fhir, rest: rest)
        mllp = configuration.transport == .hl7v2 ? MLLPClient(host: "127.0.0.1", port: endpoints.mllpPort,
                                                              tls: endpoints.mllpOverTLS == true ? .init(caFile: configuration.caFile) : nil,
                                                              connectTimeout: .seconds(2), ackTimeout: configuration.requestTimeout) : nil
        practice = try Practice(sandboxDatabase: directory.appendingPathComponent("ehr-sandbox.sqlite").path)
        ledger = AgentLedger(audit: audit, outbox: outbox, checkpoints: checkpoints)
        self.hub = hub
        actor = "agent:\(configuration.agentID)"
        rng = Locked(SeededRandom(seed: configuration.seed))
        link = EHRLink { state, reason in
            hub.publish(.ehrState(.init(state: state, at: Clock.nowMillis(), reason: reason)))
        }
    }

    func random<T>(_ body: (inout SeededRandom) -> T) -> T { rng.withLock { body(&$0) } }

    /// How reads (and on FHIR and REST sites, writes) reach the EHR: HL7 v2 sites read over FHIR.
    var readTransport: Transport { configuration.transport == .rest ? .rest : .fhir }

    /// The caller's id in the site's EHR: a REST API numbers patients its own way.
    func ehrPatientID(_ caller: Caller) -> String {
        configuration.transport == .rest ? RESTIDs.patient(caller.patientID) : caller.patientID
    }

    // MARK: Running

    /// Learns the practice, then takes calls until the call limit is reached and the outbox
    /// is empty (returns), or until cancelled (calls in progress end as dropped).
    public func run() async {
        hub.publish(.ehrState(.init(state: .online, at: Clock.nowMillis(), reason: "agent \(configuration.agentID) started")))
        // The warm-up's clock: the past replayed fast, or none (a burst, now). Learning
        // the practice is part of it, so the audit log starts in the replayed past.
        let replaying = configuration.warmUpCalls > 0 && configuration.warmUpMillis > 0
        let replay = replaying ? Clock.Replay(from: Clock.nowMillis() - configuration.warmUpMillis, speed: replaySpeed) : nil
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.keepTime() }
            group.addTask { await self.signCheckpoints(opening: replay) }
            group.addTask { await self.drainOutbox() }
            await Clock.$replay.withValue(replay) { await learnPractice() }
            await takeCalls(replay: replay)
            if configuration.callLimit != nil { await outboxSent() }
            group.cancelAll()
        }
    }

    /// Waits until every item queued so far has been sent (or `deadline` passed).
    private func outboxSent(deadline: ContinuousClock.Instant? = nil) async {
        while !Task.isCancelled, deadline.map({ ContinuousClock.now < $0 }) ?? true {
            // Unsent first: an item completed but still confirming its booking is counted in `draining`.
            if (try? await ledger.withOutbox({ try $0.unsentCount() })) == 0, draining.withLock({ $0 }) == 0 { return }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    /// After `run` returned with its calls done: keeps the heartbeat and the drain worker
    /// going until cancelled, so what others queue (a console's correction) still reaches the EHR.
    public func serveOutbox() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.keepTime() }
            group.addTask { await self.drainOutbox() }
        }
    }

    /// Hands back leases this agent holds (their items are due again at once), and signs
    /// the closing checkpoint: rows after it are not this agent's.
    public func stop() async {
        let owner = configuration.agentID
        _ = try? await ledger.withOutbox { try $0.releaseLeases(owner: owner, now: Clock.nowMillis(), reason: "agent stopped") }
        if let signer = ledger.checkpoints {
            _ = try? await ledger.withAudit { _ in try signer.sign(closing: true) }
        }
    }

    /// Signs the chain's head every `checkpointEvery` when it moved (the ledger signs every
    /// N rows on its own), on the audit queue after the commits already queued. The opening
    /// checkpoint of a replayed past is signed at the past's start: signed now, it would be
    /// later than the replayed rows after it, which `audit verify` rightly calls rows
    /// written before a checkpoint that does not cover them.
    private func signCheckpoints(opening replay: Clock.Replay?) async {
        guard let signer = ledger.checkpoints else { return }
        let openedAt = Clock.$replay.withValue(replay) { Clock.nowMillis() }
        _ = try? await ledger.withAudit { _ in try signer.sign(opening: true, now: openedAt) }
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.checkpointEvery)
            if Task.isCancelled { break }
            await signHead()
        }
    }

    /// Signs the head if it moved. Also once the replayed past is played: its rows are hours
    /// old, and unsigned they would read as an agent that stopped without closing until the
    /// next minute's checkpoint (a demo's Audit screen said BROKEN for its first minute).
    private func signHead() async {
        guard let signer = ledger.checkpoints else { return }
        _ = try? await ledger.withAudit { _ in try signer.sign() }
    }

    /// Schedules and practitioners, retried until the EHR answers.
    func learnPractice() async {
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            let context = StepContext(callID: nil, step: "setup", action: "practitioner.search", attempt: attempt, detail: [:])
            let result = await audited(context) { ehr async throws(FHIRError) in try await ehr.practice() }
            if case .success(let (practitioners, schedules)) = result, !schedules.isEmpty {
                practice.learn(schedules: schedules, practitioners: practitioners)
                return
            }
            try? await Task.sleep(for: .milliseconds(configuration.backoff.delay(forAttempt: attempt, unit: 0.5)))
        }
    }

    /// How many times faster than real the warm-up's past is played.
    private var replaySpeed: Double { Double(configuration.warmUpMillis) / Double(max(1, configuration.warmUpRealMillis)) }

    /// Starts calls as a Poisson process at the configured rate, never more than
    /// `concurrency` at once; returns when the limit is reached and every call has ended.
    private func takeCalls(replay: Clock.Replay?) async {
        let replaying = replay != nil
        await withTaskGroup(of: Void.self) { calls in
            var number = 0
            // A plan can start several calls at once (a caller who rings back), so the count
            // can step over `warmUpCalls`.
            var warmUpPlayed = configuration.warmUpCalls == 0
            while !Task.isCancelled {
                if let limit = configuration.callLimit, number >= limit { break }
                let warmingUp = number < configuration.warmUpCalls
                if warmingUp, let replay {
                    // Evenly over the replayed hours, each at its own moment (sleeps that ran
                    // long do not add up), the last a tenth of the replay before it meets the
                    // real clock: a call still talking then was squashed into a few
                    // milliseconds of real time (a 5-step call of 32 ms).
                    let due = replay.realStart + 0.9 * Double(configuration.warmUpRealMillis) * Double(number + 1) / Double(configuration.warmUpCalls)
                    let wait = due - Double(Date().unixMillis)
                    if wait > 0 { try? await Task.sleep(for: .milliseconds(Int64(wait))) }
                } else if !warmingUp {
                    if !warmUpPlayed {
                        // The live calls start once the past is played, its writes sent: rows
                        // keep their time order, and the past's faults stay in the past.
                        warmUpPlayed = true
                        await calls.waitForAll()
                        await outboxSent(deadline: .now + .seconds(10))
                        if replaying { await signHead() }
                        await configuration.warmUpEnded?()
                    }
                    let gap = random { -log(max(Double.random(in: 0 ..< 1, using: &$0), 1e-9)) } * 60 / max(configuration.callsPerMinute, 0.01)
                    try? await Task.sleep(for: .seconds(min(gap, 120)))
                }
                while !Task.isCancelled && counters.withLock({ $0.inProgress }) >= configuration.concurrency {
                    try? await Task.sleep(for: .milliseconds(20))
                }
                if Task.isCancelled { break }
                var plans = plan(callNumber: number)
                if let limit = configuration.callLimit { plans = Array(plans.prefix(limit - number)) }
                for callPlan in plans {
                    number += 1
                    counters.withLock { $0.started += 1; $0.inProgress += 1 }
                    calls.addTask {
                        let talk = !warmingUp ? 1 : replaying ? 1 / self.replaySpeed : 0.01
                        await Clock.$replay.withValue(warmingUp ? replay : nil) {
                            await Self.$talkScale.withValue(talk) { await self.runCall(callPlan) }
                        }
                        self.counters.withLock { $0.ended += 1; $0.inProgress -= 1 }
                    }
                }
            }
            await calls.waitForAll()
        }
    }

    /// Heartbeats every few seconds, and the clock that moves the EHR link into queue mode.
    func keepTime() async {
        var last = ContinuousClock.now - configuration.heartbeatEvery
        while !Task.isCancelled {
            link.tick()
            if ContinuousClock.now - last >= configuration.heartbeatEvery {
                last = .now
                let pending = (try? await ledger.withOutbox { try $0.unsentCount() }) ?? 0
                hub.publish(.agentHeartbeat(.init(at: Clock.nowMillis(), agentId: configuration.agentID,
                                                  callsInProgress: counters.withLock { $0.inProgress }, outboxPending: pending,
                                                  ehrState: link.state)))
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    // MARK: EHR requests, each with one audit row

    /// Runs `body` with a FHIR client whose every HTTP request becomes one audit row (and one
    /// `call.step` event) once `body` is done. `isMiss` marks an empty answer (no patient,
    /// no slot) as a minor failure; `answer` puts what the EHR said (an eligibility verdict)
    /// in the last row's detail and on its `call.step` event.
    func audited<T: Sendable>(_ context: StepContext, isMiss: (@Sendable (T) -> Bool)? = nil,
                              answer: (@Sendable (T) -> String)? = nil,
                              _ body: (EHRClients) async throws(FHIRError) -> T) async -> Result<T, FHIRError> {
        let exchanges = Locked<[(FHIRExchange, UnixMillis)]>([])
        let client = ehr.reporting { exchange in exchanges.withLock { $0.append((exchange, Clock.nowMillis())) } }
        let result: Result<T, FHIRError>
        do { result = .success(try await body(client)) } catch { result = .failure(error) }
        let missed = (try? result.get()).map { isMiss?($0) ?? false } ?? false
        let said = (try? result.get()).flatMap { answer?($0) }
        let made = exchanges.current
        var rows: [AuditEvent] = []
        for (index, (exchange, endedAt)) in made.enumerated() {
            var outcome = exchange.error.map(Self.outcome) ?? .success
            if missed && index == made.count - 1 && outcome == .success { outcome = .minorFailure }
            var detail = context.detail
            detail["step"] = context.step
            if let error = exchange.error { detail["error"] = error.description }
            if exchange.attempt > 1 { detail["token_renewed"] = "true" }
            if missed && index == made.count - 1 { detail["matches"] = "0" }
            if let said, index == made.count - 1, exchange.error == nil { detail["answer"] = said }
            rows.append(AuditEvent(at: endedAt - Int64(exchange.latencyMs), actor: actor, callId: context.callID, action: context.action,
                                   ehrSystem: configuration.ehrSystem, transport: readTransport, method: exchange.method,
                                   resourceType: exchange.resourceType, resourceId: exchange.resourceId, outcome: outcome,
                                   httpStatus: exchange.httpStatus, latencyMs: exchange.latencyMs, attempt: context.attempt,
                                   detail: JSONText.object(detail)))
            observe(exchange)
        }
        counters.withLock { $0.ehrRequests += made.count }
        do { try await ledger.record(audit: rows) } catch {
            FileHandle.standardError.write(Data("switchboard-sim: audit write failed: \(error)\n".utf8))
        }
        if let callID = context.callID {
            for (index, row) in rows.enumerated() {
                hub.publish(.callStep(.init(callId: callID, at: row.at, step: context.step, action: context.action, outcome: row.outcome,
                                            latencyMs: row.latencyMs, httpStatus: row.httpStatus, attempt: row.attempt,
                                            detail: row.outcome == .success ? index == rows.count - 1 ? said : nil
                                                : Self.shortReason(row, missed: missed))))
            }
        }
        return result
    }

    private func observe(_ exchange: FHIRExchange) {
        switch exchange.error {
        case nil: link.observe(.answered(latencyMs: exchange.latencyMs))
        case .transport(.cancelled): break
        case .transport, .authentication(.transport): link.observe(.unreachable)
        case .rateLimited, .unavailable, .server, .authentication, .invalidResponse: link.observe(.failed)
        case .unauthorized, .notFound, .conflict, .preconditionFailed: link.observe(.answered(latencyMs: exchange.latencyMs))
        }
    }

    /// FHIR AuditEvent outcome: refusals are minor, EHR errors serious, no answer at all major.
    static func outcome(_ error: FHIRError) -> AuditOutcome {
        switch error {
        case .notFound, .conflict, .preconditionFailed: .minorFailure
        case .transport, .authentication(.transport): .majorFailure
        default: .seriousFailure
        }
    }

    private static func shortReason(_ row: AuditEvent, missed: Bool) -> String {
        if let status = row.httpStatus, status >= 400 { return "HTTP \(status)" }
        if row.httpStatus == nil { return "no answer" }
        return missed ? "no match" : "failed"
    }

    /// A read, tried again with backoff while the EHR is merely flaky (not in queue mode).
    func read<T: Sendable>(_ context: StepContext, isMiss: (@Sendable (T) -> Bool)? = nil, answer: (@Sendable (T) -> String)? = nil,
                           _ body: @escaping @Sendable (EHRClients) async throws(FHIRError) -> T) async throws -> Result<T, FHIRError> {
        var attempt = 1
        while true {
            var step = context
            step.attempt = attempt
            let result = await audited(step, isMiss: isMiss, answer: answer, body)
            guard case .failure(let error) = result, error.isRetryable, attempt < 3, !link.isQueueing else { return result }
            let wait = max(error.retryAfter ?? .zero,
                           .milliseconds(random { configuration.backoff.delay(forAttempt: attempt, using: &$0) }))
            try await Task.sleep(for: wait)
            attempt += 1
        }
    }
}
