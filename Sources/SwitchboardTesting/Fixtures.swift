import Foundation
import Synchronization
import SwitchboardCore
import SwitchboardSim
import SwitchboardStore

// Shared by the test targets: scratch directories, generated databases, and running the
// real executables with a deadline.

/// A fresh directory under /tmp, removed by the caller with `cleanUp()`.
public struct Scratch {
    public let url: URL
    public init(_ name: String = #function) {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("sb-\(name.filter(\.isLetter).prefix(30))-\(UUID().uuidString.prefix(8))")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    /// A directory shared by a suite's cases (a static fixture, which has no end of its
    /// own to clean up at), removed when the test process exits.
    public init(untilExit name: String) {
        self.init(name)
        ScratchesUntilExit.add(url.path)
    }
    public func path(_ file: String) -> String { url.appendingPathComponent(file).path }
    public func cleanUp() { try? FileManager.default.removeItem(at: url) }
}

/// The directories `Scratch(untilExit:)` made, removed by one exit handler: each test
/// run would otherwise leave its shared fixtures in /tmp.
private enum ScratchesUntilExit {
    static let paths = Mutex<[String]>([])
    static let handler: Void = { atexit { for path in ScratchesUntilExit.paths.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) } } }()
    static func add(_ path: String) {
        _ = handler
        paths.withLock { $0.append(path) }
    }
}

/// Generated databases in a scratch directory.
public struct GeneratedDatabases {
    public let scratch: Scratch
    public let audit: AuditStore
    public let outbox: OutboxStore
    public let report: HistoryReport
    public var auditPath: String { scratch.path("audit.sqlite") }
    public var outboxPath: String { scratch.path("outbox.sqlite") }

    public init(calls: Int, seed: UInt64 = 7, name: String = #function) throws {
        scratch = Scratch(name)
        audit = try AuditStore(path: scratch.path("audit.sqlite"), mode: .create)
        outbox = try OutboxStore(path: scratch.path("outbox.sqlite"), mode: .create)
        report = try HistoryGenerator(plan: HistoryPlan(calls: calls, seed: seed, endsAt: 1_800_000_000_000)).write(audit: audit, outbox: outbox)
    }
}

public func sampleBooking(_ id: String, bookedAt: UnixMillis = 1_800_000_000_000, reviewRequired: Bool = true) -> Booking {
    Booking(bookingId: id, callId: "call-\(id)", kind: .book, appointmentRef: "Appointment/\(id)", appointmentVersion: "1",
            patientRef: "Patient/p1", patientDisplay: "Ann Lee", providerRef: "Practitioner/dr-okafor",
            appointmentType: "ROUTINE", startAt: bookedAt + 86_400_000, endAt: bookedAt + 86_400_000 + 1_200_000,
            bookedAt: bookedAt, reviewRequired: reviewRequired, flags: [.goLive])
}

public func sampleOutboxItem(_ id: String, createdAt: UnixMillis = 1_800_000_000_000) -> OutboxItem {
    OutboxItem(id: id, createdAt: createdAt, callId: nil, bookingId: nil, ehrSystem: "epic-sandbox", transport: .fhir,
               operation: "appointment.create", request: "{}", idempotencyKey: "key-\(id)", updatedAt: createdAt)
}

/// The built executables sit beside the test bundle.
public func executable(_ name: String) -> String {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    return bundle.appendingPathComponent(name).path
}

/// The built executable `name` at `path` (where another user can reach it): a hard link,
/// or a copy across file systems. A copy per test is 60 MB of /tmp each.
public func placeExecutable(_ name: String, at path: String) throws {
    if link(executable(name), path) != 0 {
        try FileManager.default.copyItem(atPath: executable(name), toPath: path)
    }
}

public struct ProcessResult {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs a program to completion with a deadline, so a hang fails the test instead of stalling it.
public func run(_ path: String, _ arguments: [String], environment: [String: String]? = nil, timeout: TimeInterval = 60) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let stdout = PipeReader(out), stderr = PipeReader(err)
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(5_000) }
    if process.isRunning {
        process.terminate()
        throw TimedOut(command: ([path] + arguments).joined(separator: " "))
    }
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stdout: stdout.text(), stderr: stderr.text())
}

/// Drains a pipe on its own thread so a chatty child never blocks on a full pipe.
public final class PipeReader: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()
    public init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }
    public func text() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}

public struct TimedOut: Error, CustomStringConvertible {
    public var command: String
    public var description: String { "timed out: \(command)" }
}

/// The `sqlite3` tool's output for `sql` on `path`. It waits for a lock as the agent does
/// (a store closed just before can still be checkpointing its WAL) and fails loudly: a
/// set-up UPDATE that met a lock used to be lost without a word, and its test failed later.
public func sqlite3(_ path: String, _ sql: String) throws -> String {
    let result = try run("/usr/bin/sqlite3", ["-cmd", ".timeout 5000", path, sql])
    guard result.status == 0 else { throw SQLiteToolFailed(sql: sql, stderr: result.stderr) }
    return result.stdout
}

public struct SQLiteToolFailed: Error, CustomStringConvertible {
    public var sql: String
    public var stderr: String
    public var description: String { "sqlite3 failed: \(stderr) (\(sql.prefix(120)))" }
}

/// The file's bytes, to show a command left it unchanged. Only for files this process has no
/// SQLite connection to: closing the descriptor would drop that connection's POSIX locks.
public func fileDigest(_ path: String) -> Data? {
    FileManager.default.contents(atPath: path)
}

extension Scratch {
    /// A role policy file for `SWITCHBOARD_POLICY` (RolePolicy): owned by whoever runs the
    /// tests (root, as the policy must be), mode 0644 unless told otherwise.
    public func policy(_ text: String, name: String = "policy.toml", mode: mode_t = 0o644) throws -> String {
        let file = path(name)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, mode)
        return file
    }

    /// A policy giving everyone `role`.
    public func policy(everyone role: String) throws -> String {
        try policy("[roles]\ndefault_role = \"\(role)\"\n", name: "policy-\(role).toml")
    }
}
