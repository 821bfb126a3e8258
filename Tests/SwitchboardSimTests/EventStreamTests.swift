import Foundation
import SwitchboardCore
import SwitchboardStream
import SwitchboardTesting
import Testing

@Suite(.serialized) struct EventStreamTests {
    /// curl as the subscriber: ids increase, heartbeats come when nothing happens, and a
    /// reconnect with Last-Event-ID continues right after the last id seen, with no gap.
    @Test func sseResumesWithoutGap() throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let dir = scratch.path("site"), ndjson = scratch.path("events.ndjson")
        let sim = try RunningProcess(Sim.binary, ["run", "--dir", dir, "--load", "--calls", "20", "--patients", "200",
                                                  "--heartbeat-seconds", "1", "--ndjson", ndjson])
        defer { sim.signal(SIGKILL) }
        #expect(RunningProcess.waitUntil(timeout: 30) { Sim.eventTypes(ndjson).filter { $0.type == "call.ended" }.count == 20 })
        let url = try #require(SimulatorFileText.eventsURL(dir))

        let first = try run("/usr/bin/curl", ["-sN", "-m", "3", "-H", "Last-Event-ID: 0", url], timeout: 10)
        var parser = SSEParser()
        let outputs = parser.feed(Array(first.stdout.utf8))
        let events = outputs.compactMap { if case .event(let e) = $0 { e } else { nil } }
        #expect(events.first?.type == "reconcile")
        let ids = events.dropFirst().compactMap { Int64($0.lastEventID) }
        let written = Sim.eventTypes(ndjson)
        #expect(ids.count >= written.filter { $0.id <= (ids.last ?? 0) }.count && ids.count > 40)
        #expect(ids == ids.sorted() && Set(ids).count == ids.count)
        #expect(ids == written.map(\.id).filter { $0 <= (ids.last ?? 0) }, "SSE and NDJSON disagree")
        #expect(outputs.contains { if case .comment(let c) = $0 { c.hasPrefix(" heartbeat") } else { false } })
        for event in events.dropFirst() { #expect((try? AgentEvent.decode(type: event.type, data: event.data)) != nil) }

        let middle = ids[ids.count / 2]
        let again = try run("/usr/bin/curl", ["-sN", "-m", "2", "-H", "Last-Event-ID: \(middle)", url], timeout: 10)
        var second = SSEParser()
        let resumed = second.feed(Array(again.stdout.utf8)).compactMap { if case .event(let e) = $0 { Int64(e.lastEventID) } else { nil } }
        #expect(Array(resumed.prefix(ids.count - ids.count / 2 - 1)) == Array(ids[(ids.count / 2 + 1)...]))
        sim.signal(SIGTERM)
        #expect(try sim.waitForExit(timeout: 30) == 0)
    }
}

extension SimulatorFileText {
    static func eventsURL(_ dir: String) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/simulator.json"))) as? [String: Any])?["events_url"] as? String
    }
}
