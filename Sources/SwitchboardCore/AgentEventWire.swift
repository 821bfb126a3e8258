/// The two wire forms of one event (event stream v1): an SSE frame for `GET /events` and
/// an NDJSON line for `--ndjson FILE` / `--events -`. One encoder, so the simulator and
/// any future agent write exactly what the console's parsers read.
extension AgentEvent {
    /// `id: 42\nevent: call.step\ndata: {…}\n\n`. `data` is one line (JSON escapes newlines).
    public func sseFrame(id: Int64) -> String {
        "id: \(id)\nevent: \(type)\ndata: \(encodedData())\n\n"
    }

    /// `{"id":42,"type":"call.step","data":{…}}` followed by a newline.
    public func ndjsonLine(id: Int64) -> String {
        #"{"id":\#(id),"type":"\#(type)","data":\#(encodedData())}"# + "\n"
    }
}
