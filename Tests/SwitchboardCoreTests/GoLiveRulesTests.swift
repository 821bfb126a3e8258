import SwitchboardCore
import Testing

/// The go-live rules that need no database: Wilson bounds, "met" by the bound, how many
/// more samples settle a figure, first-call resolution and sparklines.
@Suite struct GoLiveRulesTests {
    @Test func wilsonIntervalsOfSmallSamples() {
        let oneInFour = Rate(1, of: 4)
        #expect(abs(oneInFour.lower! - 0.0456) < 0.0005 && abs(oneInFour.upper! - 0.6994) < 0.0005)
        let noneInThree = Rate(0, of: 3)
        #expect(noneInThree.lower == 0 && abs(noneInThree.upper! - 0.5615) < 0.0005)
        #expect(Rate(0, of: 0).value == nil && FigureStatus.judge(Rate(0, of: 0), target: 0.02, side: .under) == .noData)
    }

    @Test func metOnlyByTheBound() {
        // 0 corrections in 3: 0 %, yet 186 more reviewed bookings are needed (0 of 189: upper 1.99 %).
        #expect(FigureStatus.judge(Rate(0, of: 3), target: 0.02, side: .under) == .notEnoughEvidence(more: 186))
        #expect(FigureStatus.judge(Rate(0, of: 189), target: 0.02, side: .under) == .met)
        #expect(FigureStatus.judge(Rate(0, of: 188), target: 0.02, side: .under) == .notEnoughEvidence(more: 1))
        #expect(FigureStatus.judge(Rate(1, of: 4), target: 0.02, side: .under) == .missed)
        // n successes in n clear 99.7 % by the bound from n = 1,277: 1,000 in 1,000 needs 277 more.
        #expect(FigureStatus.judge(Rate(1_277, of: 1_277), target: 0.997, side: .atLeast) == .met)
        #expect(FigureStatus.judge(Rate(1_276, of: 1_276), target: 0.997, side: .atLeast) != .met)
        guard case .notEnoughEvidence(let more?) = FigureStatus.judge(Rate(1_000, of: 1_000), target: 0.997, side: .atLeast) else {
            Issue.record("1000 of 1000 is not enough"); return
        }
        #expect(more == 277)
        #expect(FigureStatus.judge(Rate(92, of: 100), target: 0.92, side: .atLeast) == .notEnoughEvidence(more: nil), "exactly on target never settles")
    }

    @Test func firstCallResolutionCountsTheTriageTransfer() {
        #expect(FirstCallResolution.isResolved(intent: "urgent_triage", outcome: "transferred"))
        #expect(FirstCallResolution.isResolved(intent: "reschedule", outcome: "resolved"))
        #expect(!FirstCallResolution.isResolved(intent: "new_patient_booking", outcome: "transferred"))
        #expect(!FirstCallResolution.isResolved(intent: "after_hours", outcome: "callback"))
        #expect(!FirstCallResolution.isResolved(intent: "urgent_triage", outcome: "dropped"))
    }

    @Test func sparklinesInBlocks() {
        #expect(Sparkline.text([0, 1, nil, 0.5]) == "▁█ ▅")
        #expect(Sparkline.text([nil, nil]) == "  ")
        #expect(Sparkline.text([3, 3]) == "▄▄")
    }
}
