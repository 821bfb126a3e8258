import ArgumentParser
import Foundation
import Prometheus
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore

extension Switchboard {
    struct Metrics: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "metrics",
            abstract: "The site's figures in the Prometheus text format: printed once, or served for scraping.",
            discussion: """
            Outbox items by status, the oldest pending item's age, the review backlog, the EHR \
            state, which alert rules are on, and the go-live figures (see docs/metrics.md). With \
            --listen 127.0.0.1:PORT it serves them at /metrics on the loopback interface only (put a \
            TLS proxy or an SSH tunnel in front for a remote Prometheus). Opens the databases read-only.
            """)

        @OptionGroup var site: SiteOptions

        @Option(help: ArgumentHelp("How long to wait for a database another process has locked.", valueName: "ms"))
        var lockWait: Int = DatabaseFile.defaultBusyTimeoutMillis

        @Option(help: ArgumentHelp("Serve /metrics on this loopback address instead of printing once.", valueName: "127.0.0.1:port"))
        var listen: String?

        func validate() throws {
            if let listen { _ = try Self.loopbackPort(listen) }
        }

        /// The port of a loopback address; anything else is refused (the figures are the
        /// site's, and the server has no authentication).
        static func loopbackPort(_ text: String) throws -> UInt16 {
            guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
                throw ValidationError("--listen takes 127.0.0.1:PORT.")
            }
            let host = text[..<colon]
            guard host == "127.0.0.1" || host == "localhost" else {
                throw ValidationError("--listen serves on the loopback interface only (127.0.0.1:PORT): there is no authentication.")
            }
            return port
        }

        func run() throws {
            let settings = try site.settings(overrides: ConfigurationOverrides(), reportingWarnings: true).settings
            guard settings.auditPath != nil || settings.outboxPath != nil else {
                throw ValidationError("Name a database: --audit PATH and/or --outbox PATH, or audit/outbox in the config file.")
            }
            let source = try storeCall { try MetricsSource(settings: settings, lockWait: lockWait) }
            guard let listen else {
                print(try storeCall { try source.exposition() }, terminator: "")
                return
            }
            let port = try Self.loopbackPort(listen)
            let server: MetricsServer
            do {
                server = try MetricsServer(port: port)
            } catch {
                // Port taken, or no permission for it: one line, EX_CANTCREAT.
                complain("switchboard: cannot serve metrics on 127.0.0.1:\(port): \(error)")
                throw ExitCode(ExitStatus.cannotCreate)
            }
            FileHandle.standardError.write(Data("switchboard: serving metrics at http://127.0.0.1:\(server.port)/metrics\n".utf8))
            server.serve { path in
                guard path == "/metrics" else { return (404, "text/plain", "see /metrics\n") }
                do {
                    return (200, "text/plain; version=0.0.4; charset=utf-8", try source.exposition())
                } catch {
                    return (503, "text/plain", "\(error)\n")
                }
            }
        }
    }
}

/// Reads the figures for each scrape. The go-live tally is kept between scrapes and only
/// advanced over the audit rows appended since, so a server scraped every 15 s does not
/// re-read the window's history.
final class MetricsSource: @unchecked Sendable {
    let settings: ConsoleConfiguration
    let audit: AuditStore?
    let outbox: OutboxStore?
    private let lock = NSLock()
    private var tally: GoLiveTally?

    init(settings: ConsoleConfiguration, lockWait: Int) throws {
        self.settings = settings
        audit = try settings.auditPath.map { try AuditStore(path: $0, mode: .readOnly, busyTimeoutMillis: lockWait) }
        outbox = try settings.outboxPath.map { try OutboxStore(path: $0, mode: .readOnly, busyTimeoutMillis: lockWait) }
    }

    func figures(now: UnixMillis) throws -> [SiteFigure] {
        let statePath = AlertStateFile.path(for: settings, environment: ProcessInfo.processInfo.environment)
        // The stream's last-heard time is what `check` last saw; metrics does not listen itself.
        let heard = AlertStateFile.read(path: statePath)?.streamLastHeard
        let alertFigures = try AlertFigures.read(audit: audit, outbox: outbox, configuration: settings, streamLastHeard: heard, now: now)
        let evaluation = evaluateAlerts(settings.alerts, alertFigures, now: now)
        var figures = onCallFigures(alertFigures, evaluation: evaluation, settings: settings.alerts, now: now)
        if let audit {
            try lock.withLock {
                if tally == nil {
                    let clock = try GoLiveClock.resolve(configuration: settings, audit: audit, now: now)
                    tally = GoLiveTally(window: clock.window)
                }
                try tally!.advance(audit: audit, outbox: outbox)
                figures += goLiveFigures(tally!, now: now)
            }
        }
        return figures
    }

    /// The Prometheus text exposition of this moment's figures.
    func exposition() throws -> String {
        let registry = PrometheusCollectorRegistry()
        for figure in try figures(now: Clock.nowMillis()) {
            let descriptor = MetricNameDescriptor(namespace: "switchboard", metricName: figure.name, unitName: "", helpText: figure.help)
            let gauge = figure.labels.isEmpty ? registry.makeGauge(descriptor: descriptor)
                                              : registry.makeGauge(descriptor: descriptor, labels: figure.labels)
            gauge.set(figure.value)
        }
        return registry.emitToString()
    }
}
