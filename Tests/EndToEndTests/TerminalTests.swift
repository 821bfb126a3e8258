import Foundation
import SwitchboardTesting
import Testing

/// What the terminal sees: size, colors, hostile data, and terminals the console cannot use.
@Suite(.enabled(if: Tmux.isAvailable, "needs tmux"), .timeLimit(.minutes(2)))
struct TerminalTests {
    /// A 60x20 terminal says what it needs; growing it to 80x24 shows the screen.
    @Test func tooSmallThenResized() async throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let db = try E2E.generate(scratch, calls: 500)
        let tmux = try E2E.console(scratch, db, width: 60, height: 20)
        defer { tmux.kill() }

        let small = try await tmux.waitFor("Terminal too small", "need 80x24")
        #expect(!small.contains("Booked"), "no screen squeezed into the small terminal:\n\(small)")
        try tmux.resize(width: 80, height: 24)
        let screen = try await tmux.waitForReviewList()
        #expect(!screen.contains("Terminal too small"))
        #expect(screen.lines.count >= 24 && screen.lines[23].contains("a approve"), "footer on the last row:\n\(screen)")

        // Smaller again, then Ctrl-L: still the size message, then the screen again.
        try tmux.resize(width: 79, height: 24)
        try await tmux.waitFor("need 80x24, have 79x24")
        try tmux.resize(width: 80, height: 24)
        try await tmux.waitForReviewList()
        try tmux.send("C-l")
        try await Tmux.settle(200)
        try await tmux.waitForReviewList()
    }

    /// NO_COLOR: no color at all, yet the selected row is still marked (reverse video).
    /// Without it, on a 256-color terminal, there are colors.
    @Test func noColorIsHonoured() async throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let db = try E2E.generate(scratch, calls: 500)
        let plain = try E2E.console(scratch, db, environment: ["NO_COLOR": "1"], name: "noColor")
        defer { plain.kill() }
        let colored = try E2E.console(scratch, db, name: "colored")
        defer { colored.kill() }

        try await plain.waitForReviewList()
        let plainScreen = try plain.capture(escapes: true)
        let colors = SGR.sequences(in: plainScreen).filter(SGR.setsColor)
        #expect(colors.isEmpty, "NO_COLOR=1 but color SGR codes: \(colors.prefix(5))")
        #expect(SGR.reverseVideoLines(in: plainScreen) == [0, 3], "the current tab and the selected (first) row are in reverse video")
        try plain.send("j")
        try await plain.waitUntil("the selection on the second row") { _ in try plain.reverseVideoLines() == [4] }

        try await colored.waitForReviewList()
        let coloredScreen = try colored.capture(escapes: true)
        #expect(SGR.sequences(in: coloredScreen).contains(where: SGR.setsColor), "TERM=xterm-256color without NO_COLOR shows colors")
        #expect(SGR.reverseVideoLines(in: coloredScreen).contains(3))
    }

    /// Names with ESC ] 0 ; title BEL, ESC [ 2J and U+202E are drawn inert: the pane's
    /// title stays, the screen is not cleared, and the escape shows as the ␛ glyph.
    @Test func hostileDataStaysInert() async throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let db = try E2E.generate(scratch, hostile: true)
        let hostile = try E2E.rows(db.audit, """
            SELECT count(*) FROM booking WHERE review_required = 1
            AND (instr(patient_display, char(27)) > 0 OR instr(patient_display, char(8238)) > 0)
            """)
        try #require(hostile.first?.first.flatMap(Int.init) ?? 0 > 0, "the generator made hostile names")
        let tmux = try E2E.console(scratch, db)
        defer { tmux.kill() }
        try tmux.tmux(["select-pane", "-t", tmux.session, "-T", "e2e-title"])
        try await tmux.waitForReviewList()

        func expectIntact(_ what: String) throws {
            let screen = try tmux.capture()
            #expect(try tmux.display("#{pane_title}") == "e2e-title", "\(what): the title changed")
            #expect(screen.lines.count > 1 && screen.lines[1].contains(Tmux.header), "\(what): the header line is gone:\n\(screen)")
            #expect(!screen.unicodeScalars.contains("\u{202E}") && !screen.unicodeScalars.contains("\u{1B}"), "\(what): raw control characters on screen")
        }

        // Page through everything to the last row.
        try tmux.send("G")
        try await tmux.waitUntil("the selection on the last row") { screen in
            // The position (e.g. 990/990) ends the status line, above the footer.
            screen.lines.contains { $0.firstMatch(of: /(\d+)\/(\d+)\s*$/).map { $0.1 == $0.2 } ?? false }
        }
        try tmux.send("g")
        try await tmux.waitUntil("the selection on the first row") { _ in try tmux.reverseVideoLines() == [3] }
        try expectIntact("after G and g")

        // Details of each kind of hostile name.
        // (the filter matches the stored text, so a word of each name finds exactly those)
        for (word, inert) in [("pwned", "Eve ␛]0;pwned␇Mallory"), ("Tables", "Bob ␛[2J␛[HTables"),
                              ("Wilde", "Oscar ␛[31mRED␛[0m Wilde"), ("Nakamoto", "Trudy �evlis� Nakamoto")] {
            let name = String(inert.prefix { $0 != " " })
            try await tmux.filter(word, expect: name)
            try expectIntact("the list filtered on \(name)")
            try tmux.send("Enter")
            let details = try await tmux.waitFor("Booking ", "Patient ")
            let patient = try #require(details.lines.first { $0.hasPrefix(" Patient") })
            #expect(patient.contains(inert), "\(name): the patient line reads \(patient)")
            try expectIntact("the details of \(name)")
            try tmux.send("Escape")
            try await tmux.waitFor("Booked")
            try tmux.send("Escape")
            try await tmux.waitUntil("the filter cleared") { !$0.contains("filter: ") }
        }
        try expectIntact("at the end")
    }

    /// TERM=dumb (in a real terminal), no TERM, and standard output that is not a
    /// terminal: one clear line on stderr, a non-zero exit, and no escape sequences.
    @Test func unusableTerminals() async throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let db = try E2E.generate(scratch, calls: 200)

        // Wide enough that the message does not wrap.
        let dumb = try E2E.console(scratch, db, width: 200, environment: ["TERM": "dumb"], name: "dumb")
        defer { dumb.kill() }
        let status = try await dumb.waitForExit()
        #expect(status != 0)
        let screen = try dumb.capture(escapes: true, history: true)
        let text = screen.lines.filter { !$0.isEmpty && !$0.hasPrefix("Pane is dead") }
        #expect(text.count == 1 && text[0].hasPrefix("switchboard: ") && text[0].contains("dumb"), "one line naming the problem:\n\(screen)")
        #expect(SGR.sequences(in: screen).filter { $0 != [0] && $0 != [39] && $0 != [49] }.isEmpty, "no attributes drawn:\n\(screen)")
        #expect(try dumb.display("#{alternate_on}") == "0", "the alternate screen was not entered")

        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CONFIG_HOME"] = scratch.path("config")
        environment["TERM"] = "xterm-256color"
        let piped = try run(executable("switchboard"), ["--audit", db.audit, "--outbox", db.outbox], environment: environment, timeout: 20)
        #expect(piped.status != 0)
        #expect(piped.stdout.isEmpty, "nothing on a non-terminal stdout: \(piped.stdout.debugDescription)")
        #expect(piped.stderr.hasPrefix("switchboard: ") && piped.stderr.filter { $0 == "\n" }.count == 1 && !piped.stderr.contains("\u{1B}"),
                "one line on stderr: \(piped.stderr.debugDescription)")

        let noTerm = try Tmux.start([executable("switchboard"), "--audit", db.audit, "--outbox", db.outbox], width: 200,
                                    environment: ["XDG_CONFIG_HOME": scratch.path("config")], unset: ["TERM", "NO_COLOR", "TMUX"], name: "noTerm")
        defer { noTerm.kill() }
        #expect(try await noTerm.waitForExit() != 0)
        let unset = try noTerm.capture(history: true).lines.filter { !$0.isEmpty && !$0.hasPrefix("Pane is dead") }
        #expect(unset.count == 1 && unset[0].hasPrefix("switchboard: ") && unset[0].contains("TERM"), "\(unset)")
    }

    /// A frame reaches the terminal in a few writes. ncurses flushed at every cursor move
    /// until its screen had been left and resumed once: a full frame at 200x50 went out in
    /// 50 or more write(2) calls, each one a wake-up for the terminal at the other end.
    @Test func aFrameIsAFewWrites() async throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let db = try E2E.generate(scratch, calls: 500)
        let tmux = try E2E.console(scratch, db, width: 200, height: 50)
        defer { tmux.kill() }
        try await tmux.waitForReviewList()
        try await Tmux.settle(500)
        // The pane runs sh, whose one child is the console.
        let shell = try tmux.display("#{pane_pid}").trimmingCharacters(in: .whitespacesAndNewlines)
        let children = try String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)
        let console = try #require(children.split(separator: " ").first.map(String.init))
        func writes() throws -> Int {
            let io = try String(contentsOfFile: "/proc/\(console)/io", encoding: .utf8)
            let line = try #require(io.split(separator: "\n").first { $0.hasPrefix("syscw:") })
            return try #require(Int(line.dropFirst("syscw:".count).trimmingCharacters(in: .whitespaces)))
        }
        let before = try writes()
        for _ in 0..<5 {  // Ctrl-L: the whole screen drawn again
            try tmux.send("C-l")
            try await Tmux.settle(200)
        }
        try await tmux.waitForReviewList()
        let perFrame = Double(try writes() - before) / 5
        #expect(perFrame <= 6, "\(perFrame) writes per full frame")
    }
}
