import SwitchboardCore

/// HL7 v2 `TS`/`DTM` times: `YYYYMMDDHHMM[SS][±ZZZZ]`. A time without an offset is
/// read as UTC, and this codec always writes `+0000`, so both ends agree without a
/// shared notion of the clinic's zone.
public enum HL7Time {
    public static func format(_ millis: UnixMillis) -> String {
        let t = FHIRInstant(millis: millis).text  // 2026-11-25T09:30:00Z
        let digits = t.filter(\.isNumber)
        return digits + "+0000"
    }

    public static func parse(_ text: String) -> UnixMillis? {
        var body = Substring(text)
        var offset: Int64 = 0
        if let sign = body.lastIndex(where: { $0 == "+" || $0 == "-" }) {
            let zone = body[body.index(after: sign)...]
            guard zone.count == 4, let hh = Int64(zone.prefix(2)), let mm = Int64(zone.suffix(2)) else { return nil }
            offset = (hh * 3600 + mm * 60) * 1000 * (body[sign] == "+" ? 1 : -1)
            body = body[..<sign]
        }
        let whole = body.split(separator: ".", maxSplits: 1).first ?? ""
        guard whole.allSatisfy(\.isNumber), [8, 12, 14].contains(whole.count) else { return nil }
        let s = Array(whole)
        func part(_ from: Int, _ n: Int) -> String { String(s[from ..< from + n]) }
        var iso = "\(part(0, 4))-\(part(4, 2))-\(part(6, 2))"
        if s.count >= 12 { iso += "T\(part(8, 2)):\(part(10, 2)):\(s.count == 14 ? part(12, 2) : "00")Z" }
        guard let millis = FHIRInstant.parse(iso) else { return nil }
        return millis - offset
    }

    /// HL7 `DT` (`YYYYMMDD`) from a FHIR date (`YYYY-MM-DD`), and back.
    public static func date(fromFHIR date: String) -> String { date.filter { $0 != "-" } }

    public static func fhirDate(fromHL7 date: String) -> String? {
        let d = date.prefix(8)
        guard d.count == 8, d.allSatisfy(\.isNumber) else { return nil }
        return "\(d.prefix(4))-\(d.dropFirst(4).prefix(2))-\(d.suffix(2))"
    }
}

/// The patient as PID carries it: PID-3 identifier, PID-5 name, PID-7 birth date, PID-13 phone.
public struct HL7Patient: Sendable, Hashable {
    public var id: String
    public var family: String
    public var given: String
    /// FHIR form, `YYYY-MM-DD`.
    public var birthDate: String?
    public var phone: String?

    public init(id: String, family: String, given: String, birthDate: String? = nil, phone: String? = nil) {
        self.id = id; self.family = family; self.given = given; self.birthDate = birthDate; self.phone = phone
    }

    public init(pid: HL7Segment) {
        id = pid[3].value
        family = pid[5][1]
        given = pid[5][2]
        birthDate = HL7Time.fhirDate(fromHL7: pid[7].value)
        phone = pid[13].value.isEmpty ? nil : pid[13].value
    }

    public var pid: HL7Segment {
        var s = HL7Segment("PID", [])
        s[1] = "1"
        s[3] = HL7Field(components: [id, "", "", "SWITCHBOARD", "MR"])
        s[5] = HL7Field(components: [family, given])
        if let birthDate { s[7] = HL7Field(HL7Time.date(fromFHIR: birthDate)) }
        if let phone { s[13] = HL7Field(phone) }
        return s
    }
}

/// Who sends and who receives, for MSH-3…6.
public struct HL7Endpoints: Sendable, Hashable {
    public var sendingApplication: String
    public var sendingFacility: String
    public var receivingApplication: String
    public var receivingFacility: String

    public init(sendingApplication: String, sendingFacility: String, receivingApplication: String,
                receivingFacility: String) {
        self.sendingApplication = sendingApplication; self.sendingFacility = sendingFacility
        self.receivingApplication = receivingApplication; self.receivingFacility = receivingFacility
    }

    var reversed: HL7Endpoints {
        HL7Endpoints(sendingApplication: receivingApplication, sendingFacility: receivingFacility,
                     receivingApplication: sendingApplication, receivingFacility: sendingFacility)
    }
}

extension HL7Message {
    /// A message with an MSH for the given type (`SIU^S12^SIU_S12`) and the segments after it.
    public init(type code: String, event: String, structure: String, controlID: String, at millis: UnixMillis,
                endpoints: HL7Endpoints, body: [HL7Segment]) {
        var msh = HL7Segment("MSH", ["|", "^~\\&"])
        msh[3] = HL7Field(endpoints.sendingApplication)
        msh[4] = HL7Field(endpoints.sendingFacility)
        msh[5] = HL7Field(endpoints.receivingApplication)
        msh[6] = HL7Field(endpoints.receivingFacility)
        msh[7] = HL7Field(HL7Time.format(millis))
        msh[9] = HL7Field(components: [code, event, structure])
        msh[10] = HL7Field(controlID)
        msh[11] = "P"
        msh[12] = "2.5.1"
        msh[18] = "UNICODE UTF-8"
        self.init(segments: [msh] + body)
    }

    var endpoints: HL7Endpoints {
        HL7Endpoints(sendingApplication: header[3].value, sendingFacility: header[4].value,
                     receivingApplication: header[5].value, receivingFacility: header[6].value)
    }
}

/// SIU scheduling events.
public enum SIUEvent: String, Sendable, Hashable, CaseIterable {
    case new = "S12"
    case reschedule = "S13"
    case cancel = "S15"
}

public enum HL7MessageError: Error, Equatable, Sendable, CustomStringConvertible {
    case unsupportedType(String)
    case missingSegment(String)
    case missingField(String)
    case badValue(field: String, value: String)

    public var description: String {
        switch self {
        case .unsupportedType(let t): "unsupported message type \(t)"
        case .missingSegment(let s): "missing \(s) segment"
        case .missingField(let f): "missing \(f)"
        case .badValue(let f, let v): "bad \(f): \"\(v)\""
        }
    }
}

/// An SIU S12/S13/S15 message: SCH (appointment), PID (patient), AIL (location), AIP (provider).
///
/// SCH-1 is the sender's (placer) appointment id, SCH-2 the EHR's (filler) id when known;
/// SCH-11.4/.5 carry start and end, SCH-8 the appointment type, SCH-7 the reason;
/// AIP-3 names the practitioner and AIP-6/AIP-9 repeat start and duration (minutes).
public struct SIUAppointment: Sendable, Hashable {
    public var event: SIUEvent
    public var placerID: String
    public var fillerID: String?
    public var start: UnixMillis
    public var end: UnixMillis
    public var appointmentType: String?
    public var reason: String?
    public var practitionerID: String
    public var locationID: String?
    public var patient: HL7Patient

    public init(event: SIUEvent, placerID: String, fillerID: String? = nil, start: UnixMillis, end: UnixMillis,
                appointmentType: String? = nil, reason: String? = nil, practitionerID: String,
                locationID: String? = nil, patient: HL7Patient) {
        self.event = event; self.placerID = placerID; self.fillerID = fillerID; self.start = start; self.end = end
        self.appointmentType = appointmentType; self.reason = reason; self.practitionerID = practitionerID
        self.locationID = locationID; self.patient = patient
    }

    public init(_ message: HL7Message) throws(HL7MessageError) {
        let (code, trigger) = message.type
        guard code == "SIU", let event = SIUEvent(rawValue: trigger) else {
            throw .unsupportedType("\(code)^\(trigger)")
        }
        guard let sch = message["SCH"] else { throw .missingSegment("SCH") }
        guard let pid = message["PID"] else { throw .missingSegment("PID") }
        guard let aip = message["AIP"] else { throw .missingSegment("AIP") }
        self.event = event
        placerID = sch[1].value
        fillerID = sch[2].value.isEmpty ? nil : sch[2].value
        guard !placerID.isEmpty || fillerID != nil else { throw .missingField("SCH-1 or SCH-2") }
        let startText = sch[11][4].isEmpty ? aip[6].value : sch[11][4]
        guard let start = HL7Time.parse(startText) else { throw .badValue(field: "SCH-11.4", value: startText) }
        self.start = start
        if let end = HL7Time.parse(sch[11][5]) {
            self.end = end
        } else if let minutes = Int(aip[9].value.isEmpty ? sch[9].value : aip[9].value) {
            end = start + Int64(minutes) * 60_000
        } else {
            throw .missingField("SCH-11.5 or AIP-9")
        }
        appointmentType = sch[8].value.isEmpty ? nil : sch[8].value
        reason = sch[7][2].isEmpty ? (sch[7].value.isEmpty ? nil : sch[7].value) : sch[7][2]
        practitionerID = aip[3].value
        guard !practitionerID.isEmpty else { throw .missingField("AIP-3") }
        let ail = message["AIL"]?[3].value ?? ""
        locationID = ail.isEmpty ? nil : ail
        patient = HL7Patient(pid: pid)
        guard !patient.id.isEmpty else { throw .missingField("PID-3") }
    }

    public func message(controlID: String, at millis: UnixMillis, endpoints: HL7Endpoints) -> HL7Message {
        let minutes = String((end - start) / 60_000)
        var sch = HL7Segment("SCH", [])
        sch[1] = HL7Field(placerID)
        if let fillerID { sch[2] = HL7Field(fillerID) }
        if let reason { sch[7] = HL7Field(components: ["", reason]) }
        if let appointmentType { sch[8] = HL7Field(appointmentType) }
        sch[9] = HL7Field(minutes)
        sch[10] = "min"
        sch[11] = HL7Field(components: ["", "", "", HL7Time.format(start), HL7Time.format(end)])
        sch[25] = HL7Field(event == .cancel ? "Cancelled" : "Booked")
        var ail = HL7Segment("AIL", [])
        ail[1] = "1"
        if let locationID { ail[3] = HL7Field(locationID) }
        var aip = HL7Segment("AIP", [])
        aip[1] = "1"
        aip[3] = HL7Field(practitionerID)
        aip[6] = HL7Field(HL7Time.format(start))
        aip[9] = HL7Field(minutes)
        aip[10] = "min"
        return HL7Message(type: "SIU", event: event.rawValue, structure: "SIU_S12", controlID: controlID, at: millis,
                          endpoints: endpoints, body: [sch, patient.pid, ail, aip])
    }
}

/// ADT A04 (register a patient) and A08 (update patient information).
public struct ADTRegistration: Sendable, Hashable {
    public enum Event: String, Sendable, Hashable, CaseIterable {
        case register = "A04"
        case update = "A08"
    }

    public var event: Event
    public var patient: HL7Patient

    public init(event: Event, patient: HL7Patient) { self.event = event; self.patient = patient }

    public init(_ message: HL7Message) throws(HL7MessageError) {
        let (code, trigger) = message.type
        guard code == "ADT", let event = Event(rawValue: trigger) else { throw .unsupportedType("\(code)^\(trigger)") }
        guard let pid = message["PID"] else { throw .missingSegment("PID") }
        self.event = event
        patient = HL7Patient(pid: pid)
        guard !patient.id.isEmpty else { throw .missingField("PID-3") }
    }

    public func message(controlID: String, at millis: UnixMillis, endpoints: HL7Endpoints) -> HL7Message {
        var evn = HL7Segment("EVN", [])
        evn[1] = HL7Field(event.rawValue)
        evn[2] = HL7Field(HL7Time.format(millis))
        var pv1 = HL7Segment("PV1", [])
        pv1[1] = "1"
        pv1[2] = "O"
        return HL7Message(type: "ADT", event: event.rawValue, structure: "ADT_A01", controlID: controlID, at: millis,
                          endpoints: endpoints, body: [evn, patient.pid, pv1])
    }
}

/// An acknowledgment: MSA-1 says whether the message was applied (`AA`), failed in the
/// application (`AE`, e.g. the slot is taken) or was rejected unread (`AR`, malformed or
/// unsupported). ERR carries the reason for AE/AR.
public struct HL7Acknowledgment: Sendable, Hashable {
    public enum Code: String, Sendable, Hashable, CaseIterable {
        case accept = "AA"
        case error = "AE"
        case reject = "AR"
        // Enhanced-mode commit acknowledgments, read so a peer's CA is not mistaken for garbage.
        case commitAccept = "CA"
        case commitError = "CE"
        case commitReject = "CR"

        public var isSuccess: Bool { self == .accept || self == .commitAccept }
    }

    public var code: Code
    /// MSA-2: the control id of the acknowledged message.
    public var acknowledgedControlID: String
    /// MSA-3 text, or ERR-8 when present.
    public var text: String?
    /// ERR-3.1, an HL7 table 0357 code: 100 segment sequence, 101 required field missing,
    /// 102 data type, 200 unsupported message type, 204 unknown key, 205 duplicate key,
    /// 206 application record locked, 207 application internal error.
    public var errorCode: String?

    public init(code: Code, acknowledgedControlID: String, text: String? = nil, errorCode: String? = nil) {
        self.code = code; self.acknowledgedControlID = acknowledgedControlID; self.text = text; self.errorCode = errorCode
    }

    public init(_ message: HL7Message) throws(HL7MessageError) {
        guard let msa = message["MSA"] else { throw .missingSegment("MSA") }
        guard let code = Code(rawValue: msa[1].value) else { throw .badValue(field: "MSA-1", value: msa[1].value) }
        self.code = code
        acknowledgedControlID = msa[2].value
        let err = message["ERR"]
        let errText = err?[8].value ?? ""
        text = !errText.isEmpty ? errText : (msa[3].value.isEmpty ? nil : msa[3].value)
        let errCode = err?[3].value ?? ""
        errorCode = errCode.isEmpty ? nil : errCode
    }

    /// The ACK for `message`, addressed back to its sender; nil when what came was unreadable.
    public func message(answering message: HL7Message?, controlID: String, at millis: UnixMillis) -> HL7Message {
        var msa = HL7Segment("MSA", [])
        msa[1] = HL7Field(code.rawValue)
        msa[2] = HL7Field(acknowledgedControlID)
        if let text { msa[3] = HL7Field(text) }
        var body = [msa]
        if code != .accept {
            var err = HL7Segment("ERR", [])
            err[3] = HL7Field(components: [errorCode ?? "207", "", "HL70357"])
            err[4] = "E"
            if let text { err[8] = HL7Field(text) }
            body.append(err)
        }
        let unknown = HL7Endpoints(sendingApplication: "", sendingFacility: "", receivingApplication: "",
                                   receivingFacility: "")
        return HL7Message(type: "ACK", event: message?.type.event ?? "", structure: "ACK", controlID: controlID,
                          at: millis, endpoints: message?.endpoints.reversed ?? unknown, body: body)
    }
}
