/// Exit statuses from BSD `sysexits.h`, so scripts can tell a missing file from a locked one.
public enum ExitStatus {
    public static let usage: Int32 = 64
    public static let dataError: Int32 = 65
    public static let noInput: Int32 = 66
    /// A service (the EHR) did not answer.
    public static let unavailable: Int32 = 69
    public static let software: Int32 = 70
    /// A system file is missing: a library loaded on first use (OpenSSL for the audit walk).
    public static let missingSystemFile: Int32 = 72
    public static let cannotCreate: Int32 = 73
    /// An input/output error: a full disk.
    public static let ioError: Int32 = 74
    public static let temporaryFailure: Int32 = 75
    public static let noPermission: Int32 = 77
}

extension StoreError {
    public var exitStatus: Int32 {
        switch self {
        case .notFound: ExitStatus.noInput
        case .notSQLite, .otherApplication, .newerSchema, .olderSchema, .failed: ExitStatus.dataError
        case .locked: ExitStatus.temporaryFailure
        case .readOnly, .walNeedsWritableDirectory: ExitStatus.cannotCreate
        case .cannotOpen: ExitStatus.noInput
        case .diskFull: ExitStatus.ioError
        case .missingLibrary: ExitStatus.missingSystemFile
        }
    }
}
