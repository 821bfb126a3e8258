#if canImport(Glibc)
import Glibc
// The client's own `send`, `close` and `socket` members hide these names inside it.
private let posixSocket = Glibc.socket, posixConnect = Glibc.connect, posixSend = Glibc.send, posixClose = Glibc.close
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let posixSocket = Darwin.socket, posixConnect = Darwin.connect, posixSend = Darwin.send, posixClose = Darwin.close
private let streamSocket = SOCK_STREAM
#endif
import Foundation
import SwitchboardHTTP

/// Why an HL7 message got no acknowledgment.
public enum MLLPError: Error, Sendable, Equatable, CustomStringConvertible {
    case dns(String)
    case couldNotConnect(String)
    case timedOut(String)
    case connectionLost(String)
    /// The reply was not a readable ACK.
    case invalidAck(String)
    /// The ACK answered another message (MSA-2 is not our MSH-10): the link is out of step.
    case ackMismatch(expected: String, got: String)
    /// The TLS handshake failed: an untrusted certificate, another host's, a protocol
    /// older than TLS 1.2. Sending again will not change that.
    case tls(String)

    public var description: String {
        switch self {
        case .dns(let d): "could not resolve host: \(d)"
        case .couldNotConnect(let d): "could not connect: \(d)"
        case .timedOut(let d): "timed out: \(d)"
        case .connectionLost(let d): "connection lost: \(d)"
        case .invalidAck(let d): "unreadable ACK: \(d)"
        case .ackMismatch(let expected, let got): "ACK for control id \(got), expected \(expected)"
        case .tls(let d): "TLS failure: \(d)"
        }
    }

    /// Whether sending again later may succeed (the receiver dedupes by MSH-10).
    public var isRetryable: Bool {
        switch self {
        case .dns, .couldNotConnect, .timedOut, .connectionLost, .ackMismatch: true
        case .invalidAck, .tls: false
        }
    }
}

/// An acknowledgment with the round trip time, for the audit row.
public struct MLLPResult: Sendable {
    public var ack: HL7Acknowledgment
    public var latencyMs: Int
}

/// Sends HL7 v2 messages over MLLP on one TCP connection and waits for each ACK.
///
/// Messages go one at a time, in order (MLLP has no multiplexing). The connection is
/// opened on first use and kept; after a failure it is closed and the next send opens a
/// new one. A kept connection that the peer closed while idle is reopened and the
/// message sent once more — only when no byte of a reply had arrived.
///
/// ```swift
/// let mllp = MLLPClient(host: "10.0.0.5", port: 2575)
/// let overTLS = MLLPClient(host: "engine.example", port: 2576, tls: .init(caFile: "/etc/site/ca.pem"))
/// let result = try await mllp.send(siu.message(controlID: "c-17-1", at: now, endpoints: endpoints))
/// if result.ack.code.isSuccess { … }
/// ```
public final class MLLPClient: @unchecked Sendable {
    public let host: String
    public let port: UInt16
    /// MLLP inside TLS (an interface engine's TLS port), or nil for plain TCP.
    public let tls: TLS?
    private let connectTimeout: Duration
    private let ackTimeout: Duration
    // Confined to `queue`.
    private let queue = DispatchQueue(label: "switchboard.mllp")
    private var socket: Int32 = -1
    private var channel: TLSChannel?

    /// What the client trusts: the CAs in `caFile` (nil: the system store). The server's
    /// certificate must name `host`; TLS 1.2 at least.
    public struct TLS: Sendable {
        public var caFile: String?
        public init(caFile: String? = nil) { self.caFile = caFile }
    }

    public init(host: String, port: UInt16, tls: TLS? = nil, connectTimeout: Duration = .seconds(5), ackTimeout: Duration = .seconds(10)) {
        self.host = host; self.port = port; self.tls = tls; self.connectTimeout = connectTimeout; self.ackTimeout = ackTimeout
    }

    deinit { if socket >= 0 { _ = posixClose(socket) } }

    /// Sends `message` and returns its ACK (AA, AE or AR alike: read `ack.code`).
    public func send(_ message: HL7Message) async throws(MLLPError) -> MLLPResult {
        let frame = MLLP.frame(message)
        let controlID = message.controlID
        let result: Result<MLLPResult, MLLPError> = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.exchange(frame, controlID: controlID)) }
        }
        return try result.get()
    }

    /// Closes the connection; the next send opens a new one.
    public func close() {
        queue.async { self.disconnect() }
    }

    private func exchange(_ frame: [UInt8], controlID: String) -> Result<MLLPResult, MLLPError> {
        let started = ContinuousClock.now
        var reused = socket >= 0
        while true {
            if socket < 0 {
                switch connect() {
                case .failure(let error): return .failure(error)
                case .success(let fd): socket = fd
                }
                if let tls {
                    do { channel = try TLSChannel.connect(fd: socket, host: host, caFile: tls.caFile, timeout: connectTimeout) } catch {
                        disconnect()
                        return .failure(.tls(error.description))
                    }
                }
            }
            let outcome = roundTrip(frame)
            switch outcome {
            case .failure(.idleConnectionClosed) where reused:
                disconnect()
                reused = false
                continue
            case .failure(let failure):
                disconnect()
                return .failure(failure.error)
            case .success(let reply):
                let elapsed = ContinuousClock.now - started
                let latency = Int(elapsed.components.seconds) * 1000 + Int(elapsed.components.attoseconds / 1_000_000_000_000_000)
                let text = String(decoding: reply, as: UTF8.self)
                let ack: HL7Acknowledgment
                do { ack = try HL7Acknowledgment(HL7Message(parsing: text)) } catch {
                    disconnect()
                    return .failure(.invalidAck("\(error)"))
                }
                guard ack.acknowledgedControlID == controlID else {
                    disconnect()
                    return .failure(.ackMismatch(expected: controlID, got: ack.acknowledgedControlID))
                }
                return .success(MLLPResult(ack: ack, latencyMs: latency))
            }
        }
    }

    private enum RoundTripFailure: Error {
        /// EOF or reset before any reply byte: an idle connection the peer had closed.
        case idleConnectionClosed(String)
        case failed(MLLPError)
        var error: MLLPError {
            switch self {
            case .idleConnectionClosed(let detail): .connectionLost(detail)
            case .failed(let error): error
            }
        }
    }

    private func roundTrip(_ frame: [UInt8]) -> Result<[UInt8], RoundTripFailure> {
        var sent = 0
        if let channel {
            guard frame.withUnsafeBytes({ channel.writeAll($0) }) else { return .failure(.idleConnectionClosed("TLS write failed")) }
            sent = frame.count
        }
        while sent < frame.count {
            let n = frame[sent...].withUnsafeBytes { posixSend(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(.idleConnectionClosed("send: \(String(cString: strerror(errno)))"))
            }
            sent += n
        }
        let deadline = ContinuousClock.now + ackTimeout
        var decoder = MLLPDecoder()
        var received = 0
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return .failure(.failed(.timedOut("no ACK within \(ackTimeout)"))) }
            // Bytes TLS already decrypted are not on the socket any more: no poll for them.
            if channel?.hasBufferedBytes != true {
                var pfd = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
                let ready = poll(&pfd, 1, Int32(clamping: remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1))
                if ready < 0 { if errno == EINTR { continue }; return .failure(.failed(.connectionLost(String(cString: strerror(errno))))) }
                if ready == 0 { continue }
            }
            let n = buffer.withUnsafeMutableBytes { bytes in channel.map { $0.read(into: bytes) } ?? recv(socket, bytes.baseAddress, bytes.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let detail = n == 0 ? "closed by peer" : String(cString: strerror(errno))
                return .failure(received == 0 ? .idleConnectionClosed(detail) : .failed(.connectionLost(detail)))
            }
            received += n
            if let frame = decoder.feed(buffer[..<n]).first { return .success(frame) }
        }
    }

    /// Resolves `host` and connects with a deadline (non-blocking connect, then poll).
    private func connect() -> Result<Int32, MLLPError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamSocket
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else { return .failure(.dns("\(host): \(String(cString: gai_strerror(status)))")) }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = posixSocket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else { lastError = String(cString: strerror(errno)); continue }
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var result = posixConnect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen)
            if result < 0 && errno == EINPROGRESS {
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let millis = Int32(clamping: connectTimeout.components.seconds * 1000 + connectTimeout.components.attoseconds / 1_000_000_000_000_000)
                if poll(&pfd, 1, millis) == 1 {
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    result = error == 0 ? 0 : -1
                    errno = error
                } else {
                    _ = posixClose(fd)
                    return .failure(.timedOut("connecting to \(host):\(port)"))
                }
            }
            guard result == 0 else {
                lastError = "\(host):\(port): \(String(cString: strerror(errno)))"
                _ = posixClose(fd)
                continue
            }
            _ = fcntl(fd, F_SETFL, flags)
            var on: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            return .success(fd)
        }
        return .failure(.couldNotConnect(lastError))
    }

    private func disconnect() {
        channel?.shutdown()
        channel = nil
        if socket >= 0 { _ = posixClose(socket); socket = -1 }
    }
}
