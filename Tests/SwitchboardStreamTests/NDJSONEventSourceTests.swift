import Foundation
import SwitchboardCore
import SwitchboardStream
import Testing

private func line(_ id: Int, _ event: AgentEvent) -> String {
    "{\"id\":\(id),\"type\":\"\(event.type)\",\"data\":\(event.encodedData())}\n"
}

private let ended = AgentEvent.callEnded(.init(callId: "c-1", at: 5, outcome: "resolved", firstCallResolved: true))

@Suite struct NDJSONEventSourceTests {
    @Test func readsAPipeToItsEnd() async throws {
        let pipe = Pipe()
        let stream = NDJSONEventSource.read(pipe.fileHandleForReading)
        let text = line(1, started("c-1")) + "\r\n" + "not json\n" + "{\"type\":\"call.started\"}\n"
            + "{\"id\":\"x\",\"type\":\"brand.new\",\"data\":{}}\n" + line(2, ended).dropLast()
        pipe.fileHandleForWriting.write(Data(text.utf8))
        try pipe.fileHandleForWriting.close()
        let messages = await collect(stream) { $0.last == .connection(.ended(reason: "end of input")) }
        #expect(messages == [
            .connection(.live),
            .event(id: "1", started("c-1")),
            .malformed(count: 1, reason: "line is not a JSON object"),
            .malformed(count: 2, reason: "call.started line has no data object"),
            .event(id: "2", ended),
            .connection(.ended(reason: "end of input")),
        ])
    }

    @Test func followsAFileThroughAppendsAndTruncation() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("events-\(UUID().uuidString).ndjson").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try line(1, started("a")).write(toFile: path, atomically: false, encoding: .utf8)
        let stream = NDJSONEventSource.follow(path: path, pollInterval: .milliseconds(20))
        let writer = Task {
            try await Task.sleep(for: .milliseconds(150))
            let handle = try #require(FileHandle(forWritingAtPath: path))
            try handle.seekToEnd()
            let second = line(2, started("b"))
            handle.write(Data(second.prefix(10).utf8))  // half a line: nothing yet
            try await Task.sleep(for: .milliseconds(100))
            handle.write(Data(second.dropFirst(10).utf8))
            try handle.close()
            try await Task.sleep(for: .milliseconds(150))
            try line(1, started("fresh")).write(toFile: path, atomically: false, encoding: .utf8)  // truncated and rewritten
        }
        let messages = await collect(stream) { $0.contains(.event(id: "1", started("fresh"))) }
        try await writer.value
        #expect(messages == [
            .connection(.connecting), .connection(.live),
            .event(id: "1", started("a")), .event(id: "2", started("b")),
            .reconcile, .event(id: "1", started("fresh")),
        ])
    }
}
