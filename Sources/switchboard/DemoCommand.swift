import ArgumentParser
import Foundation
import SwitchboardConsole
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

extension Switchboard {
    /// The live demo: the simulator in a temporary directory, the console on it.
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "demo",
            abstract: "Try Switchboard on a simulated practice: starts switchboard-sim and opens the console on it.",
            discussion: """
            The simulator (an AI agent taking calls and an EHR sandbox on 127.0.0.1) runs as a child \
            process in a temporary directory and is stopped when the console quits. The databases are \
            yours, so you are an operator unless --role says otherwise.
            """)

        @Option(help: ArgumentHelp("Directory for the simulator (default: a new temporary one, removed afterwards).", valueName: "dir"))
        var dir: String?

        @Option(help: "Calls per minute the simulated agent takes.")
        var rate: Double = 12

        @Option(help: ArgumentHelp("Calls the simulated agent replays from the hours before the demo (against its EHR sandbox, in seconds) before the live rate, so every screen has something to show at once (0: start empty).",
                                   valueName: "calls"))
        var warmUpCalls: Int = 60

        @Option(help: ArgumentHelp("Hours before now the warm-up's calls are spread over (and the go-live window started).", valueName: "hours"))
        var warmUpHours: Double = 3

        @Option(help: ArgumentHelp("Share of the warm-up's appointment changes the EHR refuses as changed by someone else (412): they wait in the outbox for on-call to decide again (0: none).",
                                   valueName: "share"))
        var warmUpConflictRate: Double = 0.25

        @Option(help: ArgumentHelp("Theme name or path.", valueName: "name|path"))
        var theme: String?

        @Option(help: ArgumentHelp("Who you are in the demo: viewer, reviewer, or operator (who may also retry and discard outbox items).",
                                   valueName: "role"))
        var role: OperatorRole = .operator

        @Flag(help: "Put control characters and escape sequences in some patient names.")
        var hostileData = false

        func validate() throws {
            if warmUpCalls < 0 { throw ValidationError("--warm-up-calls must be 0 or more.") }
            if !(0 ... 48).contains(warmUpHours) { throw ValidationError("--warm-up-hours must be between 0 and 48.") }
            if !(0 ... 1).contains(warmUpConflictRate) { throw ValidationError("--warm-up-conflict-rate must be between 0 and 1.") }
        }

        func run() throws {
            let directory = dir ?? NSTemporaryDirectory() + "switchboard-demo-\(getpid())"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let simulator = try SimulatorChild.start(directory: directory, rate: rate, warmUpCalls: warmUpCalls, warmUpHours: warmUpCalls > 0 ? warmUpHours : 0,
                                                      warmUpConflictRate: warmUpCalls > 0 ? warmUpConflictRate : 0, hostileData: hostileData)
            defer {
                simulator.stop()
                if dir == nil { try? FileManager.default.removeItem(atPath: directory) }
            }
            var configuration = try simulator.consoleConfiguration()
            configuration.theme = theme ?? configuration.theme
            // Everyone trying the demo plays every part unless told otherwise: the databases
            // are theirs. A --dir holding someone else's files gets the policy's roles.
            if ConsoleConfiguration.ownsEvery([configuration.auditPath, configuration.outboxPath].compactMap { $0 }, uid: geteuid()) {
                configuration.roles = [:]
                configuration.defaultRole = role
            } else {
                configuration = try governed(configuration)
            }
            do {
                try ConsoleRunner.run(configuration: configuration, warnings: [])
            } catch {
                FileHandle.standardError.write(Data("switchboard: \(error.description)\n".utf8))
                throw ExitCode(error.exitStatus)
            }
        }
    }
}

/// `switchboard-sim run` as a child process, and what the console needs to attach to it
/// (read from the files it writes: the console never links the simulator).
struct SimulatorChild {
    let process: Process
    let directory: String

    static func start(directory: String, rate: Double, warmUpCalls: Int = 0, warmUpHours: Double = 0, warmUpConflictRate: Double = 0,
                      hostileData: Bool) throws -> SimulatorChild {
        let own = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let beside = own.appendingPathComponent("switchboard-sim").path
        guard FileManager.default.isExecutableFile(atPath: beside) else {
            throw failure("switchboard-sim not found beside \(own.path); build it with `swift build`.", status: ExitStatus.noInput)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: beside)
        process.arguments = ["run", "--dir", directory, "--rate", String(rate), "--warm-up-calls", String(warmUpCalls),
                             "--warm-up-hours", String(warmUpHours), "--exit-with-parent"] + (hostileData ? ["--hostile-data"] : [])
            + (warmUpConflictRate > 0 ? ["--warm-up-conflict-rate", String(warmUpConflictRate)] : [])
        let log = FileManager.default.createFile(atPath: directory + "/simulator.log", contents: nil)
            ? FileHandle(forWritingAtPath: directory + "/simulator.log") : nil
        process.standardOutput = log ?? FileHandle.nullDevice
        process.standardError = log ?? FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try? FileManager.default.removeItem(atPath: directory + "/simulator.json")
        try process.run()
        let child = SimulatorChild(process: process, directory: directory)
        // Wait until it has written where everything is (databases created, ports open).
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if !process.isRunning {
                let tail = (try? String(contentsOfFile: directory + "/simulator.log", encoding: .utf8))?.split(separator: "\n").suffix(3).joined(separator: " / ") ?? ""
                throw failure("the simulator stopped while starting: \(tail)", status: ExitStatus.software)
            }
            // simulator.json comes last, after the console config.
            if FileManager.default.fileExists(atPath: directory + "/simulator.json"),
               FileManager.default.fileExists(atPath: directory + "/audit.sqlite") { return child }
            usleep(100_000)
        }
        child.stop()
        throw failure("the simulator did not start within 60 s (see \(directory)/simulator.log)", status: ExitStatus.temporaryFailure)
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Databases, event stream and EHR (with its OAuth client) from the console config the
    /// simulator writes for itself.
    func consoleConfiguration() throws -> ConsoleConfiguration {
        let path = directory + "/switchboard.toml"
        do {
            return try ConsoleConfiguration.load(path: path, isKeyName: { Key(parsing: $0) != nil }).0
        } catch {
            throw Self.failure("\(path): \(error); is the simulator running?", status: ExitStatus.dataError)
        }
    }

    private static func failure(_ text: String, status: Int32) -> ExitCode {
        FileHandle.standardError.write(Data("switchboard: \(text)\n".utf8))
        return ExitCode(status)
    }
}

extension OperatorRole: ExpressibleByArgument {}
