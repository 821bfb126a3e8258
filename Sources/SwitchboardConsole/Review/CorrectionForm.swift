import Foundation
import SwitchboardCore
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
    private var slotLabels: [String] = []
    static let keepTime = "keep the current time"

    init(booking: Booking, slotsAvailable: Bool, against: AppointmentNow? = nil) {
        self.booking = booking
        self.against = against
        bookingId = booking.bookingId
        form = Form(title: against.map { "Correct \(booking.bookingId) again (EHR version \($0.version))" } ?? "Correct \(booking.bookingId)", fields: [
            FormField(id: "category", label: "What was wrong", kind: .choice(CorrectionCategory.allCases.map(\.label), selected: 0)),
            FormField(id: "slot", label: "New slot", kind: .picker(slotsAvailable ? .loading : .failed("no EHR configured (--ehr)"))),
            FormField(id: "provider", label: "Provider", kind: .text(LineEditor(booking.providerRef ?? ""))),
            FormField(id: "type", label: "Type", kind: .text(LineEditor(booking.appointmentType ?? ""))),
            FormField(id: "note", label: "Note", kind: .text(LineEditor())),
        ])
    }

    mutating func handle(_ key: Key) -> Form.Outcome { form.handle(key) }

    mutating func slotsArrived(_ result: Result<[FreeSlot], EHRFailure>, presentation: ReviewPresentation) {
        switch result {
        case .success(let found):
            slots = found
            slotLabels = [Self.keepTime] + found.map { "\(presentation.dayAndTime($0.start))–\(presentation.clock($0.end))" }
            form.setOptions(.loaded(slotLabels, selected: 0), for: "slot")
        case .failure(let failure):
            form.setOptions(.failed(failure.text), for: "slot")
        }
    }

    struct Problem: Error { var text: String }

    /// The correction the form describes, or what is missing.
    func correction() -> Result<Correction, Problem> {
        guard let label = form.value(of: "category"),
              let category = CorrectionCategory.allCases.first(where: { $0.label == label }) else {
            return .failure(Problem(text: "Choose what was wrong."))
        }
        let provider = form.value(of: "provider")?.trimmingCharacters(in: .whitespaces) ?? ""
        let type = form.value(of: "type")?.trimmingCharacters(in: .whitespaces) ?? ""
        let note = form.value(of: "note")?.trimmingCharacters(in: .whitespaces) ?? ""
        var correction = Correction(bookingId: bookingId, category: category, note: note.isEmpty ? nil : note)
        if let chosen = form.value(of: "slot"), let index = slotLabels.firstIndex(of: chosen), index > 0 {
            let slot = slots[index - 1]
            correction.newSlotRef = slot.ref
            correction.newStart = slot.start
            correction.newEnd = slot.end
        }
        if !provider.isEmpty && provider != booking.providerRef { correction.newProviderRef = provider }
        if !type.isEmpty && type != booking.appointmentType { correction.newAppointmentType = type }
        correction.cancel = category == .shouldNotExist
        if category == .wrongTime && correction.newSlotRef == nil {
            return .failure(Problem(text: "Wrong time: pick a new slot (Left/Right on New slot)."))
        }
        return .success(correction)
    }
}
