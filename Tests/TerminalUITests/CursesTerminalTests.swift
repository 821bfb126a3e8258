import Testing
@testable import TerminalUI

@Suite struct CursesTerminalTests {
    @Test func refusesDumbAndMissingTerminalsWithoutExiting() {
        for environment in [["TERM": "dumb"], [:], ["TERM": ""]] {
            #expect(throws: TerminalError.self) { _ = try CursesTerminal(environment: environment) }
        }
    }

    @Test func errorsSayWhatToDo() {
        #expect(TerminalError.unsupportedTerminal(nil).description.contains("TERM is not set"))
        #expect(TerminalError.unsupportedTerminal("dumb").description.contains("\"dumb\""))
        #expect(TerminalError.notATerminal.description.contains("not a pipe"))
    }
}
