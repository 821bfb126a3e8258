import Foundation

/// A small tmpfs of the case's own under its temp dir: mounted directly (we run as root),
/// or in a mount namespace of our own (`unshare -rm`) whose processes the case then runs
/// in (`nsenter`). Always unmounted, also when the case fails.
public final class SmallDisk {
    public let path: String
    /// What runs a program where the disk is: nothing, or nsenter into the namespace.
    public private(set) var prefix: [String] = []
    private var holder: RunningProcess?
    private var mounted = false

    public init(at path: String, size: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let direct = try SwitchboardTesting.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", path])
        if direct.status == 0 { mounted = true; return }
        let holder = try RunningProcess("/usr/bin/unshare", ["-rm", "--propagation", "private", "/bin/sh", "-c",
                                                             "mount -t tmpfs -o size=\(size),mode=0755 tmpfs \"$0\" && echo mounted && exec sleep 900", path])
        self.holder = holder
        let up = RunningProcess.waitUntil(timeout: 10) { holder.stdout.contains("mounted") || !holder.process.isRunning }
        guard up, holder.process.isRunning else {
            holder.signal(SIGKILL)
            throw SmallDisk.Failure("cannot mount a tmpfs: mount says \(direct.stderr.trimmingCharacters(in: .whitespacesAndNewlines)); "
                              + "in a namespace of our own, unshare -rm says \(holder.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        prefix = ["/usr/bin/nsenter", "-t", String(holder.process.processIdentifier), "-U", "-m", "--preserve-credentials"]
    }

    /// A plain tool (cp, dd, rm, sqlite3) where the disk is.
    @discardableResult
    public func run(_ tool: String, _ arguments: [String]) throws -> ProcessResult {
        let argv = prefix + [tool] + arguments
        return try SwitchboardTesting.run(argv[0], Array(argv.dropFirst()), timeout: 120)
    }

    /// Fills every byte left (tmpfs hands out whole pages, so 4 KiB writes reach zero).
    public func fill() throws {
        try run("/usr/bin/dd", ["if=/dev/zero", "of=\(path)/filler-big", "bs=1M"])
        try run("/usr/bin/dd", ["if=/dev/zero", "of=\(path)/filler-small", "bs=4k"])
        let probe = try run("/bin/sh", ["-c", "echo x > \"$0\"/probe", path])
        if probe.status == 0 { throw SmallDisk.Failure("the disk is not full after filling it") }
    }

    public func free() throws {
        try run("/bin/rm", ["-f", "\(path)/filler-big", "\(path)/filler-small", "\(path)/probe"])
    }

    public func exists(_ file: String) throws -> Bool { try run("/usr/bin/test", ["-e", file]).status == 0 }

    public func digest(_ file: String) throws -> String { try run("/usr/bin/sha256sum", [file]).stdout }

    public func unmount() {
        if let holder {
            holder.signal(SIGKILL)
            _ = try? holder.waitForExit(timeout: 5)
        } else if mounted {
            if (try? SwitchboardTesting.run("/usr/bin/umount", [path]))?.status != 0 {
                _ = try? SwitchboardTesting.run("/usr/bin/umount", ["-l", path])
            }
            mounted = false
        }
    }

    deinit { unmount() }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        init(_ text: String) { description = text }
    }
}
