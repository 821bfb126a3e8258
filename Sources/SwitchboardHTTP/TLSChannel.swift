#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import COpenSSL
import Foundation

/// Why a TLS connection was not made: an untrusted certificate, a name it does not carry,
/// a protocol older than TLS 1.2, a handshake that timed out.
public struct TLSFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A server's certificate chain and key (PEM files), loaded once for all its connections.
public final class TLSServerIdentity: @unchecked Sendable {
    let context: OpaquePointer

    public init(certificateFile: String, keyFile: String) throws(TLSFailure) {
        try TLSChannel.prepare()
        guard let context = sb_SSL_CTX_new(sb_TLS_server_method()) else { throw TLSFailure("cannot make a TLS context: \(TLSChannel.lastError())") }
        self.context = context
        _ = sb_ssl_ctx_set_min_tls12(context)
        _ = sb_ssl_ctx_set_auto_retry(context)
        guard sb_SSL_CTX_use_certificate_chain_file(context, certificateFile) == 1 else {
            throw TLSFailure("cannot read the certificate \(certificateFile): \(TLSChannel.lastError())")
        }
        guard sb_SSL_CTX_use_PrivateKey_file(context, keyFile, SSL_FILETYPE_PEM) == 1, sb_SSL_CTX_check_private_key(context) == 1 else {
            throw TLSFailure("cannot use the key \(keyFile) with that certificate: \(TLSChannel.lastError())")
        }
    }

    deinit { sb_SSL_CTX_free(context) }
}

/// One TLS connection over a connected, blocking socket that the caller keeps owning
/// (closing the descriptor stays the caller's job). OpenSSL (the system's libssl, which
/// libcurl uses too): TLS 1.2 at least; a client checks the peer's chain against `caFile`
/// (or the system store) and its name against `host`, as libcurl does for HTTPS.
///
///     let tls = try TLSChannel.connect(fd: fd, host: "127.0.0.1", caFile: "/etc/site/ca.pem", timeout: .seconds(5))
///     _ = tls.writeAll(frame); let n = tls.read(into: buffer)
public final class TLSChannel: @unchecked Sendable {
    private let ssl: OpaquePointer
    private let ownedContext: OpaquePointer?

    private init(ssl: OpaquePointer, ownedContext: OpaquePointer?) { self.ssl = ssl; self.ownedContext = ownedContext }

    deinit {
        sb_SSL_free(ssl)
        if let ownedContext { sb_SSL_CTX_free(ownedContext) }
    }

    /// A TLS write to a peer that has gone raises SIGPIPE (OpenSSL writes with plain
    /// `write`); a process that speaks TLS on its own sockets takes EPIPE instead.
    static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN); return () }()

    /// Before the first TLS context: OpenSSL loaded (on first use, see the COpenSSL
    /// header) and broken pipes ignored.
    static func prepare() throws(TLSFailure) {
        ignoreBrokenPipes
        guard sb_openssl_load() == 0 else {
            throw TLSFailure("OpenSSL could not be loaded (install the libssl3 package): \(String(cString: sb_openssl_error()))")
        }
    }

    /// The client side: handshakes on `fd` and checks the server's certificate.
    public static func connect(fd: Int32, host: String, caFile: String?, timeout: Duration) throws(TLSFailure) -> TLSChannel {
        try prepare()
        sb_ERR_clear_error()
        guard let context = sb_SSL_CTX_new(sb_TLS_client_method()) else { throw TLSFailure("cannot make a TLS context: \(lastError())") }
        _ = sb_ssl_ctx_set_min_tls12(context)
        _ = sb_ssl_ctx_set_auto_retry(context)
        sb_SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        let loaded = caFile.map { sb_SSL_CTX_load_verify_locations(context, $0, nil) } ?? sb_SSL_CTX_set_default_verify_paths(context)
        guard loaded == 1 else {
            sb_SSL_CTX_free(context)
            throw TLSFailure("cannot read the trusted CAs \(caFile ?? "of the system"): \(lastError())")
        }
        // A certificate named in caFile is trusted as an anchor even if it is not a root
        // (a pinned, self-signed server certificate), as libcurl does.
        sb_X509_VERIFY_PARAM_set_flags(sb_SSL_CTX_get0_param(context), UInt(X509_V_FLAG_PARTIAL_CHAIN))
        guard let ssl = sb_SSL_new(context) else { sb_SSL_CTX_free(context); throw TLSFailure("cannot make a TLS session: \(lastError())") }
        let channel = TLSChannel(ssl: ssl, ownedContext: context)
        let param = sb_SSL_get0_param(ssl)
        var address = in6_addr()
        if inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1 {
            guard sb_X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1 else { throw TLSFailure("cannot check the address \(host)") }
        } else {
            guard sb_X509_VERIFY_PARAM_set1_host(param, host, 0) == 1 else { throw TLSFailure("cannot check the name \(host)") }
            _ = sb_ssl_set_sni(ssl, host)
        }
        setTimeouts(fd, timeout)
        sb_SSL_set_fd(ssl, fd)
        let result = sb_SSL_connect(ssl)
        guard result == 1 else {
            let verify = sb_SSL_get_verify_result(ssl)
            if verify != X509_V_OK {
                throw TLSFailure("the certificate of \(host) is not trusted: \(String(cString: sb_X509_verify_cert_error_string(verify)))")
            }
            throw TLSFailure("TLS handshake with \(host) failed: \(failureText(result, ssl: ssl))")
        }
        return channel
    }

    /// The server side: handshakes on an accepted `fd` with `identity`.
    public static func accept(fd: Int32, identity: TLSServerIdentity, timeout: Duration) throws(TLSFailure) -> TLSChannel {
        sb_ERR_clear_error()
        guard let ssl = sb_SSL_new(identity.context) else { throw TLSFailure("cannot make a TLS session: \(lastError())") }
        let channel = TLSChannel(ssl: ssl, ownedContext: nil)
        setTimeouts(fd, timeout)
        sb_SSL_set_fd(ssl, fd)
        let result = sb_SSL_accept(ssl)
        guard result == 1 else { throw TLSFailure("TLS handshake failed: \(failureText(result, ssl: ssl))") }
        return channel
    }

    /// `TLSv1.3`, `TLSv1.2`.
    public var protocolVersion: String { String(cString: sb_SSL_get_version(ssl)) }

    /// Bytes already decrypted and waiting: read them before polling the socket again.
    public var hasBufferedBytes: Bool { sb_SSL_pending(ssl) > 0 }

    /// Up to `buffer.count` bytes: more than 0 read, 0 when the peer closed, -1 on an
    /// error or when the socket's receive timeout passed.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        sb_ERR_clear_error()
        let n = sb_SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        if n > 0 { return Int(n) }
        let error = sb_SSL_get_error(ssl, n)
        return error == SSL_ERROR_ZERO_RETURN || (error == SSL_ERROR_SYSCALL && errno == 0) ? 0 : -1
    }

    /// Writes every byte or returns false (peer gone, timed out).
    public func writeAll(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var sent = 0
        while sent < bytes.count {
            sb_ERR_clear_error()
            let n = sb_SSL_write(ssl, bytes.baseAddress! + sent, Int32(clamping: bytes.count - sent))
            guard n > 0 else { return false }
            sent += Int(n)
        }
        return true
    }

    /// Says goodbye (close_notify) without waiting for the peer's.
    public func shutdown() { sb_ERR_clear_error(); _ = sb_SSL_shutdown(ssl) }

    private static func setTimeouts(_ fd: Int32, _ timeout: Duration) {
        let millis = max(1, timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        var value = timeval(tv_sec: Int(millis / 1000), tv_usec: Int((millis % 1000) * 1000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    private static func failureText(_ result: Int32, ssl: OpaquePointer) -> String {
        let error = sb_SSL_get_error(ssl, result)
        let queued = lastError()
        if !queued.isEmpty { return queued }
        if error == SSL_ERROR_SYSCALL {
            if errno == EAGAIN || errno == EWOULDBLOCK { return "timed out" }
            return errno == 0 ? "the peer closed the connection" : String(cString: strerror(errno))
        }
        return "SSL error \(error)"
    }

    /// OpenSSL's error queue for this thread, oldest first, in its own words.
    static func lastError() -> String {
        var texts: [String] = []
        while case let code = sb_ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            sb_ERR_error_string_n(code, &buffer, buffer.count)
            texts.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return texts.joined(separator: "; ")
    }
}
