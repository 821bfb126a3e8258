// swift-tools-version:6.0
// Switchboard: a terminal operations console for a practice's AI phone agent.
// Dependencies point one way: Core ← Store/HTTP ← EHR/Stream ← Console ← executables;
// TerminalUI knows nothing of clinics. See docs/architecture.md.
import PackageDescription

let grdb: Target.Dependency = .product(name: "GRDB", package: "GRDB.swift")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let crypto: Target.Dependency = .product(name: "Crypto", package: "swift-crypto")
let toml: Target.Dependency = .product(name: "TOMLKit", package: "TOMLKit")
let flyingFox: Target.Dependency = .product(name: "FlyingFox", package: "FlyingFox")
let flyingSocks: Target.Dependency = .product(name: "FlyingSocks", package: "FlyingFox")
let collections: Target.Dependency = .product(name: "Collections", package: "swift-collections")
// The Prometheus text format for `switchboard metrics`; it pulls in swift-metrics and
// swift-atomics only (no NIO).
let prometheus: Target.Dependency = .product(name: "Prometheus", package: "swift-prometheus")

let package = Package(
    name: "Switchboard",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "switchboard", targets: ["switchboard"]),
        .executable(name: "switchboard-sim", targets: ["switchboard-sim"]),
        .executable(name: "switchboard-bench", targets: ["switchboard-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
        .package(url: "https://github.com/swhitty/FlyingFox", exact: "0.27.1"),
        .package(url: "https://github.com/apple/swift-collections", exact: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CNcurses", pkgConfig: "ncursesw",
            providers: [.apt(["libncurses-dev"])]),
        .systemLibrary(
            // No pkgConfig: its `-lcurl` would make every program load libcurl at start;
            // the shim loads it on first use (the headers are in the multiarch include path).
            name: "CCurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        // The system's OpenSSL (what libcurl already links), loaded on first use (see its
        // header): TLS on the sockets libcurl does not own, MLLP over TLS, the simulator's
        // HTTPS and MLLP listeners, and the audit walk's SHA-256. Needs libssl-dev's headers.
        .target(name: "COpenSSL"),
        // Linux-PAM: the idle lock asks for the OS user's password (as vlock does); loaded
        // at the first check (see its header). Needs libpam0g-dev's headers.
        .target(name: "CPAM"),

        // The text rule for everything that leaves the program (screen, stdout, JSON).
        .target(name: "SafeText"),
        .target(name: "SwitchboardCore", dependencies: ["SafeText"]),
        .target(name: "SwitchboardStore", dependencies: ["SwitchboardCore", "COpenSSL", grdb, crypto]),
        .target(name: "SwitchboardHTTP", dependencies: ["CCurl", "COpenSSL"]),
        // Crypto: ES384 client assertions (SMART Backend Services), already built for the store.
        .target(name: "SwitchboardEHR", dependencies: ["SwitchboardCore", "SwitchboardHTTP", crypto]),
        .target(name: "SwitchboardStream", dependencies: ["SwitchboardCore", "SwitchboardHTTP"]),
        .target(name: "ConfigFiles"),
        .target(name: "TerminalUI", dependencies: ["CNcurses", "ConfigFiles", "SafeText", toml]),
        // The review and outbox rules and the configuration: the console's screens and the
        // command line act through the same checks and leave the same audit rows.
        .target(name: "SwitchboardOperations", dependencies: [
            "SwitchboardCore", "SwitchboardStore", "SwitchboardEHR", "SwitchboardHTTP", "ConfigFiles", "CPAM", toml,
        ]),
        .target(name: "SwitchboardConsole", dependencies: [
            "SwitchboardCore", "SwitchboardStore", "SwitchboardEHR", "SwitchboardHTTP", "SwitchboardStream", "SwitchboardOperations",
            "TerminalUI", "ConfigFiles",
        ]),
        .target(name: "SwitchboardSim", dependencies: [
            "SwitchboardCore", "SwitchboardStore", "SwitchboardEHR", "SwitchboardHTTP", flyingFox, flyingSocks, collections, grdb,
        ]),

        // Shared by the test targets only: scratch directories, generated databases, processes.
        .target(name: "SwitchboardTesting", dependencies: ["SwitchboardCore", "SwitchboardStore", "SwitchboardSim", flyingFox, flyingSocks]),

        // Linked by lld with packed relative relocations (DT_RELR, glibc 2.36): the static
        // runtime's 100,000 relative relocations are a 20 KB bitmap instead of a 2.4 MB table
        // ld.so walks at every start (exec to the first rows ~1 ms sooner; still PIE, its
        // address randomised). gold cannot pack them. (docs/benchmarks.md, tenth pass)
        .executableTarget(name: "switchboard", dependencies: [
            "SwitchboardConsole", "SwitchboardOperations", "SwitchboardStore", "SwitchboardCore", "SwitchboardHTTP", "SafeText", "TerminalUI", argumentParser,
            prometheus,
        ], linkerSettings: [.unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"])]),
        .executableTarget(name: "switchboard-sim", dependencies: ["SwitchboardSim", "SwitchboardStore", "SwitchboardCore", "SwitchboardHTTP", "SwitchboardEHR", argumentParser]),
        .executableTarget(name: "switchboard-bench", dependencies: ["SwitchboardStore", "SwitchboardSim", "SwitchboardCore", "SwitchboardConsole", "SwitchboardOperations", "SwitchboardStream", "SwitchboardEHR", "TerminalUI", "SwitchboardTesting", argumentParser]),

        .testTarget(name: "SwitchboardCoreTests", dependencies: ["SwitchboardCore", "SafeText"]),
        .testTarget(name: "SwitchboardStoreTests", dependencies: ["SwitchboardStore", "SwitchboardSim", "SwitchboardCore", "SwitchboardTesting", grdb]),
        .testTarget(name: "SwitchboardEHRTests", dependencies: ["SwitchboardEHR", "SwitchboardHTTP", "SwitchboardCore", "SwitchboardTesting", flyingFox]),
        .testTarget(name: "SwitchboardStreamTests", dependencies: ["SwitchboardStream", "SwitchboardHTTP", "SwitchboardCore", "SwitchboardTesting"]),
        .testTarget(name: "TerminalUITests", dependencies: ["TerminalUI", "CNcurses"]),
        .testTarget(name: "SwitchboardConsoleTests", dependencies: [
            "SwitchboardConsole", "SwitchboardOperations", "TerminalUI", "SwitchboardStore", "SwitchboardStream", "SwitchboardEHR", "SwitchboardCore", "SwitchboardSim", "SwitchboardTesting",
        ]),
        .testTarget(name: "SwitchboardSimTests", dependencies: ["SwitchboardSim", "SwitchboardEHR", "SwitchboardStore", "SwitchboardCore", "SwitchboardHTTP", "SwitchboardStream", "SwitchboardTesting", grdb]),
        // switchboard outbox, check, metrics and handoff: the rules as functions, and the
        // commands as real processes against the simulator.
        .testTarget(name: "OnCallTests", dependencies: [
            "SwitchboardOperations", "SwitchboardHTTP", "SwitchboardStore", "SwitchboardCore", "SwitchboardSim", "SwitchboardTesting", grdb,
        ]),
        .testTarget(name: "EndToEndTests", dependencies: ["SwitchboardStore", "SwitchboardCore", "SwitchboardTesting"]),
    ]
)
