import Testing
@testable import TerminalUI

struct Item: Equatable {
    var id: Int
    var name: String
}

/// Wraps an ArraySource and records every request, to prove paging by keyset.
final class CountingSource: PagedSource {
    var inner: ArraySource<Item>
    var requestedRows = 0
    var largestRequest = 0

    init(count: Int) {
        inner = ArraySource(rows: (1...count).map { Item(id: $0, name: "item \($0)") }) { $0.id < $1.id }
    }

    init(_ rows: [Item]) {
        inner = ArraySource(rows: rows) { $0.id < $1.id }
    }

    func rows(after row: Item?, limit: Int) -> [Item] { record(inner.rows(after: row, limit: limit), limit) }
    func rows(before row: Item?, limit: Int) -> [Item] { record(inner.rows(before: row, limit: limit), limit) }
    func count() -> Int? { inner.count() }
    func position(of row: Item) -> Int? { inner.position(of: row) }

    func replace(with rows: [Item]) { inner = ArraySource(rows: rows) { $0.id < $1.id } }
    func insert(_ rows: [Item]) { replace(with: inner.rows + rows) }
    func remove(ids: Set<Int>) { replace(with: inner.rows.filter { !ids.contains($0.id) }) }

    private func record(_ rows: [Item], _ limit: Int) -> [Item] {
        requestedRows += rows.count
        largestRequest = max(largestRequest, limit)
        return rows
    }
}

let theme = ThemeCatalog(directories: []).resolve(nil).theme

/// A table over `source`, read as a program's runner would read it.
struct Reader {
    let source: CountingSource
    var table: Table<Item, Int>

    init(_ source: CountingSource, height: Int = 5) {
        self.source = source
        table = Table(columns: [
            TableColumn("ID", minWidth: 3, alignment: .right),
            TableColumn("Name", minWidth: 6, flex: 1),
        ], id: \.id)
        table.viewportHeight = height
        reload()
    }

    /// The data changed: a fresh window around the selection.
    mutating func reload() {
        table.apply(try! source.window(around: table.anchor, chunk: table.chunk))
    }

    /// A move, and the read it asks for, served at once.
    mutating func move(_ motion: Table<Item, Int>.Motion) {
        if let need = table.move(motion) { table.extend(try! source.page(for: need, limit: table.chunk)) }
    }

    mutating func press(_ key: String) {
        switch key {
        case "j": move(.down)
        case "k": move(.up)
        case "g": move(.first)
        case "G": move(.last)
        case "pgup": move(.pageUp)
        case "pgdn": move(.pageDown)
        case " ": table.toggleMark()
        default: Issue.record("no such key \(key)")
        }
    }

    func snapshot(width: Int = 20, height: Int = 6) -> String {
        var grid = CellGrid(width: width, height: height)
        table.render(into: &grid, rect: Rect(x: 0, y: 0, width: width, height: height), theme: theme) { ["\($0.id)", $0.name] }
        return grid.screenText
    }
}

func items(_ ids: some Sequence<Int>, name: (Int) -> String = { "item \($0)" }) -> [Item] {
    ids.map { Item(id: $0, name: name($0)) }
}

@Suite struct TableTests {
    @Test func rendersHeaderRowsAndPosition() {
        var r = Reader(CountingSource(count: 30))
        r.table.sort = (column: 1, ascending: true)
        #expect(r.snapshot() == """
              ID Name ▲     1/30
               1 item 1
               2 item 2
               3 item 3
               4 item 4
               5 item 5
            """)
    }

    @Test func navigationScrollsAndWraps() {
        var r = Reader(CountingSource(count: 30))
        for key in ["j", "j", "j", "j", "j", "j"] { r.press(key) }
        #expect(r.table.selectedID == 7)
        #expect(r.table.top == 2)
        r.press("G")
        #expect(r.table.selectedID == 30)
        #expect(r.table.positionText == "30/30")
        #expect(r.snapshot().split(separator: "\n").last == "  30 item 30")
        r.press("pgup")
        #expect(r.table.selectedID == 25)
        r.press("g")
        #expect(r.table.selectedID == 1)
        r.press("k")
        #expect(r.table.selectedID == 1)
    }

    /// A window read around the first row comes back after `G` took the selection to the
    /// last row (a refresh under way when the key came): it is outrun, and applying it
    /// would take the selection back to the top (the console showed 1/990 after `G`).
    /// A read around the selected row, or from the top, is not.
    @Test func aWindowReadBeforeAJumpIsOutrun() {
        var r = Reader(CountingSource(count: 300), height: 5)
        let anchor = r.table.anchor
        let stale = try! r.source.window(around: anchor, chunk: r.table.chunk)
        r.move(.last)
        #expect(r.table.selectedID == 300)
        #expect(r.table.isOutrun(by: stale, readAround: anchor?.id))
        #expect(!r.table.isOutrun(by: stale, readAround: nil), "a read from the top follows the top")
        let fresh = try! r.source.window(around: r.table.anchor, chunk: r.table.chunk)
        #expect(!r.table.isOutrun(by: fresh, readAround: r.table.anchor?.id))
        // A small move stays within the window read before it: not outrun.
        r.move(.first)
        let around = try! r.source.window(around: r.table.anchor, chunk: r.table.chunk)
        let before = r.table.anchor?.id
        r.move(.down)
        #expect(!r.table.isOutrun(by: around, readAround: before))
    }

    @Test func shrinkingTheViewportKeepsTheSelectionVisible() {
        var r = Reader(CountingSource(count: 30), height: 20)
        r.move(.last)
        r.table.viewportHeight = 3
        #expect(r.snapshot(height: 4).split(separator: "\n").last == "  30 item 30")
    }

    @Test func selectionFollowsIdentityWhenRowsArriveAbove() {
        let source = CountingSource(items((1...10).map { $0 * 10 }) { "n\($0)" })
        var r = Reader(source)
        r.press("j")
        r.press("j")
        #expect(r.table.selectedID == 30)
        source.insert([Item(id: 5, name: "new"), Item(id: 15, name: "new2")])
        r.reload()
        #expect(r.table.selectedID == 30)
        #expect(r.table.selectedRow?.name == "n30")
        #expect(r.table.positionText == "5/12")
        let lines = r.snapshot().split(separator: "\n")
        #expect(lines[3] == "  30 n30", "same screen line as before")
    }

    @Test func selectionMovesToTheNextRowWhenItsRowLeaves() {
        let source = CountingSource(items(1...10) { "n\($0)" })
        var r = Reader(source)
        r.press("j")
        r.press("j")
        source.remove(ids: [3])
        r.reload()
        #expect(r.table.selectedID == 4)
        source.remove(ids: Set(4...10))
        r.reload()
        #expect(r.table.selectedID == 2)
        source.replace(with: [])
        r.reload()
        #expect(r.table.selectedID == nil)
        #expect(r.snapshot(height: 3) == "  ID Name          0\n\n")
    }

    @Test func marksAreKeptByID() {
        let source = CountingSource(items(1...10) { "n\($0)" })
        var r = Reader(source)
        r.press("j")
        r.press(" ")
        r.press("j")
        r.press(" ")
        #expect(r.table.marked == [2, 3])
        source.insert([Item(id: 0, name: "n0")])
        r.reload()
        #expect(r.table.marked == [2, 3])
        let lines = r.snapshot().split(separator: "\n")
        #expect(lines[2] == "*  2 n2")
        #expect(lines[3] == "*  3 n3")
        r.press(" ")
        #expect(r.table.marked == [2])
    }

    @Test func pagesByKeysetAndKeepsABoundedWindow() {
        let source = CountingSource(count: 100_000)
        var r = Reader(source, height: 20)
        #expect(source.requestedRows <= 40)
        for _ in 0..<300 { r.move(.pageDown) }
        #expect(r.table.selectedID == 6_001)
        #expect(r.table.positionText == "6001/100000")
        #expect(r.table.window.count <= 120)
        #expect(source.largestRequest <= 41)
        #expect(source.requestedRows < 7_000)
        r.move(.last)
        #expect(r.table.selectedID == 100_000)
        for _ in 0..<50 { r.move(.up) }
        #expect(r.table.selectedID == 99_950)
        #expect(r.table.window.count <= 120)
    }

    /// The table never reads: a move past the rows it holds asks for them once, and the
    /// selection waits at the edge until they come.
    @Test func movesPastTheWindowAskOnceAndWait() {
        let source = CountingSource(count: 1_000)
        var r = Reader(source, height: 5)
        let held = r.table.window.count
        var asked: [TableNeed<Item>] = []
        for _ in 0..<(held + 5) { if let need = r.table.move(.down) { asked.append(need) } }
        #expect(asked.count == 1, "one read at a time")
        #expect(r.table.selectedID == held, "stops at the last row it holds")
        if case .after(let edge)? = asked.first { #expect(edge.id == held) } else { Issue.record("asked \(asked)") }
        r.table.extend(try! source.page(for: asked[0], limit: r.table.chunk))
        r.move(.down)
        #expect(r.table.selectedID == held + 1)
        // A page for a window that was replaced meanwhile is dropped.
        let stale = TablePage<Item>(need: .after(Item(id: 5, name: "")), rows: [Item(id: 999_999, name: "x")], limit: 10)
        r.table.extend(stale)
        #expect(!r.table.window.contains { $0.id == 999_999 })
    }

    @Test(arguments: [
        (40, [3, 20, 15]), (25, [3, 12, 8]), (12, [3, 8, 0]), (3, [3, 0, 0]), (2, [2, 0, 0]),
    ])
    func columnWidths(total: Int, expected: [Int]) {
        let columns = [
            TableColumn("#", minWidth: 3),
            TableColumn("Name", minWidth: 6, maxWidth: 20, flex: 2),
            TableColumn("Note", minWidth: 5, flex: 1),
        ]
        #expect(TableColumn.widths(of: columns, in: total) == expected)
    }

    @Test func wideAndHostileCellsStayInTheirColumn() {
        let r = Reader(CountingSource([Item(id: 1, name: "山田太郎さんの長い名前"), Item(id: 2, name: "\u{1b}[2Jevil")]))
        let lines = r.snapshot(width: 16, height: 3).split(separator: "\n").map(String.init)
        #expect(lines[1] == "   1 山田太郎さ…")
        #expect(lines[2] == "   2 ␛[2Jevil")
    }
}

/// Rows the table keeps between frames (`DrawnLines`) must draw exactly what drawing them
/// afresh draws, whatever changed: the text, the mark, the selection, the place and width.
@Suite struct KeptRowTests {
    /// The grid a table draws, and the one a new table (nothing kept) draws in its place.
    func drawnTwice(_ r: Reader, grid: CellGrid, rect: Rect) -> (kept: CellGrid, fresh: CellGrid) {
        var kept = grid, fresh = grid
        r.table.render(into: &kept, rect: rect, theme: theme) { ["\($0.id)", $0.name] }
        var copy = r.table
        copy.drawnLines = DrawnLines()
        copy.render(into: &fresh, rect: rect, theme: theme) { ["\($0.id)", $0.name] }
        return (kept, fresh)
    }

    @Test func aKeptRowDrawsWhatDrawingItAgainWould() {
        var r = Reader(CountingSource(items(1...8, name: { $0 == 3 ? "名前 wide 名前 and long" : "item \($0)" })))
        // Wide characters already on the grid, cut by the table's edges.
        var background = CellGrid(width: 30, height: 7)
        background.write("名名名名名名名名名名名名名名名", x: 0, y: 3)
        let places = [Rect(x: 0, y: 0, width: 30, height: 6), Rect(x: 3, y: 1, width: 15, height: 6), Rect(x: 4, y: 0, width: 26, height: 7)]
        for step in 0..<4 {
            for rect in places {
                let (kept, fresh) = drawnTwice(r, grid: background, rect: rect)
                #expect(kept == fresh, "step \(step), \(rect)")
                #expect(kept.screenText == fresh.screenText)
            }
            switch step {
            case 0: r.source.replace(with: items(1...8, name: { $0 == 2 ? "renamed" : "item \($0)" })); r.reload()
            case 1: r.table.toggleMark()
            case 2: r.move(.down); r.move(.down)
            default: break
            }
        }
    }
}
