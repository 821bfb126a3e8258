#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SwitchboardCore
import SwitchboardHTTP

/// Serves the event stream as SSE at `GET /events` on 127.0.0.1, one thread per
/// subscriber reading the `EventHub` ring at its own pace.
///
/// A reconnecting client sends `Last-Event-ID` and gets every later event the ring still
/// holds; if some were dropped (or came from a previous run) it first gets a `reconcile`
/// event, which the console's parser ignores but a person reading with curl understands.
/// A subscriber whose socket stays full for `sendTimeout` is disconnected: the agent never waits.
///
///     let server = try EventStreamServer(hub: hub, port: 0)
///     server.start()   // curl -N http://127.0.0.1:\(server.port)/events
public final class EventStreamServer: @unchecked Sendable {
    public let port: UInt16
    private let hub: EventHub
    private let listener: Int32
    private let heartbeat: Duration
    private let sendTimeout: Duration
    private let state = NSLock()
    private var stopped = false
    private var subscribers = 0

    public enum StartError: Error, CustomStringConvertible {
        case cannotListen(port: UInt16, reason: String)
        public var description: String {
            switch self {
            case .cannotListen(let port, let reason): "cannot listen on 127.0.0.1:\(port) for the event stream: \(reason)"
            }
        }
    }

    public init(hub: EventHub, port: UInt16 = 0, heartbeat: Duration = .seconds(10), sendTimeout: Duration = .seconds(5)) throws {
        self.hub = hub; self.heartbeat = heartbeat; self.sendTimeout = sendTimeout
        do { (listener, self.port) = try loopbackListener(port: port) } catch {
            throw StartError.cannotListen(port: port, reason: error.reason)
        }
    }

    public var url: String { "http://127.0.0.1:\(port)/events" }

    public var subscriberCount: Int { state.withLock { subscribers } }

    public func start() {
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "switchboard.events.accept"
        thread.start()
    }

    /// Stops accepting; subscriber threads notice within a second and close their sockets.
    public func stop() {
        state.withLock { stopped = true }
    }

    private var isStopped: Bool { state.withLock { stopped } }

    private func acceptLoop() {
        defer { close(listener) }
        while !isStopped {
            var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 250) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            let thread = Thread { [self] in serve(client) }
            thread.name = "switchboard.events.subscriber"
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var timeout = timeval(tv_sec: Int(sendTimeout.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let request = readRequestHead(fd) else { return }
        guard request.method == "GET" else {
            _ = write(fd, "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        }
        guard request.path == "/events" else {
            let body = #"{"error":"not found; the event stream is at /events"}"#
            _ = write(fd, "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
            return
        }
        state.withLock { subscribers += 1 }
        defer { state.withLock { subscribers -= 1 } }
        let resume = request.lastEventID.flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
        var cursor = resume ?? hub.newestID
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-cache\r\n"
            + "Connection: close\r\nX-Accel-Buffering: no\r\n\r\nretry: 1000\n: switchboard-sim event stream\n\n"
        guard write(fd, head) else { return }
        var mayReportMiss = resume != nil
        var lastWrite = ContinuousClock.now
        while !isStopped && !hub.isClosed {
            let batch = hub.events(after: cursor, waitingUpTo: .seconds(1))
            if batch.entries.isEmpty {
                guard ContinuousClock.now - lastWrite >= heartbeat else { continue }
                guard write(fd, ": heartbeat \(Clock.nowMillis())\n\n") else { return }
                lastWrite = .now
                continue
            }
            var text = ""
            if batch.missed && mayReportMiss {
                text += "event: reconcile\ndata: {\"reason\":\"events after \(cursor) are no longer held; re-read the databases\"}\n\n"
            } else if batch.missed {
                // A live subscriber that fell behind the whole ring: drop it; it reconnects and reconciles.
                return
            }
            mayReportMiss = false
            for entry in batch.entries { text += entry.frame }
            guard write(fd, text) else { return }
            cursor = batch.entries[batch.entries.count - 1].id
            lastWrite = .now
        }
    }

    private struct RequestHead {
        var method: String
        var path: String
        var lastEventID: String?
    }

    /// Reads up to the blank line; a client that sends nothing within the timeout is dropped.
    private func readRequestHead(_ fd: Int32) -> RequestHead? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while bytes.count < 16_384 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            bytes += buffer[..<n]
            if let end = bytes.firstRange(of: [13, 10, 13, 10]) ?? bytes.firstRange(of: [10, 10]) {
                let lines = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
                    .split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
                    .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\r")) }
                let first = lines.first?.split(separator: " ") ?? []
                guard first.count >= 2 else { return nil }
                var head = RequestHead(method: String(first[0]), path: String(first[1].split(separator: "?").first ?? ""))
                for line in lines.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    if line[..<colon].lowercased() == "last-event-id" {
                        head.lastEventID = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    }
                }
                return head
            }
        }
        return nil
    }

    /// Writes everything or reports failure (peer gone, or its socket full for `sendTimeout`).
    private func write(_ fd: Int32, _ text: String) -> Bool {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            bytes = bytes.dropFirst(n)
        }
        return true
    }
}
