import FlyingFox
import FlyingSocks
import Foundation

/// FlyingFox's socket pool with Nagle's algorithm turned off on every socket it waits on.
/// FlyingFox leaves TCP_NODELAY unset on accepted sockets, so each small response waits
/// for the client's delayed ACK: ~44 ms per request on a kept-alive connection instead of
/// ~0.2 ms, which would swamp the EHR latency the simulator is meant to model. The pool is
/// the one hook FlyingFox offers that sees accepted sockets.
public struct PromptSocketPool<Base: AsyncSocketPool>: AsyncSocketPool {
    let base: Base

    public init(_ base: Base) { self.base = base }

    public func prepare() async throws { try await base.prepare() }
    public func run() async throws { try await base.run() }

    public func suspendSocket(_ socket: Socket, untilReadyFor events: Socket.Events) async throws {
        var on: Int32 = 1
        // Fails harmlessly on a listening or non-TCP socket; setting it again is a no-op.
        _ = setsockopt(socket.file.rawValue, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        try await base.suspendSocket(socket, untilReadyFor: events)
    }
}

extension HTTPServer {
    /// An HTTP server on 127.0.0.1 that answers without Nagle delays.
    public static func loopback(port: UInt16, timeout: TimeInterval = 60,
                                handler: (any HTTPHandler)? = nil) throws -> HTTPServer {
        HTTPServer(address: try .inet(ip4: "127.0.0.1", port: port), timeout: timeout,
                   pool: PromptSocketPool(HTTPServer.defaultPool()), logger: .disabled, handler: handler)
    }
}
