import Foundation
import SwitchboardHTTP

/// The loopback HTTP server behind `switchboard metrics --listen`: one GET answered per
/// connection, then closed, which is all a Prometheus scrape asks.
///
/// Written here rather than with FlyingFox: FlyingFox links FoundationNetworking, and with
/// it libcurl and its 35 shared libraries, into the `switchboard` binary, which every
/// command (the console first) then loads at start (~6.5 ms of each start, measured with a
/// C program on the same link line). The console loads libcurl only when it talks HTTP.
struct MetricsServer {
    /// What a request gets: status, content type, body.
    typealias Answer = @Sendable (_ path: String) -> (status: Int, type: String, body: String)

    private let listener: Int32
    /// The port bound (the one asked for, or the kernel's pick for 0).
    let port: UInt16

    /// The largest request head read; anything longer is answered 431 and closed.
    static let headLimit = 16 * 1024
    /// Connections served at once; more are answered 503.
    static let concurrent = 16
    /// How long a client may take to send its request or read the answer.
    static let clientTimeoutSeconds = 10

    /// Listens on 127.0.0.1:`port`.
    init(port: UInt16) throws(ListenFailure) {
        (listener, self.port) = try loopbackListener(port: port)
    }

    /// Accepts connections until the process ends, each on a thread of its own, so a
    /// client that sends nothing holds up no scrape; past `concurrent` at once, a
    /// connection is told 503 at once rather than left waiting.
    func serve(_ answer: @escaping Answer) -> Never {
        let open = OpenConnections()
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if errno != EINTR && errno != ECONNABORTED { usleep(10_000) }
                continue
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            guard open.enter() else {
                Self.send(client, status: 503, type: "text/plain", body: "busy\n")
                close(client)
                continue
            }
            Thread.detachNewThread {
                Self.respond(on: client, answer)
                close(client)
                open.leave()
            }
        }
    }

    private final class OpenConnections: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0

        func enter() -> Bool {
            lock.withLock {
                guard count < MetricsServer.concurrent else { return false }
                count += 1
                return true
            }
        }

        func leave() { lock.withLock { count -= 1 } }
    }

    private static func respond(on client: Int32, _ answer: Answer) {
        var timeout = timeval(tv_sec: clientTimeoutSeconds, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let head = readHead(client) else {
            send(client, status: 431, type: "text/plain", body: "request head too long\n")
            return
        }
        guard !head.isEmpty else { return }  // closed or timed out before a whole head
        // "GET /metrics?x HTTP/1.1": the method and the path, without a query.
        let requestLine = head.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? ""
        let parts = requestLine.split(separator: " ")
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else {
            send(client, status: 400, type: "text/plain", body: "bad request\n")
            return
        }
        guard parts[0] == "GET" || parts[0] == "HEAD" else {
            send(client, status: 405, type: "text/plain", body: "only GET\n")
            return
        }
        let path = String(parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        let (status, type, body) = answer(path)
        send(client, status: status, type: type, body: parts[0] == "HEAD" ? "" : body, length: body.utf8.count)
    }

    /// The request head up to its blank line: empty when the client closed or timed out
    /// first, nil when it is longer than `headLimit`.
    private static func readHead(_ client: Int32) -> String? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let got = recv(client, &chunk, chunk.count, 0)
            if got <= 0 { return "" }
            bytes.append(contentsOf: chunk[0..<got])
            if let end = bytes.firstRange(of: [13, 10, 13, 10]) {
                return end.lowerBound > headLimit ? nil : String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
            }
            if bytes.count > headLimit { return nil }
        }
    }

    private static func send(_ client: Int32, status: Int, type: String, body: String, length: Int? = nil) {
        let reason = [200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                      431: "Request Header Fields Too Large", 503: "Service Unavailable"][status] ?? "Status"
        let text = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(type)\r\nContent-Length: \(length ?? body.utf8.count)\r\n"
            + "Connection: close\r\n\r\n" + body
        var bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            // MSG_NOSIGNAL: a client gone mid-answer is not a SIGPIPE for the server.
            let n = bytes.withUnsafeMutableBytes { Glibc.send(client, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }
}
