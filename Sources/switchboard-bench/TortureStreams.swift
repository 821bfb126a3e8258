import Foundation
import SwitchboardCore
import SwitchboardTesting

extension Torture {
    // MARK: Streams

    /// The event stream cut mid-event, stalled, sent garbage, a 100 MB line, events out of
    /// order and ids going backwards, from a hostile server on 127.0.0.1 (and NDJSON files),
    /// against the real console in tmux: no trap, nothing raw on the pane, the status line
    /// says what happened, `Last-Event-ID` on the way back, peak memory bounded.
    func streams() throws {
        guard SwitchboardTesting.Tmux.isAvailable else { throw CaseFailure("tmux is not installed") }
        let site = try generate("streams-site", calls: 30)
        let paths = ["--audit", site + "/audit.sqlite", "--outbox", site + "/outbox.sqlite"]

        check("streams/sse-cut-mid-event", "the stream cut inside an event: reconnects with Last-Event-ID of the last whole event, the cut one not counted, live again") {
            let server = try HostileStream([
                { c in c.head(); c.send(started(1) + started(2) + started(3)); c.send("id: 4\nevent: call.started\ndata: {\"call_id\":\"c-4\",\"a") },
                { c in c.head(); c.send(started(4) + started(5)); c.hold() },
            ])
            defer { server.stop() }
            try console("sse-cut", paths + ["--events", server.url]) { tmux, _ in
                try waitForStatus(tmux, "stream: live · 5 events")
                let back = server.requests.dropFirst().first?["last-event-id"]
                try expect(back == "3", "came back with Last-Event-ID \(back ?? "none"), expected 3")
            }
        }

        check("streams/sse-stall", "the stream stalls inside an event: keys still answer" + (short ? "" : ", the status line says stale")) {
            let server = try HostileStream([{ c in c.head(); c.send(started(1) + "id: 2\ndata: {\"ca"); c.stall() }])
            defer { server.stop() }
            try console("sse-stall", paths + ["--events", server.url]) { tmux, _ in
                try waitForStatus(tmux, "stream: live · 1 events")
                // The header's second line names the screen shown.
                let title = try tmux.lines().dropFirst().first ?? ""
                _ = try tmux.tmux(["send-keys", "-t", tmux.session, "Tab"])
                let moved = RunningProcess.waitUntil(timeout: 5) { (try? tmux.lines().dropFirst().first) != title }
                try expect(moved, "Tab did nothing while the stream stalled: \(title)")
                // The heartbeat interval is 15 s: stale after 30 s of silence.
                if !short { try waitForStatus(tmux, "stream: silent (stale)", timeout: 45) }
            }
        }

        check("streams/sse-garbage", "not HTTP, then HTML, then 64 KB of random bytes and escape sequences in fields: reconnects, counts malformed, nothing raw") {
            var random = SeededBytes(seed: 13)
            let noise = random.bytes(65_536, alphabet: (0...255).map(UInt8.init) + Array(repeating: 0x0A, count: 40) + Array("data:id:event:retry: ".utf8))
            let hostile = #"{"call_id":"c-\u001b]0;owned\u0007\u001b[2J\u202e\u0000","at":1}"#
            let server = try HostileStream([
                { c in c.send("garbage that is not HTTP\r\n\r\n\u{1b}[2J") },
                { c in c.head(contentType: "text/html"); c.send("<html>\u{1b}]0;owned\u{7}</html>") },
                { c in
                    c.head(); c.send(noise); c.send("\n\n: resync\n\n")
                    c.send("id: 50\nevent: call.started\ndata: \(hostile)\n\n")
                    c.send("id: 51\nevent: call.started\ndata: not json \u{1b}[31m\n\n")
                    c.send("id: 52\nevent: \u{1b}[2Jcall.started\ndata: {}\n\n")
                    c.send("retry: 99999999999999999999\n\n")
                    c.send(started(53)); c.hold()
                },
            ])
            defer { server.stop() }
            try console("sse-garbage", paths + ["--events", server.url]) { tmux, _ in
                try waitForStatus(tmux, "stream: live")
                try waitForStatus(tmux, "malformed")
                try expect(server.requests.count >= 3, "only \(server.requests.count) connections: it did not come back after the garbage")
            }
        }

        check("streams/sse-always-broken", "a server that always answers 503: the status line says reconnecting and why, keys still answer") {
            let server = try HostileStream([{ c in c.send("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n") }])
            defer { server.stop() }
            try console("sse-broken", paths + ["--events", server.url]) { tmux, _ in
                try waitForStatus(tmux, "stream: reconnecting (try") { screen in
                    screen.range(of: #"stream: reconnecting \(try [2-9]\d*: HTTP 503\)"#, options: .regularExpression) != nil
                }
                // Still answering keys: Tab moves to the next screen.
                let title = try tmux.lines().dropFirst().first ?? ""
                _ = try tmux.tmux(["send-keys", "-t", tmux.session, "Tab"])
                try expect(RunningProcess.waitUntil(timeout: 5) { (try? tmux.lines().dropFirst().first) != title }, "Tab did nothing while reconnecting")
            }
        }

        check("streams/sse-100mb-line", "a 100 MB line: dropped as malformed, the next event counted, peak memory grows by under 48 MB") {
            let go = DispatchSemaphore(value: 0)
            let done = Locked(false)
            let server = try HostileStream([{ c in
                c.head(); c.send(started(1))
                go.wait()
                c.send("data: ")
                let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
                for _ in 0..<100 where c.send(chunk) {}
                c.send("\n\n" + started(3))
                done.set(true)
                c.hold()
            }])
            defer { server.stop() }
            try console("sse-100mb", paths + ["--events", server.url]) { tmux, pid in
                try waitForStatus(tmux, "stream: live · 1 events")
                let before = peakMemory(pid)
                go.signal()
                try waitForStatus(tmux, "2 events · 1 malformed", timeout: 60)
                try expect(done.get(), "the server could not send the whole line")
                try boundedGrowth(pid, before, limitMB: 48)
            }
        }

        check("streams/sse-out-of-order", "events out of order and ids going backwards (10, 11, 12, 5, 5, 3): all counted, reconnects with the last id received (3)") {
            let server = try HostileStream([
                { c in
                    c.head()
                    c.send(AgentEvent.callEnded(.init(callId: "c-9", at: Clock.nowMillis(), outcome: "resolved", firstCallResolved: true)).sseFrame(id: 10))
                    c.send(started(11, call: "c-9") + started(12) + started(5) + started(5) + started(3))
                },
                { c in c.head(); c.send(started(4)); c.hold() },
            ])
            defer { server.stop() }
            try console("sse-order", paths + ["--events", server.url]) { tmux, _ in
                try waitForStatus(tmux, "stream: live · 7 events")
                let back = server.requests.dropFirst().first?["last-event-id"]
                try expect(back == "3", "came back with Last-Event-ID \(back ?? "none"), expected 3 (the last id received)")
            }
        }

        check("streams/ndjson-100mb-line", "an NDJSON file that grows by a 100 MB line: dropped as malformed, the next line counted, peak memory grows by under 48 MB") {
            let file = scratch.path("streams-big.ndjson")
            try Data(line(1).utf8).write(to: URL(fileURLWithPath: file))
            try console("ndjson-100mb", paths + ["--events", file]) { tmux, pid in
                try waitForStatus(tmux, "stream: live · 1 events")
                let before = peakMemory(pid)
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
                try handle.seekToEnd()
                handle.write(Data(#"{"id":2,"type":"call.started","data":{"call_id":""#.utf8))
                let chunk = Data(repeating: UInt8(ascii: "x"), count: 1 << 20)
                for _ in 0..<100 { handle.write(chunk) }
                handle.write(Data("\"}}\n".utf8) + Data(line(3).utf8))
                try handle.close()
                try waitForStatus(tmux, "2 events · 1 malformed", timeout: 60)
                try boundedGrowth(pid, before, limitMB: 48)
            }
        }

        check("streams/ndjson-garbage", "an NDJSON file of random bytes, bad JSON and escape sequences in fields: malformed counted, good lines counted, nothing raw") {
            var random = SeededBytes(seed: 29)
            var text = Data(line(1).utf8)
            text += Data(random.bytes(32_768, alphabet: (0...255).map(UInt8.init) + Array(repeating: 0x0A, count: 30) + Array("{}\":,[]".utf8)))
            text += Data("\n".utf8)
            text += Data(#"{"id":7,"type":"call.started","data":{"call_id":"c-\u001b]0;owned\u0007\u001b[2J\u202e","at":1}}"#.utf8) + Data("\n".utf8)
            text += Data(#"{"id":8,"type":"call.started","data":"not an object \u001b[31m"}"#.utf8) + Data("\n".utf8)
            text += Data([0xff, 0xfe, 0x1b, 0x5d, 0x30, 0x3b, 0x0a]) + Data(line(9).utf8)
            let file = scratch.path("streams-garbage.ndjson")
            try text.write(to: URL(fileURLWithPath: file))
            try console("ndjson-garbage", paths + ["--events", file]) { tmux, _ in
                try waitForStatus(tmux, "stream: live")
                try waitForStatus(tmux, "malformed")
                try waitForStatus(tmux, "9 events") { screen in
                    // At least the three good lines and the hostile one; random bytes may make more.
                    guard let range = screen.range(of: #"· (\d+) events"#, options: .regularExpression) else { return false }
                    return (Int(screen[range].filter(\.isNumber)) ?? 0) >= 3
                }
            }
        }

        check("streams/check-stalled", "switchboard check against a stream that never answers: returns within --stream-wait, a monitoring status, no hang") {
            let server = try HostileStream([{ c in c.stall() }])
            defer { server.stop() }
            let config = scratch.path("streams-check.toml")
            try "events = \"\(server.url)\"\n".write(toFile: config, atomically: false, encoding: .utf8)
            let began = Date()
            let result = try program("switchboard", ["check", "--config", config, "--stream-wait", "1s", "--no-hooks"] + paths, timeout: 30)
            let took = Date().timeIntervalSince(began)
            try expect((0...3).contains(result.status), "exit \(result.status): \(result.stdout.prefix(200)) \(result.stderr.prefix(200))")
            try expect(took < 10, "took \(Int(took)) s with --stream-wait 1s")
        }
    }

    /// The console in a 160x30 tmux pane (its status line whole) on `arguments`; the body
    /// gets the pane and the console's pid. Afterwards it must quit on q with status 0,
    /// restore the screen and have written no raw control byte.
    private func console(_ name: String, _ arguments: [String], _ body: (SwitchboardTesting.Tmux, Int32) throws -> Void) throws {
        let tmux = try SwitchboardTesting.Tmux.start([tool("switchboard")] + arguments, width: 160, height: 30, environment: environment, name: "torture\(name)")
        defer { tmux.kill() }
        let raw = scratch.path("streams-\(name).raw")
        _ = try tmux.tmux(["pipe-pane", "-o", "-t", tmux.session, "cat >> '\(raw)'"])
        _ = try tmux.tmux(["send-keys", "-t", tmux.session, "C-l"])
        try waitForStatus(tmux, "stream:")
        let shell = try tmux.display("#{pane_pid}")
        guard let pid = try SwitchboardTesting.run("/usr/bin/pgrep", ["-P", shell]).stdout.split(separator: "\n").first.flatMap({ Int32($0) })
        else { throw CaseFailure("no console process under the pane") }
        var failure: Error?
        do { try body(tmux, pid) } catch { failure = error }
        _ = try tmux.tmux(["send-keys", "-t", tmux.session, "q"])
        _ = RunningProcess.waitUntil(timeout: 10) { (try? tmux.exitStatus()) != nil }
        let status = try tmux.exitStatus()
        let screen = (try? tmux.capture(history: true)) ?? ""
        if screen.contains("Fatal error") || (status ?? 0) >= 128 { tally.traps += 1 }
        let bytes = (try? Data(contentsOf: URL(fileURLWithPath: raw))) ?? Data()
        let count = rawControlBytes(bytes)
        tally.rawBytes += count
        if let failure { throw failure }
        try expect(status == 0, "exit \(status.map(String.init) ?? "none (did not quit on q)"): \(screen.suffix(300))")
        try expect(try tmux.display("#{alternate_on}") == "0", "the terminal was left in the alternate screen")
        try expect(!bytes.isEmpty, "nothing was captured from the pane")
        try expect(count == 0, "\(count) raw control bytes in the pane output")
    }

    /// Waits until the pane's status line (the line that says `stream:`) contains `text`,
    /// or `predicate` holds on the whole screen; fails with what the status line said.
    private func waitForStatus(_ tmux: SwitchboardTesting.Tmux, _ text: String, timeout: TimeInterval = 15,
                               _ predicate: ((String) -> Bool)? = nil) throws {
        var last = ""
        let ok = RunningProcess.waitUntil(timeout: timeout) {
            let screen = (try? tmux.capture()) ?? ""
            last = screen.split(separator: "\n").last { $0.contains("stream:") }.map(String.init) ?? screen.suffix(300).description
            return predicate?(screen) ?? last.contains(text)
        }
        if !ok { throw CaseFailure("waited \(Int(timeout)) s for '\(text)'; the status line says: \(last.trimmingCharacters(in: .whitespaces))") }
    }

    /// The process's peak resident memory (VmHWM), in kB.
    private func peakMemory(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return Int(line.filter(\.isNumber)) ?? 0
    }

    private func boundedGrowth(_ pid: Int32, _ before: Int, limitMB: Int) throws {
        let after = peakMemory(pid)
        print("       peak memory \(before / 1024) MB before, \(after / 1024) MB after")
        try expect(before > 0 && after - before < limitMB * 1024, "peak memory grew from \(before / 1024) MB to \(after / 1024) MB")
    }
}

/// A call.started event as an SSE frame, and as an NDJSON line.
private func started(_ id: Int64, call: String? = nil) -> String {
    AgentEvent.callStarted(.init(callId: call ?? "c-\(id)", at: Clock.nowMillis())).sseFrame(id: id)
}

private func line(_ id: Int64) -> String {
    AgentEvent.callStarted(.init(callId: "c-\(id)", at: Clock.nowMillis())).ndjsonLine(id: id)
}

/// A value two threads share (a script thread and the case).
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.withLock { value } }
    func set(_ new: Value) { lock.withLock { value = new } }
}

/// Reproducible random bytes (SplitMix64), so a failing run can be run again.
struct SeededBytes {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    mutating func bytes(_ count: Int, alphabet: [UInt8]) -> [UInt8] { (0..<count).map { _ in alphabet[below(alphabet.count)] } }
}
