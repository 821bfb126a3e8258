import Foundation
import SwitchboardHTTP
import SwitchboardTesting
import Testing

@Suite struct HTTPClientTests {
    @Test func getReturnsStatusHeadersAndBody() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        await peer.route("GET /hello") { request in
            .text(203, "hi \(request.query["name"] ?? "")", ["X-Thing": "42", "Content-Type": "text/plain"])
        }
        let http = HTTPClient()
        let response = try await http.send(HTTPRequest("GET", peer.baseURL + "/hello?name=ann"))
        #expect(response.status == 203)
        #expect(response.text == "hi ann")
        #expect(response.headers["x-thing"] == "42")
        #expect(response.headers["CONTENT-TYPE"] == "text/plain")
        #expect(response.totalTime > .zero)
    }

    @Test func sendsMethodHeadersAndBody() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        await peer.route("/echo") { request in
            .text(200, "\(request.method) \(request.header("X-Key") ?? "-") \(String(decoding: request.body, as: UTF8.self))")
        }
        let http = HTTPClient()
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            let response = try await http.send(HTTPRequest(method, peer.baseURL + "/echo", headers: ["X-Key": "k1"],
                                                           body: Data("{\"a\":1}".utf8)))
            #expect(response.text == "\(method) k1 {\"a\":1}")
        }
    }

    @Test func reusesTheConnection() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        await peer.route("GET /ping") { _ in .text(200, "pong") }
        let http = HTTPClient()
        let first = try await http.send(HTTPRequest("GET", peer.baseURL + "/ping"))
        let second = try await http.send(HTTPRequest("GET", peer.baseURL + "/ping"))
        #expect(!first.reusedConnection)
        #expect(second.reusedConnection)
    }

    @Test func slowServerTimesOut() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        await peer.route("GET /slow") { _ in
            try await Task.sleep(for: .seconds(3))
            return .text(200, "late")
        }
        let http = HTTPClient()
        let started = ContinuousClock.now
        await #expect(throws: HTTPError.self) {
            _ = try await http.send(HTTPRequest("GET", peer.baseURL + "/slow", timeout: .milliseconds(300)))
        }
        do {
            _ = try await http.send(HTTPRequest("GET", peer.baseURL + "/slow", timeout: .milliseconds(300)))
        } catch {
            guard case .timedOut(.transfer, _) = error else { Issue.record("expected a transfer timeout, got \(error)"); return }
        }
        // Well under the server's 3 s (twice): the client gave up; loose for a shared machine.
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func closedPortIsCouldNotConnect() async throws {
        let peer = try await LoopbackPeer.start()
        let url = peer.baseURL + "/"
        await peer.stop()
        let http = HTTPClient()
        do {
            _ = try await http.send(HTTPRequest("GET", url))
            Issue.record("expected an error")
        } catch {
            guard case .couldNotConnect = error else { Issue.record("got \(error)"); return }
            #expect(error.isTransient)
        }
    }

    @Test func unknownHostIsDNSFailure() async throws {
        let http = HTTPClient(configuration: .init(connectTimeout: .seconds(3)))
        do {
            _ = try await http.send(HTTPRequest("GET", "https://no-such-host.invalid/"))
            Issue.record("expected an error")
        } catch {
            guard case .dns = error else { Issue.record("got \(error)"); return }
        }
    }

    @Test func onlyHTTPAndHTTPSAreAllowed() async throws {
        let http = HTTPClient()
        do {
            _ = try await http.send(HTTPRequest("GET", "file:///etc/passwd"))
            Issue.record("expected an error")
        } catch {
            guard case .invalidURL = error else { Issue.record("got \(error)"); return }
        }
    }

    @Test func tlsToAPlainServerIsATLSFailure() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        await peer.route("GET /") { _ in .text(200, "plain") }
        let http = HTTPClient()
        do {
            _ = try await http.send(HTTPRequest("GET", "https://127.0.0.1:\(peer.port)/", timeout: .seconds(3)))
            Issue.record("expected an error")
        } catch {
            guard case .tls = error else { Issue.record("got \(error)"); return }
        }
    }

    @Test func bodyOverTheLimitIsRefused() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        await peer.route("GET /big") { _ in .full(status: 200, body: Data(repeating: 65, count: 50_000)) }
        let http = HTTPClient(configuration: .init(maxResponseBytes: 10_000))
        do {
            _ = try await http.send(HTTPRequest("GET", peer.baseURL + "/big"))
            Issue.record("expected an error")
        } catch {
            #expect(error == .responseTooLarge(limit: 10_000))
        }
    }

    @Test func cancellingTheTaskAbortsTheTransfer() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        await peer.route("GET /slow") { _ in
            try await Task.sleep(for: .seconds(5))
            return .text(200, "late")
        }
        let http = HTTPClient()
        let started = ContinuousClock.now
        let task = Task { try await http.send(HTTPRequest("GET", peer.baseURL + "/slow")) }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        let result = await task.result
        #expect(throws: HTTPError.cancelled) { try result.get() }
        // Well before the server's 5 s answer: the transfer was aborted, not waited out.
        #expect(ContinuousClock.now - started < .seconds(4))
    }

    @Test func streamDeliversChunksAsTheyArrive() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        let (chunks, feed) = AsyncStream<[UInt8]>.makeStream()
        await peer.route("GET /events") { _ in
            .stream(status: 200, headers: ["Content-Type": "text/event-stream"], chunks: chunks)
        }
        let http = HTTPClient()
        var parts = http.stream(HTTPRequest("GET", peer.baseURL + "/events")).makeAsyncIterator()
        feed.yield(Array("one".utf8))
        guard case .head(let status, let headers)? = try await parts.next() else { Issue.record("no head"); return }
        #expect(status == 200)
        #expect(headers["content-type"] == "text/event-stream")
        #expect(try await parts.next() == .bytes(Array("one".utf8)))
        // The second chunk is sent only after the first was received: nothing is buffered until the end.
        feed.yield(Array("two".utf8))
        #expect(try await parts.next() == .bytes(Array("two".utf8)))
        feed.finish()
        #expect(try await parts.next() == nil)
    }

    @Test func secretsAreRedacted() {
        let request = HTTPRequest("GET", "https://ehr.example/fhir/Patient",
                                  headers: ["Authorization": "Bearer s3cret", "Accept": "application/fhir+json"])
        #expect(!request.description.contains("s3cret"))
        #expect(request.headers.redacted["authorization"] == "<redacted>")
        #expect(request.headers.redacted["accept"] == "application/fhir+json")
    }

    @Test func twoHundredConcurrentRequestsComplete() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        await peer.route("GET /slot/*") { request in .text(200, request.path) }
        let http = HTTPClient()
        _ = try await http.send(HTTPRequest("GET", peer.baseURL + "/slot/warmup"))

        let count = 200
        let started = ContinuousClock.now
        let bodies = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for i in 0..<count {
                group.addTask { (i, try await http.send(HTTPRequest("GET", peer.baseURL + "/slot/\(i)")).text) }
            }
            return try await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
        }
        let elapsed = ContinuousClock.now - started
        #expect(bodies.count == count)
        #expect((0..<count).allSatisfy { bodies[$0] == "/slot/\($0)" })
        let seconds = Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)
        print("HTTPClient: \(count) concurrent requests in \(Int(seconds * 1000)) ms = \(Int(Double(count) / seconds)) requests/s")

        // Sequential round trips: wall time per request against libcurl's own transfer time.
        var wall = Duration.zero, curl = Duration.zero
        for _ in 0..<100 {
            let t0 = ContinuousClock.now
            let response = try await http.send(HTTPRequest("GET", peer.baseURL + "/slot/x"))
            wall += ContinuousClock.now - t0
            curl += response.totalTime
        }
        print("HTTPClient: sequential mean \(wall / 100) per request, of which libcurl transfer \(curl / 100)")
    }
}
