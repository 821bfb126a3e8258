import Foundation
import SafeText
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

/// The text rule for everything that leaves the program, and JSON's part of it.
@Suite struct SafeTextTests {
    static let controls: [Unicode.Scalar] = ["\u{1b}", "\u{07}", "\u{7f}", "\u{9b}", "\u{85}", "\u{202A}", "\u{202E}", "\u{2066}",
                                              "\u{2069}", "\u{200E}", "\u{200F}", "\u{061C}", "\u{2028}", "\u{2029}"]

    @Test func everyControlBecomesVisibleAndEverythingElseStays() {
        for scalar in Self.controls {
            let text = SafeText.sanitize("a\(scalar)b")
            #expect(!text.unicodeScalars.contains(scalar), "U+\(String(scalar.value, radix: 16))")
            #expect(text.hasPrefix("a") && text.hasSuffix("b"))
        }
        #expect(SafeText.sanitize("\u{1b}]0;x\u{07}") == "␛]0;x␇")
        for kept in ["Zoë Ødegård", "محمد", "👩‍⚕️", "e\u{301}", "漢字"] { #expect(SafeText.sanitize(kept) == kept) }
        #expect(SafeText.sanitize("one\r\ntwo", keepNewlines: true) == "one\ntwo")
    }

    @Test func jsonEscapesC1BidiAndSeparatorsAndReadsBack() throws {
        struct Row: Codable, Equatable { var name: String }
        let name = "A" + Self.controls.map { String($0) }.joined() + "Z"
        for text in [JSONText.encode(Row(name: name)), JSONText.object(["name": name])] {
            let raw = text.unicodeScalars.filter { Self.controls.contains($0) }
            #expect(raw.isEmpty, "\(text)")
            #expect(text.contains("\\u009b") && text.contains("\\u202e") && text.contains("\\u2028"), "\(text)")
            #expect(try JSONDecoder().decode(Row.self, from: Data(text.utf8)) == Row(name: name))
        }
    }
}
