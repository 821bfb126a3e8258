import ArgumentParser
import Foundation
import SwitchboardCore
import SwitchboardEHR
import SwitchboardHTTP
import SwitchboardSim
import SwitchboardStore

extension Simulator {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the EHR sandbox and the simulated agent on DIR until Ctrl-C or SIGTERM.",
            discussion: """
            Writes DIR/audit.sqlite and DIR/outbox.sqlite as a real agent would, keeps the practice in \
            DIR/ehr-sandbox.sqlite, serves the live event stream over SSE, and records where everything is \
            in DIR/simulator.json. On Ctrl-C or SIGTERM, calls in progress end as dropped, outbox leases are \
            handed back and the databases are closed.
            """)

        @Option(help: ArgumentHelp("Directory for the databases and simulator.json (created if missing).", valueName: "dir"))
        var dir: String

        @Option(help: ArgumentHelp("Calls started per minute (default 6; 3000 with --load).", valueName: "calls-per-min"))
        var rate: Double?

        @Option(help: "Most calls in progress at once (default 20; 200 with --load).")
        var concurrency: Int?

        @Option(help: "The EHR's pathway: fhir, rest (the vendor's REST API, for reads and writes), or hl7v2 (appointment writes as SIU over MLLP).")
        var transport: String = "fhir"

        @Flag(help: "Put control characters and terminal escape sequences in some patient names.")
        var hostileData = false

        @Option(help: "Seed for the practice and the calls.")
        var seed: UInt64 = 1

        @Option(help: ArgumentHelp("Also append every event to this file as NDJSON.", valueName: "file"))
        var ndjson: String?

        @Option(help: ArgumentHelp("When the go-live window started (ISO 8601); default: the first start on DIR.", valueName: "iso8601"))
        var goLiveStart: String?

        @Flag(help: "Load test: short talking, high rate and concurrency.")
        var load = false

        @Option(help: "Stop starting calls after this many.")
        var calls: Int?

        @Option(help: ArgumentHelp("Play this many calls first, back to back and fast, then take calls at --rate (how `switchboard demo` opens on a practice with something on every screen).", valueName: "calls"))
        var warmUpCalls: Int = 0

        @Option(help: ArgumentHelp("With --warm-up-calls: spread them over this many hours before now, replayed in seconds with the times they would have had (the go-live window then starts that long ago unless --go-live-start or DIR says otherwise).", valueName: "hours"))
        var warmUpHours: Double = 0

        @Flag(help: "With --calls: exit once those calls have ended and the outbox is empty.")
        var exitWhenDone = false

        @Option(help: "Port of the event stream (0 chooses one).")
        var eventsPort: UInt16 = 0

        @Option(help: "Port of the sandbox's FHIR server (0 chooses one).")
        var fhirPort: UInt16 = 0

        @Option(help: "Port of the sandbox's MLLP listener (0 chooses one).")
        var mllpPort: UInt16 = 0

        @Option(help: "Port of the sandbox's control endpoint (0 chooses one).")
        var controlPort: UInt16 = 0

        @Option(help: "Seconds between SSE heartbeat comments when no event flows.")
        var heartbeatSeconds: Int = 10

        @Option(help: "Patients in a new practice.")
        var patients: Int = 3000

        @Option(help: "Outbox lease length in seconds (a killed simulator's items are taken again after it).")
        var leaseSeconds: Double = 10

        @Option(help: ArgumentHelp("Sign a checkpoint of the audit chain's head after this many rows.", valueName: "rows"))
        var checkpointEvery: Int = 1000

        @Option(help: ArgumentHelp("…and this often, when the head moved.", valueName: "seconds"))
        var checkpointSeconds: Int = 60

        @Option(help: "Injected EHR latency: median in milliseconds.")
        var faultLatencyMs: Double?

        @Option(help: "Injected EHR latency: 99th percentile in milliseconds.")
        var faultLatencyP99Ms: Double?

        @Option(help: "Share of EHR requests answered 500.")
        var faultErrorRate: Double = 0

        @Option(help: "Share of EHR requests held past the agent's timeout.")
        var faultTimeoutRate: Double = 0

        @Option(help: "How long a timed-out request is held, in seconds.")
        var faultTimeoutSeconds: Double = 30

        @Option(help: "Share of EHR requests answered 429 with Retry-After.")
        var faultThrottleRate: Double = 0

        @Option(help: "Share of EHR requests answered 503 with Retry-After.")
        var faultUnavailableRate: Double = 0

        @Option(help: "Share of appointment updates answered 412 (someone else changed it).")
        var faultConflictRate: Double = 0

        @Option(help: ArgumentHelp("With --warm-up-calls: the share of the warm-up's appointment updates answered 412, left dead in the outbox for on-call to decide again (the live calls then get --fault-conflict-rate).",
                                   valueName: "share"))
        var warmUpConflictRate: Double?

        @Option(help: ArgumentHelp("Run a rehearsal instead of open-ended calls: day4 runs every workflow and edge case of the integration guide in a fixed order, prints a table, writes DIR/day4-report.json and exits (0 if every row passes, 1 if not).", valueName: "name"))
        var `protocol`: String?

        @Option(help: ArgumentHelp("Serve the EHR (FHIR, REST), MLLP and the event stream over TLS with this certificate (PEM); needs --tls-key.", valueName: "file"))
        var tlsCert: String?

        @Option(help: ArgumentHelp("The private key of --tls-cert (PEM).", valueName: "file"))
        var tlsKey: String?

        @Option(help: ArgumentHelp("The CA that signed --tls-cert, which the agent and the console config trust (default: the certificate itself).", valueName: "file"))
        var tlsCA: String?

        @Flag(help: "Stop, as on SIGTERM, when the process that started this one ends (how `switchboard demo` runs it).")
        var exitWithParent = false

        func validate() throws {
            if let rate, rate <= 0 { throw ValidationError("--rate must be more than 0 calls per minute.") }
            if let concurrency, concurrency < 1 { throw ValidationError("--concurrency must be at least 1.") }
            if Transport(rawValue: transport) == nil { throw ValidationError("--transport must be fhir, rest or hl7v2.") }
            if let calls, calls < 1 { throw ValidationError("--calls must be at least 1.") }
            if warmUpCalls < 0 { throw ValidationError("--warm-up-calls must be 0 or more.") }
            if !(0 ... 48).contains(warmUpHours) { throw ValidationError("--warm-up-hours must be between 0 and 48.") }
            if warmUpHours > 0 && warmUpCalls == 0 { throw ValidationError("--warm-up-hours needs --warm-up-calls.") }
            if exitWhenDone && calls == nil { throw ValidationError("--exit-when-done needs --calls.") }
            if let name = `protocol`, name != "day4" { throw ValidationError("--protocol must be day4.") }
            if let goLiveStart, parseISO8601(goLiveStart) == nil {
                throw ValidationError("--go-live-start must be an ISO 8601 instant such as 2026-11-25T08:00:00Z.")
            }
            for (name, value) in [("error", faultErrorRate), ("timeout", faultTimeoutRate), ("throttle", faultThrottleRate),
                                  ("unavailable", faultUnavailableRate), ("conflict", faultConflictRate)] where !(0 ... 1).contains(value) {
                throw ValidationError("--fault-\(name)-rate must be between 0 and 1.")
            }
            if let share = warmUpConflictRate {
                if !(0 ... 1).contains(share) { throw ValidationError("--warm-up-conflict-rate must be between 0 and 1.") }
                if warmUpCalls == 0 { throw ValidationError("--warm-up-conflict-rate needs --warm-up-calls.") }
            }
            if !(1 ... 15).contains(heartbeatSeconds) { throw ValidationError("--heartbeat-seconds must be between 1 and 15.") }
            if leaseSeconds < 1 { throw ValidationError("--lease-seconds must be at least 1.") }
            if checkpointEvery < 1 { throw ValidationError("--checkpoint-every must be at least 1 row.") }
            if checkpointSeconds < 1 { throw ValidationError("--checkpoint-seconds must be at least 1.") }
            if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together.") }
            if tlsCA != nil && tlsCert == nil { throw ValidationError("--tls-ca needs --tls-cert and --tls-key.") }
        }

        func run() async throws {
            keepPatientDataFromOthers()
            Self.raiseOpenFileLimit()
            let directory = try writableDirectory(dir)
            var identity: TLSServerIdentity?
            if let tlsCert, let tlsKey {
                for file in [tlsCert, tlsKey] + (tlsCA.map { [$0] } ?? []) where !FileManager.default.isReadableFile(atPath: file) {
                    throw fail("\(file): no such file, or not readable.", status: ExitStatus.noInput)
                }
                do { identity = try TLSServerIdentity(certificateFile: tlsCert, keyFile: tlsKey) } catch {
                    throw fail("\(error)", status: ExitStatus.dataError)
                }
            }
            let trustedCA = tlsCert.map { tlsCA ?? $0 }.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            let lock: DirectoryLock
            do { lock = try DirectoryLock(directory: directory) } catch { throw fail("\(error)", status: 1) }

            let now = Clock.nowMillis()
            let previous = SimulatorFile.read(from: directory)
            // The past is replayed into a new directory only: into one with history it would
            // put rows before those already there.
            let auditPath = directory.appendingPathComponent("audit.sqlite").path
            let warmUpMillis = FileManager.default.fileExists(atPath: auditPath) ? 0 : Int64(warmUpHours * 3_600_000)
            let goLive = GoLiveWindow(startsAt: goLiveStart.flatMap(parseISO8601) ?? previous?.goLiveStartMillis ?? now - warmUpMillis)
            let outboxPath = directory.appendingPathComponent("outbox.sqlite").path
            let audit: AuditStore, outbox: OutboxStore
            do {
                audit = try AuditStore(path: auditPath, mode: .create)
                outbox = try OutboxStore(path: outboxPath, mode: .create)
                try audit.endOrphanedCalls(at: now, summary: "The agent stopped during the call.")
            } catch let error as StoreError {
                throw fail("\(error)", status: error.exitStatus)
            }
            let hub: EventHub
            do { hub = try EventHub(capacity: 10_000, ndjsonPath: ndjson) } catch {
                throw fail("cannot write the NDJSON file \(ndjson ?? ""): \(error.localizedDescription)", status: ExitStatus.cannotCreate)
            }
            let server: EventStreamServer
            do { server = try EventStreamServer(hub: hub, port: identity == nil ? eventsPort : 0, heartbeat: .seconds(heartbeatSeconds)) } catch { throw fail("\(error)", status: 1) }
            // With TLS the stream's plain port is inner; its door is the one published.
            var eventsDoor: TLSDoor?
            if let identity {
                do { eventsDoor = try TLSDoor(port: eventsPort, identity: identity, forwardingTo: server.port) } catch { throw fail("\(error)", status: 1) }
            }
            let eventsURL = eventsDoor.map { "https://127.0.0.1:\($0.port)/events" } ?? server.url

            var faults = SandboxFaults(errorRate: faultErrorRate, timeoutRate: faultTimeoutRate, timeoutSeconds: faultTimeoutSeconds,
                                       throttleRate: faultThrottleRate, unavailableRate: faultUnavailableRate,
                                       versionConflictRate: faultConflictRate)
            if let median = faultLatencyMs { faults.latency = .init(medianMs: median, p99Ms: faultLatencyP99Ms ?? median * 4) }
            let liveFaults = faults
            if let share = warmUpConflictRate { faults.versionConflictRate = share }
            let sandbox = EHRSandbox()
            let endpoints: SandboxEndpoints
            do {
                endpoints = try await sandbox.start(SandboxConfiguration(
                    directory: directory, fhirPort: fhirPort, mllpPort: mllpPort, controlPort: controlPort, seed: seed,
                    patientCount: patients, hostileData: hostileData, faults: faults, tls: identity))
            } catch {
                throw fail("cannot start the EHR sandbox (is a port in use?): \(error)", status: 1)
            }
            // The sandbox's client secret, for the agent's OAuth client (which refuses a file others can read).
            let secretFile = directory.appendingPathComponent("agent-client.secret").path
            guard FileManager.default.createFile(atPath: secretFile, contents: Data(endpoints.clientSecret.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw fail("cannot write the agent's client secret to \(secretFile) (is the disk full?)", status: 1)
            }

            let agentID = "sim-\(String(UInt32.random(in: .min ... .max), radix: 16))"
            var config = AgentConfiguration(agentID: agentID, goLive: goLive)
            config.callsPerMinute = rate ?? (load ? 3000 : 6)
            config.concurrency = concurrency ?? (load ? 200 : 20)
            config.transport = Transport(rawValue: transport) ?? .fhir
            config.seed = seed
            config.caFile = trustedCA
            config.callLimit = calls
            let rehearsal = `protocol` != nil
            config.warmUpCalls = warmUpCalls
            config.warmUpMillis = warmUpMillis
            if warmUpConflictRate != nil { config.warmUpEnded = { await sandbox.setFaults(liveFaults) } }
            config.talkScale = load || rehearsal ? 0.01 : 1
            config.requestTimeout = load || rehearsal ? .seconds(3) : .seconds(8)
            config.leaseMillis = Int64(leaseSeconds * 1000)
            config.checkpointEvery = .seconds(checkpointSeconds)
            let signer: CheckpointSigner
            do {
                signer = try CheckpointSigner(audit: audit, keyDirectory: directory, everyRows: checkpointEvery)
            } catch {
                throw fail("cannot set up the audit checkpoints in \(directory.path): \(error)", status: ExitStatus.cannotCreate)
            }
            // One connection per call in progress: the default 64 per host would queue
            // requests behind each other and cap the calls the EHR sees.
            let agentHTTP = HTTPClient(configuration: .init(caFile: trustedCA, maxConnectionsPerHost: max(64, config.concurrency)))
            if identity != nil {
                // A certificate the agent cannot trust would leave every call waiting on an EHR
                // that never answers: say so now, in one line.
                do { _ = try await FHIRClient(baseURL: endpoints.fhirBaseURL, http: agentHTTP, timeout: .seconds(5)).capabilities() } catch {
                    await sandbox.stop()
                    throw fail("the agent cannot reach the EHR sandbox over TLS trusting \(trustedCA ?? "the system store"): \(error)",
                               status: ExitStatus.unavailable)
                }
            }
            let agent: Agent
            do {
                agent = try Agent(configuration: config, endpoints: endpoints, secretFile: secretFile, directory: directory,
                                  audit: audit, outbox: outbox, hub: hub,
                                  http: agentHTTP,
                                  checkpoints: signer)
            } catch {
                await sandbox.stop()
                throw fail("cannot start the agent: \(error)", status: 1)
            }
            server.start()
            let file = SimulatorFile(pid: getpid(), agentID: agentID, startedAt: iso8601(now), goLiveStart: iso8601(goLive.startsAt),
                                     goLiveStartMillis: goLive.startsAt, goLiveEndsMillis: goLive.endsAt, auditDatabase: auditPath,
                                     outboxDatabase: outboxPath,
                                     sandboxDatabase: directory.appendingPathComponent("ehr-sandbox.sqlite").path,
                                     fhirBaseURL: endpoints.fhirBaseURL, restBaseURL: endpoints.restBaseURL, tokenURL: endpoints.tokenURL, mllpPort: endpoints.mllpPort,
                                     controlURL: endpoints.controlURL, eventsURL: eventsURL, ndjson: ndjson, transport: config.transport)
            do {
                try file.writeConsoleConfig(to: directory, clientID: endpoints.clientID, secretFile: secretFile,
                                            auditKey: directory.appendingPathComponent(CheckpointKeys.publicName).path, caFile: trustedCA)
                try file.write(to: directory)
            } catch {
                throw fail("cannot write in \(directory.path): \(error.localizedDescription)", status: ExitStatus.cannotCreate)
            }
            FileHandle.standardOutput.write(Data("""
                switchboard-sim \(agentID) on \(directory.path)
                  audit database   \(auditPath)
                  outbox database  \(outboxPath)
                  EHR sandbox      \(file.sandboxDatabase)
                  FHIR base URL    \(endpoints.fhirBaseURL)
                  REST base URL    \(endpoints.restBaseURL ?? "none")
                  MLLP port        \(endpoints.mllpPort)\(identity == nil ? "" : " (TLS)")
                  control          \(endpoints.controlURL)
                  event stream     \(eventsURL)\(trustedCA.map { "\n  trusted CA       \($0)" } ?? "")\(ndjson.map { "\n  NDJSON events    \($0)" } ?? "")
                  go-live window   \(iso8601(goLive.startsAt)) to \(iso8601(goLive.endsAt))
                  calls            \(rehearsal ? "day4 rehearsal, \(calls ?? 100) calls, \(config.transport.rawValue)" : "\(warmUpCalls > 0 ? "\(warmUpCalls) \(warmUpMillis > 0 ? "over the last \(warmUpHours) h, replayed" : "fast"), then " : "")\(config.callsPerMinute)/min, at most \(config.concurrency) at once, \(config.transport.rawValue)\(calls.map { ", \($0) in all" } ?? "")")
                  console          switchboard --config \(SimulatorFile.consoleConfigURL(in: directory).path)
                \(rehearsal ? "Rehearsing; the table follows." : "Ctrl-C stops.")

                """.utf8))

            if rehearsal {
                let report = await agent.rehearse(calls: calls ?? 100, auditPath: auditPath, outboxPath: outboxPath,
                                                  setFaults: { await sandbox.setFaults($0) },
                                                  served: { await sandbox.statistics.requests })
                await agent.stop()
                eventsDoor?.close()
                server.stop()
                hub.close()
                await sandbox.stop()
                let reportURL = directory.appendingPathComponent("day4-report.json")
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                do { try encoder.encode(report).write(to: reportURL, options: .atomic) } catch {
                    throw fail("cannot write \(reportURL.path): \(error.localizedDescription)", status: ExitStatus.cannotCreate)
                }
                print(report.table)
                print("report: \(reportURL.path)")
                withExtendedLifetime(lock) {}
                if !report.pass { throw ExitCode(1) }
                return
            }

            let signals = Self.stopSignals(watchingParent: exitWithParent ? getppid() : nil)
            let work = Task { await agent.run() }
            let stoppedBySignal = await withTaskGroup(of: Bool.self) { group in
                group.addTask { await work.value; return false }
                group.addTask {
                    for await _ in signals { return true }
                    return true
                }
                var signalled = await group.next() ?? true
                // The calls are done: keep serving the stream, the sandbox and the outbox (a
                // console's corrections) until told to stop.
                if !signalled && !exitWhenDone {
                    group.addTask { await agent.serveOutbox(); return false }
                    signalled = await group.next() ?? true
                }
                work.cancel()
                group.cancelAll()
                return signalled
            }
            work.cancel()
            await work.value
            await agent.stop()
            eventsDoor?.close()
            server.stop()
            hub.close()
            await sandbox.stop()
            let stats = agent.stats
            print("switchboard-sim: \(stoppedBySignal ? "stopped" : "done"): \(stats.callsEnded) calls, \(stats.ehrRequests) EHR requests, \(hub.publishedCount) events")
            withExtendedLifetime(lock) {}
        }

        /// Each call in progress holds a client and a server socket: a soft limit of 1024
        /// descriptors would cap a load run near 500 calls, so take what the hard limit allows.
        static func raiseOpenFileLimit() {
            var limit = rlimit()
            guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }

        /// SIGINT, SIGTERM and SIGHUP (the terminal went away) as an async sequence (their
        /// default action, dying at once, is turned off); with `parent`, also the moment
        /// that process is gone (we are re-parented), however it ended, SIGKILL included.
        static func stopSignals(watchingParent parent: pid_t?) -> AsyncStream<Int32> {
            AsyncStream { continuation in
                var sources: [any DispatchSourceProtocol] = []
                if let parent {
                    let watch = DispatchSource.makeTimerSource(queue: .global())
                    watch.schedule(deadline: .now() + 0.5, repeating: 0.5)
                    watch.setEventHandler { if getppid() != parent { continuation.yield(SIGTERM) } }
                    watch.resume()
                    sources.append(watch)
                }
                for number in [SIGINT, SIGTERM, SIGHUP] {
                    signal(number, SIG_IGN)
                    let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                    source.setEventHandler { continuation.yield(number) }
                    source.resume()
                    sources.append(source)
                }
                nonisolated(unsafe) let kept = sources
                continuation.onTermination = { _ in kept.forEach { $0.cancel() } }
            }
        }
    }
}
