import Foundation
import SwitchboardEHR

/// HL7v2 (MLLP-framed or not) and FHIR JSON: never a trap; an HL7 message that parses
/// re-encodes to the same message; a FHIR resource that decodes re-encodes to one that does.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEHR(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var mllp = MLLPDecoder(maxFrameBytes: 8192)
    for text in [bytes] + mllp.feed(bytes) {
        guard let message = try? HL7Message(parsing: String(decoding: text, as: UTF8.self)) else { continue }
        _ = try? SIUAppointment(message)
        _ = try? ADTRegistration(message)
        _ = try? HL7Acknowledgment(message)
        precondition((try? HL7Message(parsing: message.encoded())) == message, "an HL7 message does not survive encode and parse")
    }
    if let resource = try? FHIRJSON.decode(FHIRResource.self, from: Data(bytes)) {
        let again = try? FHIRJSON.encode(resource)
        precondition(again.flatMap { try? FHIRJSON.decode(FHIRResource.self, from: $0) } != nil, "a FHIR resource does not survive encode and decode")
    }
    return 0
}
