import Foundation
import SwitchboardCore
import Testing

@Suite struct JSONTextTests {
    @Test func writesSortedCompactJSONThatFoundationReadsBack() throws {
        let text = JSONText.object([
            "name": "Zoë \"Z\" O'Brien\n\u{1b}[2J\\", "count": 3, "big": Int64(1_800_000_000_000), "ok": true,
            "missing": nil, "headers": ["If-Match": "W/\"2\""], "list": [1, "two"], "url": "/fhir/Slot",
        ])
        #expect(text.hasPrefix(#"{"big":1800000000000,"count":3,"headers":{"If-Match":"W/\"2\""},"list":[1,"two"],"name":"#))
        #expect(!text.contains("missing") && text.contains(#""url":"/fhir/Slot""#))
        let back = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(back["name"] as? String == "Zoë \"Z\" O'Brien\n\u{1b}[2J\\")
        #expect(back["ok"] as? Bool == true)
        #expect(text.contains("\\u001b"), "control characters are escaped, never raw")
    }
}
