import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

/// The details of one outbox item: where it stands, the request as it will be sent
/// (secrets never shown), every attempt, and the booking and call it belongs to.
enum OutboxDetails {
    /// `revealed`: a viewer asked to see this item's patient details (audited by the runner).
    static func pane(for record: OutboxRecord, identity: OperatorIdentity, presentation p: OutboxPresentation,
                     revealed: Bool = false) -> DetailPane {
        let identity = revealed ? identity.revealing : identity
        let item = record.item
        var items: [DetailPane.Item] = [
            .heading("Outbox item \(item.id)"),
            .field("Status", OutboxPresentation.status(item) + (item.isHeld ? " — waiting for a decision that was never recorded" : "")),
            .field("Operation", "\(item.operation)  via \(item.transport.rawValue) to \(item.ehrSystem)"),
            .field("Created", p.timestamp(item.createdAt)),
            .field("Attempts", "\(item.attempts) of \(item.maxAttempts)"),
            .field("Next", OutboxSchedule.text(item, now: p.now, ehr: p.ehr)),
        ]
        if item.status == .inFlight {
            items.append(.field("Lease", "\(item.leaseOwner ?? "—") until \(item.leaseUntil.map(p.timestamp) ?? "—")"))
        }
        if let error = identity.freeText(item.lastError) { items.append(.field("Last error", error)) }
        if let status = item.lastHttpStatus { items.append(.field("Last HTTP", String(status))) }
        items.append(.field("Idempotency", item.idempotencyKey))

        items.append(.blank)
        items.append(.heading("Request"))
        // Read leniently (an agent may leave out the body): whatever of the contract's keys is there.
        if let request = (try? JSONSerialization.jsonObject(with: Data(item.request.utf8))) as? [String: Any] {
            items.append(.field("Method", request["method"] as? String ?? "—"))
            items.append(.field("URL", (request["url"] as? String).map(identity.requestURL) ?? "—"))
            let headers = request["headers"] as? [String: Any] ?? [:]
            for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
                items.append(.field(name, Secrets.isSecret(name) ? Secrets.hidden : "\(value)"))
            }
            if let body = request["body"] as? String, !body.isEmpty {
                items += identity.requestBody(bodyLines(body)).map(DetailPane.Item.text)
            } else if let body = request["body"], !(body is NSNull),
                      let data = try? JSONSerialization.data(withJSONObject: body, options: [.fragmentsAllowed]) {
                items += identity.requestBody(bodyLines(String(decoding: data, as: UTF8.self))).map(DetailPane.Item.text)
            }
        } else {
            items.append(.text(identity.freeText(Secrets.redactedJSON(item.request)) ?? "(not a request the console can read)"))
        }

        items.append(.blank)
        items.append(.heading("Attempts"))
        let attempts = record.attempts
        if attempts.isEmpty { items.append(.text("No attempt has ended yet.")) }
        for a in attempts {
            let took = a.endedAt.map { " (\($0 - a.startedAt) ms)" } ?? " (never ended)"
            items.append(.field("#\(a.attempt)", "\(p.timestamp(a.startedAt))\(took)  \(a.outcome)  \(a.answer)"
                                + (identity.freeText(a.error).map { "  " + errorText($0, after: a.answer) } ?? "")))
        }

        if let bookingId = item.bookingId {
            items.append(.blank)
            items.append(.heading("Booking \(bookingId)"))
            if let booking = record.booking {
                items.append(.field("Appointment", "\(booking.kind.rawValue) \(booking.appointmentRef) at \(p.timestamp(booking.startAt))"))
                items.append(.field("Patient", identity.patientName(booking.patientDisplay)))
            } else {
                items.append(.text("Not in the audit database."))
            }
            if let decision = record.decision {
                items.append(.field("Decision", "\(decision.decision.rawValue) by \(decision.operator) at \(p.timestamp(decision.decidedAt))"))
            } else {
                items.append(.field("Decision", "none recorded"))
            }
        }
        if let callId = item.callId {
            items.append(.blank)
            items.append(.heading("Call \(callId)"))
            if let call = record.call {
                items.append(.field("Intent", call.intent ?? "—"))
                items.append(.field("Started", p.timestamp(call.startedAt)))
                items.append(.field("Outcome", call.outcome ?? "in progress"))
            } else {
                items.append(.text("Not in the audit database."))
            }
        }
        return DetailPane(items: items)
    }

    /// A JSON body pretty-printed with secret fields hidden; an HL7 message one segment a line.
    static func bodyLines(_ body: String) -> [String] {
        if let pretty = Secrets.redactedJSON(body, pretty: true) { return pretty.components(separatedBy: "\n") }
        return body.split(whereSeparator: { $0 == "\r" || $0 == "\n" }).map(String.init)
    }
}

/// One outbox item as its details show it, read together in the background: the item,
/// its attempts, and the booking, decision and call it belongs to.
struct OutboxRecord: Sendable {
    var item: OutboxItem
    var attempts: [OutboxAttempt]
    var booking: Booking?
    var decision: ReviewDecision?
    var call: Call?

    static func read(itemId: String, outbox: OutboxStore, audit: AuditStore) throws -> OutboxRecord? {
        guard let item = try outbox.item(id: itemId) else { return nil }
        return try audit.snapshot {
            OutboxRecord(item: item, attempts: try outbox.attempts(ofItem: item.id),
                         booking: try item.bookingId.flatMap { try audit.booking(id: $0) },
                         decision: try item.bookingId.flatMap { try audit.decision(bookingId: $0) },
                         call: try item.callId.flatMap { try audit.call(id: $0) })
        }
    }
}

/// What must never be drawn, even if an agent stored it where the contract forbids.
enum Secrets {
    static let hidden = "•••• (hidden)"

    /// Header and field names that carry credentials.
    static func isSecret(_ name: String) -> Bool {
        let n = name.lowercased()
        return ["authorization", "cookie", "api-key", "api_key", "apikey", "token", "secret", "password"].contains { n.contains($0) }
    }

    /// `text` as JSON with secret-named fields hidden, or nil if it is not JSON.
    static func redactedJSON(_ text: String, pretty: Bool = false) -> String? {
        guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else { return nil }
        func redact(_ value: Any) -> Any {
            if let object = value as? [String: Any] {
                return Dictionary(uniqueKeysWithValues: object.map { ($0.key, isSecret($0.key) ? hidden as Any : redact($0.value)) })
            }
            if let array = value as? [Any] { return array.map(redact) }
            return value
        }
        var options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]
        if pretty { options.insert(.prettyPrinted) }
        guard let data = try? JSONSerialization.data(withJSONObject: redact(value), options: options) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
