import Foundation
import SwitchboardCore
import SwitchboardStore
import SwitchboardTesting
import Testing

/// Two writers on one file, each with its own connection pool (as two processes would
/// have), racing for the same booking decision and the same outbox item.
@Suite struct CompareAndSetTests {
    @Test func exactlyOneReviewerWinsEveryRound() async throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("audit.sqlite")
        let first = try AuditStore(path: path, mode: .create)
        let second = try AuditStore(path: path, mode: .readWrite)
        let rounds = 200
        try first.recordAgentWork(bookings: (0..<rounds).map { sampleBooking("bk-\($0)") })

        for round in 0..<rounds {
            let id = "bk-\(round)"
            async let a = Task.detached {
                try first.decide(ReviewDecision(bookingId: id, decision: .approved, operator: "maria", decidedAt: 1))
            }.value
            async let b = Task.detached {
                try second.decide(ReviewDecision(bookingId: id, decision: .corrected, category: "wrong_time",
                                                 operator: "devon", decidedAt: 2))
            }.value
            let outcomes = try await [a, b]
            let winners = outcomes.compactMap { if case .recorded(let d, _) = $0 { d } else { nil } }
            let losers = outcomes.compactMap { if case .alreadyDecided(let d) = $0 { d } else { nil } }
            #expect(winners.count == 1 && losers.count == 1, "round \(round): \(outcomes)")
            // The loser is told exactly who decided and when.
            #expect(losers.first == winners.first)
        }
        let decisions = try Int(sqlite3(path, "SELECT count(*) FROM review_decision").trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(decisions == rounds)
        let auditRows = try Int(sqlite3(path, "SELECT count(*) FROM audit_event WHERE action LIKE 'review.%'").trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(auditRows == rounds, "one audit row per recorded decision, none for the refused one")
        #expect(try first.verifyChain().isIntact)
    }

    @Test func exactlyOneWorkerClaimsAnItemEveryRound() async throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("outbox.sqlite")
        let first = try OutboxStore(path: path, mode: .create)
        let second = try OutboxStore(path: path, mode: .readWrite)
        let rounds = 200
        for round in 0..<rounds {
            try first.enqueue([sampleOutboxItem("ob-\(round)", createdAt: 1_000)])
            async let a = Task.detached { try first.claimNext(owner: "worker-a", leaseMillis: 30_000, now: 10_000) }.value
            async let b = Task.detached { try second.claimNext(owner: "worker-b", leaseMillis: 30_000, now: 10_000) }.value
            let claims = try await [a, b].compactMap { $0 }
            #expect(claims.count == 1, "round \(round): \(claims.map(\.leaseOwner))")
            #expect(claims.first?.id == "ob-\(round)")
            // Finish it so the next round has exactly one claimable item.
            let owner = try #require(claims.first?.leaseOwner)
            let store = owner == "worker-a" ? first : second
            #expect(try store.complete(id: "ob-\(round)", owner: owner, startedAt: 10_000,
                                       result: .succeeded(httpStatus: 201, ackCode: nil), now: 10_100))
        }
        #expect(try first.countsByStatus()[.succeeded] == rounds)
    }

    @Test func anExpiredLeaseCanBeTakenOverAndTheOldOwnerLearnsItLostIt() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let store = try OutboxStore(path: scratch.path("outbox.sqlite"), mode: .create)
        try store.enqueue([sampleOutboxItem("ob-1", createdAt: 0)])
        let claimed = try #require(try store.claimNext(owner: "killed-worker", leaseMillis: 1_000, now: 100))
        #expect(claimed.attempts == 1 && claimed.status == .inFlight)
        #expect(try store.claimNext(owner: "other", leaseMillis: 1_000, now: 900) == nil, "lease still held")
        let taken = try #require(try store.claimNext(owner: "other", leaseMillis: 1_000, now: 1_200))
        #expect(taken.leaseOwner == "other" && taken.attempts == 2)
        #expect(try store.complete(id: "ob-1", owner: "killed-worker", startedAt: 100,
                                   result: .succeeded(httpStatus: 201, ackCode: nil), now: 1_300) == false)
        #expect(try store.renewLease(id: "ob-1", owner: "killed-worker", leaseMillis: 1_000, now: 1_300) == false)
        #expect(try store.complete(id: "ob-1", owner: "other", startedAt: 1_200,
                                   result: .failed(error: "HTTP 503", httpStatus: 503, ackCode: nil, retryAt: 5_000), now: 1_300))
        let failed = try #require(try store.item(id: "ob-1"))
        #expect(failed.status == .failed && failed.nextAttemptAt == 5_000 && failed.lastHttpStatus == 503)
        #expect(try store.claimNext(owner: "other", leaseMillis: 1_000, now: 4_999) == nil, "not due yet")
        #expect(try store.attempts(ofItem: "ob-1").map(\.outcome) == ["retryable"])
    }

    @Test func retriesEndInDeadWhenAttemptsAreUsedUpAndAnOperatorCanRetryOrDiscard() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let store = try OutboxStore(path: scratch.path("outbox.sqlite"), mode: .create)
        var item = sampleOutboxItem("ob-1", createdAt: 0)
        item.maxAttempts = 2
        try store.enqueue([item])
        for attempt in 1...2 {
            let now = Int64(attempt) * 10_000
            _ = try #require(try store.claimNext(owner: "w", leaseMillis: 1_000, now: now))
            #expect(try store.complete(id: "ob-1", owner: "w", startedAt: now,
                                       result: .failed(error: "HTTP 500", httpStatus: 500, ackCode: nil, retryAt: now + 1), now: now + 5))
        }
        #expect(try store.item(id: "ob-1")?.status == .dead)
        #expect(try store.retryNow(id: "ob-1", now: 50_000))
        let again = try #require(try store.item(id: "ob-1"))
        #expect(again.status == .pending && again.maxAttempts == 3)
        #expect(try store.discard(id: "ob-1", reason: "duplicate", now: 60_000))
        #expect(try store.item(id: "ob-1")?.status == .discarded)
        #expect(try store.retryNow(id: "ob-1", now: 70_000) == false, "a discarded item stays discarded")
    }

    @Test func enqueueingTheSameIdempotencyKeyTwiceAddsOneItem() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let store = try OutboxStore(path: scratch.path("outbox.sqlite"), mode: .create)
        var copy = sampleOutboxItem("ob-2")
        copy.idempotencyKey = "key-ob-1"
        #expect(try store.enqueue([sampleOutboxItem("ob-1")]) == 1)
        #expect(try store.enqueue([copy]) == 0)
    }

    @Test func undoTakesBackOnlyYourOwnRecentApproval() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let store = try AuditStore(path: scratch.path("audit.sqlite"), mode: .create)
        try store.recordAgentWork(bookings: [sampleBooking("bk-1"), sampleBooking("bk-2")])
        _ = try store.decide(ReviewDecision(bookingId: "bk-1", decision: .approved, operator: "maria", decidedAt: 1_000))
        if case .refused = try store.undoApproval(bookingId: "bk-1", operator: "devon", now: 2_000, withinMillis: 5_000) {} else {
            Issue.record("another operator must not undo maria's approval")
        }
        if case .refused = try store.undoApproval(bookingId: "bk-1", operator: "maria", now: 9_000, withinMillis: 5_000) {} else {
            Issue.record("too late to undo")
        }
        guard case .undone(let audit) = try store.undoApproval(bookingId: "bk-1", operator: "maria", now: 4_000, withinMillis: 5_000) else {
            Issue.record("maria's own recent approval must be undoable"); return
        }
        #expect(audit.action == "review.undo" && audit.actor == "operator:maria")
        #expect(try store.decision(bookingId: "bk-1") == nil)
        #expect(try store.reviewQueue(limit: 10).first?.booking.bookingId == "bk-1", "undecided again, back at the top")
        #expect(try store.verifyChain().isIntact)
    }
}

/// POSIX locks belong to the process and go when any descriptor of the file is closed:
/// opening a second store on a file this process already has open must not drop the
/// first one's locks, or another process leaving would checkpoint and delete the WAL
/// under it ("disk I/O error", commits invisible to others).
@Suite struct SharedFileTests {
    @Test func aSecondStoreOnAnOpenFileKeepsOtherProcessesInStep() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("audit.sqlite")
        let agent = try AuditStore(path: path, mode: .create)
        try agent.recordAgentWork(bookings: (0..<5).map { sampleBooking("bk-\($0)") })
        let console = try AuditStore(path: path, mode: .readWrite)
        #expect(try sqlite3(path, "SELECT count(*) FROM review_decision") == "0\n")
        for (round, id) in ["bk-1", "bk-2", "bk-3"].enumerated() {
            _ = try console.decide(ReviewDecision(bookingId: id, decision: .approved, operator: "m", decidedAt: 1))
            #expect(try sqlite3(path, "SELECT count(*) FROM review_decision") == "\(round + 1)\n", "another process sees the commit")
        }
        #expect(try agent.summary(now: 0).bookingsDecided == 3)
        #expect(try agent.verifyChain().isIntact)
    }
}
