import Foundation
import SwitchboardCore
import TOMLKit
import ConfigFiles

/// The console's settings: `$XDG_CONFIG_HOME/switchboard/config.toml`, then command-line
/// flags over it. See docs/configuration.md for every key.
///
///     let (file, warnings) = try ConsoleConfiguration.load(path: ConsoleConfiguration.defaultPath(environment: env), isKeyName: { Key(parsing: $0) != nil })
///     let settings = file.overriding(with: ConfigurationOverrides(auditPath: "audit.sqlite"))
public struct ConsoleConfiguration: Sendable, Equatable {
    public var auditPath: String?
    /// The agent's public checkpoint key (`audit_key`): `audit verify` and the Audit
    /// screen's `v` trust only checkpoints signed by it.
    public var auditKeyPath: String?
    public var outboxPath: String?
    /// SSE URL, NDJSON file path, or `-` for stdin.
    public var events: String?
    /// FHIR base URL for slot search and corrections.
    public var ehrBaseURL: String?
    /// The EHR the client credentials are for: the config file's `base_url`. A `--ehr`
    /// flag moves `ehrBaseURL`, never this, so the tokens stay with the EHR that minted them.
    public var ehrCredentialsBaseURL: String?
    public var ehrTokenURL: String?
    public var ehrClientID: String?
    /// Path of a file holding the client secret; the secret itself never goes in the config.
    public var ehrSecretFile: String?
    /// How the site's EHR is reached: `fhir` (default), `rest` (`ehrBaseURL` is then the vendor
    /// API's practice base), or `hl7v2` (writes as SIU; slot search still over FHIR at `ehrBaseURL`).
    public var ehrPathway: Transport = .fhir
    /// PEM file of the CA(s) that sign the EHR's certificate, when it is not in the system store.
    public var ehrCAFile: String?
    /// PEM file of the CA(s) the console trusts for the event stream over https, and for the
    /// EHR when `[ehr] ca_file` is not set (`ca_file`, `--ca`): a site's own CA, a simulator's.
    public var caFile: String?
    /// SMART Backend Services: the P-384 private key file (PEM, mode 0600) and its `kid`, used
    /// instead of `ehrSecretFile` (`private_key_jwt`).
    public var ehrKeyFile: String?
    public var ehrKeyID: String?
    /// Theme name or path.
    public var theme: String?
    /// Action name → keys (`"approve" = ["a", "ctrl-a"]`), applied to the screens' key maps.
    public var keys: [String: [String]]
    /// OS user name → role.
    public var roles: [String: OperatorRole]
    /// The role of a user not named in `roles`.
    public var defaultRole: OperatorRole
    /// Nobody may change anything: every operator has viewer powers.
    public var readOnly: Bool
    /// Start of the 48-hour go-live window; nil lets `GoLiveClock` find it.
    public var goLiveStart: UnixMillis?
    /// How long a one-key approve can be taken back.
    public var undoSeconds: Int
    /// An undecided booking older than this is overdue.
    public var overdueMinutes: Int
    /// Idle time after which the console locks (HIPAA automatic logoff).
    public var idleLockMinutes: Int
    /// `[alerts]`: thresholds, the hook, the state file (docs/alerts.md).
    public var alerts: AlertSettings
    /// The guide's pitfalls the Review list flags (`[review_flags]`).
    public var reviewFlags = ReviewFlagRules()

    public init() {
        alerts = AlertSettings()
        keys = [:]
        roles = [:]
        defaultRole = .reviewer
        readOnly = false
        undoSeconds = 5
        overdueMinutes = 120
        idleLockMinutes = 15
    }

    /// `$XDG_CONFIG_HOME/switchboard/config.toml`, else `~/.config/switchboard/config.toml`.
    public static func defaultPath(environment: [String: String]) -> String {
        if let config = environment["XDG_CONFIG_HOME"], !config.isEmpty {
            return "\(config)/switchboard/config.toml"
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return "\(home)/.config/switchboard/config.toml"
    }

    /// Reads a config file. A missing file gives the defaults; unknown keys and bad values
    /// are skipped with warnings (`file:line: message`); only unreadable text or a TOML
    /// syntax error throws. `isKeyName` tells a key the terminal knows (`ctrl-x`, `f5`)
    /// from a typo, so `[keys]` warns with the line; the terminal layer owns key names.
    public static func load(path: String, isKeyName: @escaping (String) -> Bool) throws(ConfigurationError) -> (ConsoleConfiguration, [String]) {
        guard FileManager.default.fileExists(atPath: path) else { return (ConsoleConfiguration(), []) }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw .unreadable(file: path)
        }
        return try parse(text, file: path, isKeyName: isKeyName)
    }

    /// Parses config text; `file` names it in warnings and errors.
    public static func parse(_ text: String, file: String, isKeyName: @escaping (String) -> Bool) throws(ConfigurationError) -> (ConsoleConfiguration, [String]) {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw .syntax(file: file, line: error.source.begin.line, column: error.source.begin.column, message: error.description)
        } catch {
            throw .syntax(file: file, line: 1, column: 1, message: "\(error)")
        }
        var reader = ConfigurationReader(file: file, lines: SourceLines(text), isKeyName: isKeyName)
        let configuration = reader.read(table)
        // In file order, so they read like a compiler's.
        let warnings = reader.warnings.enumerated().sorted { ($0.element.line ?? 0, $0.offset) < ($1.element.line ?? 0, $1.offset) }
        return (configuration, warnings.map(\.element.description))
    }

    /// These settings with the command line's values laid over them: a flag given wins
    /// over the file, a flag left out keeps the file's value.
    public func overriding(with flags: ConfigurationOverrides) -> ConsoleConfiguration {
        var result = self
        if let v = flags.auditPath { result.auditPath = v }
        if let v = flags.outboxPath { result.outboxPath = v }
        if let v = flags.events { result.events = v }
        if let v = flags.ehrBaseURL { result.ehrBaseURL = v }
        if let v = flags.theme { result.theme = v }
        if let v = flags.caFile { result.caFile = v }
        if let v = flags.goLiveStart { result.goLiveStart = v }
        // A flag can only make the console safer, never lift a configured read-only mode.
        if flags.readOnly { result.readOnly = true }
        return result
    }
}

/// What the command line may set over the config file.
public struct ConfigurationOverrides: Sendable, Equatable {
    public var auditPath: String?
    public var outboxPath: String?
    public var events: String?
    public var ehrBaseURL: String?
    public var theme: String?
    public var goLiveStart: UnixMillis?
    /// `--ca`
    public var caFile: String?
    /// `--read-only`; there is no flag to turn a configured read-only mode off.
    public var readOnly: Bool

    public init(auditPath: String? = nil, outboxPath: String? = nil, events: String? = nil, ehrBaseURL: String? = nil,
                theme: String? = nil, goLiveStart: UnixMillis? = nil, readOnly: Bool = false, caFile: String? = nil) {
        self.caFile = caFile
        self.auditPath = auditPath; self.outboxPath = outboxPath; self.events = events
        self.ehrBaseURL = ehrBaseURL; self.theme = theme; self.goLiveStart = goLiveStart; self.readOnly = readOnly
    }
}

/// Why a config file could not be used at all.
public enum ConfigurationError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String)
    case syntax(file: String, line: Int, column: Int, message: String)

    public var description: String {
        switch self {
        case .unreadable(let file): "\(file): cannot read the config file (not UTF-8 text, or no permission)"
        case let .syntax(file, line, column, message): "\(file):\(line):\(column): \(message)"
        }
    }
}
