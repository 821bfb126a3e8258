#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let streamSocket = SOCK_STREAM
#endif
import Foundation

/// send(2) without SIGPIPE when the client has gone.
private func socketSend(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
    #if canImport(Glibc)
    send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
    #else
    send(fd, bytes.baseAddress, bytes.count, 0)
    #endif
}

/// An event stream server on 127.0.0.1 that misbehaves on purpose: connection number n
/// (from 0) is handed to `scripts[min(n, last)]`, which writes what it likes and returns to
/// close. The request headers of every connection are kept, so a case can check what the
/// client sent when it came back (`Last-Event-ID`).
final class HostileStream: @unchecked Sendable {
    /// What a script writes with; every write reports whether the client still reads.
    struct Connection {
        let fd: Int32
        let server: HostileStream
        @discardableResult
        func send(_ text: String) -> Bool { send(Array(text.utf8)) }
        @discardableResult
        func send(_ bytes: [UInt8]) -> Bool {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { socketSend(fd, $0) }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        /// The head a real SSE server sends.
        @discardableResult
        func head(contentType: String = "text/event-stream") -> Bool {
            send("HTTP/1.1 200 OK\r\nContent-Type: \(contentType)\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n")
        }
        /// Holds the connection open with heartbeat comments until the server stops.
        func hold() {
            while !server.isStopped {
                guard send(": heartbeat\n\n") else { return }
                usleep(300_000)
            }
        }
        /// Says nothing at all until the server stops.
        func stall() { while !server.isStopped { usleep(50_000) } }
    }

    let port: UInt16
    private let listener: Int32
    private let scripts: [@Sendable (Connection) -> Void]
    private let lock = NSLock()
    private var stopped = false
    private var seen: [[String: String]] = []

    init(_ scripts: [@Sendable (Connection) -> Void]) throws {
        self.scripts = scripts
        let fd = socket(AF_INET, streamSocket, 0)
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 16) == 0 else { throw CaseFailure("cannot listen on 127.0.0.1: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    var url: String { "http://127.0.0.1:\(port)/events" }
    var isStopped: Bool { lock.withLock { stopped } }
    /// The request headers (names lowercased) of each connection so far.
    var requests: [[String: String]] { lock.withLock { seen } }

    func stop() { lock.withLock { stopped = true } }

    private func acceptLoop() {
        defer { close(listener) }
        while !isStopped {
            var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            let headers = readHead(client)
            let n = lock.withLock { seen.append(headers); return seen.count - 1 }
            let script = scripts[min(n, scripts.count - 1)]
            let thread = Thread { [self] in
                script(Connection(fd: client, server: self))
                close(client)
            }
            thread.start()
        }
    }

    private func readHead(_ fd: Int32) -> [String: String] {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 65_536, !bytes.suffix(4).elementsEqual([13, 10, 13, 10]) {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        var headers: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return headers
    }
}
