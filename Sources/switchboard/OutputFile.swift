import ArgumentParser
import Foundation
import SwitchboardStore

/// Where `--out` writes: the named file, created with mode 0600 or truncated, written in
/// place. Never "write a temporary and rename it over", which Foundation's `createFile`
/// and atomic writes do: that would replace `/dev/null` or a named pipe with a plain file.
/// A file that cannot be opened is one line with the system's reason ("Is a directory")
/// and EX_CANTCREAT.
func openOutput(_ path: String) throws -> FileHandle {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
        complain("switchboard: cannot write \(path): \(String(cString: strerror(errno))). Name a file in a directory you can write to.")
        throw ExitCode(ExitStatus.cannotCreate)
    }
    return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
}

/// After a failed write to `--out`: a regular file is removed, so nothing half-written
/// can pass for the whole output. A device or pipe is left alone, never replaced.
func abandonOutput(_ path: String) {
    var info = stat()
    if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG { unlink(path) }
}

/// One line for a write to `--out` that failed; a full disk says so.
func outputFailure(_ path: String, _ error: any Error) -> String {
    let ns = error as NSError
    let full = (ns.domain == NSPOSIXErrorDomain && (ns.code == Int(ENOSPC) || ns.code == Int(EDQUOT)))
        || (ns.domain == NSCocoaErrorDomain && ns.code == NSFileWriteOutOfSpaceError)
        || (ns.userInfo[NSUnderlyingErrorKey] as? NSError).map { $0.domain == NSPOSIXErrorDomain && $0.code == Int(ENOSPC) } == true
    return full ? "cannot write \(path): the disk is full; nothing was kept. Free some space and try again."
                : "cannot write \(path): \(ns.localizedDescription); nothing was kept"
}
