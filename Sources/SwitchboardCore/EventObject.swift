/// The `data:` object of one event, read straight from its UTF-8 bytes.
///
/// A console on a busy agent reads hundreds of events a second, and Foundation's
/// JSONDecoder (a generic Decoder over a parsed tree) was the largest part of following
/// them. Events are flat objects of strings, integers and booleans, so this reads the
/// object once, strictly as RFC 8259 says, keeps the top-level fields and skips (still
/// checking) anything nested. The typed reads below keep JSONDecoder's rules: a required
/// field missing or null, or a value of the wrong type, makes the event malformed; an
/// optional field may be absent or null; unknown fields are ignored.
struct EventObject {
    enum Value {
        case string(String)
        /// An integer, or a number with a fraction or exponent that is exactly one
        /// (JSONDecoder reads `1.0` and `1e3` as integers); nil for any other number.
        case number(Int64?)
        case bool(Bool)
        case null
        /// An object or array (read and checked, not kept).
        case nested
    }

    enum Failure: Error { case notJSON, notAnObject }

    /// Top-level fields in the order given; a repeated key's first value counts (as in JSONDecoder).
    private(set) var fields: [(key: String, value: Value)] = []

    init(utf8 text: String) throws(Failure) {
        var text = text
        var result: Result<[(key: String, value: Value)], Failure> = .failure(.notJSON)
        text.withUTF8 { bytes in
            var scan = Scan(bytes: bytes)
            result = Result { () throws(Failure) in try scan.object() }
        }
        fields = try result.get()
    }

    subscript(key: String) -> Value? {
        fields.first(where: { $0.key == key })?.value
    }
}

/// Typed reads with JSONDecoder's error reasons (`missing field X`, `bad value at X`).
extension EventObject {
    enum FieldError: Error { case missing(String), bad(String) }

    func string(_ key: String) throws(FieldError) -> String {
        guard let value = self[key] else { throw .missing(key) }
        guard case .string(let s) = value else { throw .bad(key) }
        return s
    }

    func optionalString(_ key: String) throws(FieldError) -> String? {
        switch self[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw .bad(key)
        }
    }

    func int(_ key: String) throws(FieldError) -> Int64 {
        guard let value = self[key] else { throw .missing(key) }
        guard case .number(let n?) = value else { throw .bad(key) }
        return n
    }

    func optionalInt(_ key: String) throws(FieldError) -> Int? {
        switch self[key] {
        case nil, .null?: return nil
        case .number(let n?)?: return Int(n)
        default: throw .bad(key)
        }
    }

    func bool(_ key: String) throws(FieldError) -> Bool {
        guard let value = self[key] else { throw .missing(key) }
        guard case .bool(let b) = value else { throw .bad(key) }
        return b
    }

    /// A string that must be one of `T`'s raw values.
    func choice<T: RawRepresentable<String>>(_ key: String, _: T.Type) throws(FieldError) -> T {
        guard let choice = T(rawValue: try string(key)) else { throw .bad(key) }
        return choice
    }

    func optionalChoice<T: RawRepresentable<String>>(_ key: String, _: T.Type) throws(FieldError) -> T? {
        guard let raw = try optionalString(key) else { return nil }
        guard let choice = T(rawValue: raw) else { throw .bad(key) }
        return choice
    }
}

/// A strict RFC 8259 reader over bytes that are valid UTF-8 (they come from a String).
private struct Scan {
    let bytes: UnsafeBufferPointer<UInt8>
    var at = 0
    /// Nesting allowed inside an unknown field (JSONDecoder stops at 512 too).
    static let maxDepth = 512

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func object() throws(EventObject.Failure) -> [(key: String, value: EventObject.Value)] {
        skipSpace()
        guard at < bytes.count else { throw .notJSON }
        guard bytes[at] == UInt8(ascii: "{") else {
            // Valid JSON that is not an object is a wrong type, not broken text.
            try skipValue(depth: 0)
            skipSpace()
            throw at == bytes.count ? .notAnObject : .notJSON
        }
        at += 1
        var fields: [(key: String, value: EventObject.Value)] = []
        fields.reserveCapacity(8)
        skipSpace()
        if peek == UInt8(ascii: "}") {
            at += 1
        } else {
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\"") else { throw .notJSON }
                let key = try string()
                skipSpace()
                guard peek == UInt8(ascii: ":") else { throw .notJSON }
                at += 1
                skipSpace()
                fields.append((key, try value()))
                skipSpace()
                if peek == UInt8(ascii: ",") { at += 1; continue }
                guard peek == UInt8(ascii: "}") else { throw .notJSON }
                at += 1
                break
            }
        }
        skipSpace()
        guard at == bytes.count else { throw .notJSON }
        return fields
    }

    private var peek: UInt8? { at < bytes.count ? bytes[at] : nil }

    private mutating func skipSpace() {
        while at < bytes.count {
            switch bytes[at] {
            case 0x20, 0x09, 0x0A, 0x0D: at += 1
            default: return
            }
        }
    }

    private mutating func value() throws(EventObject.Failure) -> EventObject.Value {
        switch peek {
        case UInt8(ascii: "\"")?: return .string(try string())
        case UInt8(ascii: "{")?, UInt8(ascii: "[")?: try skipValue(depth: 0); return .nested
        case UInt8(ascii: "t")?: try literal("true"); return .bool(true)
        case UInt8(ascii: "f")?: try literal("false"); return .bool(false)
        case UInt8(ascii: "n")?: try literal("null"); return .null
        default: return .number(try number())
        }
    }

    private mutating func literal(_ word: StaticString) throws(EventObject.Failure) {
        let count = word.utf8CodeUnitCount
        guard at + count <= bytes.count else { throw .notJSON }
        for i in 0..<count where bytes[at + i] != word.utf8Start[i] { throw .notJSON }
        at += count
    }

    /// Reads (checks) any value, nested ones included.
    private mutating func skipValue(depth: Int) throws(EventObject.Failure) {
        guard depth < Self.maxDepth else { throw .notJSON }
        switch peek {
        case UInt8(ascii: "{")?:
            at += 1
            skipSpace()
            if peek == UInt8(ascii: "}") { at += 1; return }
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\"") else { throw .notJSON }
                try skipString()
                skipSpace()
                guard peek == UInt8(ascii: ":") else { throw .notJSON }
                at += 1
                skipSpace()
                try skipValue(depth: depth + 1)
                skipSpace()
                if peek == UInt8(ascii: ",") { at += 1; continue }
                guard peek == UInt8(ascii: "}") else { throw .notJSON }
                at += 1
                return
            }
        case UInt8(ascii: "[")?:
            at += 1
            skipSpace()
            if peek == UInt8(ascii: "]") { at += 1; return }
            while true {
                skipSpace()
                try skipValue(depth: depth + 1)
                skipSpace()
                if peek == UInt8(ascii: ",") { at += 1; continue }
                guard peek == UInt8(ascii: "]") else { throw .notJSON }
                at += 1
                return
            }
        case UInt8(ascii: "\"")?: try skipString()
        default: _ = try value()
        }
    }

    private mutating func skipString() throws(EventObject.Failure) { _ = try string() }

    /// A string from its opening quote; escapes are decoded (a lone surrogate is an error).
    private mutating func string() throws(EventObject.Failure) -> String {
        at += 1  // the opening quote
        let start = at
        // The plain run: most strings have no escape at all.
        while at < bytes.count {
            let b = bytes[at]
            if b == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
                at += 1
                return text
            }
            if b == UInt8(ascii: "\\") { break }
            guard b >= 0x20 else { throw .notJSON }
            at += 1
        }
        guard at < bytes.count else { throw .notJSON }
        var out = Array(bytes[start..<at])
        while at < bytes.count {
            let b = bytes[at]
            switch b {
            case UInt8(ascii: "\""):
                at += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                at += 1
                guard let e = peek else { throw .notJSON }
                at += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard at + 1 < bytes.count, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") else { throw .notJSON }
                        at += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw .notJSON }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw .notJSON
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw .notJSON }
                    out.append(contentsOf: UTF8.encode(unicode)!)
                default: throw .notJSON
                }
            default:
                guard b >= 0x20 else { throw .notJSON }
                out.append(b)
                at += 1
            }
        }
        throw .notJSON
    }

    private mutating func hex4() throws(EventObject.Failure) -> UInt32 {
        guard at + 4 <= bytes.count else { throw .notJSON }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[at]
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: throw .notJSON
            }
            v = v << 4 | UInt32(digit)
            at += 1
        }
        return v
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, as an integer when it is exactly one.
    private mutating func number() throws(EventObject.Failure) -> Int64? {
        let start = at
        if peek == UInt8(ascii: "-") { at += 1 }
        guard let first = peek, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { throw .notJSON }
        if first == UInt8(ascii: "0") { at += 1 } else { skipDigits() }
        let integerEnd = at
        var plain = true
        if peek == UInt8(ascii: ".") {
            at += 1
            guard digitsFollow() else { throw .notJSON }
            skipDigits()
            plain = false
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            at += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { at += 1 }
            guard digitsFollow() else { throw .notJSON }
            skipDigits()
            plain = false
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
        if plain || integerEnd == at { return Int64(text) }
        guard let d = Double(text), d.rounded() == d, d >= -0x1p63, d < 0x1p63 else { return nil }
        return Int64(d)
    }

    private func digitsFollow() -> Bool {
        guard let b = peek else { return false }
        return b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")
    }

    private mutating func skipDigits() {
        while let b = peek, b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") { at += 1 }
    }
}
