import Foundation
import SwitchboardTesting

extension Torture {
    // MARK: Fuzzing

    /// `switchboard-bench fuzz` on each target in a process of its own, so a trap is counted
    /// and named with the input that caused it (`--replay`), not the end of the harness.
    /// The seed is the day's number: CI explores new inputs every day, and a failure says
    /// how to make its input again.
    func fuzz() throws {
        let runs = short ? 5_000 : 200_000
        let seed = UInt64(Date().timeIntervalSince1970 / 86_400)
        for target in FuzzTarget.allCases {
            check("fuzz/\(target.rawValue)", "\(runs) mutated \(target.rawValue) inputs (seed \(seed)): no trap, same result however the bytes are cut or re-encoded",
                  faults: runs) {
                let progress = scratch.path("fuzz-\(target.rawValue).progress")
                let result = try SwitchboardTesting.run(bin + "/switchboard-bench", ["fuzz", "--target", target.rawValue, "--runs", String(runs),
                                                                                      "--seed", String(seed), "--progress", progress], timeout: 600)
                let replay = "switchboard-bench fuzz --target \(target.rawValue) --seed \(seed) --replay"
                if result.status != 0 && result.status != 2 {
                    tally.traps += 1
                    let mark = (try? Data(contentsOf: URL(fileURLWithPath: progress))) ?? Data()
                    let iteration = mark.count == 8 ? mark.withUnsafeBytes { $0.load(fromByteOffset: 4, as: UInt32.self) } : 0
                    throw CaseFailure("trapped (status \(result.status)) on input \(iteration): \(replay) \(iteration) --out crash.bin; \(result.stderr.suffix(300))")
                }
                print("       " + result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
                try expect(result.status == 0, "a property broke; \(replay) N --out input.bin writes input N: \(result.stdout.suffix(300))")
            }
        }
    }
}
