import ArgumentParser
import Foundation

/// `switchboard-bench sim`: how much traffic the simulator sustains on this machine. The
/// real `switchboard-sim run` (beside this binary) runs in load mode with injected EHR
/// latency, so calls stay open the way real ones do; its NDJSON event file and databases
/// are read afterwards. Compared with the targets of issue 4 in the same run.
struct SimulatorBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Concurrent calls and events per second the simulator sustains (targets: 200 calls, 500 events/s).")

    @Option(help: "How long to run the load, in seconds.")
    var seconds = 60

    @Option(help: "Most calls in progress at once.")
    var concurrency = 250

    @Option(help: "Calls started per minute.")
    var rate: Double = 30_000

    @Option(help: "Median injected EHR latency in ms (calls stay open as long as real ones would).")
    var latencyMs = 300

    func run() throws {
        let own = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let simulator = own.appendingPathComponent("switchboard-sim").path
        guard FileManager.default.isExecutableFile(atPath: simulator) else {
            throw ValidationError("\(simulator) not found: build it with the same configuration (swift build -c release --product switchboard-sim).")
        }
        let dir = NSTemporaryDirectory() + "switchboard-bench-sim-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ndjson = dir + ".ndjson"
        defer { try? FileManager.default.removeItem(atPath: ndjson) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: simulator)
        process.arguments = ["run", "--dir", dir, "--load", "--rate", String(rate), "--concurrency", String(concurrency),
                             "--fault-latency-ms", String(latencyMs), "--fault-latency-p99-ms", String(latencyMs * 3),
                             "--patients", "3000", "--ndjson", ndjson]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        print("switchboard-sim run --load: \(concurrency) at most at once, \(Int(rate))/min, EHR latency median \(latencyMs) ms; \(seconds) s …")
        Thread.sleep(forTimeInterval: Double(seconds))
        let cpu = Self.cpuSeconds(process.processIdentifier)
        process.terminate()
        process.waitUntilExit()

        let text = (try? String(contentsOfFile: ndjson, encoding: .utf8)) ?? ""
        var perSecond: [Int64: Int] = [:]
        var inProgress: [Int] = []
        var total = 0
        for line in text.split(separator: "\n") {
            guard let data = line.data(using: .utf8),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let id = (object["id"] as? NSNumber)?.int64Value else { continue }
            total += 1
            perSecond[id / 1_000_000, default: 0] += 1  // ids are microseconds since 1970
            if object["type"] as? String == "agent.heartbeat", let beat = object["data"] as? [String: Any],
               let calls = (beat["calls_in_progress"] as? NSNumber)?.intValue { inProgress.append(calls) }
        }
        // Leave out the ramp-up and the stop: the middle of the run is what is sustained.
        let seconds = perSecond.keys.sorted()
        let steady = seconds.count > 10 ? Array(seconds.dropFirst(5).dropLast(3)) : seconds
        let rates = steady.map { perSecond[$0]! }.sorted()
        let sustained = rates.isEmpty ? 0 : Double(rates.reduce(0, +)) / Double(rates.count)
        let calls = inProgress.count > 4 ? Array(inProgress.dropFirst(2).dropLast(1)).sorted() : inProgress.sorted()
        let median = calls.isEmpty ? 0 : calls[calls.count / 2]
        print("events                 \(total) in all")
        print(String(format: "events/s sustained     %.0f (p50 %d, peak %d per second)   target 500: %.2fx",
                     sustained, rates.isEmpty ? 0 : rates[rates.count / 2], rates.last ?? 0, sustained / 500))
        print(String(format: "calls in progress      median %d, max %d (heartbeats)   target 200: %.2fx",
                     median, calls.last ?? 0, Double(median) / 200))
        record("simulator events/s sustained", sustained, "events/s", .atLeast, 500)
        record("simulator calls in progress", Double(median), "calls", .atLeast, Double(min(200, concurrency)))
        if let cpu { print(String(format: "simulator CPU          %.1f s in %d s = %.0f%% of one core", cpu, self.seconds, cpu / Double(self.seconds) * 100)) }
    }

    /// utime + stime of a running process, from /proc.
    static func cpuSeconds(_ pid: pid_t) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
