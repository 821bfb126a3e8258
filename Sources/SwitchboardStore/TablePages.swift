import Foundation

/// A rowid table's rows read straight from the database file's pages (and the WAL's
/// newest committed frames), in rowid order, for the audit chain walk.
///
/// Why not SQLite: stepping a statement and reading 17 columns costs about 0.6 µs a row
/// of SQLite's virtual machine, three times what hashing the same bytes costs, and no
/// SQLite API hands over a row's stored record (Debian's build has neither
/// `sqlite_dbpage` nor `sqlite_offset`). The record format is SQLite's published file
/// format (https://www.sqlite.org/fileformat2.html), which it keeps stable.
///
/// Only a fast path: the caller holds a read transaction on the same file (so no
/// checkpoint rewrites a page being read), and anything this reader does not expect —
/// a page of another kind, a cell or record out of bounds, a loop, another text
/// encoding — makes it give up ("unsure") from that row, and SQLite reads from there.
/// Every read is bounds-checked: the file may be anything.
final class TablePages: @unchecked Sendable {
    let pageSize: Int
    /// The page size less the bytes each page reserves at its end (SQLite's U).
    let usableSize: Int
    /// The file mapped read-only (nil when it is empty: every page is in the WAL). Read
    /// in place rather than copied out a page at a time (the copies were an eighth of
    /// the walk's time). SQLite reads the same way when asked (`mmap_size`, which the
    /// statements walk asks for), with the same exposure: a file cut shorter by someone
    /// else while mapped ends the process with SIGBUS; SQLite itself never shortens it
    /// under a reader's snapshot.
    private let mapped: UnsafeRawPointer?
    private let mappedPages: Int
    private let mappedBytes: Int
    private let wal: Int32
    /// The WAL's newest committed frame for each page it holds: its offset in the WAL.
    private let walFrames: [UInt32: Int64]
    private let walSalt: (UInt32, UInt32)?
    /// The last page that exists (the WAL's last commit, or the file's size).
    let pageCount: UInt32

    /// Nil when the file is not a database this reader understands; the caller then
    /// reads through SQLite.
    init?(path: String) {
        let file = open(path, O_RDONLY | O_CLOEXEC), wal = open(path + "-wal", O_RDONLY | O_CLOEXEC)
        // A failed init runs no deinit: the files are closed here.
        func refuse() -> Bool {
            if file >= 0 { close(file) }
            if wal >= 0 { close(wal) }
            return false
        }
        // A WAL that is there but cannot be read would leave pages older than SQLite's.
        let walMissing = wal < 0 && errno == ENOENT
        guard file >= 0, wal >= 0 || walMissing else { _ = refuse(); return nil }
        // The WAL first: until a checkpoint, even page 1 (the header) may be only there.
        let (frames, salt, committedPages, walPageSize) = wal >= 0 ? Self.committedFrames(wal) : ([:], nil, 0, 0)
        var header = [UInt8](repeating: 0, count: 100)
        let headerRead = frames[1].map { pread(wal, &header, 100, off_t($0)) } ?? pread(file, &header, 100, 0)
        guard headerRead == 100, header.starts(with: Array("SQLite format 3\u{0}".utf8)) else { _ = refuse(); return nil }
        let rawSize = Int(header[16]) << 8 | Int(header[17])
        let pageSize = rawSize == 1 ? 65536 : rawSize, usableSize = pageSize - Int(header[20])
        // UTF-8 text (the canonical form hashes the stored bytes as UTF-8), a power-of-two
        // page size, and room for SQLite's smallest cells. Versions 2 in bytes 18 and 19:
        // WAL mode, where the newest pages may be in `-wal` (in rollback mode a `-wal`
        // file left behind is not read).
        let walMode = header[18] == 2 && header[19] == 2
        guard pageSize >= 512, pageSize & (pageSize - 1) == 0, usableSize >= 480,
              Self.uint32(header, 56) == 1, !walMode || frames.isEmpty || walPageSize == pageSize else { _ = refuse(); return nil }
        let fileSize = Int(lseek(file, 0, SEEK_END))
        var mapped: UnsafeRawPointer?
        if fileSize >= pageSize {
            guard let map = mmap(nil, fileSize, PROT_READ, MAP_SHARED, file, 0), map != MAP_FAILED else { _ = refuse(); return nil }
            mapped = UnsafeRawPointer(map)
        }
        close(file)
        self.mapped = mapped
        mappedBytes = fileSize
        mappedPages = fileSize / pageSize
        self.wal = wal
        self.pageSize = pageSize
        self.usableSize = usableSize
        walFrames = walMode ? frames : [:]
        walSalt = walMode ? salt : nil
        pageCount = max(walMode ? committedPages : 0, UInt32(clamping: mappedPages))
    }

    deinit {
        if let mapped { munmap(UnsafeMutableRawPointer(mutating: mapped), mappedBytes) }
        if wal >= 0 { close(wal) }
    }

    /// Whether the WAL is the one read at the start: a writer restarts it (new salts)
    /// only when no reader uses it, so a changed salt means pages read from it may be
    /// another generation's, and the walk's answer is not to be trusted.
    var walUnchanged: Bool {
        guard wal >= 0, let walSalt else { return true }
        var header = [UInt8](repeating: 0, count: 32)
        guard pread(wal, &header, 32, 0) == 32 else { return false }
        return Self.uint32(header, 16) == walSalt.0 && Self.uint32(header, 20) == walSalt.1
    }

    /// The frames of the WAL's committed transactions, newest per page: frames whose
    /// salts match the header and whose running checksum holds, up to the last commit
    /// frame (as SQLite's recovery reads it); the salts, the pages after the last commit,
    /// and the WAL's page size.
    private static func committedFrames(_ wal: Int32) -> ([UInt32: Int64], (UInt32, UInt32)?, UInt32, Int) {
        var header = [UInt8](repeating: 0, count: 32)
        guard pread(wal, &header, 32, 0) == 32 else { return ([:], nil, 0, 0) }
        let magic = uint32(header, 0), pageSize = Int(uint32(header, 8))
        guard magic & 0xFFFF_FFFE == 0x377F_0682, pageSize >= 512, pageSize <= 65536, pageSize & (pageSize - 1) == 0 else {
            return ([:], nil, 0, 0)
        }
        let bigEndian = magic & 1 == 1
        var sums = checksum(header, 0, 24, bigEndian: bigEndian, (0, 0))
        guard sums.0 == uint32(header, 24), sums.1 == uint32(header, 28) else { return ([:], nil, 0, 0) }
        let salt = (uint32(header, 16), uint32(header, 20))
        var committed: [UInt32: Int64] = [:], pending: [UInt32: Int64] = [:]
        var pages: UInt32 = 0
        var frame = [UInt8](repeating: 0, count: 24 + pageSize)
        var offset: Int64 = 32
        while pread(wal, &frame, 24 + pageSize, off_t(offset)) == 24 + pageSize {
            guard uint32(frame, 8) == salt.0, uint32(frame, 12) == salt.1 else { break }
            sums = checksum(frame, 0, 8, bigEndian: bigEndian, sums)
            sums = checksum(frame, 24, pageSize, bigEndian: bigEndian, sums)
            guard sums.0 == uint32(frame, 16), sums.1 == uint32(frame, 20) else { break }
            let page = uint32(frame, 0)
            pending[page] = offset + 24
            let commitSize = uint32(frame, 4)
            if commitSize > 0 {
                committed.merge(pending) { $1 }
                pending.removeAll(keepingCapacity: true)
                pages = commitSize
            }
            offset += Int64(24 + pageSize)
        }
        return (committed, salt, pages, pageSize)
    }

    /// SQLite's WAL checksum: two running 32-bit sums over pairs of words.
    private static func checksum(_ bytes: [UInt8], _ start: Int, _ count: Int, bigEndian: Bool, _ initial: (UInt32, UInt32)) -> (UInt32, UInt32) {
        var (s0, s1) = initial
        bytes.withUnsafeBufferPointer { b in
            var i = start
            while i < start + count {
                let w0 = bigEndian ? uint32(b, i) : UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
                let w1 = bigEndian ? uint32(b, i + 4) : UInt32(b[i + 4]) | UInt32(b[i + 5]) << 8 | UInt32(b[i + 6]) << 16 | UInt32(b[i + 7]) << 24
                s0 = s0 &+ w0 &+ s1
                s1 = s1 &+ w1 &+ s0
                i += 8
            }
        }
        return (s0, s1)
    }

    static func uint32<B: RandomAccessCollection>(_ b: B, _ i: Int) -> UInt32 where B.Element == UInt8, B.Index == Int {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    /// The table's leaf pages in rowid order, leaving out subtrees whose rows all come
    /// before `fromRowid`. Nil when the tree is not a table b-tree this reader follows.
    func leaves(root: UInt32, fromRowid: Int64) -> [UInt32]? {
        var reader = PageReader(self)
        var leaves: [UInt32] = []
        var visited = 0
        // Depth-first by an explicit stack: a hostile file cannot recurse us off the
        // stack, and visiting more pages than exist means a loop.
        var stack: [(page: UInt32, depth: Int)] = [(root, 0)]
        while let (page, depth) = stack.popLast() {
            visited += 1
            guard depth < 40, visited <= Int(pageCount), let bytes = reader.page(page) else { return nil }
            let top = page == 1 ? 100 : 0
            switch bytes[top] {
            case 0x0D:
                leaves.append(page)
            case 0x05:
                let cells = Int(bytes[top + 3]) << 8 | Int(bytes[top + 4])
                guard top + 12 + 2 * cells <= usableSize else { return nil }
                let rightmost = Self.uint32(UnsafeBufferPointer(start: bytes, count: pageSize), top + 8)
                var children: [UInt32] = []
                for cell in 0..<cells {
                    let at = Int(bytes[top + 12 + 2 * cell]) << 8 | Int(bytes[top + 13 + 2 * cell])
                    guard at + 5 <= usableSize else { return nil }
                    let child = Self.uint32(UnsafeBufferPointer(start: bytes, count: pageSize), at)
                    var cursor = at + 4
                    guard let key = Self.varint(bytes, &cursor, end: usableSize) else { return nil }
                    // The key is the largest rowid in the child's subtree.
                    if key >= fromRowid { children.append(child) }
                }
                children.append(rightmost)
                for child in children.reversed() { stack.append((child, depth + 1)) }
            default:
                return nil
            }
        }
        return leaves
    }

    /// SQLite's varint: up to nine bytes, big-endian 7 bits each, the ninth all 8.
    @inline(__always)
    static func varint(_ bytes: UnsafePointer<UInt8>, _ cursor: inout Int, end: Int) -> Int64? {
        var value: UInt64 = 0
        for i in 0..<9 {
            guard cursor < end else { return nil }
            let byte = bytes[cursor]
            cursor += 1
            if i == 8 { return Int64(bitPattern: value << 8 | UInt64(byte)) }
            value = value << 7 | UInt64(byte & 0x7F)
            if byte & 0x80 == 0 { return Int64(bitPattern: value) }
        }
        return nil
    }

    /// Reads pages for one thread: from the WAL when it holds the page, else from the
    /// mapped file.
    struct PageReader: ~Copyable {
        private let pages: TablePages
        private let single: UnsafeMutableRawPointer

        init(_ pages: TablePages) {
            self.pages = pages
            single = .allocate(byteCount: pages.pageSize, alignment: 16)
        }

        deinit { single.deallocate() }

        /// The page's bytes (`pageSize` of them), valid until the next call; nil when it
        /// does not exist or cannot be read.
        mutating func page(_ number: UInt32) -> UnsafePointer<UInt8>? {
            guard number >= 1, number <= pages.pageCount else { return nil }
            let size = pages.pageSize
            if !pages.walFrames.isEmpty, let offset = pages.walFrames[number] {
                guard pread(pages.wal, single, size, off_t(offset)) == size else { return nil }
                return UnsafePointer(single.assumingMemoryBound(to: UInt8.self))
            }
            guard let mapped = pages.mapped, Int(number) <= pages.mappedPages else { return nil }
            return (mapped + Int(number - 1) * size).assumingMemoryBound(to: UInt8.self)
        }
    }
}
