import Foundation
import SwitchboardEHR
import SwitchboardHTTP
@testable import SwitchboardSim
import SwitchboardTesting
import Testing

/// MLLP over TLS, and the simulator serving TLS itself (`TLSDoor`, OpenSSL), with
/// certificates this test makes with openssl. The clients — libcurl's for FHIR, the MLLP
/// client's OpenSSL — refuse an untrusted certificate, another host's, and TLS 1.1, and
/// accept the right one.
@Suite(.serialized) struct TLSServingTests {
    static let endpoints = HL7Endpoints(sendingApplication: "AGENT", sendingFacility: "CLINIC", receivingApplication: "EHR", receivingFacility: "CLINIC")

    /// An ADT^A04 (a new patient) sent over a new connection; its ACK code or the failure.
    func register(_ id: String, port: UInt16, host: String = "127.0.0.1", caFile: String?) async -> Result<HL7Acknowledgment.Code, MLLPError> {
        let client = MLLPClient(host: host, port: port, tls: .init(caFile: caFile), connectTimeout: .seconds(5), ackTimeout: .seconds(5))
        defer { client.close() }
        let message = ADTRegistration(event: .register, patient: HL7Patient(id: id, family: "Okafor", given: "Ada", birthDate: "1980-02-03"))
            .message(controlID: "adt-\(id)", at: 0, endpoints: Self.endpoints)
        do { return .success(try await client.send(message).ack.code) } catch { return .failure(error) }
    }

    func isTLSFailure<T>(_ result: Result<T, MLLPError>) -> Bool {
        if case .failure(.tls) = result { return true }
        return false
    }

    func metadata(_ http: HTTPClient, _ base: String) async -> Result<Int, FHIRError> {
        do { return .success(try await FHIRClient(baseURL: base, http: http, timeout: .seconds(5)).capabilities().httpStatus) } catch {
            return .failure(error)
        }
    }

    func isTLSFailure(_ result: Result<Int, FHIRError>) -> Bool {
        if case .failure(.transport(.tls)) = result { return true }
        return false
    }

    @Test func mllpClientRefusesWhatItShouldAndAcceptsTheRightCertificate() async throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let f = try await SandboxFixture.start()
        defer { Task { await f.stop() } }
        // stunnel's four doors in front of the sandbox's plain MLLP listener.
        let front = try TLSFront(forwardingTo: f.endpoints.mllpPort, in: scratch.url)
        defer { front.stop() }

        #expect(try await register("tls-1", port: front.trusted, caFile: front.caFile).get() == .accept)
        #expect(try await register("tls-2", port: front.trusted, host: "localhost", caFile: front.caFile).get() == .accept)
        let untrusted = await register("tls-3", port: front.untrusted, caFile: front.caFile)
        #expect(isTLSFailure(untrusted), "\(untrusted)")
        let systemStore = await register("tls-4", port: front.trusted, caFile: nil)
        #expect(isTLSFailure(systemStore), "\(systemStore)")
        let wrongHost = await register("tls-5", port: front.wrongHost, caFile: front.caFile)
        #expect(isTLSFailure(wrongHost), "\(wrongHost)")
        let legacy = await register("tls-6", port: front.legacy, caFile: front.caFile)
        #expect(isTLSFailure(legacy), "\(legacy)")
        if case .failure(let error) = legacy { #expect(!error.isRetryable, "a refused certificate or protocol is not retried") }
        // Each refused for its own reason, in OpenSSL's words.
        for (result, reason) in [(untrusted, "self-signed"), (systemStore, "local issuer"), (wrongHost, "mismatch"), (legacy, "protocol")] {
            if case .failure(let error) = result { #expect(error.description.contains(reason), "\(error)") }
        }
        // Only the two accepted messages reached the EHR.
        #expect(await f.sandbox.statistics.mllpMessages == 2)
    }

    @Test func theSandboxServesHTTPSAndMLLPOverTLSItself() async throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let certs = try TestCertificates(in: scratch.url)
        let identity = try TLSServerIdentity(certificateFile: certs.server.certificate, keyFile: certs.server.key)
        let f = try await SandboxFixture.start(tls: identity)
        defer { Task { await f.stop() } }
        #expect(f.endpoints.fhirBaseURL.hasPrefix("https://127.0.0.1:"))
        #expect(f.endpoints.mllpOverTLS == true)
        let trusting = HTTPClient(configuration: .init(connectTimeout: .seconds(5), caFile: certs.caFile))

        // Accepted: FHIR by IP and by name, a token and a search, and MLLP.
        #expect(try await metadata(trusting, f.endpoints.fhirBaseURL).get() == 200)
        #expect(try await metadata(trusting, f.endpoints.fhirBaseURL.replacingOccurrences(of: "127.0.0.1", with: "localhost")).get() == 200)
        let secret = scratch.path("client.secret")
        try #require(FileManager.default.createFile(atPath: secret, contents: Data(f.endpoints.clientSecret.utf8), attributes: [.posixPermissions: 0o600]))
        let auth = OAuthClientCredentials(tokenURL: f.endpoints.tokenURL, audience: f.endpoints.fhirBaseURL, clientID: f.endpoints.clientID,
                                          secretFile: secret, http: trusting)
        #expect(try await FHIRClient(baseURL: f.endpoints.fhirBaseURL, http: trusting, auth: auth).practitioners().value.count == 6)
        #expect(try await register("own-1", port: f.endpoints.mllpPort, caFile: certs.caFile).get() == .accept)
        let rest = RESTClient(baseURL: try #require(f.endpoints.restBaseURL), http: trusting, auth: auth)
        #expect(try await rest.providers().value.count == 6, "the vendor REST API over the same HTTPS door")
        // An outage closes the doors with the listeners; they come back on the same ports.
        await f.sandbox.beginOutage(seconds: 0.5)
        #expect((try? await metadata(trusting, f.endpoints.fhirBaseURL).get()) == nil, "nothing answers during the outage")
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try await metadata(trusting, f.endpoints.fhirBaseURL).get() == 200)
        #expect(try await register("own-1b", port: f.endpoints.mllpPort, caFile: certs.caFile).get() == .accept)
        // Refused: a client that does not know the CA (both pathways).
        let systemStore = await metadata(HTTPClient(configuration: .init(connectTimeout: .seconds(5))), f.endpoints.fhirBaseURL)
        #expect(isTLSFailure(systemStore), "\(systemStore)")
        #expect(isTLSFailure(await register("own-2", port: f.endpoints.mllpPort, caFile: nil)))
        // The door itself speaks TLS 1.2 at least: OpenSSL's client offering only TLS 1.1 is refused.
        for port in [f.endpoints.fhirPort, f.endpoints.mllpPort] {
            let probe = try run("/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0",
                                                     "-CAfile", certs.caFile], timeout: 15)
            #expect(probe.status != 0 && (probe.stdout + probe.stderr).contains("alert protocol version"), "\(probe.stdout)\(probe.stderr)")
        }
        await f.stop()

        // The same sandbox behind another host's certificate, then behind a stranger's: refused on both pathways.
        for (pair, name) in [(certs.elsewhere, "wrong host"), (certs.stranger, "untrusted")] {
            let other = try await SandboxFixture.start(patients: 50,
                                                       tls: try TLSServerIdentity(certificateFile: pair.certificate, keyFile: pair.key))
            let http = await metadata(trusting, other.endpoints.fhirBaseURL)
            #expect(isTLSFailure(http), "\(name): \(http)")
            let mllp = await register("other", port: other.endpoints.mllpPort, caFile: certs.caFile)
            #expect(isTLSFailure(mllp), "\(name): \(mllp)")
            #expect(await other.sandbox.statistics.mllpMessages == 0)
            await other.stop()
        }
    }

    @Test func aKeyThatIsNotTheCertificatesIsRefusedInOneLine() throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let certs = try TestCertificates(in: scratch.url)
        #expect(throws: TLSFailure.self) { _ = try TLSServerIdentity(certificateFile: certs.server.certificate, keyFile: certs.stranger.key) }
        #expect(throws: TLSFailure.self) { _ = try TLSServerIdentity(certificateFile: scratch.path("missing.pem"), keyFile: certs.server.key) }
    }

    /// `switchboard-sim run`'s TLS options refuse bad input in one line, before anything starts.
    @Test func runRefusesHalfAConfigurationAMissingFileAndAForeignKey() throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let certs = try TestCertificates(in: scratch.url)
        func sim(_ extra: [String]) throws -> ProcessResult {
            try run(Sim.binary, ["run", "--dir", scratch.path("site"), "--calls", "1"] + extra, timeout: 30)
        }
        let half = try sim(["--tls-cert", certs.server.certificate])
        #expect(half.status == 64 && half.stderr.contains("--tls-cert and --tls-key go together"), "\(half.stderr)")
        let missing = try sim(["--tls-cert", scratch.path("nope.pem"), "--tls-key", certs.server.key])
        #expect(missing.status == 66 && missing.stderr.contains("nope.pem: no such file"), "\(missing.stderr)")
        let foreign = try sim(["--tls-cert", certs.server.certificate, "--tls-key", certs.stranger.key])
        #expect(foreign.status == 65 && foreign.stderr.contains("cannot use the key"), "\(foreign.stderr)")
        #expect(foreign.stderr.split(separator: "\n").count == 1, "one line: \(foreign.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("site") + "/simulator.json"), "nothing started")
    }
}
