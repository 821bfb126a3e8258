import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

/// The correction form: why, a new slot from the live free-slot search, a different
/// provider or appointment type, and a note.
struct CorrectionForm {
    let bookingId: String
    let booking: Booking
    /// Set when deciding again after a 412: the appointment as it is now in the EHR.
    let against: AppointmentNow?
    var form: Form
    private var slots: [FreeSlot] = []
    /// The start of the slot chosen before the provider changed: kept if the new
    /// provider has a slot then.
    private var wantedStart: UnixMillis?
    /// The provider whose free slots the slot picker shows (or is loading).
    private var slotsProviderRef: String?
    /// With the practice's providers known, the provider is chosen by name from them;
    /// without (no EHR, or it did not answer), it is typed as a FHIR reference.
    private let providerChoices: [ProviderDirectory.Provider]?
    private let searchesSlots: Bool
    static let keepTime = "keep the current time"

    /// `presentation` names the patient (as the role may see it) and the providers.
    init(booking: Booking, slotsAvailable: Bool, presentation p: ReviewPresentation, against: AppointmentNow? = nil) {
        let providers = p.providers
        self.booking = booking
        self.against = against
        bookingId = booking.bookingId
        let hasProvider = booking.providerRef != nil || providers?.providers.isEmpty == false
        searchesSlots = slotsAvailable && hasProvider
        let providerField: FormField.Kind
        if let providers, !providers.providers.isEmpty {
            var choices = providers.providers
            // A provider the EHR no longer lists stays choosable: it is what the agent booked.
            if let ref = booking.providerRef, providers.provider(ref) == nil {
                choices.insert(.init(ref: ref, name: "\(ref) (not in the EHR's list)", shortName: ref), at: 0)
            }
            providerChoices = choices
            providerField = .choice(choices.map(\.name), selected: choices.firstIndex { $0.ref == booking.providerRef } ?? 0)
        } else {
            providerChoices = nil
            providerField = .text(LineEditor(booking.providerRef ?? ""))
        }
        let kind = booking.kind.label
        let summary = [
            "\(p.patient(booking.patientDisplay)) · \(kind) · \(booking.appointmentType ?? "no type")",
            "\(p.dayAndTime(booking.startAt))–\(p.clock(booking.endAt)) with \(p.providerShortName(booking.providerRef))",
        ]
        form = Form(title: against.map { "Correct \(booking.bookingId) again (EHR version \($0.version))" } ?? "Correct \(booking.bookingId)",
                    summary: summary, fields: [
            FormField(id: "category", label: "What was wrong", kind: .choice(CorrectionCategory.allCases.map(\.label), selected: 0)),
            FormField(id: "slot", label: "New slot", kind: .picker(!slotsAvailable ? .failed("no EHR configured (--ehr)")
                                                                      : hasProvider ? .loading : .failed("the booking names no provider"))),
            FormField(id: "provider", label: "Provider", kind: providerField),
            FormField(id: "type", label: "Type", kind: .text(LineEditor(booking.appointmentType ?? ""))),
            FormField(id: "note", label: "Note", kind: .text(LineEditor())),
        ])
    }

    mutating func handle(_ key: Key) -> Form.Outcome { form.handle(key) }

    /// The provider the correction is for: chosen by name, or typed.
    var chosenProviderRef: String? {
        switch form.fields.first(where: { $0.id == "provider" })?.kind {
        case .choice(_, let selected)?: return providerChoices?[selected].ref
        case .text(let editor)?:
            let typed = editor.text.trimmingCharacters(in: .whitespaces)
            return typed.isEmpty ? nil : typed
        default: return nil
        }
    }

    /// Whose free slots the picker should show: the provider chosen from the list, or the
    /// booked one while a reference is typed (typing does not search on every key).
    private var slotsWanted: String? { providerChoices != nil ? chosenProviderRef : booking.providerRef }

    /// The slots on show are not the wanted provider's (yet): the picker must search.
    var needsSlots: Bool { searchesSlots && slotsWanted != nil && slotsWanted != slotsProviderRef }

    /// Starts over on the wanted provider's slots (a pick among another provider's slots
    /// means nothing for this one); the search to run is for the returned provider.
    mutating func loadSlots() -> String? {
        slotsProviderRef = slotsWanted
        if form.list(of: "slot") != nil { wantedStart = chosenSlot?.start }
        slots = []
        form.setOptions(.loading, for: "slot")
        return slotsProviderRef
    }

    /// Free slots found for `providerRef`; answers for a provider no longer chosen are dropped.
    mutating func slotsArrived(_ result: Result<[FreeSlot], EHRFailure>, providerRef: String, presentation: ReviewPresentation) {
        guard providerRef == slotsProviderRef else { return }
        switch result {
        case .success(let found):
            slots = found
            // Under day headings ("Tue 01"), each slot by its times.
            let entries = [PickerList.Entry(heading: nil, label: Self.keepTime)] + found.map { slot in
                PickerList.Entry(heading: presentation.dayAndTime(slot.start).split(separator: " ").dropLast().joined(separator: " "),
                                 label: "\(presentation.clock(slot.start))–\(presentation.clock(slot.end))")
            }
            var selected = 0
            if let start = wantedStart {
                if let kept = found.firstIndex(where: { $0.start == start }) {
                    selected = kept + 1
                    form.message = nil
                } else {
                    form.message = "\(presentation.providerShortName(providerRef)) has no free slot at \(presentation.dayAndTime(start)): pick another."
                }
            }
            form.setOptions(.list(PickerList(entries: entries, selected: selected)), for: "slot")
        case .failure(let failure):
            form.setOptions(.failed(failure.text), for: "slot")
        }
    }

    /// The free slot picked, nil for "keep the current time" (or while none are shown).
    var chosenSlot: FreeSlot? {
        guard let list = form.list(of: "slot"), list.selected > 0, slots.indices.contains(list.selected - 1) else { return nil }
        return slots[list.selected - 1]
    }

    struct Problem: Error { var text: String }

    /// The correction the form describes, or what is missing.
    func correction() -> Result<Correction, Problem> {
        guard let label = form.value(of: "category"),
              let category = CorrectionCategory.allCases.first(where: { $0.label == label }) else {
            return .failure(Problem(text: "Choose what was wrong."))
        }
        let type = form.value(of: "type")?.trimmingCharacters(in: .whitespaces) ?? ""
        let note = form.value(of: "note")?.trimmingCharacters(in: .whitespaces) ?? ""
        var correction = Correction(bookingId: bookingId, category: category, note: note.isEmpty ? nil : note)
        if let slot = chosenSlot {
            correction.newSlotRef = slot.ref
            correction.newStart = slot.start
            correction.newEnd = slot.end
        }
        if let provider = chosenProviderRef, provider != booking.providerRef { correction.newProviderRef = provider }
        if !type.isEmpty && type != booking.appointmentType { correction.newAppointmentType = type }
        correction.cancel = category == .shouldNotExist
        if category == .wrongTime && correction.newSlotRef == nil {
            return .failure(Problem(text: "Wrong time: pick a new slot under New slot (j/k, or type a time or a day)."))
        }
        // The current time is free in the old provider's calendar, not necessarily the new one's.
        if correction.newProviderRef != nil && correction.newSlotRef == nil && !correction.cancel && providerChoices != nil {
            return .failure(Problem(text: "A new provider needs a slot from their calendar: pick one under New slot."))
        }
        return .success(correction)
    }
}
