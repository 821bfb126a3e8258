import ArgumentParser
import Foundation
import SwitchboardConsole
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

extension Switchboard {
    /// The full-screen console: the default when no subcommand is named.
    struct Open: ParsableCommand {
        // Named as `switchboard`'s: parsed on its own (`Switchboard.main`), a command with a
        // super-command is not searched for completion-script requests, two more parses of
        // the whole command line that were half of its parsing time. Those requests, help
        // and errors go through the whole tree, whose root is `switchboard`.
        static let configuration = CommandConfiguration(
            commandName: "console",
            _superCommandName: "switchboard",
            abstract: "Open the full-screen console (the default command).",
            discussion: """
            Reads the agent's databases and follows its live event stream. Settings come from \
            $XDG_CONFIG_HOME/switchboard/config.toml (see docs/configuration.md); these options win over it.
            """)

        @OptionGroup var settings: ConsoleOptions

        func run() throws {
            let (configuration, warnings) = try settings.resolved()
            do {
                try ConsoleRunner.run(configuration: configuration, warnings: warnings)
            } catch {
                FileHandle.standardError.write(Data("switchboard: \(error.description)\n".utf8))
                throw ExitCode(error.exitStatus)
            }
        }
    }
}

/// Where the agent's databases and the config file are, shared by the console and the
/// review commands; the command line wins over the file.
struct SiteOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The agent's audit database (overrides audit in the config).", valueName: "path"))
    var audit: String?

    @Option(help: ArgumentHelp("The agent's outbox database (corrections are queued there).", valueName: "path"))
    var outbox: String?

    @Option(help: ArgumentHelp("The config file (default: $XDG_CONFIG_HOME/switchboard/config.toml).", valueName: "path"))
    var config: String?

    @Option(help: ArgumentHelp("PEM file of the CA(s) to trust for the event stream and the EHR over https (overrides ca_file in the config).", valueName: "path"))
    var ca: String?

    /// The config file's settings with `overrides` and these paths over them, and the file's warnings.
    func settings(overrides: ConfigurationOverrides, reportingWarnings: Bool) throws -> (settings: ConsoleConfiguration, warnings: [String]) {
        var overrides = overrides
        overrides.auditPath = audit
        overrides.outboxPath = outbox
        if let ca { overrides.caFile = ca }
        let (file, warnings) = try loadSettings(config: config, reportingWarnings: reportingWarnings)
        return (try governed(file.overriding(with: overrides)), warnings)
    }
}

/// `settings` with the roles of the system policy (or of file ownership when there is
/// none); a policy anyone but root could change stops the command with EX_CONFIG.
func governed(_ settings: ConsoleConfiguration) throws -> ConsoleConfiguration {
    let environment = ProcessInfo.processInfo.environment
    if let ignored = RolePolicy.ignoredOverride(environment: environment) {
        FileHandle.standardError.write(Data("switchboard: \(ignored)\n".utf8))
    }
    do {
        return settings.governed(by: try RolePolicy.current(environment: environment))
    } catch {
        FileHandle.standardError.write(Data("switchboard: \(error)\n".utf8))
        throw ExitCode(RolePolicyError.exitStatus)
    }
}

/// What the console's command line may set over the config file.
struct ConsoleOptions: ParsableArguments {
    @OptionGroup var site: SiteOptions

    @Option(help: ArgumentHelp("The live event stream: an SSE URL, or an NDJSON file to follow.", valueName: "url|file"))
    var events: String?

    @Option(help: ArgumentHelp("The EHR's FHIR base URL, for the free-slot picker.", valueName: "url"))
    var ehr: String?

    @Option(help: ArgumentHelp("Theme name or path (see `switchboard themes`).", valueName: "name|path"))
    var theme: String?

    @Flag(help: "Open without any way to change data.")
    var readOnly = false

    /// The settings and the file's warnings (the console shows them on screen rather than
    /// before it takes the terminal).
    func resolved() throws -> (ConsoleConfiguration, [String]) {
        try site.settings(overrides: ConfigurationOverrides(events: events, ehrBaseURL: ehr, theme: theme, readOnly: readOnly),
                          reportingWarnings: false)
    }
}

/// The config file named by `--config`, or the default one (a missing default is no
/// error: defaults apply). Warnings go to stderr when asked, and are returned either way.
func loadSettings(config: String?, reportingWarnings: Bool) throws -> (settings: ConsoleConfiguration, warnings: [String]) {
    let path = config ?? ConsoleConfiguration.defaultPath(environment: ProcessInfo.processInfo.environment)
    if config != nil && !FileManager.default.fileExists(atPath: path) {
        throw ValidationError("\(path): no such config file.")
    }
    do {
        let (settings, warnings) = try ConsoleConfiguration.load(path: path, isKeyName: { Key(parsing: $0) != nil })
        if reportingWarnings {
            for warning in warnings { FileHandle.standardError.write(Data("switchboard: \(warning)\n".utf8)) }
        }
        return (settings, warnings)
    } catch {
        FileHandle.standardError.write(Data("switchboard: \(error)\n".utf8))
        throw ExitCode(78)  // EX_CONFIG
    }
}
