#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let streamSocket = SOCK_STREAM
#endif
import Foundation
import SwitchboardHTTP

/// TLS in front of one of the simulator's plain loopback listeners (the FHIR/REST server,
/// the MLLP listener, the event stream), in process: what a site's TLS terminator does,
/// with OpenSSL. Each accepted connection handshakes (TLS 1.2 at least), then its bytes go
/// both ways to the plain port on 127.0.0.1, one thread per connection. HTTP and MLLP
/// alike: the door does not read what passes through.
///
///     let door = try TLSDoor(port: 0, identity: identity, forwardingTo: server.port)
///     // https://127.0.0.1:\(door.port)/fhir …
///     door.close()
public final class TLSDoor: @unchecked Sendable {
    public let port: UInt16
    private let listener: Int32
    private let identity: TLSServerIdentity
    private let inner: UInt16
    private let open = NSLock()
    private var connections: Set<Int32> = []
    private var closed = false

    public init(port: UInt16, identity: TLSServerIdentity, forwardingTo inner: UInt16) throws(TLSFailure) {
        self.identity = identity; self.inner = inner
        do { (listener, self.port) = try loopbackListener(port: port) } catch {
            throw TLSFailure("cannot listen on 127.0.0.1:\(port): \(error.reason)")
        }
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "switchboard.tls.accept"
        thread.start()
    }

    /// Stops accepting and drops every connection (as the plain listener's own close does).
    public func close() {
        let open = self.open.withLock { () -> Set<Int32> in
            closed = true
            return connections
        }
        _ = shutdown(listener, Int32(SHUT_RDWR))
        for fd in open { _ = shutdown(fd, Int32(SHUT_RDWR)) }
    }

    deinit { close(); _ = Glibc.close(listener) }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            let admitted = open.withLock { () -> Bool in
                guard !closed else { return false }
                connections.insert(fd)
                return true
            }
            guard admitted else { _ = Glibc.close(fd); return }
            let thread = Thread { [self] in
                serve(fd)
                open.withLock { _ = connections.remove(fd) }
                _ = Glibc.close(fd)
            }
            thread.name = "switchboard.tls.connection"
            thread.start()
        }
    }

    private func serve(_ client: Int32) {
        guard let tls = try? TLSChannel.accept(fd: client, identity: identity, timeout: .seconds(10)) else { return }
        defer { tls.shutdown() }
        // Reads wait in poll from now on; a write stuck for 10 s drops the connection.
        var none = timeval(tv_sec: 0, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &none, socklen_t(MemoryLayout<timeval>.size))
        var on: Int32 = 1
        setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        let plain = socket(AF_INET, streamSocket, 0)
        guard plain >= 0 else { return }
        defer { _ = Glibc.close(plain) }
        var address = loopbackAddress(inner)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(plain, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return }
        setsockopt(plain, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            if !tls.hasBufferedBytes {
                var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: plain, events: Int16(POLLIN), revents: 0)]
                let ready = poll(&fds, 2, -1)
                if ready < 0 { if errno == EINTR { continue }; return }
                if fds[1].revents != 0 {
                    let n = buffer.withUnsafeMutableBytes { recv(plain, $0.baseAddress, $0.count, 0) }
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0, buffer.withUnsafeBytes({ tls.writeAll(UnsafeRawBufferPointer(rebasing: $0[..<n])) }) else { return }
                }
                guard fds[0].revents != 0 else { continue }
            }
            let n = buffer.withUnsafeMutableBytes { tls.read(into: $0) }
            guard n > 0, Self.sendAll(plain, buffer[..<n]) else { return }
        }
    }

    private static func sendAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Bool {
        var sent = bytes.startIndex
        while sent < bytes.endIndex {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }
}
