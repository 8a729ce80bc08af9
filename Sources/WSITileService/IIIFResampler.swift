import Foundation
import WSICodecs

/// Resizes an area of a level to an IIIF answer without ever holding the area decoded whole: the output
/// is made in chunks of rows, each from a band of source rows whose tiles are decoded in parallel, and
/// an output row that needs more source rows than one band holds is summed over several bands. Memory is
/// then a band (at most `bandPixels`), the sums of a chunk (at most `sumPixels`) and the output, whatever
/// the area; 64 Mi source pixels would otherwise take 192 MiB at once.
///
/// The arithmetic is `Resample.areaAverage`'s (the same box of source pixels for each output pixel, the
/// same rounding), so the answer is what resampling the whole area at once would give.
struct IIIFResampler {
    let service: TileService
    let image: TiledImage
    let plan: IIIF.Plan
    let width: Int
    let height: Int

    /// Source pixels decoded at a time (48 MiB).
    static let bandPixels = 16 << 20
    /// Output pixels summed at a time (48 MiB of sums).
    static let sumPixels = 2 << 20

    private var scaleX: Double { Double(plan.width) / Double(width) }
    private var scaleY: Double { Double(plan.height) / Double(height) }

    /// Source rows (of the area) averaged into output row y: [first, end).
    private func rows(_ y: Int) -> (Int, Int) {
        let first = Int(Double(y) * scaleY)
        return (first, max(first + 1, min(plan.height, Int((Double(y + 1) * scaleY).rounded(.up)))))
    }

    func render() throws -> RGBImage {
        var out = RGBImage(uninitializedWidth: width, height: height)
        let threads = Parallel.coreCount
        let maxBandRows = max(1, Self.bandPixels / plan.width)
        let maxChunkRows = max(1, Self.sumPixels / width)
        let sums = UnsafeMutablePointer<Int>.allocate(capacity: min(height, maxChunkRows) * width * 3)
        defer { sums.deallocate() }
        let band = UnsafeMutablePointer<UInt8>.allocate(capacity: min(plan.height, maxBandRows) * plan.width * 3)
        defer { band.deallocate() }
        let shared = Shared(sums: sums, band: band)
        let spans = columns()
        try out.withPixelBuffer { output in
            var y = 0
            while y < height {
                // A chunk of output rows whose source rows fit a band (or one row, over several bands).
                let start = rows(y).0
                var end = y + 1
                while end < height, end - y < maxChunkRows, rows(end).1 - start <= maxBandRows { end += 1 }
                let chunk = y..<end
                shared.sums.update(repeating: 0, count: chunk.count * width * 3)
                var s0 = start
                let sourceEnd = rows(end - 1).1
                while s0 < sourceEnd {
                    let s1 = min(sourceEnd, s0 + maxBandRows)
                    try decode(rows: s0..<s1, into: shared.band, threads: threads)
                    try accumulate(chunk: chunk, band: s0..<s1, columns: spans, shared: shared, threads: threads)
                    s0 = s1
                }
                try finish(chunk: chunk, columns: spans, shared: shared, output: output, threads: threads)
                y = end
            }
        }
        return out
    }

    /// Rows [s0, s1) of the area, decoded tile by tile on `threads` threads into `band` (rows of
    /// plan.width pixels).
    private func decode(rows: Range<Int>, into band: UnsafeMutablePointer<UInt8>, threads: Int) throws {
        let tw = image.tileWidth, th = image.tileHeight
        let top = plan.y + rows.lowerBound
        let window = PixelBuffer(base: band, width: plan.width, height: rows.count, pitch: plan.width * 3)
        let col0 = plan.x / tw, col1 = (plan.x + plan.width - 1) / tw
        let row0 = top / th, row1 = (plan.y + rows.upperBound - 1) / th
        let across = col1 - col0 + 1
        let (service, image, plan) = (service, image, plan)
        try Parallel.forEach(across * (row1 - row0 + 1), threads: threads) { index in
            let col = col0 + index % across, row = row0 + index / across
            let tile = try service.decodedTile(of: image, col: col, row: row)
            // Distinct tiles land in distinct parts of the window.
            tile.copy(into: window, x: col * tw - plan.x, y: row * th - top)
        }
    }

    /// Source columns (of the area) averaged into each output column: [first, end) at 2x, 2x + 1. Output
    /// widths are at most IIIF.maxWidth, so this stays small.
    private func columns() -> [Int] {
        var spans = [Int](repeating: 0, count: 2 * width)
        for x in 0..<width {
            let first = Int(Double(x) * scaleX)
            spans[2 * x] = first
            spans[2 * x + 1] = max(first + 1, min(plan.width, Int((Double(x + 1) * scaleX).rounded(.up))))
        }
        return spans
    }

    /// Adds the band's pixels into the sums of each output row of the chunk that averages them.
    private func accumulate(chunk: Range<Int>, band: Range<Int>, columns: [Int], shared: Shared, threads: Int) throws {
        // Rows of the chunk split into column ranges, so that a chunk of one row still uses every core.
        let splits = chunk.count >= threads * 2 ? 1 : min(width, threads * 4)
        let (width, areaWidth) = (width, plan.width)
        let rowSpans = chunk.map { rows($0) }
        try Parallel.forEach(chunk.count * splits, threads: threads) { index in
            let r = index / splits, part = index % splits
            let (first, end) = rowSpans[r]
            let a = max(first, band.lowerBound), b = min(end, band.upperBound)
            guard a < b else { return }
            let xStart = width * part / splits, xEnd = width * (part + 1) / splits
            let sums = shared.sums + (r * width) * 3
            columns.withUnsafeBufferPointer { spans in
                for row in a..<b {
                    let line = shared.band + (row - band.lowerBound) * areaWidth * 3
                    for x in xStart..<xEnd {
                        var p = line + spans[2 * x] * 3
                        var red = 0, green = 0, blue = 0
                        for _ in spans[2 * x]..<spans[2 * x + 1] {
                            red &+= Int(p[0]); green &+= Int(p[1]); blue &+= Int(p[2])
                            p += 3
                        }
                        sums[3 * x] &+= red; sums[3 * x + 1] &+= green; sums[3 * x + 2] &+= blue
                    }
                }
            }
        }
    }

    /// The chunk's averages, rounded as `Resample.areaAverage` rounds them, a row per task.
    private func finish(chunk: Range<Int>, columns: [Int], shared: Shared, output: PixelBuffer, threads: Int) throws {
        let width = width
        let rowSpans = chunk.map { rows($0) }
        try Parallel.forEach(chunk.count, threads: threads) { r in
            let (first, end) = rowSpans[r]
            let line = output.base + (chunk.lowerBound + r) * output.pitch
            let rowSums = shared.sums + r * width * 3
            columns.withUnsafeBufferPointer { spans in
                for x in 0..<width {
                    let n = (end - first) * (spans[2 * x + 1] - spans[2 * x])
                    for c in 0..<3 { line[3 * x + c] = UInt8(truncatingIfNeeded: (rowSums[3 * x + c] + n / 2) / n) }
                }
            }
        }
    }

    /// The band and the sums, shared by the workers: each writes only its own tiles' pixels or its own
    /// rows' and columns' sums, and reads the band only after it is whole.
    private struct Shared: @unchecked Sendable {
        let sums: UnsafeMutablePointer<Int>
        let band: UnsafeMutablePointer<UInt8>
    }
}
