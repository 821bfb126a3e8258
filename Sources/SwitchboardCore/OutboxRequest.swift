import Foundation

/// What an outbox item asks the EHR to do, as stored in `outbox_item.request`: the method,
/// the URL relative to the FHIR base (or `mllp://host:port`), the headers that make a retry
/// safe (`If-None-Exist`, `If-Match`, `Idempotency-Key`; never `Authorization`), and the
/// body: FHIR JSON, or the HL7 v2 message.
public struct OutboxRequest: Codable, Sendable, Equatable {
    public var method: String
    public var url: String
    public var headers: [String: String]
    public var body: String

    public init(method: String, url: String, headers: [String: String] = [:], body: String) {
        self.method = method; self.url = url; self.headers = headers; self.body = body
    }

    /// The `outbox_item.request` text (one line, sorted keys).
    public var json: String { JSONText.encode(self) }

    public static func decode(_ text: String) -> OutboxRequest? {
        try? JSONDecoder().decode(OutboxRequest.self, from: Data(text.utf8))
    }
}
