import Foundation

/// One line of the day-4 rehearsal: a workflow or an edge case of the integration guide,
/// the calls made for it, what the guide expects and what happened.
public struct RehearsalRow: Codable, Sendable, Equatable {
    public var name: String
    /// `workflow` or `edge case`.
    public var kind: String
    public var calls: Int
    public var expected: String
    public var happened: String
    /// Requests the EHR served during this row (HTTP and MLLP), counted by the EHR.
    public var ehrRequests: Int
    /// Audit rows with an outcome other than success.
    public var failures: Int
    public var auditRows: Int
    public var pass: Bool
    /// Why it failed, when it did.
    public var problems: [String]

    public init(name: String, kind: String, calls: Int, expected: String, happened: String, ehrRequests: Int, failures: Int,
                auditRows: Int, pass: Bool, problems: [String]) {
        self.name = name; self.kind = kind; self.calls = calls; self.expected = expected; self.happened = happened
        self.ehrRequests = ehrRequests; self.failures = failures; self.auditRows = auditRows; self.pass = pass; self.problems = problems
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, calls, expected, happened, failures, pass, problems
        case ehrRequests = "ehr_requests", auditRows = "audit_rows"
    }
}

/// The day-4 rehearsal's result (`switchboard-sim run --protocol day4` writes it as
/// DIR/day4-report.json); `switchboard report` shows it as a section of the sign-off report.
public struct RehearsalReport: Codable, Sendable, Equatable {
    public var protocolName: String
    public var transport: Transport
    public var seed: UInt64
    public var calls: Int
    public var rows: [RehearsalRow]
    public var pass: Bool { rows.allSatisfy(\.pass) }

    enum CodingKeys: String, CodingKey { case protocolName = "protocol", transport, seed, calls, rows, pass }

    public init(protocolName: String, transport: Transport, seed: UInt64, calls: Int, rows: [RehearsalRow]) {
        self.protocolName = protocolName; self.transport = transport; self.seed = seed; self.calls = calls; self.rows = rows
    }

    /// `pass` is written for readers and worked out again from the rows when read.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(protocolName: try c.decode(String.self, forKey: .protocolName), transport: try c.decode(Transport.self, forKey: .transport),
                  seed: try c.decode(UInt64.self, forKey: .seed), calls: try c.decode(Int.self, forKey: .calls),
                  rows: try c.decode([RehearsalRow].self, forKey: .rows))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(protocolName, forKey: .protocolName); try c.encode(transport, forKey: .transport)
        try c.encode(seed, forKey: .seed); try c.encode(calls, forKey: .calls); try c.encode(rows, forKey: .rows)
        try c.encode(pass, forKey: .pass)
    }

    /// The table as printed: one line per row, fixed columns.
    public var table: String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? String(s.prefix(n)) : s + String(repeating: " ", count: n - s.count) }
        var lines = [pad("row", 30) + pad("calls", 6) + pad("expected", 40) + pad("happened", 36) + pad("EHR req", 8)
            + pad("fail", 5) + pad("audit", 6) + "result"]
        for r in rows {
            lines.append(pad(r.name, 30) + pad(String(r.calls), 6) + pad(r.expected, 40) + pad(r.happened, 36)
                + pad(String(r.ehrRequests), 8) + pad(String(r.failures), 5) + pad(String(r.auditRows), 6) + (r.pass ? "PASS" : "FAIL"))
            for p in r.problems { lines.append("    " + p) }
        }
        let passed = rows.filter(\.pass).count
        lines.append("\(passed) of \(rows.count) rows pass, \(calls) calls, \(transport.rawValue)")
        return lines.joined(separator: "\n")
    }
}
