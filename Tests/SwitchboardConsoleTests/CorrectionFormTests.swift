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
        var p = ReviewPresentation(identity: .init(user: "t", role: .reviewer), now: 0, overdueMillis: 1, time: TimeText(timeZone: TimeZone(identifier: "UTC")!))
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
        guard case .picker(.list(let list)) = form.form.fields[1].kind, list.selected == 0 else {
            Issue.record("slots of the chosen provider shown: \(form.form.fields[1].kind)")
            return
        }
        #expect(list.entries.count == 2 && list.entries[0].label == CorrectionForm.keepTime)
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
                                   presentation: ReviewPresentation(identity: .init(user: "t", role: .reviewer), now: 0, overdueMillis: 1, time: TimeText()))
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

/// The slot picker: a list under day headings, moved through a day at a time and jumped
/// to by typing a time or a day, that keeps the chosen time across a change of provider.
@Suite struct SlotPickerTests {
    typealias T = CorrectionFormTests
    /// Fri 15 08:00, 08:20, 14:00, 14:20; Sat 16 09:00, 14:40; Sun 17 08:00 (UTC).
    static let minutes: [Int64] = [0, 20, 360, 380, 1440 + 60, 1440 + 400, 2880]
    static let theme = ThemeCatalog(directories: []).resolve(nil).theme

    /// A form with the booked provider's slots loaded and the picker focused.
    static func loadedForm() -> CorrectionForm {
        var form = CorrectionForm(booking: T.booking, slotsAvailable: true, presentation: T.presentation)
        _ = form.loadSlots()
        form.slotsArrived(.success(T.slots(minutes)), providerRef: "Practitioner/pr-5", presentation: T.presentation)
        _ = form.handle(.tab)
        return form
    }

    static func chosen(_ form: CorrectionForm) -> String? { form.form.value(of: "slot") }

    static func lines(_ form: CorrectionForm, width: Int = 70, height: Int) -> [String] {
        var grid = CellGrid(width: width, height: height)
        form.form.render(into: &grid, rect: Rect(x: 0, y: 0, width: width, height: height), theme: theme)
        return grid.screenText.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    @Test func slotsAreListedUnderTheirDays() throws {
        let form = Self.loadedForm()
        let list = try #require(form.form.list(of: "slot"))
        #expect(list.entries.first == PickerList.Entry(heading: nil, label: CorrectionForm.keepTime), "keeping the time comes first")
        #expect(list.entries.compactMap(\.heading).reduce(into: [String]()) { if $0.last != $1 { $0.append($1) } } == ["Fri 15", "Sat 16", "Sun 17"])
        #expect(list.entries[1].label == "08:00–08:20" && list.entries[1].value == "Fri 15 08:00–08:20")
        // The open list, in the room of an 80x24 screen's body: the days as headings, the slots under them.
        let shown = Self.lines(form, height: 19)
        let at = try #require(shown.firstIndex { $0.contains("New slot") && $0.contains("‹ keep the current time › 1/8") })
        let below = shown[(at + 1)...].map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "│ ")) }
        #expect(below.prefix(5).elementsEqual(["]/[ day  type 14 or tue to jump", "› keep the current time", "Fri 15",
                                               "08:00–08:20", "08:20–08:40"]), "\(below)")
        #expect(shown.contains { $0.contains("Provider") }, "the fields after the picker stay on screen")
        #expect(shown.contains { $0.contains("more") }, "says there is more below")
        // More room shows every day.
        let tall = Self.lines(form, height: 45).joined(separator: "\n")
        #expect(tall.contains("Sat 16") && tall.contains("Sun 17") && !tall.contains("more"))
        // Closed (another field focused), the picker is one line again.
        var closed = form
        _ = closed.handle(.tab)
        #expect(!Self.lines(closed, height: 19).joined().contains("Sat 16"))
    }

    @Test func keysMoveASlotOrADayAtATime() {
        var form = Self.loadedForm()
        _ = form.handle(.char("j"))
        #expect(Self.chosen(form) == "Fri 15 08:00–08:20")
        _ = form.handle(.down)
        #expect(Self.chosen(form) == "Fri 15 08:20–08:40", "Down moves in the open list, not to the next field")
        _ = form.handle(.char("k"))
        #expect(Self.chosen(form) == "Fri 15 08:00–08:20")
        _ = form.handle(.char("]"))
        #expect(Self.chosen(form) == "Sat 16 09:00–09:20", "] goes to the next day's first slot")
        _ = form.handle(.pageDown)
        #expect(Self.chosen(form) == "Sun 17 08:00–08:20")
        _ = form.handle(.pageUp)
        #expect(Self.chosen(form) == "Sat 16 09:00–09:20")
        _ = form.handle(.char("j")); _ = form.handle(.char("["))
        #expect(Self.chosen(form) == "Sat 16 09:00–09:20", "[ goes to the start of the day first")
        _ = form.handle(.char("["))
        #expect(Self.chosen(form) == "Fri 15 08:00–08:20", "then to the day before")
        _ = form.handle(.end)
        #expect(Self.chosen(form) == "Sun 17 08:00–08:20")
        _ = form.handle(.home)
        #expect(Self.chosen(form) == CorrectionForm.keepTime)
        _ = form.handle(.right); _ = form.handle(.right)
        #expect(Self.chosen(form) == "Fri 15 08:20–08:40", "Right still moves one, as before")
        _ = form.handle(.tab)
        #expect(form.form.fields[form.form.focus].id == "provider", "Tab leaves the list")
    }

    @Test func typingATimeOrADayJumpsThere() throws {
        var form = Self.loadedForm()
        for c in "14" { _ = form.handle(.char(c)) }
        #expect(Self.chosen(form) == "Fri 15 14:00–14:20", "14: the first slot at 14:xx")
        _ = form.handle(.char("j"))
        for c in "sat" { _ = form.handle(.char(c)) }
        #expect(Self.chosen(form) == "Sat 16 09:00–09:20", "sat: Saturday's first slot")
        for c in "14" { _ = form.handle(.char(c)) }
        #expect(Self.chosen(form) == "Sat 16 14:40–15:00", "14 from the selection on: Saturday's, not Friday's")
        for c in "su" { _ = form.handle(.char(c)) }
        #expect(Self.chosen(form) == "Sun 17 08:00–08:20")
        #expect(Self.lines(form, height: 19).contains { $0.contains("jump: su") }, "what was typed is shown")
        _ = form.handle(.char("x"))
        #expect(Self.chosen(form) == "Sun 17 08:00–08:20", "a jump to nothing stays put")
        #expect(try #require(form.form.list(of: "slot")).typedFoundNothing)
        // Submitting the slot typed to.
        _ = form.handle(.home)
        for c in "fri" { _ = form.handle(.char(c)) }
        for c in "14" { _ = form.handle(.char(c)) }
        let correction = try form.correction().get()
        #expect(correction.newSlotRef == "Slot/s360" && correction.newStart == 1_800_000_000_000 + 360 * 60_000)
    }

    @Test func anotherProviderKeepsTheTimeIfTheyHaveItElseSaysItIsGone() throws {
        var form = Self.loadedForm()
        for c in "14" { _ = form.handle(.char(c)) }
        let chosenStart: Int64 = 1_800_000_000_000 + 360 * 60_000
        // Provider: the next one; their calendar has a slot at the same start (another ref).
        _ = form.handle(.tab); _ = form.handle(.right)
        #expect(form.chosenProviderRef == "Practitioner/bare")
        #expect(form.loadSlots() == "Practitioner/bare")
        let theirs = [FreeSlot(ref: "Slot/bare-1", start: chosenStart - 3_600_000, end: chosenStart - 2_400_000),
                      FreeSlot(ref: "Slot/bare-2", start: chosenStart, end: chosenStart + 1_200_000)]
        form.slotsArrived(.success(theirs), providerRef: "Practitioner/bare", presentation: T.presentation)
        #expect(Self.chosen(form) == "Fri 15 14:00–14:20", "the chosen time is kept")
        #expect(form.form.message == nil)
        let kept = try form.correction().get()
        #expect(kept.newSlotRef == "Slot/bare-2" && kept.newProviderRef == "Practitioner/bare", "the new provider's slot at that time")

        // The next provider has nothing then: the picker says so and keeps nothing.
        _ = form.handle(.right)
        #expect(form.loadSlots() == "Practitioner/np-9")
        form.slotsArrived(.success(T.slots([0, 20])), providerRef: "Practitioner/np-9", presentation: T.presentation)
        #expect(Self.chosen(form) == CorrectionForm.keepTime)
        #expect(form.form.message == "\(T.presentation.providerShortName("Practitioner/np-9")) has no free slot at Fri 15 14:00: pick another.")
    }
}

/// Through the console: the slots the runner posts fill the list, typing jumps, and a
/// change of provider keeps the time when the runner's answer has it.
@Suite struct SlotPickerConsoleTests {
    @Test func typedTimeSurvivesAChangeOfProviderAndIsWhatIsRecorded() throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let now = Clock.nowMillis()
        // The slots come as the runner's messages, posted here.
        let driver = try ReviewScreenTests.consoleWithSilentEHR(scratch, bookings: [sampleBooking("bk-1", bookedAt: now - 120_000)],
                                                                size: Size(width: 80, height: 24))
        driver.post(.providersFound(.success(ProviderDirectory(practitioners: [
            Practitioner(id: "dr-okafor", active: true, name: [HumanName(family: "Okafor", given: ["Ngozi"], prefix: ["Dr."])]),
            Practitioner(id: "dr-levi", active: true, name: [HumanName(family: "Levi", given: ["Daniel"], prefix: ["Dr."])]),
        ]))))
        driver.press("c")
        #expect(driver.screenText.contains("Correct bk-1"), "\(driver.screenText)")

        // Slots on three days from tomorrow 00:00 local, every 2 hours.
        let time = TimeText()
        let day: Int64 = 86_400_000
        let tomorrow = Calendar.current.startOfDay(for: Date(timeIntervalSince1970: Double(now + day) / 1000))
        let midnight = Int64(tomorrow.timeIntervalSince1970 * 1000)
        var starts: [Int64] = []
        for d in Int64(0) ..< 3 {
            for h in Int64(4) ..< 10 { starts.append(midnight + d * day + h * 7_200_000) }
        }
        let slots = starts.map { FreeSlot(ref: "Slot/ok-\($0)", start: $0, end: $0 + 1_200_000) }
        driver.post(.screen(ScreenMessage(inner: .review(.slotsFound(bookingId: "bk-1", providerRef: "Practitioner/dr-okafor", .success(slots))))))
        driver.press("tab")
        let dayOne = time.dayAndTime(starts[0]).split(separator: " ").dropLast().joined(separator: " ")
        #expect(driver.screenText.contains(dayOne) && driver.screenText.contains("type 14/tue to jump"),
                "the open list shows its days at 80x24:\n\(driver.screenText)")
        // Type the second day's name, then the hour of its third slot.
        let target = starts[6 + 2]
        let dayName = String(time.dayAndTime(target).prefix(3)).lowercased()
        driver.type(dayName)
        driver.type(String(time.clock(target).prefix(2)))
        let label = "\(time.dayAndTime(target))–\(time.clock(target + 1_200_000))"
        #expect(driver.screenText.contains("‹ \(label) ›"), "\(driver.screenText)")
        let targetDay = time.dayAndTime(target).split(separator: " ").dropLast().joined(separator: " ")
        #expect(driver.screenText.split(separator: "\n").contains { $0.trimmingCharacters(in: CharacterSet(charactersIn: "│ ")) == targetDay },
                "the day of the slots in view heads the list though scrolled:\n\(driver.screenText)")

        // Another provider: the runner's answer has that time, so it stays chosen.
        driver.press("tab", "right")
        #expect(driver.screenText.contains("‹ Dr. Daniel Levi ›"))
        let theirs = [FreeSlot(ref: "Slot/levi-a", start: starts[0], end: starts[0] + 1_200_000),
                      FreeSlot(ref: "Slot/levi-b", start: target, end: target + 1_200_000)]
        driver.post(.screen(ScreenMessage(inner: .review(.slotsFound(bookingId: "bk-1", providerRef: "Practitioner/dr-levi", .success(theirs))))))
        #expect(driver.screenText.contains("‹ \(label) › 3/3"), "\(driver.screenText)")
        driver.press("enter")
        #expect(driver.messageLine.contains("Corrected"), "\(driver.screenText)")
        let after = try sqlite3(scratch.path("audit.sqlite"), """
            SELECT json_extract(after, '$.provider_ref') || ' ' || json_extract(after, '$.slot_ref') FROM review_decision WHERE booking_id = 'bk-1'
            """).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(after == "Practitioner/dr-levi Slot/levi-b")
    }
}
