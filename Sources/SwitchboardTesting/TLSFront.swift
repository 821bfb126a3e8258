import Foundation

/// Real TLS in front of a plain loopback server, as a site's reverse proxy would put it:
/// Debian's `openssl` makes a test CA and certificates, and `stunnel4` terminates TLS on
/// 127.0.0.1 and forwards to the plain port. Four doors onto the same server:
/// - `trusted`: a certificate for `127.0.0.1`/`localhost` signed by the test CA (`caFile`);
/// - `wrongHost`: signed by the same CA, but for `ehr.example.org` only;
/// - `untrusted`: self-signed, by no CA the client knows;
/// - `legacy`: the trusted certificate, but TLS 1.1 only.
///
///     let front = try TLSFront(forwardingTo: 8080, in: scratchDirectory)
///     defer { front.stop() }
///     HTTPClient(configuration: .init(caFile: front.caFile))   // https://127.0.0.1:\(front.trusted)/…
public final class TLSFront: @unchecked Sendable {
    public let caFile: String
    public let trusted: UInt16, wrongHost: UInt16, untrusted: UInt16, legacy: UInt16
    private let stunnel: RunningProcess

    /// The certificates behind the doors (made with openssl in `directory/tls`).
    public let certificates: TestCertificates

    public init(forwardingTo port: UInt16, in directory: URL) throws {
        certificates = try TestCertificates(in: directory)
        let dir = directory.appendingPathComponent("tls")
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        caFile = certificates.caFile
        let ports = try (0 ..< 4).map { _ in try Self.freePort() }
        (trusted, wrongHost, untrusted, legacy) = (ports[0], ports[1], ports[2], ports[3])
        func service(_ name: String, _ accept: UInt16, _ cert: String, extra: String = "") -> String {
            """
            [\(name)]
            accept = 127.0.0.1:\(accept)
            connect = 127.0.0.1:\(port)
            cert = \(path(cert + ".pem"))
            key = \(path(cert + ".key"))
            \(extra)

            """
        }
        let config = "foreground = yes\npid =\ndebug = notice\n\n" + service("trusted", trusted, "server")
            + service("wrong-host", wrongHost, "elsewhere") + service("untrusted", untrusted, "stranger")
            // Old enough that OpenSSL 3 must be told to allow it at all.
            + service("legacy", legacy, "server", extra: "sslVersionMin = TLSv1.1\nsslVersionMax = TLSv1.1\nciphers = DEFAULT@SECLEVEL=0")
        try config.write(toFile: path("stunnel.conf"), atomically: true, encoding: .utf8)
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/stunnel4") else {
            throw TLSFrontError("stunnel4 is not installed (apt-get install stunnel4)")
        }
        stunnel = try RunningProcess("/usr/bin/stunnel4", [path("stunnel.conf")])
        let listening = RunningProcess.waitUntil(timeout: 10) { ports.allSatisfy(Self.accepts) }
        guard listening else { stunnel.signal(SIGTERM); throw TLSFrontError("stunnel did not start: \(stunnel.stderr)") }
    }

    public func stop() {
        stunnel.signal(SIGTERM)
        _ = try? stunnel.waitForExit(timeout: 5)
    }

    /// A port the kernel just gave out and took back (stunnel needs a number up front).
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TLSFrontError("no free port") }
        return UInt16(bigEndian: address.sin_port)
    }

    static func accepts(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

/// A test CA and three certificates, made with Debian's `openssl` in `directory/tls`:
/// `server` for `127.0.0.1`/`localhost` signed by the CA, `elsewhere` signed by the same CA
/// for `ehr.example.org` only, and `stranger`, self-signed for 127.0.0.1 by no CA anyone trusts.
///
///     let certs = try TestCertificates(in: scratch.url)
///     TLSServerIdentity(certificateFile: certs.server.certificate, keyFile: certs.server.key)
public struct TestCertificates: Sendable {
    public struct Pair: Sendable { public let certificate: String, key: String }
    public let caFile: String
    public let server: Pair, elsewhere: Pair, stranger: Pair

    public init(in directory: URL) throws {
        let dir = directory.appendingPathComponent("tls")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        func openssl(_ arguments: [String]) throws {
            let result = try run("/usr/bin/openssl", arguments, timeout: 30)
            guard result.status == 0 else { throw TLSFrontError("openssl \(arguments.first ?? ""): \(result.stderr)") }
        }
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        try openssl(["req", "-x509"] + curve + ["-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=Switchboard test CA"])
        for (name, names) in [("server", "DNS:localhost,IP:127.0.0.1"), ("elsewhere", "DNS:ehr.example.org")] {
            try openssl(["req"] + curve + ["-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", "/CN=\(name)"])
            try "subjectAltName=\(names)\n".write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
            try openssl(["x509", "-req", "-in", path("\(name).csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"), "-CAcreateserial",
                         "-out", path("\(name).pem"), "-days", "2", "-extfile", path("\(name).ext")])
        }
        try openssl(["req", "-x509"] + curve + ["-keyout", path("stranger.key"), "-out", path("stranger.pem"), "-days", "2",
                                                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        caFile = path("ca.pem")
        func pair(_ name: String) -> Pair { Pair(certificate: path("\(name).pem"), key: path("\(name).key")) }
        (server, elsewhere, stranger) = (pair("server"), pair("elsewhere"), pair("stranger"))
    }
}

public struct TLSFrontError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
