import Foundation
import GRDB
import SwitchboardCore

extension AuditStore {
    /// A queued booking reached the EHR: its row learns the appointment's id and version
    /// (it was written with a conditional reference while the EHR was unreachable).
    /// False if there is no such booking (yet).
    @discardableResult
    public func confirmBooking(id: String, appointmentRef: String, version: String?) throws -> Bool {
        try write { db in
            try db.execute(sql: "UPDATE booking SET appointment_ref = ?, appointment_version = ? WHERE booking_id = ?",
                           arguments: [appointmentRef, version, id])
            return db.changesCount == 1
        }
    }
}
