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
