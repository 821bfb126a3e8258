import Foundation
import SwitchboardCore
import Testing

/// The event reader works on bytes (JSONDecoder was the largest part of following a busy
/// stream); it must read exactly what JSONDecoder and the types' Codable conformance read,
/// and refuse exactly what they refuse, so "malformed" keeps its meaning.
@Suite struct AgentEventDecodeTests {
    static let samples: [AgentEvent] = [
        .callStarted(.init(callId: "c-mwwfc0uy-0", at: 1_795_629_329_683, caller: "***-***-3237", intent: "reschedule")),
        .callStarted(.init(callId: "c-2", at: 0)),
        .callStep(.init(callId: "c-1", at: 1_795_629_329_683, step: "book", action: "appointment.create", outcome: .success,
                        latencyMs: 6, httpStatus: 201, attempt: 1, detail: "Nuñez 😀 \"quoted\" \\ tab\t line\n end \u{1} \u{2028}")),
        .callStep(.init(callId: "c-1", at: -5, step: "note", action: "communication.create", outcome: .majorFailure)),
        .callEnded(.init(callId: "c-1", at: 1_795_629_329_700, outcome: "booked", firstCallResolved: true)),
        .callEnded(.init(callId: "c-1", at: 1, outcome: "", firstCallResolved: false)),
        .bookingCreated(.init(bookingId: "b-1", callId: "c-1", kind: .reschedule, startAt: 1_796_115_600_000, reviewRequired: true)),
        .bookingCreated(.init(bookingId: "b-1", callId: nil, kind: .cancel, startAt: 1, reviewRequired: false)),
        .outboxEnqueued(.init(itemId: "ob-1", callId: "c-1", bookingId: "b-1", operation: "appointment.create")),
        .outboxEnqueued(.init(itemId: "ob-1", callId: nil, bookingId: nil, operation: "x")),
        .outboxAttempt(.init(itemId: "ob-1", attempt: 3, outcome: "success", status: .inFlight, httpStatus: 201)),
        .outboxAttempt(.init(itemId: "ob-1", attempt: 1, outcome: "timeout", status: .dead)),
        .ehrState(.init(state: .queueMode, at: 5, reason: "no answer for 10 s")),
        .ehrState(.init(state: .online, at: 5)),
        .agentHeartbeat(.init(at: 1, agentId: "sim-be1336a8", callsInProgress: 250, outboxPending: 3, ehrState: .degraded)),
        .agentHeartbeat(.init(at: 1, agentId: "a", callsInProgress: 0, outboxPending: 0)),
    ]

    /// Both readers on one input: the same event, or both refuse (with the same reason
    /// where JSONDecoder names a field).
    func agree(_ type: String, _ data: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let fast = Result { () throws(AgentEvent.DecodeError) in try AgentEvent.decode(type: type, data: data) }
        let slow = Result { () throws(AgentEvent.DecodeError) in try AgentEvent.decodeWithFoundation(type: type, data: data) }
        switch (fast, slow) {
        case (.success(let a), .success(let b)):
            #expect(a == b, "\(type) \(data)", sourceLocation: sourceLocation)
        case (.failure(.malformed(_, let a)), .failure(.malformed(_, let b))):
            if b.hasPrefix("missing field") || (b.hasPrefix("bad value at ") && b != "bad value at ") {
                #expect(a == b, "\(type) \(data)", sourceLocation: sourceLocation)
            }
        default:
            Issue.record("\(type) \(data): bytes \(fast), JSONDecoder \(slow)", sourceLocation: sourceLocation)
        }
    }

    /// The fields of `data` as JSON texts, in order (the samples' encodings are flat).
    func fields(_ event: AgentEvent) -> [(String, String)] {
        let object = try! JSONSerialization.jsonObject(with: Data(event.encodedData().utf8)) as! [String: Any]
        return object.keys.sorted().map { key in
            let value = try! JSONSerialization.data(withJSONObject: object[key]!, options: [.fragmentsAllowed])
            return (key, String(decoding: value, as: UTF8.self))
        }
    }

    func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    @Test func readsEveryTypeAsJSONDecoderDoes() throws {
        for event in Self.samples {
            #expect(try AgentEvent.decode(type: event.type, data: event.encodedData()) == event)
            agree(event.type, event.encodedData())
            // Spaces wherever JSON allows them, keys in another order, unknown fields of every kind.
            let spaced = " {\n" + fields(event).reversed().map { "\t\"\($0.0)\" : \($0.1) " }.joined(separator: ",\r\n") + "} "
            #expect(try AgentEvent.decode(type: event.type, data: spaced) == event)
            var extra = fields(event)
            extra.insert(("zz", #"{"a":[1,2.5e-3,{"b":null}],"c":"\u00e9\ud83d\ude00"}"#), at: 0)
            extra.append(("later", "[[[]],{},true,false,-0.0]"))
            #expect(try AgentEvent.decode(type: event.type, data: object(extra)) == event)
            agree(event.type, object(extra))
        }
        // A repeated key: the first value counts, for both.
        agree("call.started", #"{"call_id":"a","at":1,"call_id":"b"}"#)
        #expect(try AgentEvent.decode(type: "call.started", data: #"{"call_id":"a","at":1,"call_id":"b"}"#)
                == .callStarted(.init(callId: "a", at: 1)))
        #expect(try AgentEvent.decode(type: "future.thing", data: "not even JSON") == nil)
    }

    @Test func refusesWhatJSONDecoderRefuses() {
        let replacements = ["null", "\"x\"", "\"\"", "1", "-1", "1.5", "1.0", "1e3", "1E+2", "-0", "true", "false", "{}", "[]",
                            "99999999999999999999", "\"online\"", "\"book\"", "\"succeeded\"", "4", "12", "3"]
        for event in Self.samples {
            let all = fields(event)
            for (i, field) in all.enumerated() {
                var without = all
                without.remove(at: i)
                agree(event.type, object(without))
                for replacement in replacements {
                    var changed = all
                    changed[i] = (field.0, replacement)
                    agree(event.type, object(changed))
                }
                // An escaped key is the same key.
                var escaped = all
                escaped[i] = (field.0.replacingOccurrences(of: "_", with: "\\u005f"), field.1)
                agree(event.type, object(escaped))
            }
            // Cut anywhere: never read, never a crash.
            let data = Array(event.encodedData().utf8)
            for cut in 0..<data.count {
                let text = String(decoding: data[..<cut], as: UTF8.self)
                #expect(throws: AgentEvent.DecodeError.self) { try AgentEvent.decode(type: event.type, data: text) }
                agree(event.type, text)
            }
        }
    }

    @Test func refusesBrokenJSON() {
        let started = #""call_id":"c","at":1"#
        let broken = ["", " ", "[]", "\"x\"", "1", "null", "{", "}", "{} {}", "{},", "{\(started),}", "{\(started)", "{,\(started)}",
                      #"{"call_id":"c","at":01}"#, #"{"call_id":"c","at":1.}"#, #"{"call_id":"c","at":.5}"#, #"{"call_id":"c","at":+1}"#,
                      #"{"call_id":"c","at":1e}"#, #"{"call_id":"c","at":- 1}"#, #"{"call_id":"c\x","at":1}"#,
                      #"{"call_id":"c\u12","at":1}"#, #"{"call_id":"c\ud800","at":1}"#, #"{"call_id":"c\udc00x","at":1}"#,
                      "{\"call_id\":\"a\u{1}b\",\"at\":1}", "{\"call_id\":\"a\nb\",\"at\":1}", #"{"call_id":'c',"at":1}"#,
                      #"{call_id:"c","at":1}"#, #"{"call_id":"c","at":1,"x":tru}"#, #"{"call_id":"c","at":1,"x":nul}"#,
                      #"{"call_id":"c","at":1,"x":[1,]}"#, #"{"call_id":"c","at":1,"x":{"a"}}"#, #"{"call_id":"c","at":1,"x":[}"#,
                      "{\(started),\"x\":" + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}"]
        // JSONDecoder lets a trailing comma pass; it is not JSON (RFC 8259), so the stream's
        // contract (docs/event-stream.md) counts it as malformed.
        let trailingComma = ["{\(started),}", #"{"call_id":"c","at":1,"x":[1,]}"#]
        for text in broken {
            #expect(throws: AgentEvent.DecodeError.self, "\(text)") { try AgentEvent.decode(type: "call.started", data: text) }
            if !trailingComma.contains(text) { agree("call.started", text) }
        }
        #expect(throws: AgentEvent.DecodeError.malformed(type: "call.started", reason: "not a JSON object")) {
            try AgentEvent.decode(type: "call.started", data: " [1] ")
        }
        #expect(throws: AgentEvent.DecodeError.malformed(type: "call.started", reason: "not JSON")) {
            try AgentEvent.decode(type: "call.started", data: "{")
        }
        #expect(throws: AgentEvent.DecodeError.malformed(type: "call.started", reason: "missing field at")) {
            try AgentEvent.decode(type: "call.started", data: #"{"call_id":"c"}"#)
        }
        #expect(throws: AgentEvent.DecodeError.malformed(type: "call.started", reason: "bad value at call_id")) {
            try AgentEvent.decode(type: "call.started", data: #"{"call_id":null,"at":1}"#)
        }
    }
}
