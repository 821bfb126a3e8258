import SwitchboardCore

/// The people of the synthetic practice used for generated history: providers,
/// appointment types, and patient names that include the hard cases real front desks
/// meet (accents, decomposed combining marks, right-to-left scripts, CJK, emoji,
/// apostrophes, very long names), and with `hostile`, control characters and terminal
/// escape sequences as a compromised upstream might send.
public enum Roster {
    public struct Provider: Sendable {
        public let id: String
        public let name: String
        public var ref: String { "Practitioner/\(id)" }
    }

    public static let providers: [Provider] = [
        Provider(id: "dr-okafor", name: "Dr. Adaeze Okafor"),
        Provider(id: "dr-lindqvist", name: "Dr. Sören Lindqvist"),
        Provider(id: "dr-haddad", name: "Dr. Layla Haddad"),
        Provider(id: "dr-nguyen", name: "Dr. Minh Nguyễn"),
        Provider(id: "np-obrien", name: "NP Siobhán O'Brien"),
        Provider(id: "dr-tanaka", name: "Dr. Hiroshi Tanaka"),
    ]

    /// Appointment types with their length in minutes.
    public static let appointmentTypes: [(code: String, minutes: Int)] = [
        ("ROUTINE", 20), ("FOLLOWUP", 15), ("NEWPATIENT", 30), ("WALKIN", 15), ("CHECKUP", 30),
    ]

    static let givenNames = [
        "Ann", "José", "Zoë", "Nguyễn Văn", "Siobhán", "François", "Ørjan", "Renée", "Mohammed", "Chloé",
        "Aiyana", "Björn", "Dvořák", "Łukasz", "Ngozi", "Priya", "Tomás", "Yusuf", "Émilie", "Kwame",
        "Mei", "Raúl", "Ines", "Sean", "Grace", "Omar", "Hana", "Lars", "Fatima", "Diego",
    ]

    static let familyNames = [
        "Lee", "Müller-Lüdenscheid", "O'Brien", "D'Angelo", "García Márquez", "Smith", "Okonkwo", "Kowalski",
        "Nakamura", "Johansson", "Papadopoulos", "Nguyen", "Fernández", "Dubois", "Cohen", "Patel",
        "Ivanova", "Haddad", "Brown", "Rossi", "Schäfer", "Øvergård", "Đorđević", "Şahin", "MacLeod",
    ]

    /// Names that break naive software, each a real-world pattern.
    static let hardCases = [
        "Rene\u{0301}e Dupont",                                  // e + combining acute (decomposed)
        "محمد الحداد",                                            // Arabic, right to left
        "שרה כהן",                                                // Hebrew, right to left
        "王小明",                                                  // CJK, double-width
        "Zoë 🌻 Park",                                            // emoji
        "Hubert Blaine Wolfeschlegelsteinhausenbergerdorff Sr.",  // very long
        "Ana María de los Ángeles Fernández-Villaverde y Castillo",
        "Mary-Kate O'Neil-D'Souza",
        "Nguyễn Thị Minh Khai",
        "Ǉudevit Ǆurić",
    ]

    /// What a compromised or buggy upstream might put in a name.
    static let hostileCases = [
        "Eve \u{1b}]0;pwned\u{07}Mallory",          // OSC: set the terminal title
        "Bob \u{1b}[2J\u{1b}[HTables",               // clear screen, home cursor
        "Trudy \u{202E}evlis\u{202C} Nakamoto",      // right-to-left override
        "Carol\u{0}\u{8}\u{8}\u{8}Dave",            // NUL and backspaces
        "Oscar \u{1b}[31mRED\u{1b}[0m Wilde",        // colour codes
        "Peggy \u{9b}6n Query",                      // C1 CSI: device status report
    ]

    /// A deterministic patient display name for patient number `n`.
    public static func patientName(_ n: Int, hostile: Bool = false) -> String {
        if hostile && n % 97 == 13 { return hostileCases[(n / 97) % hostileCases.count] }
        if n % 23 == 7 { return hardCases[(n / 23) % hardCases.count] }
        let given = givenNames[n % givenNames.count]
        let family = familyNames[(n / givenNames.count + n * 7) % familyNames.count]
        return "\(given) \(family)"
    }

    /// A masked caller number: only the last four digits show.
    public static func maskedCaller(_ n: Int) -> String {
        "***-***-" + String(String(1000 + (n * 7919) % 9000).suffix(4))
    }
}
