import Foundation

/// An independent judge from PyPI (a reference parser or validator), in a virtual
/// environment the test makes itself under the package's `.build/judges/NAME` (Debian's
/// Python refuses `pip install` outside one, PEP 668), kept between runs.
///
///     let judge = try PythonJudge.ensure("prometheus", packages: ["prometheus_client"], probe: "import prometheus_client")
///     let result = try judge.run(script: "import sys; …", input: text)
public struct PythonJudge: Sendable {
    public let python: String

    public enum Failure: Error, CustomStringConvertible {
        case noVenv(String)
        case install(String)
        public var description: String {
            switch self {
            case .noVenv(let output): "could not make a Python virtual environment (install python3-venv): \(output)"
            case .install(let output): "could not install the judge from PyPI (is it reachable?): \(output)"
            }
        }
    }

    /// The package's root: this file is Sources/SwitchboardTesting/PythonJudge.swift.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A venv with `packages`, made once; `probe` is Python that succeeds when they are there.
    public static func ensure(_ name: String, packages: [String], probe: String) throws -> PythonJudge {
        let venv = packageRoot.appendingPathComponent(".build/judges/\(name)").path
        let python = venv + "/bin/python"
        if FileManager.default.isExecutableFile(atPath: python), try SwitchboardTesting.run(python, ["-c", probe]).status == 0 {
            return PythonJudge(python: python)
        }
        let made = try SwitchboardTesting.run("/usr/bin/env", ["python3", "-m", "venv", venv])
        guard made.status == 0 else { throw Failure.noVenv(made.stdout + made.stderr) }
        let install = try SwitchboardTesting.run(python, ["-m", "pip", "install", "--quiet"] + packages, timeout: 300)
        guard install.status == 0 else { throw Failure.install(install.stdout + install.stderr) }
        return PythonJudge(python: python)
    }

    /// Runs `script` with `input` on standard input.
    public func run(script: String, input: String) throws -> ProcessResult {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("judge-\(UUID().uuidString).txt")
        try input.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        return try SwitchboardTesting.run(python, ["-c", script, file.path])
    }
}
