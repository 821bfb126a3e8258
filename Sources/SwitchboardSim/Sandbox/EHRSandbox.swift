import FlyingFox
import FlyingSocks
import Foundation
import SwitchboardCore
import SwitchboardEHR
import class SwitchboardHTTP.TLSServerIdentity

/// A practice's EHR on loopback: FHIR R4 + OAuth over HTTP(S), HL7 v2 over MLLP (in TLS when
/// configured with a certificate: `TLSDoor` in front of each plain listener), and a
/// control endpoint for faults and outages, all on 127.0.0.1. State lives in
/// `DIR/ehr-sandbox.sqlite`, so a restarted sandbox continues the same practice;
/// `DIR/sandbox.json` tells other processes where it listens.
///
///     let sandbox = EHRSandbox()
///     let endpoints = try await sandbox.start(SandboxConfiguration(directory: dir))
///     await sandbox.beginOutage(seconds: 45)   // or: POST {"seconds":45} to \(endpoints.controlURL)/outage
///     await sandbox.stop()
public actor EHRSandbox {
    private var configuration: SandboxConfiguration?
    private var fhir: FHIRService?
    private var hl7: HL7Service?
    private var fhirServer: HTTPServer?
    private var controlServer: HTTPServer?
    private var mllp: MLLPListener?
    /// With TLS: the doors clients use, in front of the plain listeners on these inner ports.
    private var fhirDoor: TLSDoor?, mllpDoor: TLSDoor?
    private var innerFHIRPort: UInt16 = 0, innerMLLPPort: UInt16 = 0
    private var outageEnds: ContinuousClock.Instant?
    private var outageTask: Task<Void, Never>?
    private let faultSettings = Locked(SandboxFaults())
    /// HL7 v2 messages received over MLLP (each answered with one ACK).
    private let mllpMessages = Locked(0)
    public private(set) var endpoints: SandboxEndpoints?

    public init() {}

    /// Opens (and on first use seeds) the practice, starts listening and writes `sandbox.json`.
    public func start(_ configuration: SandboxConfiguration) async throws -> SandboxEndpoints {
        precondition(endpoints == nil, "EHRSandbox.start called twice")
        let database = try SandboxDatabase(directory: configuration.directory)
        if try !database.isSeeded() {
            try await database.pool.write { db in try PracticeSeed.seed(db, configuration: configuration, now: Clock.nowMillis()) }
        }
        faultSettings.withLock { $0 = configuration.faults }
        let fhir = FHIRService(database: database, configuration: configuration, faults: faultSettings)
        self.configuration = configuration
        self.fhir = fhir
        fhir.rest.withLock { $0 = RESTService(database: database, configuration: configuration, fhir: fhir) }
        hl7 = HL7Service(database: database, faults: faultSettings)

        let fhirPort = try await openFHIR(port: configuration.fhirPort)
        let mllpPort = try await openMLLP(port: configuration.mllpPort)
        let control = try HTTPServer.loopback(port: configuration.controlPort, handler: ClosureHTTPHandler { [weak self] request in
                                     guard let self else { return HTTPResponse(statusCode: .serviceUnavailable) }
                                     return await self.control(request)
                                 })
        let controlPort = try await listen(control)
        controlServer = control

        let origin = "\(configuration.tls == nil ? "http" : "https")://127.0.0.1:\(fhirPort)"
        fhir.origin.withLock { $0 = origin }
        let endpoints = SandboxEndpoints(
            fhirBaseURL: origin + "/fhir", restBaseURL: origin + "/v1/\(configuration.restPracticeID)", tokenURL: origin + "/oauth/token",
            controlURL: "http://127.0.0.1:\(controlPort)/control", fhirPort: fhirPort, mllpPort: mllpPort,
            controlPort: controlPort, clientID: configuration.clientID, clientSecret: configuration.clientSecret,
            pid: ProcessInfo.processInfo.processIdentifier, mllpOverTLS: configuration.tls != nil)
        try endpoints.write(to: configuration.directory)
        self.endpoints = endpoints
        return endpoints
    }

    /// What the sandbox has served so far.
    public var statistics: SandboxStatistics {
        SandboxStatistics(fhirRequests: fhir?.fhirRequests.current ?? 0, mllpMessages: mllpMessages.current)
    }

    public func stop() async {
        if endpoints != nil, let directory = configuration?.directory {
            try? JSONEncoder().encode(statistics).write(to: SandboxStatistics.file(in: directory), options: .atomic)
        }
        outageTask?.cancel()
        outageTask = nil
        await closeListeners()
        await controlServer?.stop()
        controlServer = nil
        endpoints = nil
    }

    public var faults: SandboxFaults { faultSettings.current }

    public func setFaults(_ faults: SandboxFaults) { faultSettings.withLock { $0 = faults } }

    /// For `seconds`, nothing listens on the FHIR and MLLP ports (clients get connection
    /// refused, open connections are dropped); then both come back on the same ports.
    /// A new outage while one runs replaces it.
    public func beginOutage(seconds: Double) async {
        outageTask?.cancel()
        await closeListeners()
        outageEnds = .now + .seconds(seconds)
        outageTask = Task { [weak self] in
            try? await Task.sleep(for: .seconds(seconds))
            guard !Task.isCancelled else { return }
            await self?.endOutage()
        }
    }

    public var outageSecondsLeft: Double {
        guard let outageEnds else { return 0 }
        let left = outageEnds - .now
        return max(0, Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18)
    }

    private func endOutage() async {
        guard let endpoints, fhirServer == nil else { return }
        outageEnds = nil
        outageTask = nil
        // The ports were ours a moment ago; retry briefly in case the kernel still holds them.
        for attempt in 0 ..< 20 {
            do {
                if fhirServer == nil { _ = try await openFHIR(port: endpoints.fhirPort) }
                if mllp == nil { _ = try await openMLLP(port: endpoints.mllpPort) }
                return
            } catch {
                try? await Task.sleep(for: .milliseconds(50 * (attempt + 1)))
            }
        }
    }

    private func closeListeners() async {
        fhirDoor?.close(); fhirDoor = nil
        mllpDoor?.close(); mllpDoor = nil
        mllp?.close()
        mllp = nil
        if let server = fhirServer {
            fhirServer = nil
            await server.stop(timeout: 0)
        }
    }

    private func openFHIR(port: UInt16) async throws -> UInt16 {
        guard let fhir else { throw SocketError.disconnected }
        let tls = configuration?.tls
        let server = try HTTPServer.loopback(port: tls == nil ? port : innerFHIRPort,
                                             handler: ClosureHTTPHandler { request in await fhir.respond(to: request) })
        let chosen = try await listen(server)
        fhirServer = server
        guard let tls else { return chosen }
        innerFHIRPort = chosen
        let door = try TLSDoor(port: port, identity: tls, forwardingTo: chosen)
        fhirDoor = door
        return door.port
    }

    private func openMLLP(port: UInt16) async throws -> UInt16 {
        guard let hl7 else { throw SocketError.disconnected }
        let received = mllpMessages
        let tls = configuration?.tls
        let listener = try await MLLPListener(port: tls == nil ? port : innerMLLPPort) { text in
            received.withLock { $0 += 1 }
            return await hl7.acknowledge(text)
        }
        mllp = listener
        guard let tls else { return listener.port }
        innerMLLPPort = listener.port
        let door = try TLSDoor(port: port, identity: tls, forwardingTo: listener.port)
        mllpDoor = door
        return door.port
    }

    private func listen(_ server: HTTPServer) async throws -> UInt16 {
        let running = Task { try await server.run() }
        do {
            try await server.waitUntilListening(timeout: 5)
        } catch {
            running.cancel()
            throw error
        }
        guard case .ip4(_, let port) = await server.listeningAddress else { throw SocketError.unsupportedAddress }
        return port
    }

    // MARK: Control endpoint

    private struct OutageRequest: Decodable { var seconds: Double }

    private func control(_ request: HTTPRequest) async -> HTTPResponse {
        let json: HTTPHeaders = [.contentType: "application/json"]
        func state() -> HTTPResponse {
            let body = (try? JSONEncoder().encode(SandboxFaultState(faults: faults, outageSecondsLeft: outageSecondsLeft))) ?? Data()
            return HTTPResponse(statusCode: .ok, headers: json, body: body)
        }
        func bad(_ text: String) -> HTTPResponse {
            HTTPResponse(statusCode: .badRequest, headers: json,
                         body: (try? JSONEncoder().encode(["error": text])) ?? Data())
        }
        let body = (try? await request.bodyData) ?? Data()
        switch (request.method, request.path) {
        case (.GET, "/control/faults"):
            return state()
        case (.GET, "/control/stats"):
            return HTTPResponse(statusCode: .ok, headers: json, body: (try? JSONEncoder().encode(statistics)) ?? Data())
        case (.POST, "/control/faults"):
            guard let faults = try? JSONDecoder().decode(SandboxFaults.self, from: body) else {
                return bad("expected SandboxFaults JSON, e.g. {\"errorRate\":0.05}")
            }
            setFaults(faults)
            return state()
        case (.POST, "/control/outage"):
            guard let outage = try? JSONDecoder().decode(OutageRequest.self, from: body), outage.seconds >= 0 else {
                return bad("expected {\"seconds\": N}")
            }
            await beginOutage(seconds: outage.seconds)
            return state()
        default:
            return HTTPResponse(statusCode: .notFound, headers: json, body: Data(#"{"error":"no such control endpoint"}"#.utf8))
        }
    }
}
