import ArgumentParser
import Foundation
import SwitchboardConsole
import SwitchboardStore
import TerminalUI

extension Switchboard {
    struct Themes: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "themes",
            abstract: "List the available themes, or check one.",
            discussion: "The configured theme (theme in the config file) is marked with *.")

        @Option(help: ArgumentHelp("The config file.", valueName: "path"))
        var config: String?

        @Option(help: ArgumentHelp("Load one theme by name or path and print its warnings (file:line).", valueName: "name|path"))
        var check: String?

        func run() throws {
            let catalog = ThemeCatalog.standard(appName: "switchboard")
            if let check {
                do {
                    let (_, warnings) = try catalog.load(check)
                    for warning in warnings { print(warning) }
                    print("\(check): \(warnings.isEmpty ? "ok" : "\(warnings.count) warning(s)")")
                } catch {
                    FileHandle.standardError.write(Data("switchboard: \(error)\n".utf8))
                    throw ExitCode(ExitStatus.dataError)
                }
                return
            }
            let configured = try loadSettings(config: config, reportingWarnings: true).settings.theme ?? "default"
            for name in catalog.available() {
                print((name == configured ? "* " : "  ") + name)
            }
        }
    }
}
