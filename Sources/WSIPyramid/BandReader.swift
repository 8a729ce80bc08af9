import WSICodecs
import WSISources

/// Reads level-0 windows of the output's tile rows, decoding each source tile once.
///
/// When the output tiles are not as tall as the source's (256 from 240, say), most output tile rows
/// straddle two source tile rows; reading each window straight from the source would decode nearly every
/// source tile twice. Instead each window is read in source-aligned rows, and the last such row of every
/// window is kept for the same window of the next output row: memory stays at one source tile row's
/// width besides the window being converted (up to `carryBudget`).
final class BandReader {
    private let source: any SlideSource
    private let threads: Int
    /// The source's tile height, or 0 when reading it in aligned rows brings nothing.
    private let step: Int
    /// The last source-aligned rows read for each window, by the window's left edge.
    private var carried: [Int: (top: Int, pixels: RGBImage)] = [:]

    /// Above this many bytes of carried rows (a source tile row of a very wide slide), straddling tiles
    /// are decoded twice instead: slower, but memory stays bounded whatever the width.
    static let carryBudget = 64 << 20

    init(source: any SlideSource, threads: Int) {
        self.source = source
        self.threads = threads
        let tileHeight = source.levels.first?.tileHeight ?? 0
        let worthIt = tileHeight > 1 && tileHeight < source.height && source.width * tileHeight * 3 <= Self.carryBudget
        step = worthIt ? tileHeight : 0
    }

    /// Level-0 pixels of rows y..<y+height, columns x..<x+width.
    func region(x: Int, y: Int, width: Int, height: Int) throws -> RGBImage {
        if step == 0 || (y % step == 0 && height % step == 0) {
            return try source.readRegion(x: x, y: y, width: width, height: height, threads: threads)
        }
        var out = RGBImage(uninitializedWidth: width, height: height)
        var row = y
        while row < y + height {
            let top = row / step * step
            if carried[x]?.top != top {
                carried[x] = nil  // release the old rows before decoding the next
                let pixels = try source.readRegion(x: x, y: top, width: width, height: min(step, source.height - top), threads: threads)
                carried[x] = (top, pixels)
            }
            let rows = carried[x]!.pixels
            out.withPixelBuffer { rows.copy(into: $0, x: 0, y: top - y) }
            row = top + rows.height
        }
        return out
    }
}
