import Foundation
@testable import SwitchboardStore
import Testing

/// The export's timestamps on any stored number, not only sane ones: the torture
/// harness found `audit export` trapping on a row whose `at` was Int64.min.
@Suite struct ExportInstantTests {
    @Test(arguments: [Int64.min, Int64.min + 1, -300_000_000_000_000_000, -1, 0, 1_795_000_000_123, Int64.max])
    func anyMillisecondCountBecomesTextWithoutATrap(_ millis: Int64) {
        let text = AuditExport.instant(millis)
        #expect(text.hasSuffix("Z") && text.contains("T"), "\(text)")
    }

    @Test func ordinaryInstantsStayExact() {
        #expect(AuditExport.instant(0) == "1970-01-01T00:00:00.000Z")
        #expect(AuditExport.instant(-1) == "1969-12-31T23:59:59.999Z")
        #expect(AuditExport.instant(1_795_000_000_123) == "2026-11-18T11:06:40.123Z")
    }
}
