import ArgumentParser
import Foundation
import SwitchboardCore
import SwitchboardStore
import TerminalUI

/// `switchboard`: the operations console for a practice's AI phone agent.
@main
struct Switchboard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "Watch and correct a practice's AI phone agent: review bookings, watch calls, unstick the outbox.",
        subcommands: [Open.self, Demo.self, Review.self, Status.self, Themes.self],
        defaultSubcommand: Open.self)

    /// A mistyped command (`switchboard reviw list`) is named as such, with the closest
    /// one, instead of reaching the default command as an argument it does not take.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let names = configuration.subcommands.map { $0._commandName } + ["help"]
        if let first = arguments.first, !first.hasPrefix("-"), !names.contains(first) {
            let hint = Suggestion.closest(to: first, among: names).map { " Did you mean `switchboard \($0)`?" }
                ?? " Commands: \(names.joined(separator: ", "))."
            FileHandle.standardError.write(Data("switchboard: no such command: \(TerminalText.sanitize(first)).\(hint)\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        let all: [String]? = nil  // the process's own arguments
        main(all)
    }
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
