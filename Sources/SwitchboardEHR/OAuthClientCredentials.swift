import Foundation
import SwitchboardCore
import SwitchboardHTTP

/// Where a `FHIRClient` gets its bearer token.
public protocol AccessTokenSource: Sendable {
    /// The URL (of the FHIR server) the tokens are for: a client sends them to that
    /// scheme, host and port only.
    var audience: String { get }
    /// A token that is valid now.
    func token() async throws(OAuthError) -> String
    /// Called after the server answered 401 to `rejected`: a newer token (fetching one
    /// unless another caller already did).
    func renewToken(rejected: String) async throws(OAuthError) -> String
}

/// Why no access token could be had. Messages never contain the secret or a token.
public enum OAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    case secretUnreadable(path: String, reason: String)
    /// The secret file may be read by group or others (like ssh, we refuse it).
    case secretFileTooOpen(path: String, mode: String)
    /// The token endpoint said no: status and the OAuth `error` code (`invalid_client`, …).
    case rejected(status: Int, error: String?)
    case malformedResponse(String)
    case transport(HTTPError)
    /// A request would have carried the token to a host it was not minted for.
    case notForThisHost(String)

    public var description: String {
        switch self {
        case .secretUnreadable(let path, let reason): "cannot read client secret file \(path): \(reason)"
        case .secretFileTooOpen(let path, let mode):
            "client secret file \(path) has mode \(mode); it must not be readable by group or others (chmod 600)"
        case .rejected(let status, let error): "token endpoint refused (HTTP \(status)\(error.map { ", \($0)" } ?? ""))"
        case .malformedResponse(let reason): "token endpoint answered something unreadable: \(reason)"
        case .transport(let error): "token endpoint unreachable: \(error)"
        case .notForThisHost(let host): "the access token is for the configured EHR, not for \(host): not sent"
        }
    }
}

/// OAuth 2.0 client credentials grant (RFC 6749 §4.4) with the secret read from a file.
///
/// The token is cached and fetched again shortly before `expires_in` runs out; callers
/// that ask while a fetch is running wait for that one fetch. The secret is read at
/// every fetch, so rotating the file needs no restart.
///
/// ```swift
/// let auth = OAuthClientCredentials(tokenURL: "https://ehr.example/oauth2/token",
///                                   clientID: "switchboard", secretFile: "/etc/switchboard/ehr.secret",
///                                   scope: "system/Appointment.rs", http: http)
/// let fhir = FHIRClient(baseURL: "https://ehr.example/fhir", http: http, auth: auth)
/// ```
public actor OAuthClientCredentials: AccessTokenSource {
    /// How the client id and secret go to the token endpoint.
    public enum ClientAuthentication: Sendable {
        /// HTTP Basic (`client_secret_basic`), which every server must accept.
        case basic
        /// Form fields `client_id` and `client_secret` (`client_secret_post`).
        case formBody
        /// SMART Backend Services (`private_key_jwt`): `secretFile` holds the client's P-384
        /// private key (PEM), which signs an ES384 assertion for each token request.
        case privateKeyJWT(keyID: String)
    }

    private struct Token {
        var value: String
        var refreshAt: UnixMillis
        var expiresAt: UnixMillis
    }

    public let tokenURL: String
    public nonisolated let audience: String
    public let clientID: String
    public let secretFile: String
    public let scope: String?
    private let clientAuthentication: ClientAuthentication
    private let http: HTTPClient
    private let refreshMargin: Int64
    private let now: @Sendable () -> UnixMillis
    private var cached: Token?
    private var fetching: Task<Result<Token, OAuthError>, Never>?

    /// - Parameters:
    ///   - audience: the FHIR base URL the tokens are for (they go nowhere else).
    ///   - refreshMargin: fetch a new token this long before the old one expires.
    ///   - now: the clock, for tests.
    public init(tokenURL: String, audience: String, clientID: String, secretFile: String, scope: String? = nil,
                clientAuthentication: ClientAuthentication = .basic, http: HTTPClient,
                refreshMargin: Duration = .seconds(60), now: @escaping @Sendable () -> UnixMillis = Clock.nowMillis) {
        self.tokenURL = tokenURL; self.audience = audience; self.clientID = clientID; self.secretFile = secretFile; self.scope = scope
        self.clientAuthentication = clientAuthentication; self.http = http
        self.refreshMargin = Int64(refreshMargin.components.seconds) * 1000; self.now = now
    }

    public func token() async throws(OAuthError) -> String {
        if let cached, now() < cached.refreshAt { return cached.value }
        do {
            return try await fetch()
        } catch {
            // A failed early refresh is not fatal while the old token still works.
            if let cached, now() < cached.expiresAt { return cached.value }
            throw error
        }
    }

    public func renewToken(rejected: String) async throws(OAuthError) -> String {
        if let cached, cached.value != rejected, now() < cached.refreshAt { return cached.value }
        if cached?.value == rejected { cached = nil }
        return try await fetch()
    }

    private func fetch() async throws(OAuthError) -> String {
        let task: Task<Result<Token, OAuthError>, Never>
        if let fetching {
            task = fetching
        } else {
            let request = Self.request(tokenURL: tokenURL, clientID: clientID, secretFile: secretFile, scope: scope,
                                       clientAuthentication: clientAuthentication, now: now())
            let (http, now, margin) = (http, now, refreshMargin)
            task = Task {
                switch request {
                case .failure(let error): return .failure(error)
                case .success(let request): return await Self.exchange(request, http: http, now: now, margin: margin)
                }
            }
            fetching = task
        }
        let result = await task.value
        if fetching == task { fetching = nil }
        let token = try result.get()
        cached = token
        return token.value
    }

    private static func request(tokenURL: String, clientID: String, secretFile: String, scope: String?,
                                clientAuthentication: ClientAuthentication, now: UnixMillis) -> Result<HTTPRequest, OAuthError> {
        let secret: String
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: secretFile)
            if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
                return .failure(.secretFileTooOpen(path: secretFile, mode: String(mode, radix: 8)))
            }
            secret = try String(contentsOfFile: secretFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            return .failure(.secretUnreadable(path: secretFile, reason: (error as NSError).localizedDescription))
        }
        guard !secret.isEmpty else { return .failure(.secretUnreadable(path: secretFile, reason: "the file is empty")) }

        var form = [("grant_type", "client_credentials")]
        if let scope { form.append(("scope", scope)) }
        var headers: HTTPHeaders = ["Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"]
        switch clientAuthentication {
        case .basic:
            // RFC 6749 §2.3.1: id and secret are form-encoded before Base64.
            let pair = "\(formEncode(clientID)):\(formEncode(secret))"
            headers["Authorization"] = "Basic " + Data(pair.utf8).base64EncodedString()
        case .formBody:
            form += [("client_id", clientID), ("client_secret", secret)]
        case .privateKeyJWT(let keyID):
            do {
                let assertion = try SMARTBackend.assertion(clientID: clientID, tokenURL: tokenURL, privateKeyPEM: secret, keyID: keyID,
                                                           issuedAt: now)
                form += [("client_assertion_type", SMARTBackend.assertionType), ("client_assertion", assertion)]
            } catch {
                return .failure(.secretUnreadable(path: secretFile, reason: "not a P-384 private key in PEM"))
            }
        }
        let body = form.map { "\($0)=\(formEncode($1))" }.joined(separator: "&")
        return .success(HTTPRequest("POST", tokenURL, headers: headers, body: Data(body.utf8)))
    }

    private static func exchange(_ request: HTTPRequest, http: HTTPClient, now: @Sendable () -> UnixMillis,
                                 margin: Int64) async -> Result<Token, OAuthError> {
        let response: HTTPResponse
        do { response = try await http.send(request) } catch { return .failure(.transport(error)) }
        let json = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
        guard response.isSuccess else { return .failure(.rejected(status: response.status, error: json?["error"] as? String)) }
        guard let json, let value = json["access_token"] as? String, !value.isEmpty else {
            return .failure(.malformedResponse("no access_token"))
        }
        if let type = json["token_type"] as? String, type.lowercased() != "bearer" {
            return .failure(.malformedResponse("token_type \(type) is not bearer"))
        }
        // Without expires_in, assume a short life rather than trusting the token forever.
        // Clamped: a server's absurd expires_in must not overflow the clock arithmetic.
        let seconds = (json["expires_in"] as? NSNumber)?.intValue ?? Int((json["expires_in"] as? String) ?? "") ?? 300
        let lifetime = Int64(min(max(seconds, 0), 86_400 * 365)) * 1000
        let issuedAt = now()
        let early = min(margin, lifetime / 2)
        return .success(Token(value: value, refreshAt: issuedAt + lifetime - early, expiresAt: issuedAt + lifetime))
    }

    private static func formEncode(_ text: String) -> String { percentEncode(text, keeping: "") }
}
