import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

/// After the EHR refused a correction (412): the appointment as the agent booked it
/// beside how it is in the EHR now, so the manager decides again knowingly.
struct ChangedAppointment {
    let bookingId: String
    let current: AppointmentNow
    var pane: DetailPane
    /// The booking as the correction must now start from.
    var bookingAsItIsNow: Booking

    init(item: ReviewItem, current: AppointmentNow, presentation p: ReviewPresentation) {
        bookingId = item.id
        self.current = current
        let b = item.booking
        var now = b
        now.appointmentVersion = current.version
        if let start = current.start { now.startAt = start }
        if let end = current.end { now.endAt = end }
        now.providerRef = current.providerRef ?? b.providerRef
        now.appointmentType = current.appointmentType ?? b.appointmentType
        bookingAsItIsNow = now

        pane = DetailPane(items: [
            .heading("\(b.appointmentRef) changed in the EHR since the agent booked it"),
            .text("The EHR refused the correction (HTTP 412: version mismatch). Nothing was retried."),
            .blank,
        ] + current.differences(from: b, timestamp: p.timestamp, provider: p.provider).map { row in
            .field(row.label, row.then == row.now ? "\(row.now)  (unchanged)" : "\(row.then)  →  \(row.now)   CHANGED")
        } + [
            .blank,
            .text("a: keep the EHR as it is now (drop the correction)   c: correct the appointment as it is now   esc: back"),
        ])
    }

    /// For deciding again from the correction form, where only the version matters.
    init(bookingId: String, current: AppointmentNow) {
        self.bookingId = bookingId
        self.current = current
        pane = DetailPane(items: [])
        bookingAsItIsNow = Booking(bookingId: bookingId, callId: nil, kind: .book, appointmentRef: "", appointmentVersion: current.version,
                                   patientRef: nil, patientDisplay: nil, providerRef: current.providerRef, appointmentType: current.appointmentType,
                                   startAt: current.start ?? 0, endAt: current.end ?? 0, bookedAt: 0, reviewRequired: true, flags: [])
    }
}
