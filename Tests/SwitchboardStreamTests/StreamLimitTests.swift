import Foundation
import SwitchboardCore
import SwitchboardStream
import Testing

/// A stream that never ends a line, or sends one enormous event, is told as malformed and
/// skipped: never fatal, and never held in memory whole (1 MiB per line and per event).
@Suite struct StreamLimitTests {
    static let mib = 1 << 20

    @Test func anSSELineOverTheLimitIsDroppedAndTheStreamGoesOn() {
        var parser = SSEParser()
        var outputs: [SSEParser.Output] = []
        outputs += parser.feed(Array("data: ".utf8))
        // 8 MiB of one line, fed as a server would send it.
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 << 10)
        for _ in 0..<128 { outputs += parser.feed(chunk) }
        outputs += parser.feed(Array("\n\nid: 2\ndata: {\"ok\":true}\n\n".utf8))
        #expect(outputs == [.tooLarge("a line longer than \(Self.mib) bytes was dropped"),
                            .event(SSEEvent(lastEventID: "2", type: "message", data: "{\"ok\":true}"))])
    }

    /// A line of exactly the limit is kept and one byte more is dropped, however the
    /// bytes are cut into chunks (lines are taken a run of bytes at a time).
    @Test(arguments: [1, 7, 64, 4096])
    func theLineLimitHoldsToTheByteInAnyChunking(chunk: Int) {
        func read(_ payload: Int) -> [SSEParser.Output] {
            var parser = SSEParser(maxLineBytes: 64)
            let bytes = Array(("data: " + String(repeating: "z", count: payload) + "\n\n").utf8)
            return stride(from: 0, to: bytes.count, by: chunk).flatMap { parser.feed(bytes[$0..<min($0 + chunk, bytes.count)]) }
        }
        #expect(read(58) == [.event(SSEEvent(data: String(repeating: "z", count: 58)))])
        #expect(read(59) == [.tooLarge("a line longer than 64 bytes was dropped")])
    }

    @Test func anSSEEventOverTheLimitIsDroppedWholeAndTheNextOneComes() {
        var parser = SSEParser()
        let line = "data: " + String(repeating: "y", count: 100 << 10) + "\n"
        var outputs = parser.feed(Array(("event: call.step\n" + String(repeating: line, count: 20) + "\n").utf8))
        outputs += parser.feed(Array("event: call.ended\ndata: {}\n\n".utf8))
        #expect(outputs == [.tooLarge("an event larger than \(Self.mib) bytes was dropped"),
                            .event(SSEEvent(type: "call.ended", data: "{}"))])
    }

    @Test func anNDJSONLineOverTheLimitIsCountedAsMalformedAndSkipped() async throws {
        let pipe = Pipe()
        let stream = NDJSONEventSource.read(pipe.fileHandleForReading)
        let good = "{\"id\":2,\"type\":\"\(started("c-2").type)\",\"data\":\(started("c-2").encodedData())}\n"
        let writer = Thread {
            let handle = pipe.fileHandleForWriting
            handle.write(Data("{\"id\":1,\"type\":\"call.started\",\"data\":{\"note\":\"".utf8))
            let chunk = Data(repeating: UInt8(ascii: "z"), count: 64 << 10)
            for _ in 0..<64 { handle.write(chunk) }
            handle.write(Data("\"}}\n".utf8))
            handle.write(Data(good.utf8))
            try? handle.close()
        }
        writer.start()
        let messages = await collect(stream) { $0.last == .connection(.ended(reason: "end of input")) }
        #expect(messages == [
            .connection(.live),
            .malformed(count: 1, reason: "a line longer than \(Self.mib) bytes was dropped"),
            .event(id: "2", started("c-2")),
            .connection(.ended(reason: "end of input")),
        ])
    }
}
