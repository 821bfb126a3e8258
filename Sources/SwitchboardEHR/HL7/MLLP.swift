import Foundation

/// Minimal Lower Layer Protocol: each message travels as `0x0B` message `0x1C 0x0D`.
public enum MLLP {
    public static let start: UInt8 = 0x0B
    public static let end: [UInt8] = [0x1C, 0x0D]

    public static func frame(_ message: String) -> [UInt8] { [start] + Array(message.utf8) + end }

    public static func frame(_ message: HL7Message) -> [UInt8] { frame(message.encoded()) }
}

/// Cuts a byte stream into MLLP frames, however the bytes arrive (one at a time, several
/// frames at once). Bytes outside a frame are dropped, as receivers do; a frame longer
/// than `maxFrameBytes` is discarded so a peer that never sends the end cannot grow memory.
///
///     var decoder = MLLPDecoder()
///     for frame in decoder.feed(bytesFromSocket) { handle(String(decoding: frame, as: UTF8.self)) }
public struct MLLPDecoder: Sendable {
    public let maxFrameBytes: Int
    private var buffer: [UInt8] = []
    private var inFrame = false
    /// Frames dropped for being too long, and bytes dropped between frames.
    public private(set) var discardedBytes = 0

    public init(maxFrameBytes: Int = 1 << 20) { self.maxFrameBytes = maxFrameBytes }

    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        for b in bytes {
            if !inFrame {
                if b == MLLP.start { inFrame = true; buffer.removeAll(keepingCapacity: true) } else { discardedBytes += 1 }
                continue
            }
            if b == MLLP.start {
                // A new start before an end: the previous frame was cut off; begin again.
                discardedBytes += buffer.count
                buffer.removeAll(keepingCapacity: true)
                continue
            }
            if b == MLLP.end[1], buffer.last == MLLP.end[0] {
                buffer.removeLast()
                frames.append(buffer)
                buffer.removeAll(keepingCapacity: true)
                inFrame = false
                continue
            }
            buffer.append(b)
            if buffer.count > maxFrameBytes + 1 {
                discardedBytes += buffer.count
                buffer.removeAll()
                inFrame = false
            }
        }
        return frames
    }
}
