import Foundation
import SwitchboardCore
import SwitchboardHTTP
import SwitchboardStream
import SwitchboardTesting
import Testing

/// Reads `stream` until `done` holds for what was read, or the time is up.
func collect(_ stream: AsyncStream<EventStreamMessage>, timeout: Duration = .seconds(5),
             until done: @escaping @Sendable ([EventStreamMessage]) -> Bool) async -> [EventStreamMessage] {
    let seen = Shared<[EventStreamMessage]>([])
    await withTaskGroup(of: Void.self) { group in
        group.addTask {
            for await message in stream {
                if seen.update({ $0.append(message); return done($0) }) { return }
            }
        }
        group.addTask { try? await Task.sleep(for: timeout) }
        await group.next()
        group.cancelAll()
    }
    return seen.current
}

func started(_ id: String) -> AgentEvent { .callStarted(.init(callId: id, at: 1_795_599_000_000, intent: "reschedule")) }

func sse(_ id: Int, _ event: AgentEvent) -> String { "id: \(id)\nevent: \(event.type)\ndata: \(event.encodedData())\n\n" }

private let sseHeaders = ["Content-Type": "text/event-stream"]

@Suite struct EventStreamClientTests {
    @Test func decodesEventsCountsMalformedAndIgnoresUnknown() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        let note = AgentEvent.callStep(.init(callId: "c-1", at: 1, step: "note", action: "communication.create",
                                             outcome: .success, detail: "Nuñez 😀"))
        let wire = Array((": hi\n" + sse(1, started("c-1")) + "id: 2\nevent: call.step\ndata: {\"nope\":1}\n\n"
                          + "id: 3\nevent: future.thing\ndata: {}\n\n" + sse(4, note)).utf8)
        await peer.route("GET /events") { _ in
            let (chunks, feed) = AsyncStream<[UInt8]>.makeStream()
            // Three-byte chunks cut through the emoji and the accented letter.
            stride(from: 0, to: wire.count, by: 3).forEach { feed.yield(Array(wire[$0..<min($0 + 3, wire.count)])) }
            return .stream(status: 200, headers: sseHeaders, chunks: chunks)
        }
        let client = EventStreamClient(url: peer.baseURL + "/events", http: HTTPClient())
        let messages = await collect(client.messages()) { $0.contains(.event(id: "4", note)) }
        #expect(messages.prefix(2) == [.connection(.connecting), .connection(.live)])
        #expect(messages.filter { if case .event = $0 { true } else { false } } == [.event(id: "1", started("c-1")), .event(id: "4", note)])
        let malformed = messages.compactMap { if case .malformed(let n, let reason) = $0 { (n, reason) } else { nil } }
        #expect(malformed.map(\.0) == [1])
        #expect(malformed.first?.1.hasPrefix("malformed call.step event: missing field") == true)
    }

    @Test func resumesWithLastEventIDAfterTheServerDrops() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        let resumedFrom = Shared<[String?]>([])
        await peer.route("GET /events") { request in
            let last = request.header("Last-Event-ID")
            resumedFrom.update { $0.append(last) }
            let (chunks, feed) = AsyncStream<[UInt8]>.makeStream()
            if last == nil {
                feed.yield(Array((sse(1, started("a")) + sse(2, started("b"))).utf8))
                feed.finish()  // the server goes away
            } else {
                feed.yield(Array(sse(3, started("c")).utf8))
            }
            return .stream(status: 200, headers: sseHeaders, chunks: chunks)
        }
        let client = EventStreamClient(url: peer.baseURL + "/events", http: HTTPClient(),
                                       backoff: BackoffPolicy(baseMillis: 20, capMillis: 100))
        let messages = await collect(client.messages()) { $0.contains(.event(id: "3", started("c"))) }
        #expect(resumedFrom.current == [nil, "2"])
        let states = messages.filter { if case .event = $0 { false } else { true } }
        #expect(states.count == 5)
        #expect(states.first == .connection(.connecting))
        guard states.count == 5, case .connection(.reconnecting(1, "server closed the stream", _)) = states[2] else {
            Issue.record("no reconnect in \(states)"); return
        }
        #expect(Array(states[3...]) == [.connection(.live), .reconcile])
    }

    @Test func silenceMakesTheStreamStaleAndABytesMakesItFresh() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        await peer.route("GET /events") { _ in
            let (chunks, feed) = AsyncStream<[UInt8]>.makeStream()
            feed.yield(Array(sse(1, started("a")).utf8))
            Task {
                try await Task.sleep(for: .milliseconds(700))
                feed.yield(Array(": heartbeat\n".utf8))
            }
            return .stream(status: 200, headers: sseHeaders, chunks: chunks)
        }
        let client = EventStreamClient(url: peer.baseURL + "/events", http: HTTPClient(),
                                       heartbeatInterval: .milliseconds(200))
        let messages = await collect(client.messages()) { $0.contains(.heartbeat(.fresh)) }
        let freshness = messages.compactMap { if case .heartbeat(let f) = $0 { f } else { nil } }
        #expect(freshness.count == 2)
        guard case .stale(let silent)? = freshness.first else { Issue.record("not stale: \(messages)"); return }
        #expect(silent >= 400)
        #expect(freshness.last == .fresh)
    }

    @Test func errorStatusReconnectsAndNoContentEnds() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        let calls = Shared(0)
        await peer.route("GET /events") { _ in
            calls.update { $0 += 1; return $0 } == 1 ? .text(503, "busy") : .text(204, "")
        }
        let client = EventStreamClient(url: peer.baseURL + "/events", http: HTTPClient(),
                                       backoff: BackoffPolicy(baseMillis: 20, capMillis: 50))
        let messages = await collect(client.messages()) { $0.last == .connection(.ended(reason: "server said no content (204)")) }
        guard messages.count == 3, case .connection(.reconnecting(1, "HTTP 503", _)) = messages[1] else {
            Issue.record("got \(messages)"); return
        }
        #expect(messages.last == .connection(.ended(reason: "server said no content (204)")))
    }
}
