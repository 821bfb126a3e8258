import CCurl
import Foundation

/// One request on its way through the multi loop. Everything but `cancelRequested` is
/// touched only on the loop thread.
final class CurlTransfer: @unchecked Sendable {
    enum Sink {
        case whole((Result<HTTPResponse, HTTPError>) -> Void)
        case stream(AsyncThrowingStream<HTTPStreamPart, any Error>.Continuation)
        /// Parts handed over on the loop's thread as they come; false ends the transfer.
        case receive(@Sendable (HTTPStreamPart) -> Bool, done: (HTTPError?) -> Void)
    }

    let request: HTTPRequest
    let cancelRequested = Locked(false)
    var sink: Sink?
    var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
    var status = 0
    var headers = HTTPHeaders()
    var headComplete = false
    var body = Data()
    var bodyLimit = Int.max
    var overLimit = false
    /// The `receive` sink said it wanted no more: the transfer's end is not a failure.
    var stoppedByReader = false
    /// A stream's bytes handed to the reader and not yet taken, and whether libcurl was
    /// told to hold the rest: a reader slower than the server (a 100 MB line) must not
    /// grow memory without bound.
    let flow = Locked((backlog: 0, paused: false))
    static let maxBacklog = 4 << 20

    init(request: HTTPRequest) {
        self.request = request
        errorBuffer.initialize(to: 0)
    }

    deinit {
        // A list exists only if libcurl was loaded to build it.
        if let headerList, case .success(let curl) = CurlFunctions.loaded { sb_curl_slist_free_all(curl.api, headerList) }
        errorBuffer.deallocate()
    }

    var isStreaming: Bool {
        switch sink {
        case .stream?, .receive?: true
        case .whole?, nil: false
        }
    }

    /// One raw header line from libcurl. A status line starts a new header block (after
    /// `100 Continue`), the blank line ends it.
    func receiveHeaderLine(_ line: String) {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("HTTP/") {
            let parts = trimmed.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            headers = HTTPHeaders()
            headComplete = false
        } else if trimmed.isEmpty {
            headComplete = status >= 200
        } else if let colon = trimmed.firstIndex(of: ":") {
            headers.append(name: String(trimmed[..<colon]),
                           value: trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
    }

    enum BodyAnswer { case taken, stop, pause }

    /// Body bytes. `.stop` makes libcurl end the transfer (body over the limit); `.pause`
    /// makes it keep these bytes until the stream's reader has caught up (`taken`).
    func receiveBody(_ bytes: UnsafeRawBufferPointer) -> BodyAnswer {
        switch sink {
        case .stream(let continuation):
            let full = flow.withLock { state in
                if state.backlog >= Self.maxBacklog { state.paused = true; return true }
                state.backlog += bytes.count
                return false
            }
            if full { return .pause }
            continuation.yield(.bytes(Array(bytes)))
        case .receive(let take, _):
            guard take(.bytes(Array(bytes))) else { stoppedByReader = true; return .stop }
        case .whole:
            if body.count + bytes.count > bodyLimit { overLimit = true; return .stop }
            body.append(contentsOf: bytes)
        case nil:
            break
        }
        return .taken
    }

    /// The reader took `count` bytes; true when libcurl should go on (it was paused and
    /// the backlog is down to half).
    func taken(_ count: Int) -> Bool {
        flow.withLock { state in
            state.backlog -= count
            guard state.paused, state.backlog < Self.maxBacklog / 2 else { return false }
            state.paused = false
            return true
        }
    }

    /// Streaming callers see the head as soon as the header block ends, before any body.
    /// False: the reader wants no more (the transfer ends).
    func deliverHeadIfStreaming() -> Bool {
        guard headComplete else { return true }
        switch sink {
        case .stream(let continuation)?:
            continuation.yield(.head(status: status, headers: headers))
        case .receive(let take, _)?:
            if !take(.head(status: status, headers: headers)) { stoppedByReader = true }
        case .whole?, nil:
            return true
        }
        headComplete = false
        return !stoppedByReader
    }

    func finish(_ result: Result<HTTPResponse, HTTPError>) {
        guard let sink else { return }
        self.sink = nil
        switch sink {
        case .whole(let resume): resume(result)
        case .stream(let continuation):
            switch result {
            case .success: continuation.finish()
            case .failure(let error): continuation.finish(throwing: error)
            }
        case .receive(_, let done):
            if case .failure(let error) = result, !stoppedByReader { done(error) } else { done(nil) }
        }
    }

    /// libcurl's message for the failure, empty when it wrote none.
    var errorDetail: String { String(cString: errorBuffer) }
}

/// libcurl callbacks: C function pointers that find their transfer through `userdata`.
enum CurlCallbacks {
    static let header: sb_curl_write_fn = { pointer, size, count, userdata in
        let length = size * count
        guard let pointer, let userdata else { return length }
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
        let line = String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
        transfer.receiveHeaderLine(line)
        return transfer.deliverHeadIfStreaming() ? length : 0
    }

    static let body: sb_curl_write_fn = { pointer, size, count, userdata in
        let length = size * count
        guard let pointer, let userdata else { return length }
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
        switch transfer.receiveBody(UnsafeRawBufferPointer(start: pointer, count: length)) {
        case .taken: return length
        case .stop: return 0
        case .pause: return sb_curl_writefunc_pause()
        }
    }
}
