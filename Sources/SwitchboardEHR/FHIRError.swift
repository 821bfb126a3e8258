import Foundation
import SwitchboardHTTP

/// Why a FHIR request failed, from the HTTP status and the OperationOutcome the server sent.
public enum FHIRError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 401 even after one token renewal.
    case unauthorized(String)
    /// 404 or 410.
    case notFound(String)
    /// 409: e.g. the slot was booked by someone else.
    case conflict(String)
    /// 412: the `If-Match` version is stale; read again before updating.
    case preconditionFailed(String)
    /// 429, with the server's `Retry-After` if it gave one.
    case rateLimited(retryAfter: Duration?)
    /// 503, with the server's `Retry-After` if it gave one.
    case unavailable(retryAfter: Duration?)
    /// Any other non-success status, with the OperationOutcome's diagnostics.
    case server(status: Int, diagnostics: String)
    /// No response: could not connect, timed out, TLS, …
    case transport(HTTPError)
    /// No token could be had.
    case authentication(OAuthError)
    /// A success status with a body that is not the expected resource.
    case invalidResponse(String)

    public var description: String {
        switch self {
        case .unauthorized(let d): "unauthorized: \(d)"
        case .notFound(let d): "not found: \(d)"
        case .conflict(let d): "conflict: \(d)"
        case .preconditionFailed(let d): "version conflict (stale If-Match): \(d)"
        case .rateLimited(let after): "rate limited" + (after.map { ", retry after \($0)" } ?? "")
        case .unavailable(let after): "EHR unavailable" + (after.map { ", retry after \($0)" } ?? "")
        case .server(let status, let d): "HTTP \(status): \(d)"
        case .transport(let error): error.description
        case .authentication(let error): error.description
        case .invalidResponse(let d): "unreadable response: \(d)"
        }
    }

    /// Whether the same request may succeed later (the outbox backs off and tries again).
    /// Conflicts and stale versions are not: they need a person or a fresh read.
    public var isRetryable: Bool {
        switch self {
        case .rateLimited, .unavailable: true
        case .transport(let error): error.isTransient
        case .authentication(.transport(let error)): error.isTransient
        case .server(let status, _): [500, 502, 504].contains(status)
        case .unauthorized, .notFound, .conflict, .preconditionFailed, .authentication, .invalidResponse: false
        }
    }

    /// The wait the server asked for, if any.
    public var retryAfter: Duration? {
        switch self {
        case .rateLimited(let after), .unavailable(let after): after
        default: nil
        }
    }

    /// The HTTP status this error came from, if there was a response.
    public var httpStatus: Int? {
        switch self {
        case .unauthorized: 401
        case .notFound: 404
        case .conflict: 409
        case .preconditionFailed: 412
        case .rateLimited: 429
        case .unavailable: 503
        case .server(let status, _): status
        case .transport, .authentication, .invalidResponse: nil
        }
    }

    /// Maps a non-success response; nil for 2xx.
    static func from(_ response: HTTPResponse, now: Date = Date()) -> FHIRError? {
        guard !response.isSuccess else { return nil }
        let diagnostics = (try? FHIRJSON.decode(OperationOutcome.self, from: response.body))?.summary
            ?? "no OperationOutcome"
        return from(response, diagnostics: diagnostics, now: now)
    }

    /// Maps a non-success answer whose explanation was read by the pathway's own rules
    /// (an OperationOutcome, a vendor's `{"error": …}`).
    static func from(_ response: HTTPResponse, diagnostics: String, now: Date = Date()) -> FHIRError? {
        guard !response.isSuccess else { return nil }
        let retryAfter = response.headers["Retry-After"].flatMap { parseRetryAfter($0, now: now) }
        switch response.status {
        case 401: return .unauthorized(diagnostics)
        case 404, 410: return .notFound(diagnostics)
        case 409: return .conflict(diagnostics)
        case 412: return .preconditionFailed(diagnostics)
        case 429: return .rateLimited(retryAfter: retryAfter)
        case 503: return .unavailable(retryAfter: retryAfter)
        default: return .server(status: response.status, diagnostics: diagnostics)
        }
    }

    /// `Retry-After` is either seconds or an HTTP date (RFC 9110 §10.2.3).
    static func parseRetryAfter(_ value: String, now: Date) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(text), seconds >= 0 { return .seconds(seconds) }
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "GMT")
        format.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = format.date(from: text) else { return nil }
        return .seconds(max(0, Int(date.timeIntervalSince(now).rounded(.up))))
    }
}
