/// Why an HTTP exchange produced no response. The detail is libcurl's message, which
/// names hosts and ports but never headers, so it is safe to log.
public enum HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL could not be parsed, or its scheme is not http or https.
    case invalidURL(String)
    /// Plain http to a host that is not this machine: refused before any connection.
    case insecure(String)
    /// The host name did not resolve.
    case dns(String)
    /// Nothing accepted the TCP connection (refused, unreachable).
    case couldNotConnect(String)
    /// The connect phase or the whole exchange ran out of time.
    case timedOut(TimeoutPhase, String)
    /// TLS handshake or certificate verification failed.
    case tls(String)
    /// The connection broke mid-exchange, or the server closed it without a response.
    case connectionLost(String)
    /// The body grew beyond the client's limit (bytes).
    case responseTooLarge(limit: Int)
    /// The calling task was cancelled, or the client shut down.
    case cancelled
    /// Any other libcurl failure, with its CURLcode.
    case other(code: Int, String)

    public enum TimeoutPhase: String, Sendable { case connect, transfer }

    public var description: String {
        switch self {
        case .invalidURL(let d): "invalid URL: \(d)"
        case .insecure(let d): "refused: \(d)"
        case .dns(let d): "could not resolve host: \(d)"
        case .couldNotConnect(let d): "could not connect: \(d)"
        case .timedOut(.connect, let d): "timed out connecting: \(d)"
        case .timedOut(.transfer, let d): "timed out: \(d)"
        case .tls(let d): "TLS failure: \(d)"
        case .connectionLost(let d): "connection lost: \(d)"
        case .responseTooLarge(let limit): "response larger than \(limit) bytes"
        case .cancelled: "cancelled"
        case .other(let code, let d): "transfer failed (curl \(code)): \(d)"
        }
    }

    /// Whether trying the same request again later may succeed.
    public var isTransient: Bool {
        switch self {
        case .dns, .couldNotConnect, .timedOut, .connectionLost: true
        case .invalidURL, .insecure, .tls, .responseTooLarge, .cancelled, .other: false
        }
    }
}
