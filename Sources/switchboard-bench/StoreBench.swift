import ArgumentParser
import Foundation
import SwitchboardCore
import SwitchboardSim
import SwitchboardStore

struct StoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "First and deep pages of the audit and review lists, against sqlite3 running the same SQL.")

    @Option(help: "Directory for the benchmark databases (reused when they already hold enough rows).")
    var dir = "/tmp/switchboard-bench"

    @Option(help: "Audit rows to generate (about 3.4 per call).")
    var auditRows = 1_000_000

    @Option(help: "Repetitions per query; the median is reported.")
    var runs = 30

    @Option(help: ArgumentHelp("Squeeze the generated history into this many hours (47: every row inside one go-live window).", valueName: "hours"))
    var spanHours: Int?

    @Flag(help: "Only the go-live counts, each timed once, and sqlite3's aggregates once (for 10M rows, where one scan takes tens of seconds).")
    var goLiveOnly = false

    func run() throws {
        let auditPath = dir + "/audit.sqlite", outboxPath = dir + "/outbox.sqlite"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let existing = (try? AuditStore(path: auditPath, mode: .readOnly).summary(now: 0).auditRows) ?? 0
        if existing < Int64(auditRows) {
            for path in [auditPath, outboxPath] { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
            let now = Clock.nowMillis()
            let calls = Int(Double(auditRows) / 3.39)
            // The whole history inside the review window: the review list is as long as it gets.
            let span = spanHours.map { Int64($0) * 3_600_000 } ?? max(30 * 3_600_000, Int64(calls) * 40_000)
            let plan = HistoryPlan(calls: calls, seed: 1, endsAt: now, spanMillis: span, windowStart: now - span)
            print("generating \(plan.calls) calls …")
            let report = try HistoryGenerator(plan: plan).write(
                audit: try AuditStore(path: auditPath, mode: .create), outbox: try OutboxStore(path: outboxPath, mode: .create))
            print(String(format: "generated %d audit rows, %d bookings, %d outbox items in %.1f s (%.0f audit rows/s)",
                         report.auditRows, report.bookings, report.outboxItems, report.seconds, Double(report.auditRows) / report.seconds))
        }
        let store = try AuditStore(path: auditPath, mode: .readOnly)
        let summary = try store.summary(now: Clock.nowMillis())
        print("database: \(summary.auditRows) audit rows, \(summary.bookingsAwaitingReview + summary.bookingsDecided) bookings in review\n")

        if goLiveOnly { return try goLiveFigures(store: store, outboxPath: outboxPath, auditPath: auditPath) }
        let lastSeq = summary.auditRows
        let tail = try store.reviewQueueTail(limit: 61)
        let deepCursor = tail.first!.cursor
        let limit = 60
        let cases: [(String, String, () throws -> Int)] = [
            ("audit, first page", "SELECT * FROM audit_event ORDER BY seq DESC LIMIT 60;",
             { try store.auditEvents(limit: limit).count }),
            ("audit, page near the end", "SELECT * FROM audit_event WHERE seq < 61 ORDER BY seq DESC LIMIT 60;",
             { try store.auditEvents(before: 61, limit: limit).count }),
            ("review, first page", """
                SELECT b.*, d.* FROM booking b INDEXED BY booking_review_queue LEFT JOIN review_decision d ON d.booking_id = b.booking_id \
                WHERE b.review_required = 1 ORDER BY b.decided, b.booked_at, b.booking_id LIMIT 60;
                """, { try store.reviewQueue(limit: limit).count }),
            ("review, page near the end", """
                SELECT b.*, d.* FROM booking b INDEXED BY booking_review_queue LEFT JOIN review_decision d ON d.booking_id = b.booking_id \
                WHERE b.review_required = 1 AND (b.decided, b.booked_at, b.booking_id) > (\(deepCursor.decided ? 1 : 0), \(deepCursor.bookedAt), '\(deepCursor.bookingId)') \
                ORDER BY b.decided, b.booked_at, b.booking_id LIMIT 60;
                """, { try store.reviewQueue(after: deepCursor, limit: limit).count }),
        ]
        print("query                         switchboard ms   sqlite3 ms   ratio   rows")
        for (name, sql, body) in cases {
            var rows = 0
            _ = try body()  // warm the page cache for both
            let ours = try medianMillis(runs: runs) { rows = try body() }
            // At least 200 repetitions: a page is tens of microseconds, and the two processes'
            // start-up jitter must not swamp the difference.
            let theirs = try sqlite3Median(path: auditPath, sql: sql, runs: max(runs, 200))
            print(name.padding(toLength: 30, withPad: " ", startingAt: 0)
                  + format(ours).leftPad(14) + format(theirs).leftPad(13) + String(format: "%.2fx", ours / theirs).leftPad(8)
                  + String(rows).leftPad(7))
            record("store: \(name)", ours, "ms", baseline: theirs, "sqlite3, same SQL", .ratioAtMost, 1.5)
        }
        let offset = try sqlite3Median(path: auditPath, sql: "SELECT * FROM audit_event ORDER BY seq DESC LIMIT 60 OFFSET \(max(0, lastSeq - 120));", runs: 3)
        print("\nfor contrast, sqlite3 with OFFSET to the same deep audit page: \(format(offset)) ms")
        print("(switchboard: in-process query and decoding into records; sqlite3: the same SQL in the sqlite3 tool, output to /dev/null, start-up subtracted)")
        try goLiveFigures(store: store, outboxPath: outboxPath, auditPath: auditPath)
    }

    /// The Go-live screen's first count over the whole file (every row in the window),
    /// against sqlite3 computing the same aggregates in one scan; then a count with
    /// nothing new, which is what every data change costs afterwards.
    func goLiveFigures(store: AuditStore, outboxPath: String, auditPath: String) throws {
        let outbox = try OutboxStore(path: outboxPath, mode: .readOnly)
        // A real 48-hour window (192 trend buckets) when the history fits in one; else one
        // window holding all of it.
        let firstAt = try store.auditEvents(after: 0, limit: 1).first?.at ?? 0
        let lastAt = try store.auditEvents(limit: 1).first?.at ?? 0
        let window = lastAt - firstAt < GoLiveTargets.windowMillis ? GoLiveWindow(startsAt: firstAt)
            : GoLiveWindow(startsAt: firstAt, lengthMillis: lastAt - firstAt + 1)
        var tally = GoLiveTally(window: window)
        let cpuBefore = cpuMillis(RUSAGE_SELF)
        let first = try medianMillis(runs: goLiveOnly ? 1 : 3) {
            tally = GoLiveTally(window: window)
            try tally.advance(audit: store, outbox: outbox)
        }
        let firstCPU = cpuMillis(RUSAGE_SELF) - cpuBefore
        // The audit rows' part alone: what the sqlite3 baseline computes.
        let auditBefore = cpuMillis(RUSAGE_SELF)
        let auditOnly = try medianMillis(runs: goLiveOnly ? 1 : 3) {
            var audited = GoLiveTally(window: window)
            try audited.advance(audit: store, outbox: outbox, totals: false)
        }
        let auditCPU = cpuMillis(RUSAGE_SELF) - auditBefore
        let again = try medianMillis(runs: goLiveOnly ? 3 : runs) { try tally.advance(audit: store, outbox: outbox, totals: false) }
        let totals = try medianMillis(runs: goLiveOnly ? 3 : runs) { try tally.advance(audit: store, outbox: outbox) }
        // The same two aggregates GoLiveTally asks of each part, over the whole window in one go.
        let statements = AuditStore.goLiveSQL(where: "at >= \(window.startsAt) AND at < \(window.endsAt)")
        let sql = (statements.counts + ";\n" + statements.latency + ";").replacingOccurrences(of: "\n", with: " ")
        let childrenBefore = cpuMillis(RUSAGE_CHILDREN)
        let theirs = goLiveOnly ? try sqlite3Once(path: auditPath, sql: sql) : try sqlite3Median(path: auditPath, sql: sql, runs: 2)
        if goLiveOnly {
            // On a machine shared with other builds, CPU time says more than wall time.
            let theirCPU = cpuMillis(RUSAGE_CHILDREN) - childrenBefore
            print("go-live first count, CPU time (user + system): \(format(firstCPU)) ms; sqlite3's: \(format(theirCPU)) ms (\(String(format: "%.2fx", firstCPU / theirCPU)))")
            print("go-live first count, the audit rows alone: \(format(auditOnly)) ms, CPU \(format(auditCPU)) ms (\(String(format: "%.2fx", auditCPU / theirCPU)) sqlite3's)")
        }
        print("\ngo-live figures, first count of \(tally.ehrRequests) EHR requests: \(format(first)) ms; sqlite3, the same aggregates in one scan: "
              + "\(format(theirs)) ms (\(String(format: "%.2fx", first / theirs)))")
        print("go-live figures, the audit rows' part of it: \(format(auditOnly)) ms (\(String(format: "%.2fx", auditOnly / theirs)))")
        print("go-live figures, a count with no new rows (every later data change, at most once a second): \(format(again)) ms")
        record("go-live: first count", first, "ms", baseline: theirs, "sqlite3, audit aggregates", .ratioAtMost, 1.5)
        record("go-live: first count, audit rows", auditOnly, "ms", baseline: theirs, "sqlite3, same aggregates", .ratioAtMost, 1.5)
        record("go-live: refresh, no new rows", again, "ms", .atMost, 16)
        record("go-live: recount", totals, "ms", .atMost, 1000)
        print("go-live figures, recounting calls, bookings, the outbox, the last hour and planned outages (every 10 s): \(format(totals)) ms")
    }

    /// User and system CPU time of this process or its waited-for children, in milliseconds.
    func cpuMillis(_ who: __rusage_who) -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(who.rawValue), &usage)
        func ms(_ t: timeval) -> Double { Double(t.tv_sec) * 1000 + Double(t.tv_usec) / 1000 }
        return ms(usage.ru_utime) + ms(usage.ru_stime)
    }

    /// The sqlite3 tool's whole time for one run of the SQL (start-up included: milliseconds
    /// against a scan of seconds).
    func sqlite3Once(path: String, sql: String) throws -> Double {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(getpid())-once.sql").path
        try (sql + "\n").write(toFile: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: script) }
        let start = DispatchTime.now().uptimeNanoseconds
        try spawnAndWait("/usr/bin/sqlite3", ["-readonly", path, ".read \(script)"])
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000
    }

    /// The sqlite3 tool's time for one run of the SQL: a process running it `runs + 1`
    /// times minus one running it once, divided by `runs` (so start-up, opening the file
    /// and the first, cache-warming run cancel out); the median of five such pairs.
    /// (`.timer on` reports only whole milliseconds, too coarse for a page query.)
    func sqlite3Median(path: String, sql: String, runs: Int) throws -> Double {
        func wall(_ copies: Int) throws -> Double {
            let script = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(getpid())-\(copies).sql").path
            try String(repeating: sql + "\n", count: copies).write(toFile: script, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: script) }
            let start = DispatchTime.now().uptimeNanoseconds
            try spawnAndWait("/usr/bin/sqlite3", ["-readonly", path, ".read \(script)"])
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000
        }
        var samples: [Double] = []
        for _ in 0..<5 {
            let many = try wall(runs + 1), one = try wall(1)
            samples.append(max(0.001, (many - one) / Double(runs)))
        }
        samples.sort()
        return samples[2]
    }
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? " " + self : String(repeating: " ", count: width - count) + self }
}

/// posix_spawn and waitpid: Foundation's Process polls for the child's exit and adds tens
/// of milliseconds, more than the queries being timed.
func spawnAndWait(_ program: String, _ arguments: [String]) throws {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    let argv = ([program] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, program, &actions, nil, argv, environ)
    guard rc == 0 else { throw ValidationError("cannot run \(program): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
}
