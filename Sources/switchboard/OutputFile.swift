import Foundation

/// Where `--out` writes: the named file, created with mode 0600 or truncated, written in
/// place. Never "write a temporary and rename it over", which Foundation's `createFile`
/// and atomic writes do: that would replace `/dev/null` or a named pipe with a plain file.
func openOutput(_ path: String) -> FileHandle? {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    return fd < 0 ? nil : FileHandle(fileDescriptor: fd, closeOnDealloc: true)
}
