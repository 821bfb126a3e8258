import ArgumentParser
import Foundation
import SwitchboardCore
import SwitchboardSim
import SwitchboardStore

/// `switchboard-sim`: plays the practice's AI agent and its EHR, so Switchboard can be
/// tried and tested without either.
@main
struct Simulator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard-sim",
        abstract: "A simulated AI phone agent and EHR sandbox that write the agent's real databases.",
        subcommands: [Generate.self, Run.self, Outage.self])
}

func fail(_ message: String, status: Int32) -> ExitCode {
    FileHandle.standardError.write(Data("switchboard-sim: \(message)\n".utf8))
    return ExitCode(status)
}

/// What the simulator writes from now on is the owner's, readable by the group, and not
/// others' (mode 0640; directories 0750): the agent's databases hold patients' data, and
/// `switchboard status` rightly warned about every file the simulator made.
func keepPatientDataFromOthers() {
    umask(0o027)
}

/// `path` as a directory the simulator can write its files into, created with its parents
/// if missing; or one line saying why not.
func writableDirectory(_ path: String) throws -> URL {
    let directory = URL(fileURLWithPath: path).standardizedFileURL
    let fm = FileManager.default
    var isDirectory: ObjCBool = false
    if fm.fileExists(atPath: directory.path, isDirectory: &isDirectory), !isDirectory.boolValue {
        throw fail("\(path) is a file, not a directory. Choose a directory (it is created if missing).", status: ExitStatus.cannotCreate)
    }
    do {
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
        throw fail("cannot create \(path): \(systemReason(creating: directory)). Choose a writable directory.", status: ExitStatus.cannotCreate)
    }
    // Root ignores permission bits (and a read-only mount says so only when written): a probe file.
    let probe = directory.appendingPathComponent(".switchboard-write-probe-\(getpid())")
    guard fm.createFile(atPath: probe.path, contents: Data()) else {
        throw fail("\(path): directory is read-only. Choose a writable directory.", status: ExitStatus.cannotCreate)
    }
    try? fm.removeItem(at: probe)
    return directory
}

/// Why `directory` could not be made, in the system's words ("Not a directory"):
/// Foundation's error carries only "The operation could not be completed. (NSCocoaErrorDomain
/// error 512.)", so its first missing part is tried once more with mkdir(2) for errno.
private func systemReason(creating directory: URL) -> String {
    var missing = directory
    while missing.path != "/", !FileManager.default.fileExists(atPath: missing.deletingLastPathComponent().path) {
        missing = missing.deletingLastPathComponent()
    }
    guard mkdir(missing.path, 0o755) != 0 else {
        rmdir(missing.path)  // made this time after all: left as it was found
        return "it could not be created a moment ago"
    }
    return String(cString: strerror(errno))
}
