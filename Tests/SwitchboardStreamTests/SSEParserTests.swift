import SwitchboardStream
import Testing

private func parse(_ chunks: [[UInt8]]) -> [SSEParser.Output] {
    var parser = SSEParser()
    return chunks.flatMap { parser.feed($0) }
}

private func parse(_ text: String) -> [SSEParser.Output] { parse([Array(text.utf8)]) }

private func events(_ outputs: [SSEParser.Output]) -> [SSEEvent] {
    outputs.compactMap { if case .event(let e) = $0 { e } else { nil } }
}

@Suite struct SSEParserTests {
    @Test func fieldsPerTheSpec() {
        let outputs = parse("""
        : heartbeat
        id: 7
        event: call.started
        data: {"a":
        data:1}

        data
        data

        id: 8
        retry: 2500
        retry: 1x

        event: x
        data:  two spaces


        """)
        #expect(outputs.first == .comment(" heartbeat"))
        #expect(events(outputs) == [
            SSEEvent(lastEventID: "7", type: "call.started", data: "{\"a\":\n1}"),
            SSEEvent(lastEventID: "7", type: "message", data: "\n"),
            SSEEvent(lastEventID: "8", type: "x", data: " two spaces"),
        ])
        #expect(outputs.contains(.retry(2500)))
        #expect(!outputs.contains(.retry(1)))
    }

    @Test func idOnlyBlockUpdatesTheLastIDWithoutAnEvent() {
        var parser = SSEParser()
        #expect(parser.feed(Array("id: 41\n\n".utf8)).isEmpty)
        #expect(parser.lastEventID == "41")
        #expect(parser.feed(Array("id: a\u{0}b\ndata: x\n\n".utf8)) == [.event(SSEEvent(lastEventID: "41", data: "x"))])
    }

    @Test(arguments: ["\n", "\r", "\r\n"])
    func lineEndings(_ end: String) {
        let text = ["id: 1", "event: e", "data: a", "data: b", "", ""].joined(separator: end)
        #expect(events(parse(text)) == [SSEEvent(lastEventID: "1", type: "e", data: "a\nb")])
    }

    @Test func crlfSplitAcrossChunksIsOneLineEnd() {
        let outputs = parse([Array("data: a\r".utf8), Array("\ndata: b\r".utf8), Array("\n\r".utf8), Array("\n".utf8)])
        #expect(events(outputs) == [SSEEvent(data: "a\nb")])
    }

    @Test func byteOrderMarkIsDroppedOnlyAtTheStart() {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let body = Array("data: x\n\n".utf8)
        #expect(events(parse([[0xEF], [0xBB], [0xBF] + body])) == [SSEEvent(data: "x")])
        // A second BOM is part of the field name, so the line is an unknown field.
        #expect(events(parse([bom + bom + body])).isEmpty)
        // Bytes that only begin like a BOM are kept.
        #expect(events(parse([[0xEF], Array("data: y\n\n".utf8)])).isEmpty)
    }

    @Test func everySplitPointGivesTheSameEvents() {
        let text = "id: 1\r\nevent: call.step\r\ndata: {\"note\":\"Nuñez 😀 ok\"}\r\n\r\n:hb\rdata: é\n\n"
        let bytes = Array(text.utf8)
        let whole = parse([bytes])
        #expect(events(whole).map(\.data) == ["{\"note\":\"Nuñez 😀 ok\"}", "é"])
        for cut in 0...bytes.count {
            #expect(parse([Array(bytes[..<cut]), Array(bytes[cut...])]) == whole, "split at \(cut)")
        }
        #expect(parse(bytes.map { [$0] }) == whole)
    }

    @Test func invalidUTF8IsReplaced() {
        #expect(events(parse([Array("data: a".utf8) + [0xFF] + Array("b\n\n".utf8)])) == [SSEEvent(data: "a\u{FFFD}b")])
    }

    @Test func unfinishedEventIsDiscardedOnReset() {
        var parser = SSEParser()
        _ = parser.feed(Array("id: 5\n\ndata: half".utf8))
        parser.reset()
        #expect(parser.feed(Array("\n\n".utf8)).isEmpty)
        #expect(parser.lastEventID == "5")
    }
}
