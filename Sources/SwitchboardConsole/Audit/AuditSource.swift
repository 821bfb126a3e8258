import SwitchboardCore
import SwitchboardStore
import TerminalUI

/// The audit chain as a table's paged source: newest first, keyset-paged on `seq`, so
/// a page costs the same at the top of ten million rows as at the bottom. Only the
/// operations runner reads through it.
struct AuditSource: PagedSource, Sendable {
    let store: AuditStore
    let filter: AuditFilter

    /// Older rows (further down the list).
    func rows(after row: AuditEvent?, limit: Int) throws -> [AuditEvent] {
        try store.auditEvents(matching: filter, before: row?.seq, limit: limit)
    }

    /// Newer rows (further up), or the oldest rows of all for the list's end.
    func rows(before row: AuditEvent?, limit: Int) throws -> [AuditEvent] {
        try store.auditEvents(matching: filter, after: row?.seq ?? 0, limit: limit).reversed()
    }
}

/// What the Audit screen asks the operations runner to do.
enum AuditWork: Sendable {
    /// The rows around `anchor` (nil: the newest).
    case snapshot(AuditFilter, anchor: AuditEvent?, chunk: Int)
    case page(AuditFilter, TableNeed<AuditEvent>, limit: Int)
    /// One chunk of a walk of the chain, from `seq`; `newest` asks for the chain's head too.
    case verify(run: Int, from: Int64, rows: Int)
    /// A viewer shows the patient details of one row (its audit row first).
    case reveal(seq: Int64, callId: String?)
}

extension OperationsRunner {
    func perform(_ work: AuditWork) async -> ConsoleMessage? {
        switch work {
        case .reveal(let seq, let callId):
            return .audit(.revealed(seq: seq, await recordReveal(screen: "audit", fields: ["seq": String(seq)], callId: callId)))
        case .snapshot(let filter, let anchor, let chunk):
            return .audit(.snapshot(filter, anchor: anchor, await read { try AuditSource(store: audit, filter: filter).window(around: anchor, chunk: chunk) }))
        case .page(let filter, let need, let limit):
            return .audit(.page(filter, await read { try AuditSource(store: audit, filter: filter).page(for: need, limit: limit) }))
        case .verify(let run, let seq, let rows):
            let anchors = chainCheck
            let result = await read { () throws -> (AuditChain.Verification, Int64) in
                var chunk = try audit.verifyChain(fromSeq: seq, limit: rows)
                // The last chunk: the signed checkpoints and the heads seen before, as
                // `switchboard audit verify` does (a deleted end or a re-hash is found).
                if chunk.isIntact && chunk.checked < rows {
                    let report = try anchors.checkAnchors(after: chunk)
                    if !report.intact { (chunk.firstBrokenSeq, chunk.reason) = (report.firstBadSeq, report.problem) }
                }
                return (chunk, try audit.auditEvents(limit: 1).first?.seq ?? 0)
            }
            return .audit(.chunkVerified(run: run, fromSeq: seq, result))
        }
    }
}
