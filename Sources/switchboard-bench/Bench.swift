import ArgumentParser
import Foundation
import SwitchboardCore
import SwitchboardSim
import SwitchboardStore

/// `switchboard-bench`: numbers, not pass/fail. Each figure is compared with a baseline
/// measured in the same run on the same file (the `sqlite3` tool), because this machine
/// is shared and noisy; ratios travel, absolute times do not.
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard-bench",
        abstract: "Benchmarks Switchboard (store, console) against baselines measured in the same run.",
        subcommands: [StoreBench.self, VerifyBench.self, ConsoleBench.self, SimulatorBench.self, TortureBench.self, TableBench.self, FuzzBench.self, BulkRetryBench.self, LedgerBench.self],
        defaultSubcommand: StoreBench.self)
}

/// Median of repeated timings, in milliseconds.
func medianMillis(runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var samples: [Double] = []
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000)
    }
    samples.sort()
    return samples[samples.count / 2]
}

func format(_ ms: Double) -> String { String(format: ms < 10 ? "%.3f" : "%.1f", ms) }
