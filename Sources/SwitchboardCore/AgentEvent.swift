import Foundation

/// The live event stream v1 (docs/event-stream.md): what the agent says as it works.
/// The stream only makes the screen live; the databases stay the source of truth.
public enum AgentEvent: Sendable, Equatable {
    case callStarted(CallStarted)
    case callStep(CallStep)
    case callEnded(CallEnded)
    case bookingCreated(BookingCreated)
    case outboxEnqueued(OutboxEnqueued)
    case outboxAttempt(OutboxAttemptMade)
    case ehrState(EHRStateChanged)
    case agentHeartbeat(AgentHeartbeat)

    public struct CallStarted: Codable, Sendable, Equatable {
        public var callId: String
        public var at: UnixMillis
        public var caller: String?
        public var intent: String?
        public init(callId: String, at: UnixMillis, caller: String? = nil, intent: String? = nil) {
            self.callId = callId; self.at = at; self.caller = caller; self.intent = intent
        }
        enum CodingKeys: String, CodingKey { case at, caller, intent, callId = "call_id" }
    }

    /// One step of a call: `lookup`, `slots`, `book`, `note`, `coverage`, `refill`, `triage`, `route`.
    public struct CallStep: Codable, Sendable, Equatable {
        public var callId: String
        public var at: UnixMillis
        public var step: String
        public var action: String
        public var outcome: AuditOutcome
        public var latencyMs: Int?
        public var httpStatus: Int?
        public var attempt: Int?
        public var detail: String?
        public init(callId: String, at: UnixMillis, step: String, action: String, outcome: AuditOutcome,
                    latencyMs: Int? = nil, httpStatus: Int? = nil, attempt: Int? = nil, detail: String? = nil) {
            self.callId = callId; self.at = at; self.step = step; self.action = action; self.outcome = outcome
            self.latencyMs = latencyMs; self.httpStatus = httpStatus; self.attempt = attempt; self.detail = detail
        }
        enum CodingKeys: String, CodingKey {
            case at, step, action, outcome, attempt, detail
            case callId = "call_id", latencyMs = "latency_ms", httpStatus = "http_status"
        }
    }

    public struct CallEnded: Codable, Sendable, Equatable {
        public var callId: String
        public var at: UnixMillis
        public var outcome: String
        public var firstCallResolved: Bool
        public init(callId: String, at: UnixMillis, outcome: String, firstCallResolved: Bool) {
            self.callId = callId; self.at = at; self.outcome = outcome; self.firstCallResolved = firstCallResolved
        }
        enum CodingKeys: String, CodingKey { case at, outcome, callId = "call_id", firstCallResolved = "first_call_resolved" }
    }

    public struct BookingCreated: Codable, Sendable, Equatable {
        public var bookingId: String
        public var callId: String?
        public var kind: BookingKind
        public var startAt: UnixMillis
        public var reviewRequired: Bool
        public init(bookingId: String, callId: String?, kind: BookingKind, startAt: UnixMillis, reviewRequired: Bool) {
            self.bookingId = bookingId; self.callId = callId; self.kind = kind; self.startAt = startAt
            self.reviewRequired = reviewRequired
        }
        enum CodingKeys: String, CodingKey {
            case kind, bookingId = "booking_id", callId = "call_id", startAt = "start_at", reviewRequired = "review_required"
        }
    }

    public struct OutboxEnqueued: Codable, Sendable, Equatable {
        public var itemId: String
        public var callId: String?
        public var bookingId: String?
        public var operation: String
        public init(itemId: String, callId: String?, bookingId: String?, operation: String) {
            self.itemId = itemId; self.callId = callId; self.bookingId = bookingId; self.operation = operation
        }
        enum CodingKeys: String, CodingKey { case operation, itemId = "item_id", callId = "call_id", bookingId = "booking_id" }
    }

    public struct OutboxAttemptMade: Codable, Sendable, Equatable {
        public var itemId: String
        public var attempt: Int
        public var outcome: String
        public var status: OutboxStatus
        public var httpStatus: Int?
        public init(itemId: String, attempt: Int, outcome: String, status: OutboxStatus, httpStatus: Int? = nil) {
            self.itemId = itemId; self.attempt = attempt; self.outcome = outcome; self.status = status
            self.httpStatus = httpStatus
        }
        enum CodingKeys: String, CodingKey { case attempt, outcome, status, itemId = "item_id", httpStatus = "http_status" }
    }

    public struct EHRStateChanged: Codable, Sendable, Equatable {
        public var state: EHRState
        public var at: UnixMillis
        public var reason: String?
        public init(state: EHRState, at: UnixMillis, reason: String? = nil) {
            self.state = state; self.at = at; self.reason = reason
        }
    }

    public struct AgentHeartbeat: Codable, Sendable, Equatable {
        public var at: UnixMillis
        public var agentId: String
        public var callsInProgress: Int
        public var outboxPending: Int
        /// The EHR link as the agent sees it now, so a console that joins between state
        /// changes knows it (optional: older agents leave it out).
        public var ehrState: EHRState?
        public init(at: UnixMillis, agentId: String, callsInProgress: Int, outboxPending: Int, ehrState: EHRState? = nil) {
            self.at = at; self.agentId = agentId; self.callsInProgress = callsInProgress; self.outboxPending = outboxPending
            self.ehrState = ehrState
        }
        enum CodingKeys: String, CodingKey {
            case at, agentId = "agent_id", callsInProgress = "calls_in_progress", outboxPending = "outbox_pending"
            case ehrState = "ehr_state"
        }
    }
}

extension AgentEvent {
    /// The `event:` name on the wire.
    public var type: String {
        switch self {
        case .callStarted: "call.started"
        case .callStep: "call.step"
        case .callEnded: "call.ended"
        case .bookingCreated: "booking.created"
        case .outboxEnqueued: "outbox.enqueued"
        case .outboxAttempt: "outbox.attempt"
        case .ehrState: "ehr.state"
        case .agentHeartbeat: "agent.heartbeat"
        }
    }

    /// The `data:` JSON object, one line.
    public func encodedData() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data?
        switch self {
        case .callStarted(let p): data = try? encoder.encode(p)
        case .callStep(let p): data = try? encoder.encode(p)
        case .callEnded(let p): data = try? encoder.encode(p)
        case .bookingCreated(let p): data = try? encoder.encode(p)
        case .outboxEnqueued(let p): data = try? encoder.encode(p)
        case .outboxAttempt(let p): data = try? encoder.encode(p)
        case .ehrState(let p): data = try? encoder.encode(p)
        case .agentHeartbeat(let p): data = try? encoder.encode(p)
        }
        return data.flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }

    /// Why an event could not be read.
    public enum DecodeError: Error, Equatable, CustomStringConvertible {
        case malformed(type: String, reason: String)
        public var description: String {
            switch self { case .malformed(let t, let r): "malformed \(t) event: \(r)" }
        }
    }

    /// Reads an event of `type` from its JSON `data`. Returns nil for a type this build
    /// does not know (ignored, per the contract); throws for a known type with bad data.
    public static func decode(type: String, data: String) throws(DecodeError) -> AgentEvent? {
        let bytes = Data(data.utf8)
        let d = decoder
        func read<T: Decodable>(_: T.Type) throws(DecodeError) -> T {
            do { return try d.decode(T.self, from: bytes) } catch {
                throw .malformed(type: type, reason: Self.reason(error))
            }
        }
        switch type {
        case "call.started": return .callStarted(try read(CallStarted.self))
        case "call.step": return .callStep(try read(CallStep.self))
        case "call.ended": return .callEnded(try read(CallEnded.self))
        case "booking.created": return .bookingCreated(try read(BookingCreated.self))
        case "outbox.enqueued": return .outboxEnqueued(try read(OutboxEnqueued.self))
        case "outbox.attempt": return .outboxAttempt(try read(OutboxAttemptMade.self))
        case "ehr.state": return .ehrState(try read(EHRStateChanged.self))
        case "agent.heartbeat": return .agentHeartbeat(try read(AgentHeartbeat.self))
        default: return nil
        }
    }

    /// One decoder for every event: making one per event was a tenth of following a busy
    /// stream. (JSONDecoder is Sendable; these options never change.)
    private static let decoder = JSONDecoder()

    private static func reason(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field \(key.stringValue)"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            "bad value at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.dataCorrupted(let c):
            c.codingPath.isEmpty ? "not JSON" : "bad value at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        default: "unreadable"
        }
    }
}
