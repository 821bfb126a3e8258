import SwitchboardCore
import SwitchboardOperations
import TerminalUI

/// The `!` list: every alert on now, most serious first, with since when and what to do.
/// The rules and their wording are `evaluateAlerts`' (SwitchboardOperations), the same as
/// `switchboard check`'s.
enum AlertsList {
    static func pane(_ evaluation: AlertEvaluation?, now: UnixMillis, time: TimeText) -> DetailPane {
        guard let evaluation else { return DetailPane(items: [.text("Evaluating the alert rules…")]) }
        var items: [DetailPane.Item] = []
        if evaluation.active.isEmpty { items.append(.text("No alert is on.")) }
        for alert in evaluation.active {
            items.append(.heading("\(alert.severity.rawValue.uppercased())  \(alert.rule.rawValue)"))
            items.append(.field("What", alert.summary))
            items.append(.field("Since", "\(time.timestamp(alert.since))  (\(formatDuration(millis: now - alert.since)) ago)"))
            items.append(.field("Do", alert.action))
            items.append(.blank)
        }
        if !evaluation.notEvaluated.isEmpty {
            items.append(.heading("Not evaluated"))
            for (rule, why) in evaluation.notEvaluated.sorted(by: { $0.key < $1.key }) { items.append(.field(rule.rawValue, why)) }
        }
        return DetailPane(items: items)
    }
}
