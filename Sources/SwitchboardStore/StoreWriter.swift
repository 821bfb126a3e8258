import Foundation
import GRDB

/// The connection a store writes through. The console and the command line open their
/// files to read and may never write (a viewer never does), so for them it is opened at
/// the first write. A read-write GRDB pool opened at start writes to the file whenever
/// its WAL is empty (it creates and drops a table so that the WAL exists): that took the
/// agent's write lock and changed the schema cookie at every console start.
public final class StoreWriter: @unchecked Sendable {
    private let lock = NSLock()
    private var opened: (any DatabaseWriter)?
    private let open: (() throws -> any DatabaseWriter)?

    /// Writes through `database`, which the store also reads through (the agent's pool, a
    /// test's in-memory queue): the store closes it.
    init(_ database: any DatabaseWriter) {
        opened = database
        open = nil
    }

    /// Writes through the connection `open` makes, at the first write.
    init(opening open: @escaping () throws -> any DatabaseWriter) {
        self.open = open
    }

    /// The connection, opened now if this is the first write.
    func database() throws -> any DatabaseWriter {
        try lock.withLock {
            if let opened { return opened }
            guard let open else { preconditionFailure("a StoreWriter has a connection or a way to open one") }
            let made = try open()
            opened = made
            return made
        }
    }

    /// Whether a connection of its own was opened (and so is for the store to close).
    var ownConnection: (any DatabaseWriter)? {
        lock.withLock { open == nil ? nil : opened }
    }
}
