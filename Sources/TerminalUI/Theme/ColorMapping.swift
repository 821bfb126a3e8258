/// Nearest-color mapping between 24-bit, the xterm 256-color palette and the 8 ANSI
/// colors. Pure functions; distances are squared RGB distances.
public enum ColorMapping {
    /// The six channel levels of the 6x6x6 color cube (indexes 16–231).
    static let cubeLevels: [Int] = [0, 95, 135, 175, 215, 255]

    /// xterm's default RGB for the 16 ANSI colors.
    static let ansiRGB: [(Int, Int, Int)] = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
    ]

    /// The RGB value of a 256-palette index, as xterm defines it.
    public static func rgb(ofIndex index: UInt8) -> (UInt8, UInt8, UInt8) {
        let i = Int(index)
        let (r, g, b): (Int, Int, Int)
        switch i {
        case 0..<16: (r, g, b) = ansiRGB[i]
        case 16..<232:
            let n = i - 16
            (r, g, b) = (cubeLevels[n / 36], cubeLevels[(n / 6) % 6], cubeLevels[n % 6])
        default:
            let level = 8 + (i - 232) * 10
            (r, g, b) = (level, level, level)
        }
        return (UInt8(r), UInt8(g), UInt8(b))
    }

    /// The 256-palette index nearest to an RGB color, from the cube or the gray ramp
    /// (indexes 16–255; the first 16 are left out because terminals redefine them).
    public static func nearest256(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        let rgb = (Int(r), Int(g), Int(b))
        let cube = 16 + 36 * nearestLevel(rgb.0) + 6 * nearestLevel(rgb.1) + nearestLevel(rgb.2)
        let average = (rgb.0 + rgb.1 + rgb.2) / 3
        let grayStep = min(23, max(0, (average - 3) / 10))
        let gray = 232 + grayStep
        return distance(rgb, of: gray) < distance(rgb, of: cube) ? UInt8(gray) : UInt8(cube)
    }

    /// The ANSI color (0–7) nearest to an RGB color.
    public static func nearest8(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        let rgb = (Int(r), Int(g), Int(b))
        let best = (0..<8).min { squared(rgb, ansiRGB[$0]) < squared(rgb, ansiRGB[$1]) }!
        return UInt8(best)
    }

    /// The ANSI color (0–7) nearest to a 256-palette index.
    public static func indexedTo8(_ index: UInt8) -> UInt8 {
        if index < 16 { return index % 8 }
        let (r, g, b) = rgb(ofIndex: index)
        return nearest8(r, g, b)
    }

    private static func nearestLevel(_ value: Int) -> Int {
        (0..<6).min { abs(cubeLevels[$0] - value) < abs(cubeLevels[$1] - value) }!
    }

    private static func distance(_ rgb: (Int, Int, Int), of index: Int) -> Int {
        let (r, g, b) = self.rgb(ofIndex: UInt8(index))
        return squared(rgb, (Int(r), Int(g), Int(b)))
    }

    private static func squared(_ a: (Int, Int, Int), _ b: (Int, Int, Int)) -> Int {
        let dr = a.0 - b.0, dg = a.1 - b.1, db = a.2 - b.2
        return dr * dr + dg * dg + db * db
    }
}
