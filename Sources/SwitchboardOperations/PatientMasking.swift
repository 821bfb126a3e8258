extension OperatorIdentity {
    /// A patient's name as this operator may see it: in full for reviewers and operators,
    /// initials only for viewers (`Ann Lee` → `A. L.`).
    public func patientName(_ display: String?) -> String {
        guard let display, !display.isEmpty else { return "" }
        if seesPatientDetails { return display }
        return display.split(whereSeparator: { $0 == " " || $0 == "," })
            .compactMap { $0.first.map { "\($0.uppercased())." } }
            .joined(separator: " ")
    }
}

extension OperatorIdentity {
    /// A caller's number as this operator may see it. The agent stores only the last four
    /// digits; viewers see the last two (`***-***-0142` → `***-***-**42`), so a row cannot
    /// be tied to a patient's phone.
    public func callerNumber(_ masked: String?) -> String {
        guard let masked, !masked.isEmpty else { return "—" }
        if seesPatientDetails { return masked }
        var digitsLeft = 2
        return String(masked.reversed().map { character -> Character in
            guard character.isNumber else { return character }
            if digitsLeft > 0 { digitsLeft -= 1; return character }
            return "*"
        }.reversed())
    }
}
