import Foundation
import SwitchboardEHR
import SwitchboardHTTP
@testable import SwitchboardSim
import SwitchboardTesting
import Testing

/// The EHR client's TLS against real handshakes: the sandbox behind stunnel with
/// certificates this test makes. TLS 1.2 at least, the peer's certificate checked against
/// the CA named, and the host name checked against the certificate.
@Suite(.serialized) struct TLSTests {
    func metadata(_ http: HTTPClient, port: UInt16, host: String = "127.0.0.1") async -> Result<Int, FHIRError> {
        let fhir = FHIRClient(baseURL: "https://\(host):\(port)/fhir", http: http, timeout: .seconds(5))
        do { return .success(try await fhir.capabilities().httpStatus) } catch { return .failure(error) }
    }

    func isTLSFailure(_ result: Result<Int, FHIRError>) -> Bool {
        if case .failure(.transport(.tls)) = result { return true }
        return false
    }

    @Test func refusesWhatItShouldAndAcceptsTheRightCertificate() async throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let f = try await SandboxFixture.start()
        defer { Task { await f.stop() } }
        let front = try TLSFront(forwardingTo: f.endpoints.fhirPort, in: scratch.url)
        defer { front.stop() }
        let trusting = HTTPClient(configuration: .init(connectTimeout: .seconds(5), caFile: front.caFile))

        // The right certificate, by IP and by name, from the CA the client was told to trust.
        #expect(try await metadata(trusting, port: front.trusted).get() == 200)
        #expect(try await metadata(trusting, port: front.trusted, host: "localhost").get() == 200)
        // A token and a search over HTTPS too.
        let token = FHIRClient(baseURL: "https://127.0.0.1:\(front.trusted)/fhir", http: trusting,
                               auth: StaticToken(value: try await f.token(), audience: "https://127.0.0.1:\(front.trusted)/fhir"))
        #expect(try await token.practitioners().value.count == 6)

        // Refused: a certificate from a CA nobody named, the system store not knowing the test CA,
        // a certificate for another host, and a server that only speaks TLS 1.1.
        let untrusted = await metadata(trusting, port: front.untrusted)
        #expect(isTLSFailure(untrusted), "\(untrusted)")
        let systemStore = await metadata(HTTPClient(configuration: .init(connectTimeout: .seconds(5))), port: front.trusted)
        #expect(isTLSFailure(systemStore), "\(systemStore)")
        let wrongHost = await metadata(trusting, port: front.wrongHost)
        #expect(isTLSFailure(wrongHost), "\(wrongHost)")
        let legacy = await metadata(trusting, port: front.legacy)
        #expect(isTLSFailure(legacy), "\(legacy)")
        // …and that door really speaks TLS 1.1: OpenSSL's own client gets in with it.
        let probe = try run("/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(front.legacy)", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0",
                                                 "-CAfile", front.caFile], timeout: 15)
        #expect(probe.stdout.contains("Protocol  : TLSv1.1") || probe.stdout.contains("Protocol: TLSv1.1"), "\(probe.stdout)")
    }
}

/// A token fetched once by the test, for a client that must not ask for its own.
struct StaticToken: AccessTokenSource {
    let value: String
    let audience: String
    func token() async throws(OAuthError) -> String { value }
    func renewToken(rejected: String) async throws(OAuthError) -> String { value }
}
