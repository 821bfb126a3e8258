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
    /// Read from the bytes by ``EventObject`` with JSONDecoder's rules (a busy stream is
    /// hundreds of these a second); `decodeWithFoundation` is the same read the slow way.
    public static func decode(type: String, data: String) throws(DecodeError) -> AgentEvent? {
        guard let read = reader(type) else { return nil }
        let object: EventObject
        do { object = try EventObject(utf8: data) } catch {
            throw .malformed(type: type, reason: error == .notAnObject ? "not a JSON object" : "not JSON")
        }
        do { return try read(object) } catch {
            switch error {
            case .missing(let key): throw .malformed(type: type, reason: "missing field \(key)")
            case .bad(let key): throw .malformed(type: type, reason: "bad value at \(key)")
            }
        }
    }

    /// Each known type's fields, read in the order its struct declares them (so the first
    /// field at fault is the one JSONDecoder would name).
    private static func reader(_ type: String) -> ((EventObject) throws(EventObject.FieldError) -> AgentEvent)? {
        switch type {
        case "call.started": return { o throws(EventObject.FieldError) in
            .callStarted(.init(callId: try o.string("call_id"), at: try o.int("at"),
                               caller: try o.optionalString("caller"), intent: try o.optionalString("intent")))
        }
        case "call.step": return { o throws(EventObject.FieldError) in
            let callId = try o.string("call_id"), at = try o.int("at"), step = try o.string("step")
            let action = try o.string("action")
            guard let outcome = AuditOutcome(rawValue: Int(try o.int("outcome"))) else { throw .bad("outcome") }
            return .callStep(.init(callId: callId, at: at, step: step, action: action, outcome: outcome,
                                   latencyMs: try o.optionalInt("latency_ms"), httpStatus: try o.optionalInt("http_status"),
                                   attempt: try o.optionalInt("attempt"), detail: try o.optionalString("detail")))
        }
        case "call.ended": return { o throws(EventObject.FieldError) in
            .callEnded(.init(callId: try o.string("call_id"), at: try o.int("at"), outcome: try o.string("outcome"),
                             firstCallResolved: try o.bool("first_call_resolved")))
        }
        case "booking.created": return { o throws(EventObject.FieldError) in
            .bookingCreated(.init(bookingId: try o.string("booking_id"), callId: try o.optionalString("call_id"),
                                  kind: try o.choice("kind", BookingKind.self), startAt: try o.int("start_at"),
                                  reviewRequired: try o.bool("review_required")))
        }
        case "outbox.enqueued": return { o throws(EventObject.FieldError) in
            .outboxEnqueued(.init(itemId: try o.string("item_id"), callId: try o.optionalString("call_id"),
                                  bookingId: try o.optionalString("booking_id"), operation: try o.string("operation")))
        }
        case "outbox.attempt": return { o throws(EventObject.FieldError) in
            .outboxAttempt(.init(itemId: try o.string("item_id"), attempt: Int(try o.int("attempt")),
                                 outcome: try o.string("outcome"), status: try o.choice("status", OutboxStatus.self),
                                 httpStatus: try o.optionalInt("http_status")))
        }
        case "ehr.state": return { o throws(EventObject.FieldError) in
            .ehrState(.init(state: try o.choice("state", EHRState.self), at: try o.int("at"),
                            reason: try o.optionalString("reason")))
        }
        case "agent.heartbeat": return { o throws(EventObject.FieldError) in
            .agentHeartbeat(.init(at: try o.int("at"), agentId: try o.string("agent_id"),
                                  callsInProgress: Int(try o.int("calls_in_progress")),
                                  outboxPending: Int(try o.int("outbox_pending")),
                                  ehrState: try o.optionalChoice("ehr_state", EHRState.self)))
        }
        default: return nil
        }
    }

    /// The same read through Foundation's JSONDecoder and the types' Codable conformance:
    /// what ``decode(type:data:)`` must agree with (tests hold them side by side).
    public static func decodeWithFoundation(type: String, data: String) throws(DecodeError) -> AgentEvent? {
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
