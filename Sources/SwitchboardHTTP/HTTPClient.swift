import Foundation

/// An HTTP/1.1 and HTTP/2 client over libcurl for hundreds of concurrent callers.
///
/// All transfers of one client run on one dedicated thread through a curl multi handle,
/// which keeps a connection cache (keep-alive reuse). TLS peer and host verification are
/// always on, with TLS 1.2 as the minimum; plain http is refused unless it goes to this
/// machine (`Endpoint`), before any connection. The client logs nothing.
///
/// ```swift
/// let http = HTTPClient()
/// let response = try await http.send(HTTPRequest("GET", "https://ehr.example/fhir/metadata"))
/// for try await part in http.stream(HTTPRequest("GET", "http://127.0.0.1:7070/events")) { … }
/// ```
public final class HTTPClient: Sendable {
    public struct Configuration: Sendable {
        public var connectTimeout: Duration
        /// The default bound on a whole request, when the request sets none.
        public var requestTimeout: Duration
        /// A streaming response is abandoned after this long without a byte (the request's
        /// `timeout` overrides it).
        public var streamIdleTimeout: Duration
        /// PEM bundle of trusted CAs; nil uses the system store.
        public var caFile: String?
        public var maxConnectionsPerHost: Int
        public var maxResponseBytes: Int
        public var userAgent: String

        public init(connectTimeout: Duration = .seconds(5), requestTimeout: Duration = .seconds(15),
                    streamIdleTimeout: Duration = .seconds(60), caFile: String? = nil,
                    maxConnectionsPerHost: Int = 64, maxResponseBytes: Int = 16 << 20,
                    userAgent: String = "Switchboard/1") {
            self.connectTimeout = connectTimeout; self.requestTimeout = requestTimeout
            self.streamIdleTimeout = streamIdleTimeout; self.caFile = caFile
            self.maxConnectionsPerHost = maxConnectionsPerHost; self.maxResponseBytes = maxResponseBytes
            self.userAgent = userAgent
        }
    }

    public let configuration: Configuration
    /// The loop, or why there is none (libcurl could not be loaded): each request then fails with it.
    private let loop: Result<CurlMultiLoop, HTTPError>

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        loop = CurlFunctions.loaded.map { CurlMultiLoop(configuration: configuration, curl: $0) }
    }

    deinit { (try? loop.get())?.shutdown() }

    /// Sends `request` and returns the whole response, whatever its status. Throws only
    /// when there is no response; cancelling the task aborts the transfer.
    public func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        _ = try Endpoint(request.url)
        let transfer = CurlTransfer(request: request)
        let loop = try self.loop.get()
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<HTTPResponse, HTTPError>, Never>) in
                transfer.sink = .whole { continuation.resume(returning: $0) }
                loop.submit(transfer)
            }
        } onCancel: {
            loop.cancel(transfer)
        }
        return try result.get()
    }

    /// Like ``stream(_:)``, but hands the head and then each chunk of body to `receive`
    /// on the client's own thread as it arrives: no hop to another thread per chunk (a
    /// console following hundreds of events a second parses them where they are read).
    /// `receive` must be quick; it returns false to end the transfer. Returns when the
    /// response ends, or `receive` ended it; throws when the transfer fails; cancelling
    /// the task aborts it.
    public func stream(_ request: HTTPRequest, receive: @escaping @Sendable (HTTPStreamPart) -> Bool) async throws(HTTPError) {
        _ = try Endpoint(request.url)
        let transfer = CurlTransfer(request: request)
        let loop = try self.loop.get()
        let failure = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<HTTPError?, Never>) in
                transfer.sink = .receive(receive, done: { continuation.resume(returning: $0) })
                loop.submit(transfer)
            }
        } onCancel: {
            loop.cancel(transfer)
        }
        if let failure { throw failure }
    }

    /// Starts a long-lived request and yields its head, then body bytes as they arrive.
    /// The sequence ends when the server ends the response and throws `HTTPError` when the
    /// transfer fails. `cancel()`, cancelling the iterating task, or dropping the response
    /// aborts the transfer.
    public func stream(_ request: HTTPRequest) -> HTTPStreamingResponse {
        let transfer = CurlTransfer(request: request)
        let loop: CurlMultiLoop?
        var refused: HTTPError?
        do {
            _ = try Endpoint(request.url)
            loop = try self.loop.get()
        } catch {
            (loop, refused) = (nil, error)
        }
        let parts = AsyncThrowingStream<HTTPStreamPart, any Error> { continuation in
            guard let loop else { continuation.finish(throwing: refused); return }
            transfer.sink = .stream(continuation)
            continuation.onTermination = { _ in loop.cancel(transfer) }
            loop.submit(transfer)
        }
        return HTTPStreamingResponse(parts: parts, abort: { loop?.cancel(transfer) },
                                     taken: { count in if transfer.taken(count) { loop?.resume(transfer) } })
    }
}

/// A response whose body arrives over time (server-sent events, long polls).
public final class HTTPStreamingResponse: AsyncSequence, Sendable {
    public typealias Element = HTTPStreamPart
    private let parts: AsyncThrowingStream<HTTPStreamPart, any Error>
    private let abort: @Sendable () -> Void
    fileprivate let taken: @Sendable (Int) -> Void

    init(parts: AsyncThrowingStream<HTTPStreamPart, any Error>, abort: @escaping @Sendable () -> Void,
         taken: @escaping @Sendable (Int) -> Void) {
        self.parts = parts; self.abort = abort; self.taken = taken
    }

    deinit { abort() }

    /// Aborts the transfer; iteration then ends with `HTTPError.cancelled`.
    public func cancel() { abort() }

    public func makeAsyncIterator() -> Iterator { Iterator(owner: self, base: parts.makeAsyncIterator()) }

    public struct Iterator: AsyncIteratorProtocol {
        // Keeps the response (and so the transfer) alive while someone iterates.
        let owner: HTTPStreamingResponse
        var base: AsyncThrowingStream<HTTPStreamPart, any Error>.Iterator

        /// Each part taken lets the transfer go on if it waited for this reader.
        public mutating func next() async throws -> HTTPStreamPart? {
            let part = try await base.next()
            if case .bytes(let bytes)? = part { owner.taken(bytes.count) }
            return part
        }
    }
}
