import SwitchboardCore
import SwitchboardEHR

/// A free slot offered in the correction form.
public struct FreeSlot: Sendable, Equatable {
    var ref: String
    var start: UnixMillis
    var end: UnixMillis
}

/// The live free-slot search behind the correction form: the provider's schedule, then
/// `Slot?schedule&start&status=free` against the EHR, over libcurl.
struct FreeSlotSearch: Sendable {
    let fhir: FHIRClient

    func slots(providerRef: String, from: UnixMillis, days: Int = 7, limit: Int = 60) async throws(FHIRError) -> [FreeSlot] {
        let schedules = try await fhir.schedules(actor: providerRef).value
        var found: [FreeSlot] = []
        for schedule in schedules {
            guard let id = schedule.id else { continue }
            let slots = try await fhir.searchSlots(schedule: "Schedule/\(id)", from: FHIRInstant(millis: from),
                                                   to: FHIRInstant(millis: from + Int64(days) * 86_400_000), status: .free).value
            found += slots.compactMap { slot in slot.id.map { FreeSlot(ref: "Slot/\($0)", start: slot.start.millis, end: slot.end.millis) } }
        }
        return Array(found.sorted { $0.start < $1.start }.prefix(limit))
    }
}
