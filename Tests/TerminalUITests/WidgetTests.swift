import Testing
@testable import TerminalUI

func render(width: Int, height: Int, _ draw: (inout CellGrid) -> Void) -> CellGrid {
    var grid = CellGrid(width: width, height: height)
    draw(&grid)
    return grid
}

@Suite struct FooterTests {
    let bindings = [
        KeyBinding(keys: [.char("q")], action: "quit", hint: "quit"),
        KeyBinding(keys: [.char("/")], action: "filter", hint: "filter"),
        KeyBinding(keys: [.char("d")], action: "discard", hint: "discard", disabledReason: "nothing selected"),
        KeyBinding(keys: [.char("?")], action: "help", hint: "help", showsInFooter: false),
    ]

    @Test func hintsDisabledDimmedAndTruncated() {
        let grid = render(width: 40, height: 1) { Footer.render(bindings, into: &$0, rect: Rect(x: 0, y: 0, width: 40, height: 1), theme: theme) }
        #expect(grid.text(row: 0) == " q quit  / filter  d discard")
        #expect(grid[20, 0].style == theme.style("footer.disabled"))
        #expect(grid[1, 0].style == theme.style("footer.key"))
        let narrow = render(width: 20, height: 1) { Footer.render(bindings, into: &$0, rect: Rect(x: 0, y: 0, width: 20, height: 1), theme: theme) }
        #expect(narrow.text(row: 0) == " q quit  / filter")
        let enabledOnly = render(width: 40, height: 1) {
            Footer.render(bindings, into: &$0, rect: Rect(x: 0, y: 0, width: 40, height: 1), theme: theme, showDisabled: false)
        }
        #expect(enabledOnly.text(row: 0) == " q quit  / filter")
    }
}

@Suite struct HelpOverlayTests {
    @Test func builtFromLiveKeyMapsAndCloses() {
        var keys = KeyMap(title: "List", bindings: [
            KeyBinding(keys: [.char("j"), .down], action: "down", hint: "down", help: "Next row"),
            KeyBinding(keys: [.char("d")], action: "discard", hint: "discard", help: "Discard the row", isDestructive: true),
        ])
        keys.setDisabledReason("read-only", for: "discard")
        let global = KeyMap(title: "Global", bindings: [KeyBinding(keys: [.char("q")], action: "quit", hint: "quit", help: "Quit")])
        var help = HelpOverlay(sections: [HelpSection(global), HelpSection(keys)], viewportHeight: 5)
        let grid = render(width: 50, height: 12) { help.render(into: &$0, rect: Rect(x: 0, y: 0, width: 50, height: 12), theme: theme) }
        #expect(grid.screenText == """

        ┌─ Keys — j/k scroll, G end, Esc or ? to close ──┐
        │ Global                                         │
        │ q       Quit                                   │
        │                                                │
        │ List                                           │
        │ j/down  Next row                               │
        │ d       Discard the row (read-only)            │
        │                                                │
        │                                                │
        └────────────────────────────────────────────────┘

        """)
        // `G` reaches the last line and no further; `g` comes back.
        _ = help.handle(.char("G"))
        let end = help.scroll
        _ = help.handle(.char("j"))
        #expect(end > 0 && help.scroll == end)
        _ = help.handle(.char("g"))
        #expect(help.scroll == 0)

        let stays = help.handle(.char("j"))
        #expect(stays && help.scroll == 1)
        let closedByEscape = !help.handle(.escape)
        let closedByQuestionMark = !help.handle(.char("?"))
        #expect(closedByEscape && closedByQuestionMark)
    }

    /// Narrower than a description, the box wraps it under itself rather than cutting it
    /// (at 80 columns a disabled key's reason, the part that says why, was cut off).
    @Test func aLongDescriptionWrapsAndScrollingReachesItsEnd() {
        var keys = KeyMap(title: "Outbox", bindings: [
            KeyBinding(keys: [.char("r")], action: "retry", hint: "retry", help: "Retry the item now: the worker sends it next"),
        ])
        keys.setDisabledReason("ann is a viewer; retrying needs the operator role", for: "retry")
        var help = HelpOverlay(sections: [HelpSection(keys)], viewportHeight: 4, viewportWidth: 50)
        let grid = render(width: 50, height: 8) { help.render(into: &$0, rect: Rect(x: 0, y: 0, width: 50, height: 8), theme: theme) }
        #expect(grid.screenText == """

        ┌─ Keys — j/k scroll, G end, Esc or ? to close ──┐
        │ Outbox                                         │
        │ r  Retry the item now: the worker sends it     │
        │    next (ann is a viewer; retrying needs the   │
        │    operator role)                              │
        └────────────────────────────────────────────────┘

        """)
        #expect(grid[5, 4].style == theme.style("footer.disabled"), "the wrapped part is shown disabled too")
        _ = help.handle(.char("G"))
        #expect(help.scroll == 2, "four lines in a view of two")
    }

    /// Keys disabled one after another for the same reason say it once, after them (a
    /// viewer's help repeated one long reason for each of the four review keys).
    @Test func keysDisabledForOneReasonSayItOnce() {
        var keys = KeyMap(title: "Review", bindings: [
            KeyBinding(keys: [.char("a")], action: "approve", hint: "approve", help: "Approve the booking"),
            KeyBinding(keys: [.char("u")], action: "undo", hint: "undo", help: "Undo the last approval"),
            KeyBinding(keys: [.char("d")], action: "decided", hint: "decided", help: "Hide decided bookings"),
        ])
        for action in ["approve", "undo"] { keys.setDisabledReason("ann is a viewer", for: action) }
        let help = HelpOverlay(sections: [HelpSection(keys)], viewportHeight: 8, viewportWidth: 50)
        let grid = render(width: 50, height: 9) { help.render(into: &$0, rect: Rect(x: 0, y: 0, width: 50, height: 9), theme: theme) }
        #expect(grid.screenText == """

        ┌─ Keys — j/k scroll, G end, Esc or ? to close ──┐
        │ Review                                         │
        │ a  Approve the booking                         │
        │ u  Undo the last approval                      │
        │    ↳ ann is a viewer                           │
        │ d  Hide decided bookings                       │
        └────────────────────────────────────────────────┘

        """, "\(grid.screenText)")
        #expect(grid[5, 3].style == theme.style("footer.disabled") && grid[5, 5].style == theme.style("footer.disabled"))
        #expect(grid[5, 6].style == theme.style("help"))
    }
}

@Suite struct ConfirmDialogTests {
    @Test func safeChoiceFocusedFirst() {
        var dialog = ConfirmDialog(title: "Discard?", message: "Discard 3 items.", confirm: "Discard")
        #expect(dialog.focus == 0)
        #expect(dialog.handle(.enter) == .chosen(0))
        #expect(dialog.handle(.tab) == .pending)
        #expect(dialog.handle(.enter) == .chosen(1))
        #expect(dialog.handle(.escape) == .cancelled)
        #expect(dialog.handle(.char("y")) == .chosen(1))
        #expect(dialog.handle(.char("n")) == .chosen(0))
    }

    @Test func snapshot() {
        let dialog = ConfirmDialog(title: "Discard?", message: "Discard 3 items.", confirm: "Discard")
        let grid = render(width: 44, height: 7) { dialog.render(into: &$0, rect: Rect(x: 0, y: 0, width: 44, height: 7), theme: theme) }
        #expect(grid.screenText == """

          ┌─ Discard? ───────────────────────────┐
          │ Discard 3 items.                     │
          │                                      │
          │       [ Cancel ]  [ Discard ]        │
          └──────────────────────────────────────┘

        """)
        #expect(grid[10, 4].style == theme.style("dialog.button.focused"))
        #expect(grid[22, 4].style == theme.style("dialog.button"))
    }
}

@Suite struct LineEditingTests {
    @Test func editorKeys() {
        var editor = LineEditor("hello")
        _ = editor.handle(.left)
        _ = editor.handle(.left)
        _ = editor.handle(.char("X"))
        #expect(editor.text == "helXlo")
        _ = editor.handle(.backspace)
        _ = editor.handle(.delete)
        #expect(editor.text == "helo")
        _ = editor.handle(.ctrl("u"))
        #expect(editor.text == "o" && editor.cursor == 0)
        _ = editor.handle(.end)
        _ = editor.handle(.char("日"))
        #expect(editor.text == "o日" && editor.cursor == 2)
        let tookEnter = editor.handle(.enter)
        #expect(!tookEnter)
    }

    @Test func editorScrollsToShowTheCursor() {
        let editor = LineEditor("abcdefghij")
        var grid = CellGrid(width: 6, height: 1)
        let cursor = editor.render(into: &grid, rect: Rect(x: 0, y: 0, width: 6, height: 1), style: .plain)
        #expect(grid.text(row: 0) == "fghij")
        #expect(cursor == Position(x: 5, y: 0))
    }

    @Test func commandCompletionHistoryAndCancel() {
        var prompt = CommandPrompt(prompt: ":", names: ["quit", "queue", "theme"])
        for character in "qu" { _ = prompt.handle(.char(character)) }
        #expect(prompt.handle(.tab) == .editing)
        #expect(prompt.text == "qu")
        #expect(prompt.candidates == ["queue", "quit"])
        let grid = render(width: 20, height: 2) { prompt.render(into: &$0, rect: Rect(x: 0, y: 0, width: 20, height: 2), theme: theme) }
        #expect(grid.screenText == "queue  quit\n:qu")
        #expect(grid.cursor == Position(x: 3, y: 1))
        _ = prompt.handle(.char("i"))
        _ = prompt.handle(.tab)
        #expect(prompt.text == "quit" && prompt.candidates.isEmpty)
        #expect(prompt.handle(.enter) == .submitted("quit"))
        _ = prompt.handle(.char("t"))
        _ = prompt.handle(.tab)
        #expect(prompt.handle(.enter) == .submitted("theme"))
        _ = prompt.handle(.up)
        #expect(prompt.text == "theme")
        _ = prompt.handle(.up)
        #expect(prompt.text == "quit")
        _ = prompt.handle(.down)
        _ = prompt.handle(.down)
        #expect(prompt.text == "")
        #expect(prompt.handle(.escape) == .cancelled)
    }

    @Test func filterLine() {
        var filter = CommandPrompt.filter()
        for character in "ann" { _ = filter.handle(.char(character)) }
        #expect(filter.text == "ann")
        let grid = render(width: 10, height: 1) { filter.render(into: &$0, rect: Rect(x: 0, y: 0, width: 10, height: 1), theme: theme) }
        #expect(grid.text(row: 0) == "/ann")
    }
}

@Suite struct FormTests {
    func form() -> Form {
        Form(title: "Edit", fields: [
            FormField(id: "note", label: "Note", kind: .text(LineEditor("hi"))),
            FormField(id: "kind", label: "Kind", kind: .choice(["a", "b", "c"], selected: 0)),
            FormField(id: "slot", label: "Slot", kind: .picker(.loading)),
        ])
    }

    @Test func editingCyclingAndAsyncOptions() {
        var form = form()
        _ = form.handle(.char("!"))
        #expect(form.value(of: "note") == "hi!")
        _ = form.handle(.tab)
        _ = form.handle(.right)
        _ = form.handle(.right)
        _ = form.handle(.right)
        #expect(form.value(of: "kind") == "a")
        _ = form.handle(.left)
        #expect(form.value(of: "kind") == "c")
        _ = form.handle(.tab)
        #expect(form.value(of: "slot") == nil)
        form.setOptions(.loaded(["09:00", "09:30"], selected: 0), for: "slot")
        _ = form.handle(.right)
        #expect(form.value(of: "slot") == "09:30")
        _ = form.handle(.backTab)
        #expect(form.focus == 1)
        #expect(form.handle(.enter) == .submitted)
        #expect(form.handle(.escape) == .cancelled)
    }

    @Test func snapshotShowsLoadingFailureAndMessage() {
        var form = form()
        form.message = "Note is too short"
        var grid = render(width: 40, height: 7) { form.render(into: &$0, rect: Rect(x: 0, y: 0, width: 40, height: 7), theme: theme) }
        #expect(grid.screenText == """
        ┌─ Edit ───────────────────────────────┐
        │ Note  hi                             │
        │ Kind  ‹ a ›                          │
        │ Slot  loading…                       │
        │                                      │
        │ Note is too short                    │
        └──────────────────────────────────────┘
        """)
        #expect(grid.cursor == Position(x: 10, y: 1))
        form.setOptions(.failed("timeout"), for: "slot")
        grid = render(width: 40, height: 7) { form.render(into: &$0, rect: Rect(x: 0, y: 0, width: 40, height: 7), theme: theme) }
        #expect(grid.text(row: 3) == "│ Slot  failed: timeout                │")
    }

    @Test func summaryLinesSitAboveTheFields() {
        var form = form()
        form.summary = ["Ann Lee · book", "Thu 26 08:00"]
        let grid = render(width: 40, height: 10) { form.render(into: &$0, rect: Rect(x: 0, y: 0, width: 40, height: 10), theme: theme) }
        #expect(grid.screenText == """
        ┌─ Edit ───────────────────────────────┐
        │ Ann Lee · book                       │
        │ Thu 26 08:00                         │
        │                                      │
        │ Note  hi                             │
        │ Kind  ‹ a ›                          │
        │ Slot  loading…                       │
        │                                      │
        │                                      │
        └──────────────────────────────────────┘
        """)
        #expect(grid[2, 1].style == theme.style("dialog.summary"))
        #expect(grid.cursor == Position(x: 10, y: 4))
    }
}

@Suite struct SmallWidgetTests {
    /// One line, one message: a new one replaces the last, the same one counts up, and
    /// an old expiry timer never clears a newer message.
    @Test func theMessageLineReplacesCountsAndExpires() {
        var line = MessageLine()
        let first = line.show("Saved")
        let second = line.show("Failed: \u{1b}[31mred", kind: .error)
        #expect(second.seconds == MessageLine.duration * 2)
        var grid = render(width: 30, height: 1) { line.render(into: &$0, rect: Rect(x: 0, y: 0, width: 30, height: 1), theme: theme) }
        #expect(grid.screenText == " Failed: ␛[31mred")
        #expect(grid[1, 0].style == theme.style("message.error"))
        let clearedByOldTimer = line.expire(first.id)
        #expect(!clearedByOldTimer, "the old timer leaves the newer message")
        _ = line.show("Failed: \u{1b}[31mred", kind: .error)
        let third = line.show("Failed: \u{1b}[31mred", kind: .error)
        grid = render(width: 30, height: 1) { line.render(into: &$0, rect: Rect(x: 0, y: 0, width: 30, height: 1), theme: theme) }
        #expect(grid.screenText == " Failed: ␛[31mred  ×3")
        let cleared = line.expire(third.id)
        #expect(cleared && line.text == nil)
    }

    /// A message wider than its line goes on at spaces onto the rows it is given (what to
    /// do next is often at its end); one too long for them too ends in `…`.
    @Test func aLongMessageWrapsOntoTheRowsItIsGiven() {
        var line = MessageLine()
        _ = line.show("That appointment was moved by a later call (03:36): correct the later booking; it is now selected.", kind: .error)
        var rows = 0
        let grid = render(width: 40, height: 2) { rows = line.render(into: &$0, rect: Rect(x: 0, y: 0, width: 40, height: 2), theme: theme) }
        #expect(rows == 2)
        #expect(grid.screenText == " That appointment was moved by a later\n call (03:36): correct the later booki…")
        #expect(grid[1, 1].style == theme.style("message.error"))
        let wide = render(width: 120, height: 2) { rows = line.render(into: &$0, rect: Rect(x: 0, y: 0, width: 120, height: 2), theme: theme) }
        #expect(rows == 1 && wide.screenText.contains("booking; it is now selected."), "\(wide.screenText)")
        _ = line.show("Saved")
        _ = render(width: 40, height: 2) { rows = line.render(into: &$0, rect: Rect(x: 0, y: 0, width: 40, height: 2), theme: theme) }
        #expect(rows == 1, "a short message leaves the row below alone")
    }

    /// What is no longer so is taken back, and only that.
    @Test func theMessageLineWithdrawsOnlyWhatItSays() {
        var line = MessageLine()
        _ = line.show("Alert: event stream not heard", kind: .error)
        let other = line.withdraw("Alert: 2 outbox items dead")
        #expect(!other && line.text == "Alert: event stream not heard")
        let same = line.withdraw("Alert: event stream not heard")
        #expect(same && line.text == nil)
    }

    @Test func theMessageLineAmendsOnlyWhatItSaysAndKeepsItsExpiry() {
        var line = MessageLine()
        let shown = line.show("Alert: 1 undecided booking overdue", kind: .error)
        let other = line.amend("Alert: 2 outbox items dead", to: "Alert: 3 outbox items dead")
        #expect(!other && line.text == "Alert: 1 undecided booking overdue")
        let same = line.amend("Alert: 1 undecided booking overdue", to: "Alert: 13 undecided bookings overdue")
        #expect(same && line.text == "Alert: 13 undecided bookings overdue" && line.kind == .error)
        let expired = line.expire(shown.id)
        #expect(expired && line.text == nil, "the amended message ends when the first would have")
    }

    @Test func detailPaneWrapsAndScrolls() {
        var pane = DetailPane(items: [
            .field("Name", "Zoë 日本"), .field("Notes", "a fairly long note that wraps"), .blank, .text("free text here"),
        ])
        pane.viewportHeight = 3
        var grid = render(width: 24, height: 6) { pane.render(into: &$0, rect: Rect(x: 0, y: 0, width: 24, height: 6), theme: theme) }
        #expect(grid.screenText == """
         Name   Zoë 日本
         Notes  a fairly long
                note that wraps

         free text here

        """, "a column's margin each side, as the tables have")
        let scrolled = pane.handle(.char("j"))
        #expect(scrolled)
        grid = render(width: 24, height: 3) { pane.render(into: &$0, rect: Rect(x: 0, y: 0, width: 24, height: 3), theme: theme) }
        #expect(grid.text(row: 0) == " Notes  a fairly long")
        _ = pane.handle(.char("G"))
        grid = render(width: 24, height: 3) { pane.render(into: &$0, rect: Rect(x: 0, y: 0, width: 24, height: 3), theme: theme) }
        #expect(grid.text(row: 2) == " free text here")
    }

    @Test func sizeGuardExplainsWhatIsNeeded() {
        let guardian = SizeGuard()
        #expect(guardian.fits(Size(width: 80, height: 24)))
        #expect(!guardian.fits(Size(width: 79, height: 30)))
        let grid = render(width: 40, height: 5) { guardian.render(into: &$0, theme: theme) }
        #expect(grid.screenText == """

                   Terminal too small
                 need 80x24, have 40x5


        """)
    }
}

/// A picker with a ``PickerList``: open under its field while focused, in the rows there are.
@Suite struct PickerListTests {
    static let entries = [PickerList.Entry(heading: nil, label: "keep")]
        + ["09:00", "09:30", "14:00"].map { PickerList.Entry(heading: "Mon 30", label: $0) }
        + ["10:00", "14:30"].map { PickerList.Entry(heading: "Tue 01", label: $0) }

    func form() -> Form {
        var form = Form(title: "Move", fields: [
            FormField(id: "slot", label: "Slot", kind: .picker(.loading)),
            FormField(id: "note", label: "Note", kind: .text(LineEditor())),
        ])
        form.setOptions(.list(PickerList(entries: Self.entries)), for: "slot")
        return form
    }

    @Test func opensUnderItsFieldWhileFocusedAndFoldsAwayWhenThereIsNoRoom() {
        var form = form()
        _ = form.handle(.char("]"))
        var grid = render(width: 42, height: 15) { form.render(into: &$0, rect: Rect(x: 0, y: 0, width: 42, height: 15), theme: theme) }
        #expect(grid.screenText == """
        ┌─ Move ─────────────────────────────────┐
        │ Slot  ‹ Mon 30 09:00 › 2/6             │
        │       ]/[ day  type 14 or tue to jump  │
        │         keep                           │
        │       Mon 30                           │
        │         › 09:00                        │
        │           09:30                        │
        │           14:00                        │
        │       Tue 01                           │
        │           10:00                        │
        │           14:30                        │
        │ Note                                   │
        │                                        │
        │                                        │
        └────────────────────────────────────────┘
        """)
        // Fewer rows: the box keeps its fields and says what is below.
        grid = render(width: 42, height: 12) { form.render(into: &$0, rect: Rect(x: 0, y: 0, width: 42, height: 12), theme: theme) }
        #expect(grid.text(row: 8) == "│ Note                                   │")
        #expect(grid.screenText.contains("↓ 2 more"))
        // Too few rows for a list: the field alone, as before.
        grid = render(width: 40, height: 6) { form.render(into: &$0, rect: Rect(x: 0, y: 0, width: 40, height: 6), theme: theme) }
        #expect(!grid.screenText.contains("keep") && grid.text(row: 2) == "│ Note                                 │")
        // Another field focused: closed.
        _ = form.handle(.tab)
        grid = render(width: 40, height: 14) { form.render(into: &$0, rect: Rect(x: 0, y: 0, width: 40, height: 14), theme: theme) }
        #expect(!grid.screenText.contains("Tue 01"))
    }

    @Test func upAndDownStayInTheListTabLeavesIt() {
        var form = form()
        _ = form.handle(.down); _ = form.handle(.down)
        #expect(form.value(of: "slot") == "Mon 30 09:30" && form.focus == 0)
        _ = form.handle(.up)
        #expect(form.value(of: "slot") == "Mon 30 09:00")
        _ = form.handle(.tab)
        #expect(form.focus == 1)
        _ = form.handle(.up)
        #expect(form.focus == 0, "on another field Up moves between fields as before")
        #expect(form.handle(.enter) == .submitted)
    }

    @Test func typingJumpsFromTheSelectionOnAndBackspaceForgets() {
        var list = PickerList(entries: Self.entries)
        for c in "14" {
            let used = list.handle(.char(c))
            #expect(used)
        }
        #expect(list.selectedEntry?.value == "Mon 30 14:00")
        for c in "14" { _ = list.handle(.char(c)) }
        #expect(list.selectedEntry?.value == "Tue 01 14:30", "again: the next one on")
        _ = list.handle(.char("m"))
        #expect(list.selectedEntry?.value == "Mon 30 09:00" && list.typed == "m", "a day by its name, round to the start")
        _ = list.handle(.backspace)
        #expect(list.typed.isEmpty)
        let used = list.handle(.char("?"))
        #expect(!used, "not a jump: the form's")
    }
}
