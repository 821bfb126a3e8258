import SwitchboardStream

/// SSE and NDJSON bytes: never a trap, and the same output whether they come whole or cut
/// in two at a place the first byte picks.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStream(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let at = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    var whole = SSEParser(maxLineBytes: 4096, maxEventBytes: 8192), cut = SSEParser(maxLineBytes: 4096, maxEventBytes: 8192)
    precondition(whole.feed(bytes) == cut.feed(bytes[..<at]) + cut.feed(bytes[at...]), "SSE output depends on where the bytes were cut")
    var lines = NDJSONLineReader(maxLineBytes: 4096), cutLines = NDJSONLineReader(maxLineBytes: 4096)
    precondition(lines.feed(bytes) == cutLines.feed(bytes[..<at]) + cutLines.feed(bytes[at...]), "NDJSON output depends on where the bytes were cut")
    return 0
}
