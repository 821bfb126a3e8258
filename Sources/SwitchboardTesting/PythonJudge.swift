import Foundation

/// The package's root directory (where Package.swift is), found from this file's path.
public func packageRoot() -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}

/// An independent judge from PyPI, in a venv the test makes itself under the package's
/// `.build/judges/NAME` (so `swift test` works on a fresh machine with python3-venv).
/// Made once per name and reused; a half-made venv is made again.
///
///     let judge = try PythonJudge("fhir", packages: ["fhir.resources"])
///     let result = try judge.run(script: "import sys; …", arguments: [path])
public struct PythonJudge: Sendable {
    public let directory: String
    public var python: String { directory + "/bin/python" }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ name: String, packages: [String], timeout: TimeInterval = 600) throws {
        directory = packageRoot() + "/.build/judges/" + name
        let ready = directory + "/.ready"
        let wanted = packages.sorted().joined(separator: "\n")
        if (try? String(contentsOfFile: ready, encoding: .utf8)) == wanted { return }
        try Self.lock.withLock {
            if (try? String(contentsOfFile: ready, encoding: .utf8)) == wanted { return }
            try? FileManager.default.removeItem(atPath: directory)
            let venv = try SwitchboardTesting.run("/usr/bin/python3", ["-m", "venv", directory], timeout: 120)
            guard venv.status == 0 else { throw Failure(description: "python3 -m venv failed (is python3-venv installed?): \(venv.stderr)") }
            let pip = try SwitchboardTesting.run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + packages, timeout: timeout)
            guard pip.status == 0 else { throw Failure(description: "pip install \(packages.joined(separator: " ")) failed: \(pip.stderr)") }
            try wanted.write(toFile: ready, atomically: true, encoding: .utf8)
        }
    }

    /// Runs a script (given as text) with the judge's python.
    public func run(script: String, arguments: [String] = [], timeout: TimeInterval = 300) throws -> ProcessResult {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("judge-\(UUID().uuidString).py").path
        try script.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try SwitchboardTesting.run(python, [file] + arguments, timeout: timeout)
    }

    private static let lock = NSLock()
}
