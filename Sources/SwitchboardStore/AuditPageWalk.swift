import Dispatch
import Foundation
import GRDB

/// The chain walk over the table's pages (`TablePages`): the fast path of
/// `AuditChain.verify`. It only vouches for rows; the first row it cannot vouch for is
/// where the statements walk takes over, and that walk names what is wrong.
extension AuditChain {
    enum PageWalk {
        /// Every row from the start to the head vouched for.
        case intact(Verification)
        /// The rows before `seq` (`vouched` of them) are intact; read on from `seq` with SQLite.
        case readFrom(seq: Int64, vouched: Int)
    }

    /// One stretch of leaves: the rows it vouched for, and its link into the stretch before
    /// (checked where they meet, as the walk of one stretch cannot see the row before it).
    struct PageStretch {
        var firstSeq: Int64?
        var firstPrevHash = ""
        var checked = 0
        var lastSeq: Int64 = 0
        var lastHash = ""
        /// It met a row it could not vouch for (or a page it could not read) after its last vouched row.
        var gaveUp = false
        /// It reached a row after the head the walk was asked for.
        var reachedHead = false
        /// The bytes loaded ahead of reading (kept, so the loads are not optimised away).
        var touched: UInt8 = 0
    }

    /// Nil when the file is not one the page reader follows (another shape, an in-memory
    /// database, an empty table): the statements walk does it all.
    static func walkPages(_ reader: any DatabaseReader, from: Int64, workers: Int, leavesPerStretch: Int?,
                          progress: ((Int) -> Void)?) throws -> PageWalk? {
        // The read transaction is held for the whole walk: no checkpoint can rewrite a page
        // of the file this snapshot reads while it is being read.
        try reader.read { db -> PageWalk? in
            guard let head = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM audit_event"), head >= from,
                  try storesRowsAsTheWalkReadsThem(db),
                  let root = try Int64.fetchOne(db, sql: "SELECT rootpage FROM sqlite_schema WHERE type = 'table' AND name = 'audit_event'"),
                  root > 0, root <= Int64(UInt32.max) else { return nil }
            // Said at once: on a file not yet in memory, finding the leaves takes seconds.
            progress?(0)
            guard let pages = TablePages(path: reader.path),
                  let leaves = pages.leaves(root: UInt32(root), fromRowid: from) else { return nil }
            // The link into the first row: the stored hash of the row before it.
            var previous = genesis
            if from > 1 {
                guard let data = try Data.fetchOne(db, sql: "SELECT CAST(hash AS BLOB) FROM audit_event WHERE seq = ?", arguments: [from - 1]) else {
                    return .readFrom(seq: from, vouched: 0)
                }
                previous = String(decoding: data, as: UTF8.self)
            }
            let size = max(1, leavesPerStretch ?? max(64, leaves.count / max(1, workers * 8)))
            let stretches = stride(from: 0, to: leaves.count, by: size).map { $0..<min($0 + size, leaves.count) }
            let work = Stretches<PageStretch>(count: stretches.count, report: progress)
            let walkOne: @Sendable (Int) -> Void = { _ in
                while let index = work.next() {
                    let stretch = walkLeaves(pages, leaves[stretches[index]], from: from, through: head) { work.progress(index, $0) }
                    work.finish(index, .success(stretch), whole: !stretch.gaveUp && !stretch.reachedHead, checked: stretch.checked)
                }
            }
            if workers > 1 && stretches.count > 1 {
                DispatchQueue.concurrentPerform(iterations: min(workers, stretches.count), execute: walkOne)
            } else {
                walkOne(0)
            }
            // A WAL restarted under the walk (possible only while it read from the file
            // alone) may have handed over another generation's pages.
            guard pages.walUnchanged else { return nil }

            var expected = from, checked = 0
            for found in work.results {
                guard let stretch = try found?.get() else { break }
                if let first = stretch.firstSeq {
                    guard first == expected, stretch.firstPrevHash == previous else { return .readFrom(seq: expected, vouched: checked) }
                    checked += stretch.checked
                    expected = stretch.lastSeq + 1
                    previous = stretch.lastHash
                }
                if stretch.gaveUp { return .readFrom(seq: expected, vouched: checked) }
                if stretch.reachedHead { break }
            }
            guard expected > head else { return .readFrom(seq: expected, vouched: checked) }
            return .intact(Verification(checked: checked, lastSeq: head, lastHash: previous))
        }
    }

    /// The table as the page reader reads its records: the walk's 17 columns in that
    /// order, none hidden or generated, `seq` the rowid (INTEGER PRIMARY KEY).
    private static func storesRowsAsTheWalkReadsThem(_ db: Database) throws -> Bool {
        let columns = try Row.fetchAll(db, sql: "PRAGMA table_xinfo(audit_event)")
        guard columns.count == StoredRowHasher.columns.count else { return false }
        for (index, column) in columns.enumerated() {
            guard column["name"] as String? == StoredRowHasher.columns[index], column["hidden"] as Int? == 0,
                  column["pk"] as Int? == (index == 0 ? 1 : 0) else { return false }
        }
        return (columns[0]["type"] as String?)?.uppercased() == "INTEGER"
    }

    /// Walks the rows of `leaves` in order, from `from` through `head`.
    static func walkLeaves(_ pages: TablePages, _ leaves: ArraySlice<UInt32>, from: Int64, through head: Int64,
                           progress: (Int) -> Void) -> PageStretch {
        var stretch = PageStretch()
        var reader = TablePages.PageReader(pages)
        var record = RecordRow(pages)
        var hasher = StoredRowHasher()
        let usable = pages.usableSize
        var touched: UInt8 = 0
        walk: for leaf in leaves {
            guard let page = reader.page(leaf) else { stretch.gaveUp = true; break }
            let top = leaf == 1 ? 100 : 0
            let cells = Int(page[top + 3]) << 8 | Int(page[top + 4])
            guard page[top] == 0x0D, top + 8 + 2 * cells <= usable else { stretch.gaveUp = true; break }
            // One load per cache line of the page, all independent, so the memory fetches
            // them at once: the cells lie from the page's end backwards, an order the
            // prefetcher follows slowly, and the first touch of each cell was half of
            // reading it.
            var line = 0
            while line < usable { touched &+= page[line]; line += 64 }
            for cell in 0..<cells {
                let at = Int(page[top + 8 + 2 * cell]) << 8 | Int(page[top + 9 + 2 * cell])
                guard let rowid = record.read(cellAt: at, of: page) else { stretch.gaveUp = true; break walk }
                if rowid < from { continue }
                if rowid > head { stretch.reachedHead = true; break walk }
                let linked = stretch.firstSeq != nil
                if linked {
                    guard rowid == stretch.lastSeq + 1 else { stretch.gaveUp = true; break walk }
                } else {
                    guard case .text(let text, let length)? = record.value(StoredRowHasher.prevHashColumn) else {
                        stretch.gaveUp = true; break walk
                    }
                    stretch.firstPrevHash = String(decoding: UnsafeBufferPointer(start: text, count: length), as: UTF8.self)
                }
                guard hasher.check(record, linked: linked) == nil else { stretch.gaveUp = true; break walk }
                if !linked { stretch.firstSeq = rowid }
                stretch.lastSeq = rowid
                stretch.checked += 1
                if stretch.checked & 0xFFFF == 0 { progress(stretch.checked) }
            }
        }
        stretch.lastHash = hasher.previousHash
        stretch.touched = touched
        return stretch
    }
}

/// One leaf cell's row: the record's values located in the page (or, for a row that
/// overflows, in a buffer the overflow pages are copied into).
struct RecordRow: StoredRow, ~Copyable {
    private let pages: TablePages
    private var overflowPages: TablePages.PageReader
    private var spilled: UnsafeMutablePointer<UInt8>
    private var spilledCapacity: Int
    private var rowid: Int64 = 0
    private var body: UnsafePointer<UInt8>
    /// Each column's serial type and the offset of its bytes in `body`.
    private let types: UnsafeMutablePointer<Int64> = .allocate(capacity: Self.columns)
    private let offsets: UnsafeMutablePointer<Int> = .allocate(capacity: Self.columns)
    private static let columns = StoredRowHasher.columns.count

    init(_ pages: TablePages) {
        self.pages = pages
        overflowPages = TablePages.PageReader(pages)
        spilledCapacity = 4096
        spilled = .allocate(capacity: spilledCapacity)
        body = UnsafePointer(spilled)
    }

    deinit {
        spilled.deallocate()
        types.deallocate()
        offsets.deallocate()
    }

    /// Reads the table leaf cell at `at`: its rowid, with the record's values ready for
    /// `value`. Nil when anything about the cell is not what SQLite writes.
    mutating func read(cellAt at: Int, of page: UnsafePointer<UInt8>) -> Int64? {
        let usable = pages.usableSize
        var cursor = at
        guard at >= 8, let payload = TablePages.varint(page, &cursor, end: usable),
              let rowid = TablePages.varint(page, &cursor, end: usable),
              // No more than the file's pages could hold: a hostile length cannot make
              // the walk allocate or copy more than the file.
              payload > 0, payload <= Int64(pages.pageCount) * Int64(usable) else { return nil }
        let size = Int(payload)
        // How much of the payload is in the page (SQLite's X, M and K).
        let maxLocal = usable - 35
        var local = size
        if size > maxLocal {
            let minLocal = (usable - 12) * 32 / 255 - 23
            let k = minLocal + (size - minLocal) % (usable - 4)
            local = k <= maxLocal ? k : minLocal
        }
        guard cursor + local + (local < size ? 4 : 0) <= usable else { return nil }
        var record = page + cursor
        if local < size {
            if size > spilledCapacity {
                spilled.deallocate()
                spilledCapacity = max(size, spilledCapacity * 2)
                spilled = .allocate(capacity: spilledCapacity)
            }
            spilled.update(from: record, count: local)
            var next = TablePages.uint32(UnsafeBufferPointer(start: page, count: usable), cursor + local)
            var copied = local
            while copied < size {
                guard let overflow = overflowPages.page(next) else { return nil }
                let take = min(size - copied, usable - 4)
                (spilled + copied).update(from: overflow + 4, count: take)
                copied += take
                next = TablePages.uint32(UnsafeBufferPointer(start: overflow, count: 4), 0)
            }
            record = UnsafePointer(spilled)
        }
        // The record: a header of serial types, then the values in the same order.
        var headerCursor = 0
        guard let headerSize = TablePages.varint(record, &headerCursor, end: size), headerSize <= size, headerSize >= 1 else { return nil }
        var offset = Int(headerSize)
        var count = 0
        while headerCursor < Int(headerSize) {
            guard count < Self.columns else { return nil }
            let type: Int64
            if record[headerCursor] < 0x80 {
                // One byte: every type but a long text's.
                type = Int64(record[headerCursor])
                headerCursor += 1
            } else {
                guard let long = TablePages.varint(record, &headerCursor, end: Int(headerSize)), long >= 0, long < 1 << 31 else { return nil }
                type = long
            }
            types[count] = type
            offsets[count] = offset
            offset += Self.length(of: type)
            count += 1
        }
        guard count == Self.columns, offset <= size else { return nil }
        body = record
        self.rowid = rowid
        return rowid
    }

    /// Bytes a value of this serial type takes in the record.
    @inline(__always)
    private static func length(of type: Int64) -> Int {
        switch type {
        case 0, 8, 9, 10, 11: 0
        case 1...4: Int(type)
        case 5: 6
        case 6, 7: 8
        default: Int((type - 12) / 2)
        }
    }

    @inline(__always)
    func value(_ column: Int) -> ColumnStorage? {
        // seq is the rowid: SQLite reads it from the cell, whatever the record holds there.
        if column == 0 { return .integer(rowid) }
        let type = types[column]
        let bytes = body + offsets[column]
        switch type {
        case 0: return .null
        case 1...6:
            let width = Self.length(of: type)
            var number = Int64(Int8(bitPattern: bytes[0]))
            for i in 1..<width { number = number << 8 | Int64(bytes[i]) }
            return .integer(number)
        case 7: return .real
        case 8: return .integer(0)
        case 9: return .integer(1)
        case 10, 11: return nil
        default: return type & 1 == 0 ? .blob : .text(bytes, Int((type - 13) / 2))
        }
    }
}
