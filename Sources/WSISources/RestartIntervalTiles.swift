import Foundation
import WSICodecs

/// Level-0 DICOM frames cut from a single JPEG with restart markers (Hamamatsu NDPI) without decoding:
/// a frame is a block of whole intervals, `across` intervals by `down` rows of MCUs, copied byte for byte
/// into a stream of its own (`RestartIntervalJPEG`). Frames at the right and bottom edges, which the
/// intervals do not fill, repeat the last interval of the row and the last row of MCUs: DICOM leaves the
/// pixels beyond the total pixel matrix undefined and readers crop them, so no pixel is re-encoded.
///
/// The converter asks for the frames of one row at a time, in parallel: that row's intervals are read
/// and split once, and kept until the next row is asked for.
final class RestartIntervalTiles: RawTileSource, @unchecked Sendable {
    let tileWidth: Int
    let tileHeight: Int
    let encoding = RawTileEncoding.jpeg(rgbCoded: false)
    private let index: RestartIntervalIndex
    private var jpeg: RestartIntervalJPEG { index.jpeg }
    private var intervalsPerRow: Int { index.intervalsPerRow }
    private let across: Int
    private let down: Int
    private let lock = NSLock()
    private var band: (row: Int, intervals: [ArraySlice<UInt8>], rows: Int)?

    /// Frames about `target` pixels square, in whole intervals and MCU rows (even sizes, as DICOM wants).
    init(index: RestartIntervalIndex, target: Int = 512) {
        self.index = index
        let jpeg = index.jpeg, intervalsPerRow = index.intervalsPerRow
        across = max(1, min(intervalsPerRow, (target + jpeg.intervalWidth / 2) / jpeg.intervalWidth))
        tileWidth = across * jpeg.intervalWidth
        down = max(1, (tileWidth + jpeg.mcuHeight / 2) / jpeg.mcuHeight)
        tileHeight = down * jpeg.mcuHeight
    }

    func rawTile(col: Int, row: Int) throws -> [UInt8]? {
        let (intervals, rows) = try intervals(ofTileRow: row)
        var picked: [ArraySlice<UInt8>] = []
        picked.reserveCapacity(across * down)
        for r in 0..<down {
            let mcuRow = min(r, rows - 1)
            for c in 0..<across {
                picked.append(intervals[mcuRow * intervalsPerRow + min(col * across + c, intervalsPerRow - 1)])
            }
        }
        return jpeg.stream(width: tileWidth, height: tileHeight, intervals: picked)
    }

    /// The intervals of a row of frames (its MCU rows, fewer at the bottom), read once for all its frames.
    private func intervals(ofTileRow row: Int) throws -> ([ArraySlice<UInt8>], Int) {
        try lock.withLock {
            if let band, band.row == row { return (band.intervals, band.rows) }
            let first = row * down, last = min(index.rows, first + down)
            guard first < last else { throw SourceError(index.file.path, "no MCU rows for frame row \(row)") }
            let intervals = try index.intervals(rows: first..<last)
            band = (row, intervals, last - first)
            return (intervals, last - first)
        }
    }
}
