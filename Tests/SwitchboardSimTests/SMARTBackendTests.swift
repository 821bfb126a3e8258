import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SwitchboardCore
import SwitchboardEHR
import SwitchboardHTTP
@testable import SwitchboardSim
import SwitchboardTesting
import Testing

/// SMART Backend Services against the sandbox: the client signs ES384 assertions with a key
/// from a file only its owner reads; the sandbox checks them against the registered JWKS.
@Suite(.serialized) struct SMARTBackendTests {
    static let client = "switchboard-backend"

    /// A P-384 key made by OpenSSL (PKCS#8 PEM), mode 0600.
    func makeKey(_ path: String) throws -> String {
        let made = try run("/usr/bin/openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", path])
        try #require(made.status == 0, "\(made.stderr)")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    func postToken(_ f: SandboxFixture, assertion: String) async throws -> SandboxFixture.Reply {
        let form = "grant_type=client_credentials&scope=system%2F*.read&client_assertion_type="
            + SMARTBackend.assertionType.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! + "&client_assertion=" + assertion
        return try await f.send("POST", url: URL(string: f.endpoints.tokenURL)!,
                                headers: ["Content-Type": "application/x-www-form-urlencoded"], body: Data(form.utf8), token: nil)
    }

    @Test func signedAssertionsGetCachedTokensAndBadOnesAreRefused() async throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let keyPath = scratch.path("backend.pem"), otherPath = scratch.path("other.pem")
        let key = try makeKey(keyPath), other = try makeKey(otherPath)
        let f = try await SandboxFixture.start(smartClients: [Self.client: try SMARTBackend.jwks(privateKeyPEM: key, keyID: "k1")])
        defer { Task { await f.stop() } }

        let auth = OAuthClientCredentials(tokenURL: f.endpoints.tokenURL, audience: f.endpoints.fhirBaseURL, clientID: Self.client, secretFile: keyPath,
                                          scope: "system/*.read", clientAuthentication: .privateKeyJWT(keyID: "k1"), http: HTTPClient())
        let token = try await auth.token()
        // Cached: the same token until it is near expiry; a 401 renews it.
        #expect(try await auth.token() == token)
        let renewed = try await auth.renewToken(rejected: token)
        #expect(renewed != token)
        let fhir = FHIRClient(baseURL: f.endpoints.fhirBaseURL, http: HTTPClient(), auth: auth)
        #expect(try await fhir.practitioners().value.count == 6)

        let now = Clock.nowMillis()
        let good = try SMARTBackend.assertion(clientID: Self.client, tokenURL: f.endpoints.tokenURL, privateKeyPEM: key, keyID: "k1", issuedAt: now)
        #expect(try await postToken(f, assertion: good).status == 200)
        // The same assertion again is a replay.
        #expect(try await postToken(f, assertion: good).status == 401)
        // Expired: issued ten minutes ago for four.
        let expired = try SMARTBackend.assertion(clientID: Self.client, tokenURL: f.endpoints.tokenURL, privateKeyPEM: key, keyID: "k1",
                                                 issuedAt: now - 600_000)
        let late = try await postToken(f, assertion: expired)
        #expect(late.status == 401)
        #expect(late.text.contains("invalid_client"))
        // Signed by a key that is not the registered one, under the registered kid.
        let forged = try SMARTBackend.assertion(clientID: Self.client, tokenURL: f.endpoints.tokenURL, privateKeyPEM: other, keyID: "k1", issuedAt: now)
        #expect(try await postToken(f, assertion: forged).status == 401)
        // For another audience.
        let elsewhere = try SMARTBackend.assertion(clientID: Self.client, tokenURL: "https://other.example/token", privateKeyPEM: key,
                                                   keyID: "k1", issuedAt: now)
        #expect(try await postToken(f, assertion: elsewhere).status == 401)
        // The verifier itself says why.
        #expect(throws: SMARTBackend.Refusal.self) {
            try SMARTBackend.verify(forged, jwks: SMARTBackend.jwks(privateKeyPEM: key, keyID: "k1"), clientID: Self.client,
                                    tokenURL: f.endpoints.tokenURL, now: now)
        }

        // A key file the group can read is refused before anything is sent.
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: otherPath)
        let open = OAuthClientCredentials(tokenURL: f.endpoints.tokenURL, audience: f.endpoints.fhirBaseURL, clientID: Self.client, secretFile: otherPath,
                                          clientAuthentication: .privateKeyJWT(keyID: "k1"), http: HTTPClient())
        do {
            _ = try await open.token()
            Issue.record("a group-readable key was used")
        } catch {
            guard case .secretFileTooOpen = error else { Issue.record("\(error)"); return }
        }
    }
}
