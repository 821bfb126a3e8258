import Synchronization
import SwitchboardCore
import TerminalUI

/// The last frame rendered, for the frames that only the event stream's counters on the
/// status line change. Under a busy stream those are most of them (up to 60 a second
/// at 500 events a second, while the rows change about 4 times a second): they paste
/// this one and draw the status line alone instead of the whole screen.
///
/// A frame is kept under its console's *generation*, which everything that may change
/// what the screen shows renews (a key, a message with something to show, the clock, a
/// resize), and until the moment one of its texts changes with time alone.
final class KeptFrame: @unchecked Sendable {
    private var grid: CellGrid?
    private var generation = -1
    private var next: UnixMillis?

    /// A generation no console has had: copies of a console never share one.
    static func newGeneration() -> Int { generations.add(1, ordering: .relaxed).newValue }
    private static let generations = Atomic<Int>(0)

    /// The frame kept for `generation` at this size, if it still shows `now`, and when its
    /// texts next change with time alone.
    func frame(generation: Int, size: Size, now: UnixMillis) -> (grid: CellGrid, next: UnixMillis?)? {
        guard generation == self.generation, let grid, grid.size == size, next.map({ now < $0 }) ?? true else { return nil }
        return (grid, next)
    }

    func keep(_ grid: CellGrid, generation: Int, next: UnixMillis?) {
        self.grid = grid
        self.generation = generation
        self.next = next
    }
}
