import Foundation
import SwitchboardCore

/// `DIR/simulator.json`: where a running simulator's pieces are, and when the go-live
/// window started. Written at every start; the go-live start is kept from the first start
/// on DIR unless `--go-live-start` says otherwise, so a restart keeps the same window.
///
///     {"version":1,"go_live_start":"2026-11-25T08:00:00Z","go_live_start_ms":1795…,
///      "events_url":"http://127.0.0.1:41001/events","fhir_base_url":"http://127.0.0.1:41002/fhir", …}
public struct SimulatorFile: Codable, Sendable, Equatable {
    public var version = 1
    public var pid: Int32
    public var agentID: String
    public var startedAt: String
    public var goLiveStart: String
    public var goLiveStartMillis: UnixMillis
    public var goLiveEndsMillis: UnixMillis
    public var auditDatabase: String
    public var outboxDatabase: String
    public var sandboxDatabase: String
    public var fhirBaseURL: String
    /// The vendor REST API of the sandbox (`…/v1/{practiceid}`).
    public var restBaseURL: String?
    public var tokenURL: String
    public var mllpPort: UInt16
    public var controlURL: String
    public var eventsURL: String
    public var ndjson: String?
    public var transport: Transport

    enum CodingKeys: String, CodingKey {
        case version, pid, ndjson, transport
        case agentID = "agent_id", startedAt = "started_at", goLiveStart = "go_live_start"
        case goLiveStartMillis = "go_live_start_ms", goLiveEndsMillis = "go_live_ends_ms"
        case auditDatabase = "audit_db", outboxDatabase = "outbox_db", sandboxDatabase = "sandbox_db"
        case fhirBaseURL = "fhir_base_url", restBaseURL = "rest_base_url", tokenURL = "token_url", mllpPort = "mllp_port"
        case controlURL = "control_url", eventsURL = "events_url"
    }

    public init(pid: Int32, agentID: String, startedAt: String, goLiveStart: String, goLiveStartMillis: UnixMillis,
                goLiveEndsMillis: UnixMillis, auditDatabase: String, outboxDatabase: String, sandboxDatabase: String,
                fhirBaseURL: String, restBaseURL: String? = nil, tokenURL: String, mllpPort: UInt16, controlURL: String, eventsURL: String,
                ndjson: String?, transport: Transport) {
        self.pid = pid; self.agentID = agentID; self.startedAt = startedAt; self.goLiveStart = goLiveStart
        self.goLiveStartMillis = goLiveStartMillis; self.goLiveEndsMillis = goLiveEndsMillis
        self.auditDatabase = auditDatabase; self.outboxDatabase = outboxDatabase; self.sandboxDatabase = sandboxDatabase
        self.fhirBaseURL = fhirBaseURL; self.restBaseURL = restBaseURL; self.tokenURL = tokenURL; self.mllpPort = mllpPort; self.controlURL = controlURL
        self.eventsURL = eventsURL; self.ndjson = ndjson; self.transport = transport
    }

    public static func url(in directory: URL) -> URL { directory.appendingPathComponent("simulator.json") }

    public static func read(from directory: URL) -> SimulatorFile? {
        (try? Data(contentsOf: url(in: directory))).flatMap { try? JSONDecoder().decode(SimulatorFile.self, from: $0) }
    }

    public func write(to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: Self.url(in: directory), options: .atomic)
    }

    /// `DIR/switchboard.toml`: a console config for this simulator, so that
    /// `switchboard --config DIR/switchboard.toml` (or `switchboard review … --config …`)
    /// attaches with the EHR's OAuth client, as `switchboard demo` does.
    public static func consoleConfigURL(in directory: URL) -> URL { directory.appendingPathComponent("switchboard.toml") }

    /// - Parameter caFile: the CA the console must trust when the simulator serves TLS.
    public func writeConsoleConfig(to directory: URL, clientID: String, secretFile: String, auditKey: String? = nil,
                                   caFile: String? = nil) throws {
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        let text = """
            # The console on the simulator running on this directory (written by switchboard-sim run):
            #   switchboard --config \(Self.consoleConfigURL(in: directory).path)
            audit = \(quoted(auditDatabase))
            outbox = \(quoted(outboxDatabase))
            events = \(quoted(eventsURL))
            go_live_start = \(quoted(goLiveStart))
            \(caFile.map { "# The simulator serves TLS with a certificate this CA signed.\nca_file = \(quoted($0))" } ?? "")
            \(auditKey.map { "# The agent's checkpoint key: switchboard audit verify checks its signatures.\naudit_key = \(quoted($0))" } ?? "")

            [ehr]
            pathway = \(quoted(transport.rawValue))
            base_url = \(quoted(transport == .rest ? restBaseURL ?? fhirBaseURL : fhirBaseURL))
            token_url = \(quoted(tokenURL))
            client_id = \(quoted(clientID))
            secret_file = \(quoted(secretFile))

            """
        try Data(text.utf8).write(to: Self.consoleConfigURL(in: directory), options: .atomic)
    }
}

/// `DIR/simulator.lock`, held (flock) for as long as a simulator runs on DIR. The kernel
/// drops it when the process dies, even by SIGKILL, so a stale file never blocks a restart.
public final class DirectoryLock: @unchecked Sendable {
    private let fd: Int32

    public enum Failure: Error, CustomStringConvertible {
        case held(path: String, pid: String)
        case cannotOpen(path: String, reason: String)
        public var description: String {
            switch self {
            case .held(let path, let pid): "another simulator is already running on this directory (\(path) is held\(pid.isEmpty ? "" : " by pid \(pid)"))"
            case .cannotOpen(let path, let reason): "cannot open \(path): \(reason)"
            }
        }
    }

    public static func path(in directory: URL) -> String { directory.appendingPathComponent("simulator.lock").path }

    /// Takes the lock or says who holds it.
    public init(directory: URL) throws(Failure) {
        let path = Self.path(in: directory)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw .held(path: path, pid: holder)
        }
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(fd, $0, strlen($0)) }
    }

    /// Whether some process holds the lock on `directory` right now.
    public static func isHeld(in directory: URL) -> Bool {
        let fd = open(path(in: directory), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { flock(fd, LOCK_UN); return false }
        return true
    }

    deinit { flock(fd, LOCK_UN); close(fd) }
}
