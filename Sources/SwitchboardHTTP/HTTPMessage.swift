import Foundation

/// Header fields in the order they were given; names compare case-insensitively.
///
/// ```swift
/// var headers: HTTPHeaders = ["Accept": "application/fhir+json"]
/// headers["accept"]  // "application/fhir+json"
/// ```
public struct HTTPHeaders: Sendable, Equatable, ExpressibleByDictionaryLiteral, Sequence {
    public private(set) var fields: [(name: String, value: String)]

    public init(_ fields: [(name: String, value: String)] = []) { self.fields = fields }

    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { (name: $0.0, value: $0.1) }
    }

    /// The first value for `name`; setting replaces every field of that name (nil removes them).
    public subscript(name: String) -> String? {
        get { fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value }
        set {
            fields.removeAll { $0.name.caseInsensitiveCompare(name) == .orderedSame }
            if let newValue { fields.append((name: name, value: newValue)) }
        }
    }

    /// Every value for `name`, in order (e.g. several `Set-Cookie` or `Link` fields).
    public func values(for name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }

    public mutating func append(name: String, value: String) { fields.append((name: name, value: value)) }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

    public static func == (a: HTTPHeaders, b: HTTPHeaders) -> Bool {
        a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy {
            $0.name.caseInsensitiveCompare($1.name) == .orderedSame && $0.value == $1.value
        }
    }

    /// Names whose values are credentials: never printed, logged or stored.
    public static let secretNames: Set<String> = ["authorization", "proxy-authorization", "cookie", "set-cookie"]

    /// The fields with credential values replaced by `<redacted>`, safe for logs and the outbox.
    public var redacted: HTTPHeaders {
        HTTPHeaders(fields.map { field in
            Self.secretNames.contains(field.name.lowercased()) ? (name: field.name, value: "<redacted>") : field
        })
    }
}

/// One HTTP request. `timeout` bounds the whole exchange; nil takes the client's default.
///
/// ```swift
/// let request = HTTPRequest("GET", "https://ehr.example/fhir/metadata",
///                           headers: ["Accept": "application/fhir+json"])
/// ```
public struct HTTPRequest: Sendable, CustomStringConvertible {
    public var method: String
    public var url: String
    public var headers: HTTPHeaders
    public var body: Data?
    public var timeout: Duration?

    public init(_ method: String = "GET", _ url: String, headers: HTTPHeaders = [:], body: Data? = nil,
                timeout: Duration? = nil) {
        self.method = method.uppercased(); self.url = url; self.headers = headers; self.body = body
        self.timeout = timeout
    }

    /// Method and URL only: URLs here carry no credentials, headers may.
    public var description: String { "\(method) \(url)" }
}

/// A complete response. `totalTime` is libcurl's time for the transfer (name lookup to last byte).
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: Data
    public var totalTime: Duration
    /// Whether the request went over a connection kept from an earlier request.
    public var reusedConnection: Bool

    public init(status: Int, headers: HTTPHeaders = [:], body: Data = Data(), totalTime: Duration = .zero,
                reusedConnection: Bool = false) {
        self.status = status; self.headers = headers; self.body = body; self.totalTime = totalTime
        self.reusedConnection = reusedConnection
    }

    public var isSuccess: Bool { (200..<300).contains(status) }
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// What a streaming request yields: the status line and headers once, then body bytes as they arrive.
public enum HTTPStreamPart: Sendable, Equatable {
    case head(status: Int, headers: HTTPHeaders)
    case bytes([UInt8])
}
