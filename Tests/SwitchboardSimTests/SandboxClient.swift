import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif
import SwitchboardEHR
import class SwitchboardHTTP.TLSServerIdentity
@testable import SwitchboardSim

/// A sandbox in a fresh temp directory (removed at `stop`) or the one given, and a plain
/// URLSession client for it.
struct SandboxFixture {
    let sandbox: EHRSandbox
    let directory: URL
    /// Whether the fixture made `directory`, and so removes it.
    let ownsDirectory: Bool
    let endpoints: SandboxEndpoints
    let session: URLSession

    static func start(directory: URL? = nil, patients: Int = 300, tokenLifetime: Double = 300,
                      faults: SandboxFaults = SandboxFaults(), restLimit: Int = 1000,
                      smartClients: [String: String] = [:], tls: TLSServerIdentity? = nil) async throws -> SandboxFixture {
        let dir = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("sandbox-\(UUID().uuidString)")
        let sandbox = EHRSandbox()
        var configuration = SandboxConfiguration(directory: dir, seed: 7, startDate: "2026-11-23", patientCount: patients,
                                                 tokenLifetimeSeconds: tokenLifetime, faults: faults)
        configuration.restRequestsPerSecond = restLimit
        configuration.smartClientJWKS = smartClients
        configuration.tls = tls
        let endpoints = try await sandbox.start(configuration)
        let config = URLSessionConfiguration.ephemeral
        config.httpMaximumConnectionsPerHost = 64
        config.timeoutIntervalForRequest = 10
        return SandboxFixture(sandbox: sandbox, directory: dir, ownsDirectory: directory == nil, endpoints: endpoints,
                              session: URLSession(configuration: config))
    }

    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: Data

        func header(_ name: String) -> String? {
            headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
        }

        func decode<T: Decodable>(_ type: T.Type) throws -> T { try FHIRJSON.decode(type, from: body) }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func token() async throws -> String {
        var request = URLRequest(url: URL(string: endpoints.tokenURL)!)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data("grant_type=client_credentials&client_id=\(endpoints.clientID)&client_secret=\(endpoints.clientSecret)".utf8)
        let (data, _) = try await session.data(for: request)
        struct Token: Decodable { var access_token: String }
        return try JSONDecoder().decode(Token.self, from: data).access_token
    }

    func send(_ method: String, _ path: String, query: [URLQueryItem] = [], headers: [String: String] = [:],
              body: Data? = nil, token: String?) async throws -> Reply {
        var url = URLComponents(string: endpoints.fhirBaseURL + path)!
        if !query.isEmpty { url.queryItems = query }
        return try await send(method, url: url.url!, headers: headers, body: body, token: token)
    }

    func send(_ method: String, url: URL, headers: [String: String] = [:], body: Data? = nil, token: String?) async throws -> Reply {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.httpBody = body
        if body != nil { request.setValue(FHIRJSON.contentType, forHTTPHeaderField: "Content-Type") }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (k, v) in http.allHeaderFields { fields["\(k)"] = "\(v)" }
        return Reply(status: http.statusCode, headers: fields, body: data)
    }

    func freeSlot(_ token: String, schedule: String = "sch-2", skip: Int = 0) async throws -> Slot {
        let reply = try await send("GET", "/Slot", query: [.init(name: "schedule", value: "Schedule/\(schedule)"),
                                                           .init(name: "status", value: "free"),
                                                           .init(name: "_count", value: String(skip + 1))], token: token)
        return try reply.decode(Bundle.self).resources[skip].slot!
    }

    func booking(patient: String = "p-1", slot: Slot) -> Data {
        let appointment = Appointment(status: .booked, description: "Follow-up", slot: [slot.reference!],
                                      participant: [AppointmentParticipant(actor: Reference("Patient/\(patient)"), status: .accepted)])
        return try! FHIRJSON.encode(appointment)
    }

    /// Stops the sandbox; `keepingFiles` leaves its directory for a restart.
    func stop(keepingFiles: Bool = false) async {
        await sandbox.stop()
        if ownsDirectory && !keepingFiles { try? FileManager.default.removeItem(at: directory) }
    }
}

/// Sends one MLLP frame over a blocking POSIX socket and returns the ACK text.
func mllpExchange(port: UInt16, _ payload: [UInt8]) async throws -> String {
    try await Task.detached {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        // Generous: the whole suite runs in parallel on two shared cores.
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        _ = payload.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var decoder = MLLPDecoder()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            guard n > 0 else { throw POSIXError(.ECONNRESET) }
            if let frame = decoder.feed(buffer[0 ..< n]).first { return String(decoding: frame, as: UTF8.self) }
        }
    }.value
}
