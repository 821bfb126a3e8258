import ConfigFiles
import TOMLKit

/// The bindings of one context (a screen, a dialog, the global keys), in display order.
/// The footer, the help overlay and key dispatch all read this one list.
///
///     var keys = KeyMap(title: "List", bindings: [...])
///     keys.applyRemapping(["discard": ["x"]], file: "config.toml")   // warnings
///     if readOnly { keys.removeDestructive() }
///     switch keys.binding(for: key)?.action { ... }
public struct KeyMap<Action: Hashable & Sendable>: Sendable {
    /// The context's name, a heading in the help overlay.
    public var title: String
    public private(set) var bindings: [KeyBinding<Action>]

    public init(title: String, bindings: [KeyBinding<Action>]) {
        self.title = title
        self.bindings = bindings
    }

    /// The first binding with `key`, enabled or not (a disabled one carries its reason).
    public func binding(for key: Key) -> KeyBinding<Action>? {
        bindings.first { $0.keys.contains(key) }
    }

    /// The binding of `action`.
    public func binding(of action: Action) -> KeyBinding<Action>? {
        bindings.first { $0.action == action }
    }

    /// Marks `action` disabled with a reason, or enabled again with nil.
    public mutating func setDisabledReason(_ reason: String?, for action: Action) {
        for index in bindings.indices where bindings[index].action == action {
            bindings[index].disabledReason = reason
        }
    }

    /// Read-only mode: every destructive binding goes, here and nowhere else.
    public mutating func removeDestructive() {
        bindings.removeAll { $0.isDestructive }
    }

    /// Keys bound to more than one action, as warnings (the first binding wins).
    public func conflicts(file: String) -> [ConfigWarning] {
        var owner: [Key: Action] = [:]
        var warnings: [ConfigWarning] = []
        for binding in bindings {
            for key in binding.keys {
                if let first = owner[key], first != binding.action {
                    warnings.append(ConfigWarning(file: file, line: nil, message:
                        "key \"\(key)\" is bound to both \(first) and \(binding.action) in \(title); \(first) wins"))
                } else {
                    owner[key] = binding.action
                }
            }
        }
        return warnings
    }
}

extension KeyMap where Action: RawRepresentable, Action.RawValue == String {
    /// Replaces the keys of actions named in `remapping` (`action = ["x", "ctrl-x"]`).
    /// Unknown actions, unparsable keys and resulting conflicts are warnings; `source`
    /// (the file's text) lets warnings name their line.
    @discardableResult
    public mutating func applyRemapping(_ remapping: [String: [String]], file: String, source: String? = nil) -> [ConfigWarning] {
        let lines = source.map(SourceLines.init)
        var warnings: [ConfigWarning] = []
        for (name, keyTexts) in remapping.sorted(by: { $0.key < $1.key }) {
            let line = lines?.line(ofKey: name, inTable: "keys")
            guard let index = bindings.firstIndex(where: { $0.action.rawValue == name }) else {
                if Action(rawValue: name) == nil {
                    warnings.append(ConfigWarning(file: file, line: line, message: "unknown action \"\(name)\""))
                }
                continue
            }
            var keys: [Key] = []
            for text in keyTexts {
                if let key = Key(parsing: text) { keys.append(key) } else {
                    warnings.append(ConfigWarning(file: file, line: line, message: "unknown key \"\(text)\" for \(name)"))
                }
            }
            bindings[index].keys = keys
        }
        return warnings + conflicts(file: file)
    }

    /// Reads the `[keys]` table of a TOML config text and applies it.
    /// Throws only when the text is not valid TOML.
    @discardableResult
    public mutating func applyRemapping(toml text: String, file: String) throws -> [ConfigWarning] {
        let table = try TOMLTable(string: text)
        guard let keys = table["keys"]?.table else { return [] }
        var remapping: [String: [String]] = [:]
        var warnings: [ConfigWarning] = []
        let lines = SourceLines(text)
        for (name, value) in keys {
            if let single = value.string {
                remapping[name] = [single]
            } else if let array = value.array {
                remapping[name] = array.compactMap { $0.string }
            } else {
                warnings.append(ConfigWarning(file: file, line: lines.line(ofKey: name, inTable: "keys"),
                                              message: "keys for \(name) must be a string or a list of strings"))
            }
        }
        return warnings + applyRemapping(remapping, file: file, source: text)
    }
}
