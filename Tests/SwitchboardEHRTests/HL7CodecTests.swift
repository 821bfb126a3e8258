import SwitchboardEHR
import Testing

@Suite struct HL7CodecTests {
    let endpoints = HL7Endpoints(sendingApplication: "SWITCHBOARD", sendingFacility: "CLINIC",
                                 receivingApplication: "EHR", receivingFacility: "CLINIC")
    let patient = HL7Patient(id: "p-00042", family: "O'Brien|Smith^Jr", given: "Siobhán~\\&", birthDate: "1980-02-29",
                             phone: "555-0142")

    @Test func escapesEveryDelimiterAndRoundTrips() throws {
        let adt = ADTRegistration(event: .register, patient: patient)
        let text = adt.message(controlID: "c-1", at: 1_795_599_000_000, endpoints: endpoints).encoded()
        #expect(text.contains(#"O'Brien\F\Smith\S\Jr^Siobhán\R\\E\\T\"#))
        #expect(text.hasPrefix("MSH|^~\\&|SWITCHBOARD|CLINIC|EHR|CLINIC|20261125093000+0000||ADT^A04^ADT_A01|c-1|P|2.5.1"))
        #expect(text.split(separator: "\r").count == 4)
        let parsed = try HL7Message(parsing: text)
        #expect(parsed.type == ("ADT", "A04") as (String, String))
        #expect(parsed.controlID == "c-1")
        #expect(try ADTRegistration(parsed) == adt)
    }

    @Test func readsNonDefaultDelimitersAndNewlines() throws {
        let text = "MSH#*@!%#A#B#C#D#20261125##ADT*A08#9#P#2.5\nPID#1##p-7##Lee*Ann@Annie#\n"
        let message = try HL7Message(parsing: text)
        #expect(message.delimiters.field == "#")
        #expect(message.type == ("ADT", "A08") as (String, String))
        #expect(message["PID"]?[5].repetitions.count == 2)
        #expect(try ADTRegistration(message).patient.given == "Ann")
        #expect(try HL7Message(parsing: message.encoded()) == message)
    }

    /// Found by `switchboard-bench fuzz --target hl7`: a second MSH line (two messages run
    /// together) came back with the header's encoding characters in place of its own.
    @Test func aLaterMSHLineIsWrittenBackAsItCame() throws {
        let text = "MSH|^~\\&|A|B|C|D|x||ADT^A04|1|P|2.5\rPID|1||p-1\rMSH|^~|\rMSH\rPV1|1|O\r"
        let message = try HL7Message(parsing: text)
        #expect(message.encoded() == text)
        #expect(try HL7Message(parsing: message.encoded()) == message)
        #expect(message.controlID == "1")
    }

    @Test func keepsHexAndFormattingEscapes() throws {
        let message = try HL7Message(parsing: "MSH|^~\\&|A|B|C|D|x||ADT^A04|1|P|2.5\rPID|1||p||Line\\X0A\\Two\\.br\\")
        #expect(message["PID"]?[5].value == "Line\nTwo\\.br\\")
        #expect(try HL7Message(parsing: message.encoded())["PID"]?[5].value == "Line\nTwo\\.br\\")
    }

    @Test(arguments: [
        ("", HL7ParseError.empty),
        ("PID|1||x", .missingMSH),
        ("MSH|^~\\", .badEncodingCharacters),
        ("MSH|^^\\&|A", .badEncodingCharacters),
        ("MSH|^~\\&|A\rpid|1", .badSegmentName("pid")),
    ])
    func rejectsMalformed(text: String, error: HL7ParseError) {
        #expect(throws: error) { try HL7Message(parsing: text) }
    }

    @Test(arguments: SIUEvent.allCases)
    func siuRoundTrips(event: SIUEvent) throws {
        let siu = SIUAppointment(event: event, placerID: "call-9/book-1", fillerID: event == .new ? nil : "a-12",
                                 start: 1_795_599_000_000, end: 1_795_600_200_000, appointmentType: "ROUTINE",
                                 reason: "Knee pain", practitionerID: "pr-3", locationID: "main", patient: patient)
        let message = try HL7Message(parsing: siu.message(controlID: "m-1", at: 0, endpoints: endpoints).encoded())
        #expect(message.type == ("SIU", event.rawValue) as (String, String))
        #expect(message.segments.map(\.name) == ["MSH", "SCH", "PID", "AIL", "AIP"])
        #expect(try SIUAppointment(message) == siu)
    }

    @Test func siuWithoutEndUsesDuration() throws {
        let text = "MSH|^~\\&|A|B|C|D|x||SIU^S12|1|P|2.5\rSCH|p-1||||||||20|min\rPID|1||p-1||Lee^Ann\rAIP|1||pr-1|||202611250930|||20|min"
        let siu = try SIUAppointment(HL7Message(parsing: text))
        #expect(FHIRInstant(millis: siu.start).text == "2026-11-25T09:30:00Z")
        #expect(siu.end - siu.start == 20 * 60_000)
    }

    @Test func siuErrorsNameTheProblem() throws {
        let noAIP = try HL7Message(parsing: "MSH|^~\\&|A|B|C|D|x||SIU^S12|1|P|2.5\rSCH|p-1\rPID|1||p-1")
        #expect(throws: HL7MessageError.missingSegment("AIP")) { try SIUAppointment(noAIP) }
        let wrongType = try HL7Message(parsing: "MSH|^~\\&|A|B|C|D|x||SIU^S14|1|P|2.5")
        #expect(throws: HL7MessageError.unsupportedType("SIU^S14")) { try SIUAppointment(wrongType) }
    }

    @Test(arguments: [HL7Acknowledgment.Code.accept, .error, .reject])
    func ackRoundTrips(code: HL7Acknowledgment.Code) throws {
        let original = ADTRegistration(event: .update, patient: patient).message(controlID: "orig-7", at: 0, endpoints: endpoints)
        let ack = HL7Acknowledgment(code: code, acknowledgedControlID: "orig-7",
                                    text: code == .accept ? nil : "Slot taken", errorCode: code == .accept ? nil : "205")
        let message = try HL7Message(parsing: ack.message(answering: original, controlID: "ack-1", at: 0).encoded())
        #expect(message.type == ("ACK", "A08") as (String, String))
        #expect(message.header[3].value == "EHR")
        #expect(message["ERR"] == nil || code != .accept)
        #expect(try HL7Acknowledgment(message) == ack)
    }

    @Test func hl7TimesReadOffsetsAndWriteUTC() {
        #expect(HL7Time.parse("202611250430-0500") == 1_795_599_000_000)
        #expect(HL7Time.parse("20261125093000.1234+0000") == 1_795_599_000_000)
        #expect(HL7Time.parse("20261125") == 1_795_564_800_000)
        #expect(HL7Time.parse("2026112509") == nil)
        #expect(HL7Time.format(1_795_599_000_000) == "20261125093000+0000")
    }
}

@Suite struct MLLPTests {
    @Test func framesAndDecodesByteByByte() {
        let a = MLLP.frame("MSH|A"), b = MLLP.frame("MSH|B")
        var decoder = MLLPDecoder()
        var frames: [[UInt8]] = []
        for byte in Array("noise".utf8) + a + [0x0A] + b { frames += decoder.feed([byte]) }
        #expect(frames.map { String(decoding: $0, as: UTF8.self) } == ["MSH|A", "MSH|B"])
        #expect(decoder.discardedBytes == 6)
    }

    @Test func decodesManyFramesInOneRead() {
        var decoder = MLLPDecoder()
        let frames = decoder.feed(MLLP.frame("1") + MLLP.frame("2") + MLLP.frame("3") + [0x0B, 0x34])
        #expect(frames.count == 3)
        #expect(decoder.feed([0x1C, 0x0D]).map { String(decoding: $0, as: UTF8.self) } == ["4"])
    }

    @Test func keepsA1CInsideAFrameAndDropsOversizedOnes() {
        var decoder = MLLPDecoder(maxFrameBytes: 8)
        #expect(decoder.feed([0x0B, 0x41, 0x1C, 0x42, 0x1C, 0x0D]) == [[0x41, 0x1C, 0x42]])
        #expect(decoder.feed([0x0B] + Array(repeating: 0x41, count: 20) + [0x1C, 0x0D]).isEmpty)
        #expect(decoder.feed(MLLP.frame("ok")) == [Array("ok".utf8)])
    }
}
