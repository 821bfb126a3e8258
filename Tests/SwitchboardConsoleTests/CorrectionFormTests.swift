import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardEHR
import SwitchboardTesting
import TerminalUI
import Testing
@testable import SwitchboardConsole

/// The correction form's provider choice: names from the EHR, and the slot picker
/// following the provider chosen.
@Suite struct CorrectionFormTests {
    static let directory = ProviderDirectory(practitioners: [
        Practitioner(id: "pr-5", active: true, name: [HumanName(family: "Al-Sayed", given: ["Fatima"], prefix: ["Dr."])]),
        Practitioner(id: "pr-1", active: true, name: [HumanName(family: "Okonkwo", given: ["Amara"], prefix: ["Dr."])]),
        Practitioner(id: "np-9", active: true, name: [HumanName(text: "Nurse Practitioner Lee")]),
        Practitioner(id: "gone", active: false, name: [HumanName(family: "Left", given: ["Long"])]),
        Practitioner(id: "bare", active: nil, name: nil),
    ])

    static let booking = Booking(bookingId: "b-1", callId: "c-1", kind: .book, appointmentRef: "Appointment/a1", appointmentVersion: "1",
                                 patientRef: "Patient/p1", patientDisplay: "Ann Lee", providerRef: "Practitioner/pr-5",
                                 appointmentType: "ROUTINE", startAt: 1_800_000_000_000, endAt: 1_800_001_200_000,
                                 bookedAt: 1_799_990_000_000, reviewRequired: true, flags: [])

    static func slots(_ minutes: [Int64]) -> [FreeSlot] {
        minutes.map { FreeSlot(ref: "Slot/s\($0)", start: 1_800_000_000_000 + $0 * 60_000, end: 1_800_000_000_000 + ($0 + 20) * 60_000) }
    }

    static let presentation: ReviewPresentation = {
        var p = ReviewPresentation(identity: .init(user: "t", role: .reviewer), now: 0, overdueMillis: 1, timeZone: TimeZone(identifier: "UTC")!)
        p.providers = directory
        return p
    }()

    @Test func directoryNamesActiveProvidersByFamily() {
        let d = Self.directory
        #expect(d.providers.map(\.ref) == ["Practitioner/pr-5", "Practitioner/bare", "Practitioner/np-9", "Practitioner/pr-1"])
        #expect(d.provider("Practitioner/pr-5")?.name == "Dr. Fatima Al-Sayed")
        #expect(d.provider("Practitioner/pr-5")?.shortName == "Dr. Al-Sayed")
        #expect(d.provider("Practitioner/np-9")?.name == "Nurse Practitioner Lee")
        #expect(d.provider("Practitioner/bare")?.name == "bare", "no name: the id stands in")
        #expect(d.provider("Practitioner/gone") == nil, "inactive providers are not offered")
        #expect(d.refs(named: "al-sayed") == ["Practitioner/pr-5"])
        #expect(d.refs(named: "OKONKWO") == ["Practitioner/pr-1"])
        #expect(Set(d.refs(named: "dr.")) == ["Practitioner/pr-5", "Practitioner/pr-1"])
    }

    @Test func choosingAnotherProviderSearchesTheirSlotsAndDropsStaleAnswers() {
        var form = CorrectionForm(booking: Self.booking, slotsAvailable: true, presentation: Self.presentation)
        #expect(form.form.value(of: "provider") == "Dr. Fatima Al-Sayed", "the booked provider is chosen at first")
        #expect(form.needsSlots)
        #expect(form.loadSlots() == "Practitioner/pr-5")
        #expect(!form.needsSlots)

        // Tab to Provider, Right: the next provider by family name; the picker starts over.
        _ = form.handle(.tab); _ = form.handle(.tab); _ = form.handle(.right)
        #expect(form.chosenProviderRef == "Practitioner/bare")
        #expect(form.needsSlots)
        #expect(form.loadSlots() == "Practitioner/bare")
        // The first provider's answer comes late: it must not fill the picker.
        form.slotsArrived(.success(Self.slots([0, 20])), providerRef: "Practitioner/pr-5", presentation: Self.presentation)
        #expect(form.form.fields[1].kind == .picker(.loading))
        form.slotsArrived(.success(Self.slots([40])), providerRef: "Practitioner/bare", presentation: Self.presentation)
        guard case .picker(.loaded(let labels, selected: 0)) = form.form.fields[1].kind else {
            Issue.record("slots of the chosen provider shown: \(form.form.fields[1].kind)")
            return
        }
        #expect(labels.count == 2 && labels[0] == CorrectionForm.keepTime)
    }

    @Test func theFormSaysWhichBookingItCorrects() {
        let form = CorrectionForm(booking: Self.booking, slotsAvailable: true, presentation: Self.presentation)
        var grid = CellGrid(width: 70, height: 16)
        form.form.render(into: &grid, rect: Rect(x: 0, y: 0, width: 70, height: 16), theme: ThemeCatalog(directories: []).resolve(nil).theme)
        let lines = grid.screenText.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.contains { $0.contains("Ann Lee · book · ROUTINE") })
        #expect(lines.contains { $0.contains("Fri 15 08:00–08:20 with Dr. Al-Sayed") })
        #expect(lines.contains { $0.contains("Provider") && $0.contains("‹ Dr. Fatima Al-Sayed ›") })
    }

    @Test func aNewProviderNeedsASlotFromTheirCalendar() throws {
        var form = CorrectionForm(booking: Self.booking, slotsAvailable: true, presentation: Self.presentation)
        _ = form.loadSlots()
        _ = form.handle(.right)  // wrong provider
        _ = form.handle(.tab); _ = form.handle(.tab); _ = form.handle(.left)
        #expect(form.chosenProviderRef == "Practitioner/pr-1")
        _ = form.loadSlots()
        form.slotsArrived(.success(Self.slots([60, 80])), providerRef: "Practitioner/pr-1", presentation: Self.presentation)
        guard case .failure(let problem) = form.correction() else {
            Issue.record("a new provider at the old time was accepted")
            return
        }
        #expect(problem.text.contains("slot from their calendar"))
        _ = form.handle(.backTab); _ = form.handle(.right)
        let correction = try form.correction().get()
        #expect(correction.newProviderRef == "Practitioner/pr-1")
        #expect(correction.newSlotRef == "Slot/s60")
    }

    @Test func withoutTheDirectoryTheProviderIsTypedAndABookedUnknownOneStaysChoosable() {
        var typed = CorrectionForm(booking: Self.booking, slotsAvailable: false,
                                   presentation: ReviewPresentation(identity: .init(user: "t", role: .reviewer), now: 0, overdueMillis: 1))
        #expect(typed.chosenProviderRef == "Practitioner/pr-5")
        #expect(!typed.needsSlots, "no EHR: nothing to search")
        _ = typed.handle(.tab); _ = typed.handle(.tab)
        for _ in 0 ..< 4 { _ = typed.handle(.backspace) }
        for c in "dr-x" { _ = typed.handle(.char(c)) }
        #expect(typed.chosenProviderRef == "Practitioner/dr-x")

        var unknown = Self.booking
        unknown.providerRef = "Practitioner/locum"
        let listed = CorrectionForm(booking: unknown, slotsAvailable: true, presentation: Self.presentation)
        #expect(listed.chosenProviderRef == "Practitioner/locum")
        #expect(listed.form.value(of: "provider") == "Practitioner/locum (not in the EHR's list)")
    }
}

/// The providers' names, once the EHR has told them, reach every screen that shows them.
@Suite struct ProviderNamesTests {
    @Test func namesReachTheReviewListAndTheCallsDetails() throws {
        let practice = try ReviewScreenTests.Practice()
        let driver = try practice.driver(size: Size(width: 130, height: 40))
        #expect(!driver.screenText.contains("Dr. Okafor"))
        let directory = ProviderDirectory(practitioners: [
            Practitioner(id: "dr-okafor", active: true, name: [HumanName(family: "Okafor", given: ["Ngozi"], prefix: ["Dr."])]),
        ])
        driver.post(.providersFound(.success(directory)))
        #expect(driver.screenText.contains("Dr. Okafor"), "the Review list names the provider")

        let callId = try #require(try sqlite3(practice.auditPath, """
            SELECT b.call_id FROM booking b JOIN call c ON c.call_id = b.call_id
            WHERE b.provider_ref = 'Practitioner/dr-okafor' AND c.ended_at IS NOT NULL LIMIT 1
            """).split(separator: "\n").first.map(String.init))
        driver.press("2", "/")
        driver.type(callId)
        driver.press("enter", "enter")
        let details = driver.screenText
        #expect(details.contains("Call \(callId)") && details.contains("Bookings"), "\(details)")
        #expect(details.contains("Dr. Okafor"), "the call's booking names its provider")
    }
}
