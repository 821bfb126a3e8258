import ArgumentParser
import Foundation
import SafeText
import SwitchboardCore
import SwitchboardStore
import TerminalUI

/// `switchboard`: the operations console for a practice's AI phone agent.
@main
struct Switchboard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "Watch and correct a practice's AI phone agent: review bookings, watch calls, unstick the outbox.",
        subcommands: [Open.self, Demo.self, Review.self, Outbox.self, Audit.self, Check.self, Metrics.self, Handoff.self, Status.self,
                      Report.self, Outage.self, Themes.self],
        defaultSubcommand: Open.self)

    /// A mistyped command (`switchboard reviw list`) is named as such, with the closest
    /// one, instead of reaching the default command as an argument it does not take.
    static func main() {
        quietCrashes()
        // One malloc heap for the process's few threads: a thread's first allocations
        // otherwise start an arena of its own, grown page by page (mprotect and a fault
        // per page), and the first screen's read paid that: a quarter of its time.
        _ = mallopt(-8, 1)  // M_ARENA_MAX
        let arguments = Array(CommandLine.arguments.dropFirst())
        let names = configuration.subcommands.map { $0._commandName } + ["help"]
        if let first = arguments.first, !first.hasPrefix("-"), !names.contains(first) {
            let hint = Suggestion.closest(to: first, among: names).map { " Did you mean `switchboard \($0)`?" }
                ?? " Commands: \(names.joined(separator: ", "))."
            FileHandle.standardError.write(Data("switchboard: no such command: \(SafeText.sanitize(first)).\(hint)\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        let all: [String]? = nil  // the process's own arguments
        // The console (no command named, only its options) is parsed on its own: building
        // every command's arguments to find the default one is start-up time the first
        // frame waits for. Help, completion scripts and any error go through the whole tree.
        let whole = ["-h", "--help", "help", "--version", "--generate-completion-script", "--experimental-dump-help"]
        if arguments.first.map({ $0.hasPrefix("-") }) ?? true, !arguments.contains(where: whole.contains),
           let console = try? Open.parse(arguments) {
            do { try console.run() } catch { exit(withError: error) }
            StopSignal.endProcessIfReceived()
            return
        }
        main(all)
        // After the command's own clean-up (a demo's simulator and directory).
        StopSignal.endProcessIfReceived()
    }

    /// A crash says only that it crashed: Swift's backtracer (which prints registers and
    /// memory, and on a terminal stops to prompt) is off for this process and the ones it
    /// starts (the simulator of `demo`). Its handlers were installed before main, so the
    /// crash signals go back to their defaults; the console adds its own that restore the
    /// terminal first.
    private static func quietCrashes() {
        setenv("SWIFT_BACKTRACE", "enable=no", 1)
        for signal in [SIGSEGV, SIGILL, SIGBUS, SIGABRT, SIGFPE, SIGTRAP] { _ = Foundation.signal(signal, SIG_DFL) }
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
    FileHandle.standardError.write(Data("switchboard: \(SafeText.sanitize(error.description))\n".utf8))
    return ExitCode(error.exitStatus)
}

@_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
