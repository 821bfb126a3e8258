import Testing
@testable import TerminalUI

@Suite struct ColorMappingTests {
    @Test(arguments: [
        (UInt8(0), UInt8(0), UInt8(0), UInt8(16)), (255, 0, 0, 196), (255, 255, 255, 231),
        (0, 135, 255, 33), (128, 128, 128, 244), (10, 10, 10, 232), (95, 135, 175, 67),
    ])
    func rgbTo256(r: UInt8, g: UInt8, b: UInt8, expected: UInt8) {
        #expect(ColorMapping.nearest256(r, g, b) == expected)
    }

    @Test func paletteRoundTripsThroughRGB() {
        for index in UInt8(16)...UInt8(255) {
            let (r, g, b) = ColorMapping.rgb(ofIndex: index)
            let back = ColorMapping.nearest256(r, g, b)
            #expect(ColorMapping.rgb(ofIndex: back) == ColorMapping.rgb(ofIndex: index))
        }
    }

    @Test(arguments: [
        (UInt8(250), UInt8(10), UInt8(10), UInt8(1)), (10, 200, 20, 2), (20, 20, 230, 4),
        (240, 240, 240, 7), (5, 5, 5, 0), (200, 200, 0, 3), (0, 190, 190, 6),
    ])
    func rgbTo8(r: UInt8, g: UInt8, b: UInt8, expected: UInt8) {
        #expect(ColorMapping.nearest8(r, g, b) == expected)
    }

    @Test func degradationChain() {
        let orange = Color.rgb(255, 135, 0)
        #expect(orange.degraded(to: .truecolor) == orange)
        #expect(orange.degraded(to: .palette256) == .indexed(208))
        #expect(orange.degraded(to: .ansi8) == .ansi(3))
        #expect(orange.degraded(to: .none) == .default)
        #expect(Color.indexed(196).degraded(to: .ansi8) == .ansi(1))
        #expect(Color.ansi(9).degraded(to: .ansi8) == .ansi(1))
    }

    @Test func noColorKeepsModifiers() {
        let selected = Style(fg: .rgb(1, 2, 3), bg: .indexed(4), modifiers: [.reverse, .bold])
        #expect(selected.degraded(to: .none) == Style(modifiers: [.reverse, .bold]))
    }
}

@Suite struct ColorDepthTests {
    @Test func detection() {
        #expect(ColorDepth.detect(environment: ["NO_COLOR": "1", "COLORTERM": "truecolor"], terminalColors: 1 << 24) == .none)
        #expect(ColorDepth.detect(environment: ["NO_COLOR": ""], terminalColors: 256) == .palette256)
        #expect(ColorDepth.detect(environment: ["COLORTERM": "truecolor"], terminalColors: 256) == .truecolor)
        #expect(ColorDepth.detect(environment: ["COLORTERM": "24bit"], terminalColors: 8) == .ansi8)
        #expect(ColorDepth.detect(environment: [:], terminalColors: 1 << 24) == .truecolor)
        #expect(ColorDepth.detect(environment: [:], terminalColors: 256) == .palette256)
        #expect(ColorDepth.detect(environment: [:], terminalColors: 16) == .ansi8)
        #expect(ColorDepth.detect(environment: [:], terminalColors: 0) == .none)
    }
}
