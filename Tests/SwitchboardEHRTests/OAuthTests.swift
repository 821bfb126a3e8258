import Foundation
import SwitchboardCore
import SwitchboardEHR
import SwitchboardHTTP
import SwitchboardTesting
import Testing

/// A token endpoint and a FHIR endpoint on one loopback peer. Tokens are `t1`, `t2`, …
private struct TokenPeer {
    let peer: LoopbackPeer
    let tokensIssued = Shared(0)
    let fhirRequests = Shared<[String]>([])
    let secretFile: String

    static func start(expiresIn: Int = 3600, tokenDelay: Duration = .zero,
                      accepts: @escaping @Sendable (String) -> Bool = { _ in true }) async throws -> TokenPeer {
        let peer = try await LoopbackPeer.start()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)").path
        try "s3cr3t/+=\n".write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        let server = TokenPeer(peer: peer, secretFile: file)
        await peer.route("POST /token") { request in
            let expected = "Basic " + Data("switchboard:s3cr3t%2F%2B%3D".utf8).base64EncodedString()
            guard request.header("Authorization") == expected,
                  String(decoding: request.body, as: UTF8.self) == "grant_type=client_credentials&scope=system%2FSlot.rs"
            else { return .text(401, #"{"error":"invalid_client"}"#) }
            try await Task.sleep(for: tokenDelay)
            let n = server.tokensIssued.update { $0 += 1; return $0 }
            return .text(200, #"{"access_token":"t\#(n)","token_type":"Bearer","expires_in":\#(expiresIn)}"#)
        }
        await peer.route("GET /fhir/metadata") { request in
            let token = String((request.header("Authorization") ?? "").dropFirst("Bearer ".count))
            server.fhirRequests.update { $0.append(token) }
            guard accepts(token) else { return .text(401, "") }
            return .text(200, #"{"resourceType":"CapabilityStatement","status":"active","date":"2026","kind":"instance","fhirVersion":"4.0.1","format":["json"]}"#)
        }
        return server
    }

    func credentials(now: @escaping @Sendable () -> UnixMillis = Clock.nowMillis) -> OAuthClientCredentials {
        OAuthClientCredentials(tokenURL: peer.baseURL + "/token", audience: peer.baseURL + "/fhir", clientID: "switchboard", secretFile: secretFile,
                               scope: "system/Slot.rs", http: HTTPClient(), now: now)
    }

    func stop() async {
        await peer.stop()
        try? FileManager.default.removeItem(atPath: secretFile)
    }
}

@Suite struct OAuthTests {
    @Test func tokenIsFetchedOnceAndSentAsBearer() async throws {
        let server = try await TokenPeer.start()
        defer { Task { await server.stop() } }
        let fhir = FHIRClient(baseURL: server.peer.baseURL + "/fhir", http: HTTPClient(), auth: server.credentials())
        _ = try await fhir.capabilities()
        _ = try await fhir.capabilities()
        #expect(server.tokensIssued.current == 1)
        #expect(server.fhirRequests.current == ["t1", "t1"])
    }

    @Test func tokenIsRenewedBeforeItExpires() async throws {
        let server = try await TokenPeer.start(expiresIn: 300)
        defer { Task { await server.stop() } }
        let clock = Shared<UnixMillis>(1_000_000)
        let auth = server.credentials(now: { clock.current })
        #expect(try await auth.token() == "t1")
        clock.update { $0 += 200_000 }
        #expect(try await auth.token() == "t1")
        clock.update { $0 += 41_000 }  // 241 s: inside the 60 s margin before 300 s
        #expect(try await auth.token() == "t2")
    }

    @Test func unauthorizedRenewsOnceAndRetriesOnce() async throws {
        let server = try await TokenPeer.start(accepts: { $0 != "t1" })
        defer { Task { await server.stop() } }
        let fhir = FHIRClient(baseURL: server.peer.baseURL + "/fhir", http: HTTPClient(), auth: server.credentials())
        let seen = Shared<[Int?]>([])
        let result = try await fhir.reporting { exchange in seen.update { $0.append(exchange.httpStatus) } }.capabilities()
        #expect(result.httpStatus == 200)
        #expect(server.fhirRequests.current == ["t1", "t2"])
        #expect(seen.current == [401, 200])
    }

    @Test func unauthorizedTwiceIsUnauthorized() async throws {
        let server = try await TokenPeer.start(accepts: { _ in false })
        defer { Task { await server.stop() } }
        let fhir = FHIRClient(baseURL: server.peer.baseURL + "/fhir", http: HTTPClient(), auth: server.credentials())
        await #expect(throws: FHIRError.unauthorized("no OperationOutcome")) { _ = try await fhir.capabilities() }
        #expect(server.fhirRequests.current == ["t1", "t2"])
        #expect(server.tokensIssued.current == 2)
    }

    @Test func concurrentCallersShareOneFetch() async throws {
        let server = try await TokenPeer.start(tokenDelay: .milliseconds(200))
        defer { Task { await server.stop() } }
        let auth = server.credentials()
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await auth.token() } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(tokens == ["t1"])
        #expect(server.tokensIssued.current == 1)
    }

    @Test func secretFileReadableByOthersIsRefused() async throws {
        let server = try await TokenPeer.start()
        defer { Task { await server.stop() } }
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: server.secretFile)
        do {
            _ = try await server.credentials().token()
            Issue.record("expected a refusal")
        } catch {
            #expect(error == .secretFileTooOpen(path: server.secretFile, mode: "644"))
            #expect(!error.description.contains("s3cr3t"))
        }
        #expect(server.tokensIssued.current == 0)
    }

    @Test func missingSecretFileAndWrongSecretAreClearErrors() async throws {
        let server = try await TokenPeer.start()
        defer { Task { await server.stop() } }
        let missing = OAuthClientCredentials(tokenURL: server.peer.baseURL + "/token", audience: server.peer.baseURL, clientID: "switchboard",
                                             secretFile: "/nonexistent/secret", http: HTTPClient())
        do {
            _ = try await missing.token()
            Issue.record("expected an error")
        } catch {
            guard case .secretUnreadable(path: "/nonexistent/secret", _) = error else { Issue.record("got \(error)"); return }
        }
        try "wrong\n".write(toFile: server.secretFile, atomically: false, encoding: .utf8)
        await #expect(throws: OAuthError.rejected(status: 401, error: "invalid_client")) {
            _ = try await server.credentials().token()
        }
    }
}

/// Transport rules: https only, except to this machine; a token goes only to the EHR it
/// was minted for. Real loopback servers; a plain-http URL to another host is refused
/// before any connection (the error is `.insecure`, not a DNS or connect failure).
@Suite struct TransportTests {
    @Test func theTokenGoesOnlyToTheEHRItWasMintedFor() async throws {
        let server = try await TokenPeer.start()
        let other = try await LoopbackPeer.start()
        defer { Task { await server.stop(); await other.stop() } }
        let seenByOther = Shared<[String]>([])
        await other.route("GET /fhir/metadata") { request in
            seenByOther.update { $0.append(request.header("Authorization") ?? "none") }
            return .text(200, #"{"resourceType":"CapabilityStatement","status":"active","date":"2026","kind":"instance","fhirVersion":"4.0.1","format":["json"]}"#)
        }
        // The same credentials, a client for another base URL (as `--ehr` would make).
        let elsewhere = FHIRClient(baseURL: other.baseURL + "/fhir", http: HTTPClient(), auth: server.credentials())
        do {
            _ = try await elsewhere.capabilities()
            Issue.record("expected a refusal")
        } catch {
            guard case .authentication(.notForThisHost) = error else { Issue.record("got \(error)"); return }
        }
        #expect(seenByOther.current.isEmpty, "the other server got no request at all")
        #expect(server.tokensIssued.current == 0, "no token was even minted")
        // Its own EHR still gets it.
        _ = try await FHIRClient(baseURL: server.peer.baseURL + "/fhir", http: HTTPClient(), auth: server.credentials()).capabilities()
        #expect(server.fhirRequests.current == ["t1"])
    }

    @Test func plainHTTPToAnotherHostIsRefusedBeforeAnyConnection() async throws {
        let http = HTTPClient(configuration: .init(connectTimeout: .seconds(3)))
        // 10.255.255.1 does not answer: a connection attempt would time out, a lookup of
        // the .invalid name would fail; both are refused before either.
        for url in ["http://10.255.255.1/fhir/metadata", "http://ehr.invalid/fhir/metadata", "http://127.0.0.1.ehr.invalid/",
                    "http://localhost.invalid/", "http://[::2]/"] {
            do {
                _ = try await http.send(HTTPRequest("GET", url))
                Issue.record("\(url) was sent")
            } catch {
                guard case .insecure = error else { Issue.record("\(url): got \(error)"); continue }
            }
        }
        var streamed: (any Error)?
        do { for try await _ in http.stream(HTTPRequest("GET", "http://ehr.invalid/events")) {} } catch { streamed = error }
        #expect((streamed as? HTTPError).map { if case .insecure = $0 { true } else { false } } == true, "\(String(describing: streamed))")

        // The client secret is not sent to a plain-http token endpoint elsewhere either.
        let secret = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)").path
        try "s3cr3t".write(toFile: secret, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secret)
        defer { try? FileManager.default.removeItem(atPath: secret) }
        let auth = OAuthClientCredentials(tokenURL: "http://ehr.invalid/token", audience: "http://ehr.invalid/fhir",
                                          clientID: "switchboard", secretFile: secret, http: http)
        do {
            _ = try await auth.token()
            Issue.record("expected a refusal")
        } catch {
            guard case .transport(.insecure) = error else { Issue.record("got \(error)"); return }
        }
    }

    @Test func loopbackIsTheOnlyPlainHTTP() throws {
        for url in ["http://127.0.0.1:8080/fhir", "http://127.1.2.3/", "http://[::1]:9/", "http://localhost/", "https://ehr.example/fhir",
                    "HTTP://LOCALHOST/"] {
            #expect((try? Endpoint(url)) != nil, "\(url)")
        }
        for url in ["http://ehr.example/", "http://127.0.0.1.example/", "http://128.0.0.1/", "http://0x7f000001/",
                    "http://localhost.example/", "ftp://127.0.0.1/", "127.0.0.1:80"] {
            #expect((try? Endpoint(url)) == nil, "\(url)")
        }
        #expect(try Endpoint("https://EHR.example/fhir") == Endpoint("https://ehr.example:443/other"), "same origin")
        #expect(try Endpoint("https://ehr.example/") != Endpoint("https://ehr.example:8443/"), "another port is another origin")
    }
}
