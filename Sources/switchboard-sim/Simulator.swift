import ArgumentParser
import Foundation
import SwitchboardCore
import SwitchboardSim
import SwitchboardStore

/// `switchboard-sim`: plays the practice's AI agent and its EHR, so Switchboard can be
/// tried and tested without either.
@main
struct Simulator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard-sim",
        abstract: "A simulated AI phone agent and EHR sandbox that write the agent's real databases.",
        subcommands: [Generate.self, Run.self, Outage.self])
}

func fail(_ message: String, status: Int32) -> ExitCode {
    FileHandle.standardError.write(Data("switchboard-sim: \(message)\n".utf8))
    return ExitCode(status)
}
