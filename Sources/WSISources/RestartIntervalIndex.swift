import Foundation
import WSICodecs

/// Where the restart intervals of one JPEG (a level of an NDPI, held as one strip) lie in the file, by
/// row of MCUs: enough to read any block of rows and cut it into intervals, without holding an offset
/// for each of the level's millions of intervals.
struct RestartIntervalIndex: Sendable {
    let file: ReadOnlyFile
    let jpeg: RestartIntervalJPEG
    let intervalsPerRow: Int
    let rows: Int
    /// File offset of each MCU row's first interval, then the end of the last row's data.
    private let rowStarts: [Int]

    /// Indexes the JPEG of `width` x `height` pixels in `strip`: from the file's McuStarts (offsets of
    /// every interval from the strip's start) when they hold up, else by one pass over its bytes.
    init(file: ReadOnlyFile, strip: Range<Int>, width: Int, height: Int, mcuStarts: [Int]?) throws {
        guard strip.count > 4, strip.upperBound <= file.size else { throw SourceError(file.path, "the JPEG lies past the end of the file") }
        self.file = file
        jpeg = try RestartIntervalJPEG(header: try file.read(at: strip.lowerBound, count: min(strip.count, 1 << 16))[...])
        let mcusPerRow = (width + jpeg.mcuWidth - 1) / jpeg.mcuWidth
        guard mcusPerRow % jpeg.restartInterval == 0 else { throw SourceError(file.path, "restart intervals do not tile the rows") }
        intervalsPerRow = mcusPerRow / jpeg.restartInterval
        rows = (height + jpeg.mcuHeight - 1) / jpeg.mcuHeight
        let end = try file.read(at: strip.upperBound - 2, count: 2) == [0xFF, 0xD9] ? strip.upperBound - 2 : strip.upperBound
        let data = strip.lowerBound..<end
        let header = jpeg.header.count
        if let mcuStarts, let starts = try Self.rowStarts(file: file, data: data, header: header, mcuStarts: mcuStarts,
                                                          rows: rows, intervalsPerRow: intervalsPerRow) {
            rowStarts = starts + [end]
        } else {
            rowStarts = try Self.scannedRowStarts(file: file, data: data, header: header, rows: rows, intervalsPerRow: intervalsPerRow) + [end]
        }
    }

    /// Row starts from McuStarts, or nil when they do not match the JPEG (each must follow a restart marker).
    private static func rowStarts(file: ReadOnlyFile, data: Range<Int>, header: Int, mcuStarts: [Int], rows: Int,
                                  intervalsPerRow: Int) throws -> [Int]? {
        guard mcuStarts.count == rows * intervalsPerRow, mcuStarts.first == header else { return nil }
        let starts = (0..<rows).map { data.lowerBound + mcuStarts[$0 * intervalsPerRow] }
        for (previous, next) in zip(starts, starts.dropFirst()) {
            guard next > previous, next <= data.upperBound else { return nil }
            let marker = try file.read(at: next - 2, count: 2)
            guard marker[0] == 0xFF, marker[1] & 0xF8 == 0xD0 else { return nil }
        }
        return starts
    }

    /// Row starts found by counting restart markers through the whole JPEG.
    private static func scannedRowStarts(file: ReadOnlyFile, data: Range<Int>, header: Int, rows: Int, intervalsPerRow: Int) throws -> [Int] {
        var starts = [data.lowerBound + header]
        var markers = 0
        var offset = data.lowerBound + header
        var previousFF = false
        while offset < data.upperBound && starts.count < rows {
            let bytes = try file.read(at: offset, count: min(16 << 20, data.upperBound - offset))
            for (i, byte) in bytes.enumerated() {
                if previousFF, byte & 0xF8 == 0xD0 {
                    markers += 1
                    if markers % intervalsPerRow == 0 { starts.append(offset + i + 1) }
                }
                previousFF = byte == 0xFF
            }
            offset += bytes.count
        }
        guard starts.count == rows else {
            throw SourceError(file.path, "the JPEG has \(markers + 1) restart intervals, not the \(rows * intervalsPerRow) of its size")
        }
        return starts
    }

    /// The intervals of MCU rows `range`, in raster order, read in one go.
    func intervals(rows range: Range<Int>) throws -> [ArraySlice<UInt8>] {
        let data = try file.read(at: rowStarts[range.lowerBound], count: rowStarts[range.upperBound] - rowStarts[range.lowerBound])
        let intervals = RestartIntervalJPEG.intervals(in: data[...])
        guard intervals.count == range.count * intervalsPerRow else {
            throw SourceError(file.path, "MCU rows \(range.lowerBound)-\(range.upperBound - 1) hold \(intervals.count) restart intervals, not \(range.count * intervalsPerRow)")
        }
        return intervals
    }
}
