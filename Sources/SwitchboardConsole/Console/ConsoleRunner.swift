import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardEHR
import SwitchboardHTTP
import SwitchboardStore
import SwitchboardStream
import TerminalUI

/// Why the console could not start, in one line for stderr, with an exit status.
public struct ConsoleStartFailure: Error, CustomStringConvertible {
    public var description: String
    public var exitStatus: Int32
}

/// Opens what the configuration names and runs the console until the operator quits.
public enum ConsoleRunner {
    /// Opens the databases, the EHR client and the theme the configuration names and
    /// builds the console program, without touching the terminal (benchmarks and tests
    /// drive it with a `ProgramDriver`).
    /// - Parameter now: the console's clock (ages, the window, the idle lock); tests pass their own.
    /// - Parameter passwordCheck: what unlocks the idle lock (PAM); nil: the lock ends the console.
    public static func prepare(configuration: ConsoleConfiguration, warnings: [String],
                               environment: [String: String] = ProcessInfo.processInfo.environment,
                               now: @escaping @Sendable () -> UnixMillis = { Clock.nowMillis() },
                               passwordCheck: PasswordCheck? = PasswordCheck.system()) throws(ConsoleStartFailure) -> Console {
        guard let auditPath = configuration.auditPath else {
            throw ConsoleStartFailure(description: "no audit database: pass --audit PATH or set `audit` in \(ConsoleConfiguration.defaultPath(environment: environment)) (or try `switchboard demo`)",
                                      exitStatus: ExitStatus.usage)
        }
        if configuration.events == "-" {
            throw ConsoleStartFailure(description: "--events - reads standard input, which the console needs for the keyboard; give an NDJSON file or an SSE URL",
                                      exitStatus: ExitStatus.usage)
        }
        let mode: OpenMode = configuration.readOnly ? .readOnly : .readWrite
        let audit: AuditStore
        let outbox: OutboxStore?
        // Wakes one of Dispatch's workers now: the loop's first read (the first screen's
        // rows) runs on one, and a worker made for it waited 1–3 ms for a core.
        DispatchQueue.global().async {}
        // One after the other: two files opened at once, each the first of its kind,
        // contend for the runtime's first-use locks, and opening the outbox on another
        // thread once the audit was open waited for that thread longer than the open takes.
        do throws(StoreError) {
            audit = try AuditStore(path: auditPath, mode: mode)
            outbox = try configuration.outboxPath.map { path throws(StoreError) in try OutboxStore(path: path, mode: mode) }
        } catch {
            throw ConsoleStartFailure(description: "\(error)", exitStatus: error.exitStatus)
        }
        // Its reader too: the first frame's read would otherwise open it.
        try? outbox?.prepareReader()
        let identity = OperatorIdentity.current(configuration: configuration, environment: environment)
        let clock = Result { () throws -> GoLiveClock in try GoLiveClock.resolve(configuration: configuration, audit: audit, now: now()) }
        let ehr = EHRLookup(configuration: configuration, http: sharedHTTP)
        // The anchor half of `v`: checkpoints under the configured key, heads seen before.
        let chainCheck = AuditVerifier(audit: audit, key: configuration.auditKeyPath.flatMap { try? CheckpointKeys.publicKey(at: $0) },
                                       seenHeads: SeenHeads.forDatabase(audit.path, environment: environment))
        let (theme, themeWarnings) = ThemeCatalog.standard(appName: "switchboard", environment: environment).resolve(configuration.theme)
        let context: ConsoleContext
        do {
            context = ConsoleContext(identity: identity, clock: try clock.get(), overdueMillis: Int64(configuration.overdueMinutes) * 60_000,
                                     undoSeconds: configuration.undoSeconds, hasOutbox: outbox != nil, hasEHR: ehr != nil, now: now,
                                     bellOnAlert: configuration.alerts.bell)
        } catch {
            throw ConsoleStartFailure(description: "\(auditPath): \(error)", exitStatus: ExitStatus.dataError)
        }
        let runner = OperationsRunner(audit: audit, outbox: outbox, identity: identity, undoSeconds: configuration.undoSeconds,
                                      clock: context.clock, ehr: ehr, chainCheck: chainCheck, passwordCheck: passwordCheck, settings: configuration,
                                      alertStatePath: AlertStateFile.path(for: configuration, environment: environment))
        return Console(context: context, runner: runner, theme: theme, remapping: configuration.keys,
                       warnings: warnings + themeWarnings.map(\.description), idleLockMinutes: configuration.idleLockMinutes)
    }

    /// One HTTP client (one libcurl multi loop) for the EHR and the event stream.
    public static let sharedHTTP = HTTPClient()

    /// Runs the console in the terminal until the operator quits.
    public static func run(configuration: ConsoleConfiguration, warnings: [String],
                           environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConsoleStartFailure) {
        let console = try prepare(configuration: configuration, warnings: warnings, environment: environment)
        let terminal: CursesTerminal
        do {
            terminal = try CursesTerminal(environment: environment)
        } catch {
            throw ConsoleStartFailure(description: "\(error)", exitStatus: ExitStatus.usage)
        }
        defer { terminal.restore() }
        let watch = watch(configuration)
        follow(EventLoop(program: console, terminal: terminal, messageFrameInterval: messageFrameInterval), configuration: configuration,
               watch: watch)
    }

    /// The shortest time between two frames that only messages asked for: a stream of
    /// hundreds of events a second is drawn at most this often, not once per event (keys
    /// and clocks still draw at once).
    public static let messageFrameInterval = 0.016

    /// The databases' watch (nil: none could be opened), looking from now on. Open it before
    /// the loop, whose start asks for the first read: a commit made while that reads is seen.
    public static func watch(_ configuration: ConsoleConfiguration) -> DatabaseWatch? {
        try? DatabaseWatch(paths: [configuration.auditPath, configuration.outboxPath].compactMap { $0 })
    }

    /// Runs `loop` until the console quits, fed by `watch` and the event stream the
    /// configuration names: `run` in a terminal; a benchmark with its own terminal,
    /// `observe` seeing each stream message as it is posted.
    public static func follow(_ loop: EventLoop<Console>, configuration: ConsoleConfiguration, watch: DatabaseWatch?,
                              observe: (@Sendable (EventStreamMessage) -> Void)? = nil) {
        let mailbox = loop.mailbox

        watch?.start { mailbox.post(.databasesChanged) }
        defer { watch?.stop() }

        let follower = configuration.events.map { source in
            // A stream signed by the site's own CA (or a simulator's): a client that trusts it.
            // Made only for a stream: without one the console starts no HTTP client at all.
            let streamHTTP = configuration.caFile.map { HTTPClient(configuration: .init(caFile: $0)) } ?? sharedHTTP
            return Task.detached {
                let take: @Sendable (EventStreamMessage) -> Void = { message in
                    observe?(message)
                    mailbox.post(.stream(message))
                }
                if isURL(source) {
                    await EventStreamClient(url: source, http: streamHTTP).follow(take)
                } else {
                    for await message in NDJSONEventSource.follow(path: source) { take(message) }
                }
            }
        }
        defer { follower?.cancel() }

        loop.run()
    }

    /// An SSE URL (or else an NDJSON file) to follow.
    static func isURL(_ source: String) -> Bool { source.hasPrefix("http://") || source.hasPrefix("https://") }
}
