import FlyingFox
import FlyingSocks
import Foundation

/// A FlyingFox server on 127.0.0.1 with an ephemeral port, seen by the tests through
/// plain values so test files need not import FlyingFox (its type names clash with ours).
public final class LoopbackPeer: Sendable {
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [String: String]
        public var queryItems: [(name: String, value: String)]
        public var headers: [String: String]
        public var body: Data
        public func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    public enum Reply: Sendable {
        case full(status: Int, headers: [String: String] = [:], body: Data = Data())
        case stream(status: Int, headers: [String: String] = [:], chunks: AsyncStream<[UInt8]>)

        public static func text(_ status: Int, _ body: String, _ headers: [String: String] = [:]) -> Reply {
            .full(status: status, headers: headers, body: Data(body.utf8))
        }
    }

    private let server: HTTPServer
    private let task: Task<Void, any Error>
    public let port: UInt16
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(server: HTTPServer, task: Task<Void, any Error>, port: UInt16) {
        self.server = server; self.task = task; self.port = port
    }

    public static func start() async throws -> LoopbackPeer {
        let server = HTTPServer(address: try .inet(ip4: "127.0.0.1", port: 0), timeout: 60, logger: .disabled)
        let task = Task { try await server.run() }
        try await server.waitUntilListening()
        guard case .ip4(_, let port) = await server.listeningAddress else { throw CancellationError() }
        return LoopbackPeer(server: server, task: task, port: port)
    }

    /// Routes like `GET /Patient` or `/events` (FlyingFox route syntax, `*` wildcards).
    public func route(_ route: String, _ handler: @escaping @Sendable (Request) async throws -> Reply) async {
        await server.appendRoute(HTTPRoute(stringLiteral: route)) { request in
            var headers: [String: String] = [:]
            for (name, value) in request.headers { headers[name.rawValue.lowercased()] = value }
            let seen = Request(method: request.method.rawValue, path: request.path,
                               query: Dictionary(request.query.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
                               queryItems: request.query.map { (name: $0.name, value: $0.value) },
                               headers: headers, body: try await request.bodyData)
            switch try await handler(seen) {
            case .full(let status, let headers, let body):
                return HTTPResponse(statusCode: HTTPStatusCode(status, phrase: "Status"),
                                    headers: Self.headers(headers), body: body)
            case .stream(let status, let headers, let chunks):
                return HTTPResponse(statusCode: HTTPStatusCode(status, phrase: "Status"), headers: Self.headers(headers),
                                    body: HTTPBodySequence(from: ChunkFeed(chunks: chunks), suggestedBufferSize: 1 << 16))
            }
        }
    }

    public func stop() async {
        await server.stop(timeout: 0)
        task.cancel()
    }

    private static func headers(_ fields: [String: String]) -> HTTPHeaders {
        var headers = HTTPHeaders()
        for (name, value) in fields { headers[HTTPHeader(name)] = value }
        return headers
    }
}

/// Body bytes that the test hands over chunk by chunk, so a response can stay open.
struct ChunkFeed: AsyncBufferedSequence {
    typealias Element = UInt8
    let chunks: AsyncStream<[UInt8]>

    func makeAsyncIterator() -> Iterator { Iterator(base: chunks.makeAsyncIterator()) }

    struct Iterator: AsyncBufferedIteratorProtocol {
        var base: AsyncStream<[UInt8]>.Iterator
        var pending: ArraySlice<UInt8> = []

        mutating func next() async throws -> UInt8? {
            try await nextBuffer(suggested: 1)?.first
        }

        mutating func nextBuffer(suggested count: Int) async throws -> ArraySlice<UInt8>? {
            while pending.isEmpty {
                guard let chunk = await base.next() else { return nil }
                pending = chunk[...]
            }
            let taken = pending.prefix(count)
            pending = pending.dropFirst(taken.count)
            return taken
        }
    }
}

/// A value the server handlers and the test share.
public final class Shared<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    public init(_ value: Value) { self.value = value }
    public func update<R>(_ body: (inout Value) -> R) -> R { lock.lock(); defer { lock.unlock() }; return body(&value) }
    public var current: Value { update { $0 } }
}
