import Foundation
import SwitchboardCore
import SwitchboardHTTP
import SwitchboardStore
import SwitchboardTesting
import Testing

/// `switchboard metrics`, printed and served, read by the reference parser from PyPI.
@Suite struct MetricsTests {
    static let parser = """
        import sys
        from prometheus_client.parser import text_string_to_metric_families
        text = open(sys.argv[1]).read()
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                print(f"{family.type} {s.name}{{{labels}}} {s.value}")
        """

    static func parsed(_ text: String) throws -> [String: Double] {
        let judge = try PythonJudge("prometheus", packages: ["prometheus_client"])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString).txt").path
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try judge.run(script: parser, arguments: [file])
        try #require(result.status == 0, "prometheus_client rejected the output: \(result.stderr)\n\(text)")
        var samples: [String: Double] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ")
            #expect(parts[0] == "gauge", "\(line)")
            samples[String(parts[1])] = Double(parts[2])
        }
        return samples
    }

    @Test func metricsParseWithTheReferenceParserAndMatchTheDatabases() throws {
        let db = try GeneratedDatabases(calls: 400)
        defer { db.scratch.cleanUp() }
        let env = ["XDG_CONFIG_HOME": db.scratch.path("xdg"), "XDG_STATE_HOME": db.scratch.path("xdg"), "HOME": db.scratch.path("home")]
        let printed = try run(executable("switchboard"), ["metrics", "--audit", db.auditPath, "--outbox", db.outboxPath], environment: env)
        #expect(printed.status == 0, "\(printed.stderr)")
        let samples = try Self.parsed(printed.stdout)
        for status in OutboxStatus.allCases {
            let inDB = Double(try sqlite3(db.outboxPath, "SELECT count(*) FROM outbox_item WHERE status = '\(status.rawValue)'")
                .trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(samples["switchboard_outbox_items{status=\(status.rawValue)}"] == inDB, "\(status)")
        }
        let undecided = Double(try sqlite3(db.auditPath, "SELECT count(*) FROM booking WHERE review_required = 1 AND decided = 0")
            .trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(samples["switchboard_review_undecided{}"] == undecided)
        #expect(samples.keys.contains("switchboard_golive_bookings_decided{}"))
        #expect(samples.keys.contains("switchboard_alert_active{rule=item_dead,severity=critical}"))
        #expect(samples.keys.filter { $0.hasPrefix("switchboard_ehr_state{") }.count == EHRState.allCases.count)
        #expect(printed.stdout.contains("# HELP switchboard_outbox_items "))

        // Served: a scrape over loopback gets the same families.
        let server = try RunningProcess(executable("switchboard"), ["metrics", "--listen", "127.0.0.1:0", "--audit", db.auditPath, "--outbox", db.outboxPath])
        defer { server.signal(SIGKILL) }
        #expect(RunningProcess.waitUntil(timeout: 20) { server.stderr.contains("serving metrics at ") })
        let url = try #require(server.stderr.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
        let scraped = try run("/usr/bin/curl", ["-sS", "-m", "10", "-D", "-", url], timeout: 15)
        #expect(scraped.status == 0 && scraped.stdout.contains("text/plain; version=0.0.4"), "\(scraped.stderr)")
        let body = scraped.stdout.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        #expect(Set(try Self.parsed(body).keys) == Set(samples.keys))

        // A port already taken: one line and EX_CANTCREAT, not a crash.
        let port = try #require(url.split(separator: ":").last?.split(separator: "/").first)
        let taken = try run(executable("switchboard"), ["metrics", "--listen", "127.0.0.1:\(port)", "--audit", db.auditPath], environment: env)
        #expect(taken.status == 73 && taken.stderr.hasPrefix("switchboard: cannot serve metrics on 127.0.0.1:\(port)"), "\(taken.stderr)")

        let refused = try run(executable("switchboard"), ["metrics", "--listen", "0.0.0.0:9100", "--audit", db.auditPath], environment: env)
        #expect(refused.status == 64 && refused.stderr.contains("loopback"))
    }

    /// The served endpoint answers one GET per connection: clients that connect and send
    /// nothing hold up no scrape (past 16 at once, the next is told 503 at once, never
    /// left waiting), other paths are 404, other methods 405, and a request head past
    /// 16 KiB is refused (431), never read on.
    @Test func theEndpointServesScrapesBesideSilentAndHostileClients() throws {
        let db = try GeneratedDatabases(calls: 40)
        defer { db.scratch.cleanUp() }
        let server = try RunningProcess(executable("switchboard"), ["metrics", "--listen", "127.0.0.1:0", "--audit", db.auditPath])
        defer { server.signal(SIGKILL) }
        #expect(RunningProcess.waitUntil(timeout: 20) { server.stderr.contains("serving metrics at ") })
        let url = try #require(server.stderr.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
        let port = try #require(UInt16(url.split(separator: ":").last?.split(separator: "/").first ?? ""))
        // A command that talks no HTTP client does not load libcurl (and its 35 libraries) at
        // all, nor OpenSSL without TLS or an audit walk, nor PAM without a lock to unlock.
        // (Read by cat: procfs files have no size, and Foundation reads by size.)
        let maps = try run("/bin/cat", ["/proc/\(server.process.processIdentifier)/maps"]).stdout
        #expect(maps.contains("libsqlite3"))
        for library in ["libcurl", "libssl", "libcrypto", "libpam"] {
            #expect(!maps.contains(library), "the metrics server mapped \(library)")
        }

        // Ten connections that never send a byte.
        var silent: [Int32] = []
        defer { silent.forEach { close($0) } }
        func connectSilently() {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = loopbackAddress(port)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(connected == 0)
            silent.append(fd)
        }
        for _ in 0..<10 { connectSilently() }
        let scraped = try run("/usr/bin/curl", ["-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", url], timeout: 10)
        #expect(scraped.stdout == "200", "a scrape beside silent clients: \(scraped.stdout) \(scraped.stderr)")
        // Sixteen silent ones: the next is answered 503 at once.
        for _ in 0..<6 { connectSilently() }
        usleep(300_000)
        let turnedAway = try run("/usr/bin/curl", ["-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", url], timeout: 10)
        #expect(turnedAway.stdout == "503", "\(turnedAway.stdout) \(turnedAway.stderr)")
        silent.forEach { close($0) }
        silent = []
        usleep(300_000)

        let elsewhere = try run("/usr/bin/curl", ["-sS", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", url.replacingOccurrences(of: "/metrics", with: "/admin")])
        #expect(elsewhere.stdout == "404")
        let posted = try run("/usr/bin/curl", ["-sS", "-m", "10", "-X", "POST", "-o", "/dev/null", "-w", "%{http_code}", url])
        #expect(posted.stdout == "405")
        let huge = try run("/usr/bin/curl", ["-sS", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Pad: " + String(repeating: "a", count: 20_000), url])
        #expect(huge.stdout == "431", "\(huge.stdout) \(huge.stderr)")
        // Still serving after all of it.
        let again = try run("/usr/bin/curl", ["-sS", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", url])
        #expect(again.stdout == "200")
    }
}
