import CCurl
import Foundation

/// One thread driving every transfer of a client through one curl multi handle. The
/// multi handle keeps the connection cache, so requests to the same host reuse
/// connections; callers never block a thread of Swift's cooperative pool.
final class CurlMultiLoop: @unchecked Sendable {
    private struct Inbox {
        var added: [CurlTransfer] = []
        var cancelled: [CurlTransfer] = []
        var resumed: [CurlTransfer] = []
        var stopping = false
    }

    private let configuration: HTTPClient.Configuration
    private let multi: UnsafeMutableRawPointer
    private let inbox = Locked(Inbox())
    // Loop-thread state.
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    private var spareHandles: [UnsafeMutableRawPointer] = []
    private let maxSpareHandles = 64

    private let curl: UnsafePointer<sb_curl>

    init(configuration: HTTPClient.Configuration, curl: CurlFunctions) {
        self.curl = curl.api
        self.configuration = configuration
        multi = sb_curl_multi_init(self.curl)
        _ = sb_curl_multi_setopt_long(self.curl, multi, CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maxConnectionsPerHost)
        _ = sb_curl_multi_setopt_long(self.curl, multi, CURLMOPT_MAXCONNECTS, configuration.maxConnectionsPerHost)
        let thread = Thread { [self] in run() }
        thread.name = "switchboard.curl"
        thread.start()
    }

    func submit(_ transfer: CurlTransfer) {
        inbox.withLock { $0.added.append(transfer) }
        sb_curl_multi_wakeup(curl, multi)
    }

    func cancel(_ transfer: CurlTransfer) {
        transfer.cancelRequested.withLock { $0 = true }
        inbox.withLock { $0.cancelled.append(transfer) }
        sb_curl_multi_wakeup(curl, multi)
    }

    /// A paused stream's reader caught up: let libcurl deliver again.
    func resume(_ transfer: CurlTransfer) {
        inbox.withLock { $0.resumed.append(transfer) }
        sb_curl_multi_wakeup(curl, multi)
    }

    func shutdown() {
        inbox.withLock { $0.stopping = true }
        sb_curl_multi_wakeup(curl, multi)
    }

    private func run() {
        var running: Int32 = 0
        while true {
            let (added, cancelled, resumed, stopping) = inbox.withLock { box in
                defer { box.added = []; box.cancelled = []; box.resumed = [] }
                return (box.added, box.cancelled, box.resumed, box.stopping)
            }
            if stopping { break }
            for transfer in added { start(transfer) }
            for transfer in cancelled where transfer.easy != nil { finish(transfer, .failure(.cancelled)) }
            for transfer in resumed { if let easy = transfer.easy { _ = sb_curl_unpause(curl, easy) } }
            sb_curl_multi_perform(curl, multi, &running)
            collectFinished()
            // Nothing in flight: sleep until `curl_multi_wakeup` (a request, a shutdown)
            // instead of waking every second for nothing. In flight, libcurl's own timers
            // (timeouts, retries) shorten the wait further.
            sb_curl_multi_poll(curl, multi, active.isEmpty ? Int32.max : 1000)
        }
        for transfer in Array(active.values) { finish(transfer, .failure(.cancelled)) }
        for transfer in inbox.withLock({ $0.added }) { transfer.finish(.failure(.cancelled)) }
        spareHandles.forEach { sb_curl_easy_cleanup(curl, $0) }
        sb_curl_multi_cleanup(curl, multi)
    }

    private func start(_ transfer: CurlTransfer) {
        if transfer.cancelRequested.withLock({ $0 }) { transfer.finish(.failure(.cancelled)); return }
        guard let easy = spareHandles.popLast() ?? sb_curl_easy_init(curl) else {
            transfer.finish(.failure(.other(code: -1, "curl_easy_init failed"))); return
        }
        transfer.easy = easy
        if let error = configure(easy, for: transfer) {
            transfer.easy = nil
            recycle(easy)
            transfer.finish(.failure(error)); return
        }
        active[easy] = transfer
        sb_curl_multi_add_handle(curl, multi, easy)
    }

    private func collectFinished() {
        var remaining: Int32 = 0
        while let message = sb_curl_multi_info_read(curl, multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                  let transfer = active[easy] else { continue }
            let code = sb_curl_msg_result(message)
            finish(transfer, code == CURLE_OK ? .success(response(of: transfer, easy)) : .failure(error(code, transfer, easy)))
        }
    }

    private func finish(_ transfer: CurlTransfer, _ result: Result<HTTPResponse, HTTPError>) {
        if let easy = transfer.easy {
            sb_curl_multi_remove_handle(curl, multi, easy)
            active[easy] = nil
            transfer.easy = nil
            recycle(easy)
        }
        transfer.finish(result)
    }

    private func recycle(_ easy: UnsafeMutableRawPointer) {
        sb_curl_easy_reset(curl, easy)
        if spareHandles.count < maxSpareHandles { spareHandles.append(easy) } else { sb_curl_easy_cleanup(curl, easy) }
    }

    private func response(of transfer: CurlTransfer, _ easy: UnsafeMutableRawPointer) -> HTTPResponse {
        var seconds = 0.0
        _ = sb_curl_getinfo_double(curl, easy, CURLINFO_TOTAL_TIME, &seconds)
        var newConnections = 0
        _ = sb_curl_getinfo_long(curl, easy, CURLINFO_NUM_CONNECTS, &newConnections)
        return HTTPResponse(status: transfer.status, headers: transfer.headers, body: transfer.body,
                            totalTime: .microseconds(Int64(seconds * 1_000_000)), reusedConnection: newConnections == 0)
    }

    private func error(_ code: CURLcode, _ transfer: CurlTransfer, _ easy: UnsafeMutableRawPointer) -> HTTPError {
        let detail = transfer.errorDetail.isEmpty ? String(cString: sb_curl_easy_strerror(curl, code)) : transfer.errorDetail
        switch code {
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL: return .invalidURL(detail)
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: return .dns(detail)
        case CURLE_COULDNT_CONNECT: return .couldNotConnect(detail)
        case CURLE_OPERATION_TIMEDOUT:
            var pretransfer = 0.0
            _ = sb_curl_getinfo_double(curl, easy, CURLINFO_PRETRANSFER_TIME, &pretransfer)
            return .timedOut(pretransfer == 0 ? .connect : .transfer, detail)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE,
             CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
             CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_CRL_BADFILE, CURLE_USE_SSL_FAILED:
            return .tls(detail)
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2,
             CURLE_HTTP2_STREAM:
            return .connectionLost(detail)
        case CURLE_WRITE_ERROR where transfer.overLimit: return .responseTooLarge(limit: transfer.bodyLimit)
        default: return .other(code: Int(code.rawValue), detail)
        }
    }

    /// Sets every option of one transfer; returns an error when libcurl refuses one.
    private func configure(_ easy: UnsafeMutableRawPointer, for transfer: CurlTransfer) -> HTTPError? {
        let request = transfer.request
        let config = configuration
        var failed: CURLcode = CURLE_OK
        func check(_ code: CURLcode) { if code != CURLE_OK && failed == CURLE_OK { failed = code } }
        func setLong(_ option: CURLoption, _ value: Int) { check(sb_curl_setopt_long(curl, easy, option, value)) }
        func setString(_ option: CURLoption, _ value: String) { check(sb_curl_setopt_string(curl, easy, option, value)) }

        setString(CURLOPT_URL, request.url)
        setString(CURLOPT_PROTOCOLS_STR, "http,https")
        setLong(CURLOPT_NOSIGNAL, 1)
        setLong(CURLOPT_SSL_VERIFYPEER, 1)
        setLong(CURLOPT_SSL_VERIFYHOST, 2)
        setLong(CURLOPT_SSLVERSION, Int(CURL_SSLVERSION_TLSv1_2))
        if let caFile = config.caFile { setString(CURLOPT_CAINFO, caFile) }
        setLong(CURLOPT_CONNECTTIMEOUT_MS, config.connectTimeout.milliseconds)
        if transfer.isStreaming {
            // Long-lived: no total limit; libcurl gives up only after a silence this long.
            setLong(CURLOPT_TIMEOUT_MS, 0)
            setLong(CURLOPT_LOW_SPEED_LIMIT, 1)
            setLong(CURLOPT_LOW_SPEED_TIME, max(1, Int((request.timeout ?? config.streamIdleTimeout).components.seconds)))
            setLong(CURLOPT_TCP_KEEPALIVE, 1)
        } else {
            setLong(CURLOPT_TIMEOUT_MS, (request.timeout ?? config.requestTimeout).milliseconds)
        }
        setString(CURLOPT_ACCEPT_ENCODING, "")
        setString(CURLOPT_USERAGENT, config.userAgent)
        check(sb_curl_setopt_pointer(curl, easy, CURLOPT_ERRORBUFFER, transfer.errorBuffer))
        let userdata = Unmanaged.passUnretained(transfer).toOpaque()
        check(sb_curl_setopt_write(curl, easy, CURLOPT_HEADERFUNCTION, CurlCallbacks.header))
        check(sb_curl_setopt_pointer(curl, easy, CURLOPT_HEADERDATA, userdata))
        check(sb_curl_setopt_write(curl, easy, CURLOPT_WRITEFUNCTION, CurlCallbacks.body))
        check(sb_curl_setopt_pointer(curl, easy, CURLOPT_WRITEDATA, userdata))
        transfer.bodyLimit = config.maxResponseBytes

        switch request.method {
        case "GET": setLong(CURLOPT_HTTPGET, 1)
        case "HEAD": setLong(CURLOPT_NOBODY, 1)
        default:
            let body = request.body ?? Data()
            setLong(CURLOPT_POSTFIELDSIZE, body.count)
            body.withUnsafeBytes { bytes in
                // COPYPOSTFIELDS copies now, so the buffer need not outlive this call.
                let empty: UInt8 = 0
                withUnsafePointer(to: empty) { fallback in
                    check(sb_curl_setopt_pointer(curl, easy, CURLOPT_COPYPOSTFIELDS,
                                                 UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafeRawPointer(fallback))))
                }
            }
            if request.method != "POST" { setString(CURLOPT_CUSTOMREQUEST, request.method) }
        }

        var list: UnsafeMutablePointer<curl_slist>?
        for field in request.headers { list = sb_curl_slist_append(curl, list, "\(field.name): \(field.value)") }
        // No `Expect: 100-continue` round trip before a body.
        list = sb_curl_slist_append(curl, list, "Expect:")
        transfer.headerList = list
        check(sb_curl_setopt_slist(curl, easy, CURLOPT_HTTPHEADER, list))

        guard failed == CURLE_OK else {
            let detail = String(cString: sb_curl_easy_strerror(curl, failed))
            return failed == CURLE_UNSUPPORTED_PROTOCOL || failed == CURLE_URL_MALFORMAT
                ? .invalidURL(detail) : .other(code: Int(failed.rawValue), detail)
        }
        return nil
    }
}

extension Duration {
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}

/// libcurl's functions (`sb_curl`), loaded the first time a client starts rather than at
/// every start of the program (see the CCurl shim).
struct CurlFunctions: @unchecked Sendable {
    let api: UnsafePointer<sb_curl>

    /// The functions, or why libcurl could not be loaded.
    static let loaded: Result<CurlFunctions, HTTPError> = {
        let api = UnsafeMutablePointer<sb_curl>.allocate(capacity: 1)
        api.initialize(to: sb_curl())
        guard sb_curl_load(api) == 0 else {
            let reason = dlerror().map { String(cString: $0) } ?? "curl_global_init failed"
            return .failure(.other(code: -1, "libcurl could not be loaded (install the libcurl4 package): \(reason)"))
        }
        return .success(CurlFunctions(api: UnsafePointer(api)))
    }()
}
