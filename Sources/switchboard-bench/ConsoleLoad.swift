import ArgumentParser
import Foundation
import SwitchboardConsole
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStream
import TerminalUI

/// The console on the Calls screen while the simulator streams events: how long an
/// event takes from its timestamp (the stream id, microseconds since 1970 when the agent
/// published it) to the first frame that shows it, and what the console costs in CPU.
///
/// A frame shows event k when its status line counts k events: the console counts each
/// stream event as it applies it, so the count is the screen's own receipt. The console
/// runs in this process with the real stream client and database watch
/// (`ConsoleRunner.follow`) and a terminal that stamps every frame; the CPU figure is the
/// real `switchboard` binary on the same load, in tmux, from /proc.
struct ConsoleLoad {
    var simulator: String
    var binary: String
    var seconds: Int
    var eventsPerSecond: Int

    struct Result {
        var events = 0, shown = 0, lost = 0
        var rate = 0.0
        var latency = Latency()
        /// The same events from their timestamp to the console's process (the stream
        /// client handing them over): what the network and the parser take, the baseline.
        var delivery = Latency()
        var cpuPercent = 0.0, cpuSeconds = 0.0
        var simulatorRate = 0.0
    }

    func measure(tmux: Tmux) throws -> Result {
        let dir = NSTemporaryDirectory() + "switchboard-bench-load-\(getpid())"
        let ndjson = dir + ".ndjson"
        defer {
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.removeItem(atPath: ndjson)
        }
        // About 9.5 events a call (start, steps, end, heartbeats aside; counted on the
        // simulator's NDJSON: 11 was assumed before, which gave 400-440 events/s for 500):
        // calls per minute for the rate asked, kept open by the EHR's latency as real ones are.
        let callsPerMinute = Double(eventsPerSecond) * 60 / 9.5
        let process = Process()
        process.executableURL = URL(fileURLWithPath: simulator)
        process.arguments = ["run", "--dir", dir, "--load", "--rate", String(Int(callsPerMinute)), "--concurrency", "250",
                             "--fault-latency-ms", "300", "--fault-latency-p99-ms", "900", "--patients", "3000", "--ndjson", ndjson]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let configPath = dir + "/switchboard.toml"
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: configPath) {
            guard Date() < deadline, process.isRunning else { throw ValidationError("the simulator wrote no \(configPath)") }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Thread.sleep(forTimeInterval: 3)  // past the ramp-up
        print("\nunder load: switchboard-sim run --load at ~\(eventsPerSecond) events/s, the console on Calls, \(seconds) s each …")

        var result = Result()
        // CPU of the real console, on the Calls screen.
        try tmux.newSession("load", command: "exec \(binary) --config \(configPath)")
        defer { tmux.kill("load") }
        _ = try tmux.waitFor("load", pollMillis: 20, timeout: 60) { $0.headerIndex != nil }
        try tmux.sendKeys("load", "2")
        _ = try tmux.waitFor("load", pollMillis: 20, timeout: 30) { $0.lines.contains { $0.contains("Switchboard │ Calls") } }
        let pid = try tmux.panePid("load")
        Thread.sleep(forTimeInterval: 1)
        let c0 = cpuNanos(pid), t0 = now()
        Thread.sleep(forTimeInterval: Double(seconds))
        let c1 = cpuNanos(pid), elapsed = (now() - t0) / 1000
        result.cpuSeconds = Double(c1 - c0) / 1e9
        result.cpuPercent = result.cpuSeconds / elapsed * 100
        tmux.kill("load")

        // Event to screen, in this process.
        let (configuration, _) = try ConsoleConfiguration.load(path: configPath, isKeyName: { Key(parsing: $0) != nil })
        let console: Console
        do { console = try ConsoleRunner.prepare(configuration: configuration, warnings: [], passwordCheck: nil) } catch {
            throw ValidationError("cannot open the console: \(error.description)")
        }
        let terminal = StampingTerminal(size: Size(width: 120, height: 40), keys: [.char("2")])
        let taps = EventTaps()
        let watch = ConsoleRunner.watch(configuration)
        let loop = LoopBox(EventLoop(program: console, terminal: terminal, messageFrameInterval: ConsoleRunner.messageFrameInterval))
        let thread = Thread { ConsoleRunner.follow(loop.loop, configuration: configuration, watch: watch, observe: { taps.add($0) }) }
        thread.stackSize = 8 << 20
        thread.start()
        Thread.sleep(forTimeInterval: Double(seconds) + 1)
        // Events that arrive as the console is told to stop may never get their frame:
        // only those handed over before `cut` are judged, with 200 ms to be drawn.
        let cut = wallMicros()
        Thread.sleep(forTimeInterval: 0.2)
        terminal.quit()
        let stopDeadline = Date().addingTimeInterval(10)
        while !thread.isFinished && Date() < stopDeadline { Thread.sleep(forTimeInterval: 0.05) }

        // Events from the first second on (the stream's backlog at connect is not live).
        let stamps = taps.stamps.filter { $0.seen < cut }
        let frames = terminal.frames
        let from = (stamps.first?.micros ?? 0) + 1_000_000
        var latencies: [Double] = [], deliveries: [Double] = []
        var frame = 0
        for (index, stamp) in stamps.enumerated() where stamp.micros >= from {
            let count = index + 1
            while frame < frames.count && frames[frame].events < count { frame += 1 }
            if frame == frames.count { result.lost += 1; continue }
            latencies.append(Double(frames[frame].micros - stamp.micros) / 1000)
            deliveries.append(Double(stamp.seen - stamp.micros) / 1000)
        }
        result.events = stamps.count
        result.shown = frames.last?.events ?? 0
        result.lost += max(0, stamps.count - result.shown)
        if !latencies.isEmpty {
            result.latency = Latency(latencies)
            result.delivery = Latency(deliveries)
        }
        if let first = stamps.first, let last = stamps.last, last.micros > first.micros {
            result.rate = Double(stamps.count) / (Double(last.micros - first.micros) / 1e6)
        }
        // Every event the agent published while the console listened reached it.
        let published = Self.publishedIds(ndjson, from: from, to: stamps.last?.micros ?? 0)
        let seen = Set(stamps.map(\.micros))
        result.lost += published.filter { !seen.contains($0) }.count
        return result
    }

    static func publishedIds(_ path: String, from: Int64, to: Int64) -> [Int64] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        // Lines are `{"id":N,"type":"T","data":{…}}`; types the console does not read are
        // dropped by its stream reader on purpose and are not counted here either.
        return text.split(separator: "\n").compactMap { line -> Int64? in
            guard let idAt = line.range(of: "\"id\":"), let typeAt = line.range(of: ",\"type\":\""),
                  let dataAt = line.range(of: ",\"data\":"), line.hasSuffix("}") else { return nil }
            let digits = line[idAt.upperBound...].prefix { $0.isNumber }
            guard let id = Int64(digits), id >= from, id <= to else { return nil }
            let type = String(line[typeAt.upperBound...].prefix { $0 != "\"" })
            let data = String(line[dataAt.upperBound..<line.index(before: line.endIndex)])
            guard (try? AgentEvent.decode(type: type, data: data)) != nil else { return nil }
            return id
        }
    }
}

/// Hands the loop to the one thread that runs it.
final class LoopBox: @unchecked Sendable {
    let loop: EventLoop<Console>
    init(_ loop: EventLoop<Console>) { self.loop = loop }
}

/// The events the stream delivered to the console, in the order it applied them.
final class EventTaps: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [(micros: Int64, seen: Int64)] = []

    func add(_ message: EventStreamMessage) {
        guard case .event(let id, _) = message else { return }
        let micros = id.flatMap { Int64($0) } ?? 0
        lock.withLock { list.append((micros, wallMicros())) }
    }

    var stamps: [(micros: Int64, seen: Int64)] { lock.withLock { list } }
}

/// A memory terminal that stamps each frame with the wall clock and the event count its
/// status line shows; it hands the console the keys it was given, and Ctrl-C on `quit()`.
final class StampingTerminal: Terminal, @unchecked Sendable {
    private let screen: MemoryTerminal
    private let lock = NSLock()
    private var pending: [Key]
    private var stopping = false
    private var stamps: [(micros: Int64, events: Int)] = []
    private var lastCount = 0

    init(size: Size, keys: [Key]) {
        screen = MemoryTerminal(size: size)
        pending = keys
    }

    var size: Size { screen.size }
    var inputDescriptor: Int32? { nil }
    func bell() {}

    func readKeys() -> [Key] {
        lock.withLock {
            defer { pending = [] }
            return stopping ? [.ctrl("c")] : pending
        }
    }

    func quit() { lock.withLock { stopping = true } }

    func draw(_ frame: Frame) {
        screen.draw(frame)
        let micros = wallMicros()
        let status = screen.screen.text(row: size.height - 2)
        guard let match = status.firstMatch(of: /(\d+) events/), let count = Int(match.1), count > lastCount else { return }
        lastCount = count
        lock.withLock { stamps.append((micros, count)) }
    }

    var frames: [(micros: Int64, events: Int)] { lock.withLock { stamps } }
}

func wallMicros() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
}
