import ArgumentParser
import Foundation
import SwitchboardCore
import SwitchboardEHR
import SwitchboardStream

/// `switchboard-bench fuzz`: a seeded mutator over real messages (what the simulator and
/// the sandbox send) against the parsers that read bytes from outside: SSE, NDJSON, MLLP
/// framing, HL7v2, the FHIR decoders and the event decoder. Besides "no trap", each target
/// checks a property: the same bytes cut into other chunks parse the same; a message that
/// parses re-encodes to one that parses equal.
///
/// The run is reproducible from (target, seed, iteration): a trap leaves the iteration in
/// `--progress`, and `--replay N --out FILE` writes that input for a regression test.
///
///     switchboard-bench fuzz --runs 1000000 --seed 7        # by hand, longer
///     switchboard-bench fuzz --target hl7 --replay 4711 --out crash.hl7
struct FuzzBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Mutated real messages against the SSE, NDJSON, MLLP, HL7v2, FHIR and event parsers; no trap, same result however cut.")

    @Option(name: .customLong("target"), parsing: .upToNextOption, help: "Targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")) (default: all).")
    var targets: [FuzzTarget] = FuzzTarget.allCases

    @Option(help: "Inputs per target.")
    var runs = 20_000

    @Option(help: "The mutator's seed.")
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("Where the current iteration is kept (8 bytes), so a trap can be replayed.", valueName: "file"))
    var progress: String?

    @Option(help: "Only build input number N (of the first target) and write it to --out.")
    var replay: Int?

    @Option(help: ArgumentHelp("Where --replay writes the input.", valueName: "file"))
    var out: String?

    func run() throws {
        if let replay {
            guard let out, let target = targets.first else { throw ValidationError("--replay needs --out and a --target.") }
            var mutator = Mutator(seed: seed, corpus: target.seeds)
            for _ in 0..<replay { _ = mutator.next() }
            try Data(mutator.next()).write(to: URL(fileURLWithPath: out))
            return
        }
        let mark = progress.map { open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) } ?? -1
        defer { if mark >= 0 { close(mark) } }
        var failures = 0
        for target in targets {
            var mutator = Mutator(seed: seed, corpus: target.seeds)
            var split = SeededBytes(seed: seed ^ 0x5eed)
            let start = ContinuousClock.now
            var broken = 0, firstBroken: (Int, String)?
            for i in 0..<runs {
                if mark >= 0 {
                    var record = (UInt32(FuzzTarget.allCases.firstIndex(of: target)!), UInt32(i))
                    _ = withUnsafeBytes(of: &record) { pwrite(mark, $0.baseAddress, 8, 0) }
                }
                let input = mutator.next()
                if let why = target.check(input, split: &split) {
                    broken += 1
                    if firstBroken == nil { firstBroken = (i, why) }
                }
            }
            let seconds = Double((ContinuousClock.now - start).components.attoseconds) / 1e18 + Double((ContinuousClock.now - start).components.seconds)
            print("fuzz \(target.rawValue): \(runs) inputs in \(String(format: "%.1f", seconds)) s, \(broken) broke a property"
                  + (firstBroken.map { " (first: input \($0.0), \($0.1))" } ?? ""))
            failures += broken
        }
        if failures > 0 { throw ExitCode(2) }
    }
}

enum FuzzTarget: String, CaseIterable, ExpressibleByArgument {
    case sse, ndjson, mllp, hl7, fhir, event

    /// Real messages, as the simulator and the sandbox write them.
    var seeds: [[UInt8]] {
        let now: UnixMillis = 1_764_400_000_000
        let events: [AgentEvent] = [
            .callStarted(.init(callId: "c-1", at: now, caller: "***-0100", intent: "book")),
            .callStep(.init(callId: "c-1", at: now, step: "slots", action: "slot.search", outcome: .success, latencyMs: 120, httpStatus: 200, attempt: 1, detail: "3 slots")),
            .callEnded(.init(callId: "c-1", at: now, outcome: "resolved", firstCallResolved: true)),
            .bookingCreated(.init(bookingId: "bk-1", callId: "c-1", kind: .book, startAt: now, reviewRequired: true)),
            .outboxEnqueued(.init(itemId: "ob-1", callId: "c-1", bookingId: "bk-1", operation: "appointment.create")),
            .outboxAttempt(.init(itemId: "ob-1", attempt: 2, outcome: "failed", status: .failed, httpStatus: 503)),
            .ehrState(.init(state: .queueMode, at: now, reason: "unreachable for 10 s")),
            .agentHeartbeat(.init(at: now, agentId: "sim", callsInProgress: 3, outboxPending: 2, ehrState: .online)),
        ]
        switch self {
        case .sse:
            let frames = events.enumerated().map { $0.element.sseFrame(id: Int64($0.offset + 1)) }
            return [frames.joined(), "retry: 1000\n: heartbeat\n\n" + frames[0], "\u{FEFF}" + frames[1].replacingOccurrences(of: "\n", with: "\r\n"),
                    "data: a\ndata: b\r\rid: 7\revent: x\rdata\n\n"].map { Array($0.utf8) }
        case .ndjson:
            return [events.enumerated().map { $0.element.ndjsonLine(id: Int64($0.offset + 1)) }.joined(),
                    "\r\n  \n" + events[2].ndjsonLine(id: 9).replacingOccurrences(of: "\n", with: "\r\n")].map { Array($0.utf8) }
        case .event:
            return events.map { Array(($0.type + "\n" + $0.encodedData()).utf8) }
        case .hl7, .mllp:
            let endpoints = HL7Endpoints(sendingApplication: "SWITCHBOARD", sendingFacility: "CLINIC", receivingApplication: "EHR", receivingFacility: "MAIN")
            let patient = HL7Patient(id: "p-1", family: "O'Brien", given: "Siobhán", birthDate: "19800229", phone: "555-0100")
            let siu = SIUAppointment(event: .new, placerID: "bk-1", fillerID: "a-9", start: now, end: now + 900_000, appointmentType: "ROUTINE",
                                     reason: "check^up~x", practitionerID: "pr-1", locationID: "room 2", patient: patient)
            let messages = [siu.message(controlID: "m-1", at: now, endpoints: endpoints),
                            ADTRegistration(event: ADTRegistration.Event.allCases[0], patient: patient).message(controlID: "m-2", at: now, endpoints: endpoints),
                            HL7Acknowledgment(code: .error, acknowledgedControlID: "m-1", text: "slot taken", errorCode: "207").message(answering: nil, controlID: "m-3", at: now)]
            if self == .hl7 { return messages.map { Array($0.encoded().utf8) } }
            return [messages.flatMap { MLLP.frame($0) }, MLLP.frame(messages[0]) + [0x0b, 0x41] + MLLP.frame(messages[2])]
        case .fhir:
            return [
                #"{"resourceType":"Appointment","id":"x","meta":{"versionId":"7","lastUpdated":"2026-11-20T12:00:00.123+00:00"},"status":"booked","start":"2026-11-25T04:30:00-05:00","end":"2026-11-25T05:00:00-05:00","slot":[{"reference":"Slot/s-1"}],"participant":[{"actor":{"reference":"Patient/1","display":"A B"},"status":"accepted"}]}"#,
                #"{"resourceType":"Bundle","type":"searchset","total":2,"link":[{"relation":"next","url":"http://127.0.0.1/fhir/Slot?page=2"}],"entry":[{"fullUrl":"http://127.0.0.1/fhir/Slot/s-1","resource":{"resourceType":"Slot","id":"s-1","schedule":{"reference":"Schedule/sc-1"},"status":"free","start":"2026-11-25T09:30:00Z","end":"2026-11-25T10:00:00Z"},"search":{"mode":"match"}},{"resource":{"resourceType":"Patient","id":"p-1","name":[{"family":"O'Brien","given":["Siobhán"]}],"telecom":[{"system":"phone","value":"555-0100"}],"gender":"female","birthDate":"1980-02-29"}},{"resource":{"resourceType":"Encounter","id":"e-9"}}]}"#,
                #"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"conflict","diagnostics":"slot taken","details":{"text":"409"}}]}"#,
                #"{"resourceType":"Coverage","id":"cv-1","status":"active","beneficiary":{"reference":"Patient/p-1"},"payor":[{"display":"Acme"}]}"#,
            ].map { Array($0.utf8) }
        }
    }

    /// nil, or which property `input` broke. A trap ends the process (the harness counts it).
    func check(_ input: [UInt8], split: inout SeededBytes) -> String? {
        switch self {
        case .sse:
            var whole = SSEParser(maxLineBytes: 4096, maxEventBytes: 8192)
            var pieces = SSEParser(maxLineBytes: 4096, maxEventBytes: 8192)
            let a = whole.feed(input)
            let b = chunks(input, &split).flatMap { pieces.feed($0) }
            if a != b { return "SSE output depends on where the bytes were cut" }
            if whole.lastEventID != pieces.lastEventID { return "SSE lastEventID depends on where the bytes were cut" }
        case .ndjson:
            var whole = NDJSONLineReader(maxLineBytes: 4096)
            var pieces = NDJSONLineReader(maxLineBytes: 4096)
            if whole.feed(input) != chunks(input, &split).flatMap({ pieces.feed($0) }) { return "NDJSON output depends on where the bytes were cut" }
        case .mllp:
            var whole = MLLPDecoder(maxFrameBytes: 4096)
            var pieces = MLLPDecoder(maxFrameBytes: 4096)
            let frames = whole.feed(input)
            if frames != chunks(input, &split).flatMap({ pieces.feed($0) }) { return "MLLP frames depend on where the bytes were cut" }
            for frame in frames { _ = FuzzTarget.hl7.check(frame, split: &split) }
        case .hl7:
            guard let message = try? HL7Message(parsing: String(decoding: input, as: UTF8.self)) else { return nil }
            _ = try? SIUAppointment(message)
            _ = try? ADTRegistration(message)
            _ = try? HL7Acknowledgment(message)
            for segment in message.segments { for field in segment.fields { _ = HL7Time.parse(field.repetitions.first?.first?.first ?? "") } }
            guard let again = try? HL7Message(parsing: message.encoded()) else { return "an HL7 message that parsed re-encodes to one that does not" }
            if again != message { return "an HL7 message does not survive encode and parse" }
        case .fhir:
            if let value = try? FHIRJSON.decode(FHIRResource.self, from: Data(input)) {
                guard let bytes = try? FHIRJSON.encode(value) else { return "a decoded FHIR resource does not encode" }
                guard (try? FHIRJSON.decode(FHIRResource.self, from: bytes)) != nil else { return "a FHIR resource that decoded re-encodes to one that does not" }
            }
            _ = try? FHIRJSON.decode(Bundle.self, from: Data(input))
            _ = try? FHIRJSON.decode(Appointment.self, from: Data(input))
            _ = try? FHIRJSON.decode(OperationOutcome.self, from: Data(input))
        case .event:
            let text = String(decoding: input, as: UTF8.self)
            let (type, data) = text.firstIndex(of: "\n").map { (String(text[..<$0]), String(text[text.index(after: $0)...])) } ?? (text, "")
            if let event = try? AgentEvent.decode(type: type, data: data) {
                guard (try? AgentEvent.decode(type: event.type, data: event.encodedData())) == event else { return "an event does not survive encode and decode" }
            }
        }
        return nil
    }

    /// The same bytes cut at random places (sometimes one byte at a time).
    private func chunks(_ input: [UInt8], _ random: inout SeededBytes) -> [[UInt8]] {
        var out: [[UInt8]] = [], at = 0
        let small = random.below(4) == 0
        while at < input.count {
            let n = 1 + random.below(small ? 3 : 64)
            out.append(Array(input[at..<min(input.count, at + n)]))
            at += n
        }
        return out
    }
}

/// Mutations of a seed corpus, each input from the previous state only: input N of a seed
/// is the same on every machine.
struct Mutator {
    private var random: SeededBytes
    private let corpus: [[UInt8]]
    static let interesting: [UInt8] = [0x00, 0x0A, 0x0D, 0x0B, 0x1C, 0x1B, 0x7F, 0x80, 0xC3, 0xE2, 0xEF, 0xFF, UInt8(ascii: "|"), UInt8(ascii: "^"),
                                       UInt8(ascii: "~"), UInt8(ascii: "\\"), UInt8(ascii: "&"), UInt8(ascii: "\""), UInt8(ascii: "{"), UInt8(ascii: "}"),
                                       UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: ":"), UInt8(ascii: ","), UInt8(ascii: " ")]
    static let tokens = ["99999999999999999999", "-1", "1e308", "-0", "null", "true", "[]", "{}", "\"\"", "\\u0000", "\\ud800", "MSH|^~\\&|",
                         "\r", "\n\n", "data: ", "id: ", "retry: ", "event: ", "SCH|", "PID|", "\"resourceType\":\"Bundle\"", "\"entry\":[{}]"]

    init(seed: UInt64, corpus: [[UInt8]]) { random = SeededBytes(seed: seed); self.corpus = corpus }

    mutating func next() -> [UInt8] {
        var input = corpus[random.below(corpus.count)]
        for _ in 0..<(1 + random.below(4)) { mutate(&input) }
        return input
    }

    private mutating func mutate(_ input: inout [UInt8]) {
        let at = random.below(input.count + 1)
        switch random.below(9) {
        case 0 where at < input.count: input[at] ^= 1 << UInt8(random.below(8))
        case 1 where at < input.count: input[at] = Self.interesting[random.below(Self.interesting.count)]
        case 2: input.insert(contentsOf: random.bytes(1 + random.below(4), alphabet: Self.interesting), at: at)
        case 3: input.removeSubrange(at..<min(input.count, at + 1 + random.below(32)))
        case 4:
            let piece = Array(input[at..<min(input.count, at + 1 + random.below(64))])
            for _ in 0..<(1 + random.below(random.below(8) == 0 ? 200 : 4)) { input.insert(contentsOf: piece, at: at) }
        case 5:
            let other = corpus[random.below(corpus.count)]
            let from = random.below(other.count + 1)
            input = Array(input[..<at]) + Array(other[from...])
        case 6: input.removeSubrange(at...)
        case 7: input.insert(contentsOf: Array(Self.tokens[random.below(Self.tokens.count)].utf8), at: at)
        default:
            // Deep nesting: parsers that recurse must not run out of stack.
            let open = random.below(2) == 0 ? "[" : "{\"a\":"
            input.insert(contentsOf: Array(String(repeating: open, count: 1 + random.below(random.below(16) == 0 ? 5000 : 40)).utf8), at: at)
        }
    }
}
