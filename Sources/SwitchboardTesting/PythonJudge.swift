import Foundation

/// An independent judge from PyPI (`fhir.resources`, `hl7apy`, …): a Python in a virtual
/// environment of its own under the package's `.build/judges/NAME`, made on first use and
/// kept between runs, so `swift test` works on a fresh machine with python3-venv.
///
///     let judge = try PythonJudge("fhir", packages: ["fhir.resources"], probe: "import fhir.resources.R4B")
///     let result = try judge.run(script: "import sys; …", arguments: [path])
public struct PythonJudge: Sendable {
    public let python: String

    public init(_ name: String, packages: [String], probe: String) throws {
        let venv = Self.judgesDirectory().appendingPathComponent(name).path
        python = venv + "/bin/python"
        if FileManager.default.isExecutableFile(atPath: python), try Self.shell([python, "-c", probe]).status == 0 { return }
        let made = try Self.shell(["python3", "-m", "venv", venv])
        guard made.status == 0 else { throw JudgeUnavailable("could not make a Python virtual environment (install python3-venv): \(made.output)") }
        let install = try Self.shell([python, "-m", "pip", "install", "--quiet"] + packages)
        guard install.status == 0 else { throw JudgeUnavailable("could not install \(packages) from PyPI (is pip reachable?): \(install.output)") }
    }

    /// Runs `script` (Python source) with `arguments`; status and everything it printed.
    public func run(script: String, arguments: [String]) throws -> (status: Int32, output: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("judge-\(UUID().uuidString).py")
        try script.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        return try Self.shell([python, file.path] + arguments)
    }

    /// `.build/judges` of the package whose test binary is running.
    static func judgesDirectory() -> URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while dir.path != "/" && dir.lastPathComponent != ".build" { dir = dir.deletingLastPathComponent() }
        if dir.path == "/" { dir = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-build") }
        return dir.appendingPathComponent("judges")
    }

    static func shell(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

public struct JudgeUnavailable: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
