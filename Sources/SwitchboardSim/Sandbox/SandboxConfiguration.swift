import Foundation
import SwitchboardHTTP

/// How to start an `EHRSandbox`.
///
///     let sandbox = EHRSandbox()
///     let endpoints = try await sandbox.start(SandboxConfiguration(directory: dir, patientCount: 500))
///     // endpoints.fhirBaseURL == "http://127.0.0.1:41234/fhir"
public struct SandboxConfiguration: Sendable {
    /// Holds `ehr-sandbox.sqlite` and `sandbox.json`.
    public var directory: URL
    /// Port 0 lets the system choose; a restart after an outage keeps the chosen port.
    public var fhirPort: UInt16 = 0
    public var mllpPort: UInt16 = 0
    public var controlPort: UInt16 = 0
    /// Everything about the synthetic practice follows from this seed.
    public var seed: UInt64 = 1
    /// First day of the two weeks of slots, `YYYY-MM-DD`; nil means today (UTC).
    public var startDate: String?
    public var patientCount: Int = 3000
    /// Puts control characters and terminal escape sequences into some names, as a
    /// compromised upstream might.
    public var hostileData = false
    public var clientID = "switchboard-agent"
    public var clientSecret = "sandbox-secret"
    public var tokenLifetimeSeconds: Double = 300
    public var faults = SandboxFaults()
    /// Search pages hold this many entries unless `_count` says otherwise.
    public var defaultPageSize = 50
    /// The practice id in the REST API's paths (`/v1/{practiceid}/…`).
    public var restPracticeID = "195900"
    /// The REST API's rate limit: requests per second, over which it answers 429.
    public var restRequestsPerSecond = 1000
    /// SMART Backend Services clients: client id → the JWK Set of its public keys. Such a
    /// client gets tokens with an ES384 client assertion (`private_key_jwt`) instead of a secret.
    public var smartClientJWKS: [String: String] = [:]
    /// Serve FHIR/REST as HTTPS and MLLP inside TLS with this certificate (`TLSDoor`); nil: plain.
    public var tls: TLSServerIdentity?

    public init(directory: URL, fhirPort: UInt16 = 0, mllpPort: UInt16 = 0, controlPort: UInt16 = 0, seed: UInt64 = 1,
                startDate: String? = nil, patientCount: Int = 3000, hostileData: Bool = false,
                clientID: String = "switchboard-agent", clientSecret: String = "sandbox-secret",
                tokenLifetimeSeconds: Double = 300, faults: SandboxFaults = SandboxFaults(), defaultPageSize: Int = 50,
                tls: TLSServerIdentity? = nil) {
        self.tls = tls
        self.directory = directory; self.fhirPort = fhirPort; self.mllpPort = mllpPort; self.controlPort = controlPort
        self.seed = seed; self.startDate = startDate; self.patientCount = patientCount; self.hostileData = hostileData
        self.clientID = clientID; self.clientSecret = clientSecret; self.tokenLifetimeSeconds = tokenLifetimeSeconds
        self.faults = faults; self.defaultPageSize = defaultPageSize
    }
}

/// Misbehaviour to inject into FHIR requests. Rates are fractions of requests (0…1),
/// drawn independently per request. Set at start, or while running through
/// `POST /control/faults` with this type as JSON (absent keys keep their defaults).
public struct SandboxFaults: Codable, Sendable, Equatable {
    /// Added delay, lognormal: half the requests wait less than `medianMs`, 1% more than `p99Ms`.
    public struct Latency: Codable, Sendable, Equatable {
        public var medianMs: Double
        public var p99Ms: Double

        public init(medianMs: Double, p99Ms: Double) { self.medianMs = medianMs; self.p99Ms = p99Ms }
    }

    public var latency: Latency?
    /// 500 Internal Server Error.
    public var errorRate: Double = 0
    /// Held for `timeoutSeconds` before being handled, longer than a client waits; the
    /// write still happens afterwards, as with a real EHR whose answer was lost.
    public var timeoutRate: Double = 0
    public var timeoutSeconds: Double = 30
    /// 429 Too Many Requests with `Retry-After`.
    public var throttleRate: Double = 0
    /// 503 Service Unavailable with `Retry-After`.
    public var unavailableRate: Double = 0
    public var retryAfterSeconds: Int = 2
    /// 412 Precondition Failed on updates, as if someone else changed the appointment.
    public var versionConflictRate: Double = 0
    /// 401 with `error="invalid_token"`, as when the EHR revokes tokens early.
    public var unauthorizedRate: Double = 0

    public init(latency: Latency? = nil, errorRate: Double = 0, timeoutRate: Double = 0, timeoutSeconds: Double = 30,
                throttleRate: Double = 0, unavailableRate: Double = 0, retryAfterSeconds: Int = 2,
                versionConflictRate: Double = 0, unauthorizedRate: Double = 0) {
        self.latency = latency; self.errorRate = errorRate; self.timeoutRate = timeoutRate
        self.timeoutSeconds = timeoutSeconds; self.throttleRate = throttleRate; self.unavailableRate = unavailableRate
        self.retryAfterSeconds = retryAfterSeconds; self.versionConflictRate = versionConflictRate
        self.unauthorizedRate = unauthorizedRate
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SandboxFaults()
        latency = try c.decodeIfPresent(Latency.self, forKey: .latency)
        errorRate = try c.decodeIfPresent(Double.self, forKey: .errorRate) ?? d.errorRate
        timeoutRate = try c.decodeIfPresent(Double.self, forKey: .timeoutRate) ?? d.timeoutRate
        timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? d.timeoutSeconds
        throttleRate = try c.decodeIfPresent(Double.self, forKey: .throttleRate) ?? d.throttleRate
        unavailableRate = try c.decodeIfPresent(Double.self, forKey: .unavailableRate) ?? d.unavailableRate
        retryAfterSeconds = try c.decodeIfPresent(Int.self, forKey: .retryAfterSeconds) ?? d.retryAfterSeconds
        versionConflictRate = try c.decodeIfPresent(Double.self, forKey: .versionConflictRate) ?? d.versionConflictRate
        unauthorizedRate = try c.decodeIfPresent(Double.self, forKey: .unauthorizedRate) ?? d.unauthorizedRate
    }

    /// A delay drawn from the latency distribution, in seconds.
    func sampleLatency<G: RandomNumberGenerator>(using rng: inout G) -> Double {
        guard let latency, latency.medianMs > 0 else { return 0 }
        let mu = log(latency.medianMs)
        let sigma = max(0, log(max(latency.p99Ms, latency.medianMs)) - mu) / 2.326
        // Box–Muller: one standard normal from two uniforms.
        let u1 = Double.random(in: Double.ulpOfOne ..< 1, using: &rng), u2 = Double.random(in: 0 ..< 1, using: &rng)
        let z = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
        return exp(mu + sigma * z) / 1000
    }
}

/// Where a started sandbox listens.
public struct SandboxEndpoints: Codable, Sendable, Equatable {
    /// `http://127.0.0.1:PORT/fhir`
    public var fhirBaseURL: String
    /// The vendor REST API, `http://127.0.0.1:PORT/v1/{practiceid}` (same port as FHIR).
    public var restBaseURL: String?
    /// `http://127.0.0.1:PORT/oauth/token`
    public var tokenURL: String
    /// `http://127.0.0.1:PORT/control`: faults and outages; never affected by them.
    public var controlURL: String
    public var fhirPort: UInt16
    public var mllpPort: UInt16
    public var controlPort: UInt16
    public var clientID: String
    /// A sandbox credential, written so the simulated agent in another process can log in.
    public var clientSecret: String
    public var pid: Int32
    /// The MLLP port speaks TLS (nil or false: plain MLLP).
    public var mllpOverTLS: Bool?

    /// `DIR/sandbox.json`, which `switchboard-sim outage 45s --dir DIR` reads.
    public static func file(in directory: URL) -> URL { directory.appendingPathComponent("sandbox.json") }

    public static func read(from directory: URL) throws -> SandboxEndpoints {
        try JSONDecoder().decode(SandboxEndpoints.self, from: Data(contentsOf: file(in: directory)))
    }

    func write(to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let url = SandboxEndpoints.file(in: directory)
        try encoder.encode(self).write(to: url, options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
    }
}

/// What `GET /control/faults` answers.
public struct SandboxFaultState: Codable, Sendable, Equatable {
    public var faults: SandboxFaults
    /// Seconds left of the current outage; 0 when up.
    public var outageSecondsLeft: Double
}

/// Counts of what the sandbox served: `GET /control/stats` while it runs, and
/// `DIR/sandbox-stats.json` when it stops.
public struct SandboxStatistics: Codable, Sendable, Equatable {
    /// Requests that reached `/fhir/*` or the REST API (metadata included; the token endpoint is not counted).
    public var fhirRequests: Int
    /// HL7 v2 messages that reached the MLLP listener (nil in files from before it was counted).
    public var mllpMessages: Int?

    public init(fhirRequests: Int, mllpMessages: Int? = nil) { self.fhirRequests = fhirRequests; self.mllpMessages = mllpMessages }

    /// Every request the EHR served, over any pathway.
    public var requests: Int { fhirRequests + (mllpMessages ?? 0) }

    enum CodingKeys: String, CodingKey { case fhirRequests = "fhir_requests", mllpMessages = "mllp_messages" }

    public static func file(in directory: URL) -> URL { directory.appendingPathComponent("sandbox-stats.json") }

    public static func read(from directory: URL) -> SandboxStatistics? {
        (try? Data(contentsOf: file(in: directory))).flatMap { try? JSONDecoder().decode(SandboxStatistics.self, from: $0) }
    }
}
