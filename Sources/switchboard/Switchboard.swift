import ArgumentParser
import Foundation
import SwitchboardStore

/// `switchboard`: the operations console for a practice's AI phone agent.
@main
struct Switchboard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "Watch and correct a practice's AI phone agent: review bookings, watch calls, unstick the outbox.",
        subcommands: [Open.self, Demo.self, Review.self, Status.self, Report.self, Outage.self, Themes.self],
        defaultSubcommand: Open.self)
}

/// Where the agent's databases are.
struct DatabaseOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The agent's audit database.", valueName: "path"))
    var audit: String?

    @Option(help: ArgumentHelp("The agent's outbox database.", valueName: "path"))
    var outbox: String?

    @Option(help: ArgumentHelp("How long to wait for a database another process has locked.", valueName: "ms"))
    var lockWait: Int = DatabaseFile.defaultBusyTimeoutMillis

    func validate() throws {
        if audit == nil && outbox == nil {
            throw ValidationError("Name a database: --audit PATH and/or --outbox PATH (see `switchboard-sim generate` for sample ones).")
        }
    }
}

/// Prints a store error as one line on stderr and exits with its status.
func failure(_ error: StoreError) -> ExitCode {
    FileHandle.standardError.write(Data("switchboard: \(error)\n".utf8))
    return ExitCode(error.exitStatus)
}
