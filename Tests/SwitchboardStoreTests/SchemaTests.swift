import Foundation
import SwitchboardStore
import SwitchboardTesting
import Testing

/// Audit rows and bookings decode by column position, so their column order is part of
/// the contract: a migration may only add columns at the end.
@Suite struct SchemaTests {
    @Test func bigTablesKeepTheirColumnOrder() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("audit.sqlite")
        _ = try AuditStore(path: path, mode: .create)
        func columns(_ table: String) throws -> [String] {
            try sqlite3(path, "SELECT name FROM pragma_table_info('\(table)') ORDER BY cid").split(separator: "\n").map(String.init)
        }
        #expect(try columns("audit_event") == ["seq", "at", "actor", "call_id", "action", "ehr_system", "transport", "method",
                                               "resource_type", "resource_id", "outcome", "http_status", "latency_ms",
                                               "attempt", "detail", "prev_hash", "hash"])
        #expect(try columns("booking") == ["booking_id", "call_id", "kind", "appointment_ref", "appointment_version",
                                           "patient_ref", "patient_display", "provider_ref", "appointment_type", "start_at",
                                           "end_at", "booked_at", "review_required", "flags", "decided"])
    }

    @Test func filesCarryTheirApplicationIdAndVersion() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        _ = try AuditStore(path: scratch.path("a.sqlite"), mode: .create)
        _ = try OutboxStore(path: scratch.path("o.sqlite"), mode: .create)
        #expect(try sqlite3(scratch.path("a.sqlite"), "PRAGMA application_id; PRAGMA user_version; PRAGMA journal_mode;") == "1396851029\n2\nwal\n")
        #expect(try sqlite3(scratch.path("o.sqlite"), "PRAGMA application_id; PRAGMA user_version;") == "1396854594\n1\n")
    }
}
