import ArgumentParser
import Foundation
import SwitchboardHTTP
import SwitchboardSim

extension Simulator {
    struct Outage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the EHR of the simulator running on DIR go dark for a while.",
            discussion: "Nothing listens on its FHIR and MLLP ports until the time is up. Examples: 45s, 500ms, 2m.")

        @Argument(help: ArgumentHelp("How long: 45s, 500ms, 2m (a bare number is seconds).", valueName: "duration"))
        var duration: String

        @Option(help: ArgumentHelp("Directory of the running simulator.", valueName: "dir"))
        var dir: String

        func validate() throws {
            guard Self.seconds(duration) != nil else {
                throw ValidationError("cannot read the duration \"\(duration)\"; write e.g. 45s, 500ms or 2m.")
            }
        }

        /// `45s`, `500ms`, `2m`, `1h`, or a bare number of seconds.
        static func seconds(_ text: String) -> Double? {
            let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("", 1)]
            for (suffix, scale) in units where text.hasSuffix(suffix) {
                if let value = Double(text.dropLast(suffix.count)), value >= 0, value.isFinite { return value * scale }
            }
            return nil
        }

        func run() async throws {
            let directory = URL(fileURLWithPath: dir).standardizedFileURL
            guard DirectoryLock.isHeld(in: directory), let endpoints = try? SandboxEndpoints.read(from: directory) else {
                throw fail("no simulator is running on \(dir) (start one with: switchboard-sim run --dir \(dir)).", status: 1)
            }
            let seconds = Self.seconds(duration) ?? 0
            let response: HTTPResponse
            do {
                response = try await HTTPClient().send(HTTPRequest("POST", endpoints.controlURL + "/outage",
                                                                   headers: ["Content-Type": "application/json"],
                                                                   body: Data(#"{"seconds":\#(seconds)}"#.utf8), timeout: .seconds(5)))
            } catch {
                throw fail("cannot reach the simulator's control endpoint \(endpoints.controlURL): \(error)", status: 1)
            }
            guard response.isSuccess else {
                throw fail("the control endpoint answered HTTP \(response.status): \(response.text)", status: 1)
            }
            print("EHR on \(dir) is dark for \(duration); it comes back on its own.")
        }
    }
}
