import Foundation

/// Where a request goes, as the transport rules see it: scheme, host and port.
///
/// Rules (HIPAA: protect data in transit): https everywhere, plain http only to this
/// machine (127.0.0.0/8, ::1, `localhost`) — a simulator, a local tunnel. Names that
/// merely resolve to loopback do not count: DNS is not trusted with that decision.
///
///     try Endpoint("http://127.0.0.1:8080/fhir")   // fine
///     try Endpoint("http://ehr.example/fhir")      // HTTPError.insecure
public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
    public var scheme: String
    public var host: String
    public var port: Int

    public init(_ url: String) throws(HTTPError) {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(),
              var host = parts.host?.lowercased(), !host.isEmpty else {
            throw .invalidURL("\(Self.plain(url)) is not an absolute http or https URL")
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        switch scheme {
        case "https": port = parts.port ?? 443
        case "http":
            port = parts.port ?? 80
            guard Self.isLoopback(host) else {
                throw .insecure("\(scheme)://\(Self.plain(host)) is not this machine: use https (plain http only to 127.0.0.1, ::1 or localhost)")
            }
        default: throw .invalidURL("\(Self.plain(scheme)): only http and https are spoken")
        }
        self.scheme = scheme; self.host = host
    }

    public var description: String { "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    /// 127.0.0.0/8, ::1 or `localhost`, written as such.
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets[0] == "127" else { return false }
        return octets.allSatisfy { $0.count <= 3 && UInt8($0) != nil }
    }

    /// URLs in messages keep printable ASCII only (a URL may come from a server).
    private static func plain(_ text: String) -> String {
        String(text.unicodeScalars.prefix(200).map { $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?" })
    }
}
