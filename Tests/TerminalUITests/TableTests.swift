import Testing
@testable import TerminalUI

struct Item: Equatable {
    var id: Int
    var name: String
}

/// Wraps an ArraySource and records every request, to prove paging by keyset.
final class CountingSource: PagedSource {
    let inner: ArraySource<Item, Int>
    var requestedRows = 0
    var largestRequest = 0

    init(count: Int) {
        inner = ArraySource(rows: (1...count).map { Item(id: $0, name: "item \($0)") }, id: { $0.id }) { $0.id < $1.id }
    }

    func id(of row: Item) -> Int { row.id }
    func rows(after row: Item?, limit: Int) -> [Item] { record(inner.rows(after: row, limit: limit), limit) }
    func rows(before row: Item?, limit: Int) -> [Item] { record(inner.rows(before: row, limit: limit), limit) }
    func count() -> Int? { inner.count() }
    func position(of row: Item) -> Int? { inner.position(of: row) }

    private func record(_ rows: [Item], _ limit: Int) -> [Item] {
        requestedRows += rows.count
        largestRequest = max(largestRequest, limit)
        return rows
    }
}

let theme = ThemeCatalog(directories: []).resolve(nil).theme

func makeTable(_ source: ArraySource<Item, Int>, height: Int = 5) -> Table<ArraySource<Item, Int>> {
    var table = Table(source: source, columns: [
        TableColumn("ID", minWidth: 3, alignment: .right),
        TableColumn("Name", minWidth: 6, flex: 1),
    ]) { ["\($0.id)", $0.name] }
    table.viewportHeight = height
    table.reload()
    return table
}

func snapshot<S>(_ table: Table<S>, width: Int = 20, height: Int = 6) -> String {
    var grid = CellGrid(width: width, height: height)
    table.render(into: &grid, rect: Rect(x: 0, y: 0, width: width, height: height), theme: theme)
    return grid.screenText
}

@Suite struct TableTests {
    @Test func rendersHeaderRowsAndPosition() {
        let source = ArraySource(rows: (1...30).map { Item(id: $0, name: "item \($0)") }, id: { $0.id }) { $0.id < $1.id }
        var table = makeTable(source)
        table.sort = (column: 1, ascending: true)
        #expect(snapshot(table) == """
              ID Name ▲     1/30
               1 item 1
               2 item 2
               3 item 3
               4 item 4
               5 item 5
            """)
    }

    @Test func navigationScrollsAndWraps() {
        let source = ArraySource(rows: (1...30).map { Item(id: $0, name: "item \($0)") }, id: { $0.id }) { $0.id < $1.id }
        var table = makeTable(source)
        for key in ["j", "j", "j", "j", "j", "j"] { _ = table.handle(Key(parsing: key)!) }
        #expect(table.selectedID == 7)
        #expect(table.top == 2)
        _ = table.handle(.char("G"))
        #expect(table.selectedID == 30)
        #expect(table.positionText == "30/30")
        #expect(snapshot(table).split(separator: "\n").last == "  30 item 30")
        _ = table.handle(.pageUp)
        #expect(table.selectedID == 25)
        _ = table.handle(.char("g"))
        #expect(table.selectedID == 1)
        _ = table.handle(.up)
        #expect(table.selectedID == 1)
    }

    @Test func shrinkingTheViewportKeepsTheSelectionVisible() {
        let source = ArraySource(rows: (1...30).map { Item(id: $0, name: "item \($0)") }, id: { $0.id }) { $0.id < $1.id }
        var table = makeTable(source, height: 20)
        table.move(.last)
        table.viewportHeight = 3
        #expect(snapshot(table, height: 4).split(separator: "\n").last == "  30 item 30")
    }

    @Test func selectionFollowsIdentityWhenRowsArriveAbove() {
        let source = ArraySource(rows: (1...10).map { Item(id: $0 * 10, name: "n\($0 * 10)") }, id: { $0.id }) { $0.id < $1.id }
        var table = makeTable(source)
        _ = table.handle(.down)
        _ = table.handle(.down)
        #expect(table.selectedID == 30)
        source.insert([Item(id: 5, name: "new"), Item(id: 15, name: "new2")])
        table.reload()
        #expect(table.selectedID == 30)
        #expect(table.selectedRow?.name == "n30")
        #expect(table.positionText == "5/12")
        let lines = snapshot(table).split(separator: "\n")
        #expect(lines[3] == "  30 n30", "same screen line as before")
    }

    @Test func selectionMovesToTheNextRowWhenItsRowLeaves() {
        let source = ArraySource(rows: (1...10).map { Item(id: $0, name: "n\($0)") }, id: { $0.id }) { $0.id < $1.id }
        var table = makeTable(source)
        _ = table.handle(.down)
        _ = table.handle(.down)
        source.remove(ids: [3])
        table.reload()
        #expect(table.selectedID == 4)
        source.remove(ids: Set(4...10))
        table.reload()
        #expect(table.selectedID == 2)
        source.replace(with: [])
        table.reload()
        #expect(table.selectedID == nil)
        #expect(snapshot(table, height: 3) == "  ID Name          0\n\n")
    }

    @Test func marksAreKeptByID() {
        let source = ArraySource(rows: (1...10).map { Item(id: $0, name: "n\($0)") }, id: { $0.id }) { $0.id < $1.id }
        var table = makeTable(source)
        _ = table.handle(.down)
        _ = table.handle(.char(" "))
        _ = table.handle(.down)
        _ = table.handle(.char(" "))
        #expect(table.marked == [2, 3])
        source.insert([Item(id: 0, name: "n0")])
        table.reload()
        #expect(table.marked == [2, 3])
        let lines = snapshot(table).split(separator: "\n")
        #expect(lines[2] == "*  2 n2")
        #expect(lines[3] == "*  3 n3")
        _ = table.handle(.char(" "))
        #expect(table.marked == [2])
    }

    @Test func pagesByKeysetAndKeepsABoundedWindow() {
        let source = CountingSource(count: 100_000)
        var table = Table(source: source, columns: [TableColumn("Name", minWidth: 10, flex: 1)]) { [$0.name] }
        table.viewportHeight = 20
        table.reload()
        #expect(source.requestedRows <= 40)
        for _ in 0..<300 { table.move(.pageDown) }
        #expect(table.selectedID == 6_001)
        #expect(table.positionText == "6001/100000")
        #expect(table.window.count <= 120)
        #expect(source.largestRequest <= 41)
        #expect(source.requestedRows < 7_000)
        table.move(.last)
        #expect(table.selectedID == 100_000)
        for _ in 0..<50 { table.move(.up) }
        #expect(table.selectedID == 99_950)
        #expect(table.window.count <= 120)
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
        let source = ArraySource(rows: [Item(id: 1, name: "山田太郎さんの長い名前"), Item(id: 2, name: "\u{1b}[2Jevil")],
                                 id: { $0.id }) { $0.id < $1.id }
        let table = makeTable(source)
        let lines = snapshot(table, width: 16, height: 3).split(separator: "\n").map(String.init)
        #expect(lines[1] == "   1 山田太郎さ…")
        #expect(lines[2] == "   2 ␛[2Jevil")
    }
}
