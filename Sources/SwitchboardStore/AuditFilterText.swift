import SwitchboardCore

extension AuditFilter {
    /// The filter a line of `key:value` tokens asks for, as typed in the Audit screen:
    /// `action:appointment.create actor:operator:maria outcome:8 call:c-123`. Outcome
    /// takes a code (0, 4, 8, 12) or a word (`minor`, `serious`, `major`) and means that
    /// bad or worse. Tokens it does not understand are returned, never guessed at.
    ///
    ///     let (filter, notUnderstood) = AuditFilter.parse("action:slot.search outcome:4")
    public static func parse(_ text: String) -> (filter: AuditFilter, notUnderstood: [String]) {
        var filter = AuditFilter()
        var notUnderstood: [String] = []
        for token in text.split(whereSeparator: \.isWhitespace).map(String.init) {
            guard let colon = token.firstIndex(of: ":") else {
                notUnderstood.append(token)
                continue
            }
            let key = token[..<colon].lowercased(), value = String(token[token.index(after: colon)...])
            guard !value.isEmpty else {
                notUnderstood.append(token)
                continue
            }
            switch key {
            case "action": filter.action = value
            case "actor": filter.actor = value
            case "call": filter.callId = value
            case "outcome":
                guard let outcome = AuditOutcome(code: value) else {
                    notUnderstood.append(token)
                    continue
                }
                filter.minimumOutcome = outcome
            default: notUnderstood.append(token)
            }
        }
        return (filter, notUnderstood)
    }
}

extension AuditOutcome {
    /// `8`, `serious` or `serious failure`; `ok` and `success` for 0.
    init?(code: String) {
        let word = code.lowercased()
        if let number = Int(word) {
            self.init(rawValue: number)
            return
        }
        guard let match = Self.allCases.first(where: { $0.label == word || $0.label.hasPrefix(word + " ") }) else {
            if word == "ok" { self = .success; return }
            return nil
        }
        self = match
    }
}
