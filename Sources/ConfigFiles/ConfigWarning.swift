import Foundation

/// A problem in a configuration or theme file that was skipped rather than fatal. It
/// names the file and, when found, the line.
public struct ConfigWarning: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var message: String

    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// `file:line: message`, the form compilers use.
    public var description: String {
        line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)"
    }
}

/// Finds the line of a key in TOML source text, for warnings (TOMLKit reports positions
/// only for syntax errors).
public struct SourceLines: Sendable {
    private let lines: [Substring]

    public init(_ text: String) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The 1-based line where `key` is assigned (`key =`, `"key" =`) or appears in a
    /// table header, at or after the header of `table` when given.
    public func line(ofKey key: String, inTable table: String? = nil) -> Int? {
        var start = 0
        if let table, let header = lines.firstIndex(where: { Self.isHeader($0, table) }) {
            start = header + 1
        }
        for index in start..<lines.count {
            let line = lines[index].drop { $0 == " " || $0 == "\t" }
            if line.hasPrefix("\"\(key)\"") || line.hasPrefix("'\(key)'") { return index + 1 }
            if line.hasPrefix(key) {
                let rest = line.dropFirst(key.count).drop { $0 == " " || $0 == "\t" }
                if rest.hasPrefix("=") { return index + 1 }
            }
            if Self.isHeader(lines[index], key) { return index + 1 }
        }
        return nil
    }

    private static func isHeader(_ line: Substring, _ name: String) -> Bool {
        line.trimmingCharacters(in: .whitespaces) == "[\(name)]"
    }
}
