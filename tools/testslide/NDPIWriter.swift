import Foundation
import WSICodecs

/// Hamamatsu NDPI: a TIFF whose directories each hold one whole JPEG (YCbCr 4:2:2, restart markers) as a
/// single strip, told apart by Hamamatsu's private tags: 65420 marks the format, 65421 is the source lens
/// (the magnification of a level; -1 for the macro photo), 65424 the focal plane. Levels go down by 4x,
/// as scanners write them; 65426 (McuStarts) gives where each restart interval starts, which readers
/// such as tifffile take as tiles. The layout is NDPI's own: classic TIFF with 64-bit room for the first
/// directory's and each next directory's offset, and a block of high offset bytes (zero here, the file
/// stays under 4 GB) after each directory's entries. libtiff cannot write that, so the bytes are ours.
enum NDPIWriter {
    private struct Entry {
        var tag: UInt16, type: UInt16, count: UInt32
        var value: [UInt8]  // little-endian; stored inline when at most 4 bytes
    }

    static func write(to path: String, painter: TissuePainter, width: Int, height: Int, mpp: Double, quality: Int, macro: RGBImage, mcuStarts: Bool) throws {
        let lens = 10 / mpp / 2
        var images: [(image: RGBImage, lens: Float, downsample: Int)] = []
        var downsample = 1
        repeat {
            let w = width / downsample, h = height / downsample
            images.append((painter.paint(x: 0, y: 0, width: w, height: h, downsample: downsample), Float(lens / Double(downsample)), downsample))
            downsample *= 4
        } while max(width / downsample, height / downsample) >= 256
        images.append((macro, -1, 0))

        var file: [UInt8] = Array("II".utf8) + le16(42) + le32(0) + le32(0)
        var nextPointer = 4  // where the offset of the next directory goes (low 4 bytes; the high 4 stay 0)
        for (image, sourceLens, ds) in images {
            let jpeg = try RestartJPEG.encode(image, quality: quality, restartMCUs: RestartJPEG.interval(width: image.width))
            let stripOffset = file.count
            file += jpeg
            if file.count % 2 == 1 { file.append(0) }
            let perCentimetre = ds > 0 ? UInt32((10_000 / (mpp * Double(ds))).rounded()) : 100
            let starts = restartIntervalStarts(jpeg)
            var entries = [
                Entry(tag: 256, type: 4, count: 1, value: le32(image.width)),
                Entry(tag: 257, type: 4, count: 1, value: le32(image.height)),
                Entry(tag: 258, type: 3, count: 3, value: le16(8) + le16(8) + le16(8)),
                Entry(tag: 259, type: 3, count: 1, value: le16(7)),
                Entry(tag: 262, type: 3, count: 1, value: le16(6)),
                ascii(271, "Hamamatsu"),
                ascii(272, "C13220"),
                Entry(tag: 273, type: 4, count: 1, value: le32(stripOffset)),
                Entry(tag: 277, type: 3, count: 1, value: le16(3)),
                Entry(tag: 278, type: 4, count: 1, value: le32(image.height)),
                Entry(tag: 279, type: 4, count: 1, value: le32(jpeg.count)),
                Entry(tag: 282, type: 5, count: 1, value: le32(Int(perCentimetre)) + le32(1)),
                Entry(tag: 283, type: 5, count: 1, value: le32(Int(perCentimetre)) + le32(1)),
                Entry(tag: 296, type: 3, count: 1, value: le16(3)),
                ascii(305, "NDP.scan 3.2.4"),
                Entry(tag: 65420, type: 4, count: 1, value: le32(1)),
                Entry(tag: 65421, type: 11, count: 1, value: le32(Int(sourceLens.bitPattern))),
                Entry(tag: 65422, type: 9, count: 1, value: le32(0)),
                Entry(tag: 65423, type: 9, count: 1, value: le32(0)),
                Entry(tag: 65424, type: 9, count: 1, value: le32(0)),
            ]
            if ds > 0 && mcuStarts { entries.append(Entry(tag: 65426, type: 4, count: UInt32(starts.count), value: starts.flatMap(le32))) }
            // Values longer than 4 bytes go before the directory.
            var outside: [Int: Int] = [:]
            for (index, entry) in entries.enumerated() where entry.value.count > 4 {
                outside[index] = file.count
                file += entry.value
            }
            let directory = file.count
            file.replaceSubrange(nextPointer..<(nextPointer + 4), with: le32(directory))
            file += le16(entries.count)
            for (index, entry) in entries.enumerated() {
                file += le16(Int(entry.tag)) + le16(Int(entry.type)) + le32(Int(entry.count))
                if let offset = outside[index] {
                    file += le32(offset)
                } else {
                    file += entry.value + [UInt8](repeating: 0, count: 4 - entry.value.count)
                }
            }
            nextPointer = file.count
            file += le32(0) + le32(0)
            file += [UInt8](repeating: 0, count: 4 * entries.count)
        }
        try Data(file).write(to: URL(fileURLWithPath: path))
    }

    /// Offsets, from the stream's start, of each restart interval's entropy-coded data: the first right
    /// after the header (the SOS segment), then each right after a restart marker.
    private static func restartIntervalStarts(_ jpeg: [UInt8]) -> [Int] {
        var i = 2
        while i + 3 < jpeg.count, jpeg[i] == 0xFF {
            let length = Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3])
            i += 2 + length
            if jpeg[i - 2 - length + 1] == 0xDA { break }  // SOS: its segment ends where the scan begins
        }
        var starts = [i]
        while i + 1 < jpeg.count {
            if jpeg[i] == 0xFF, (0xD0...0xD7).contains(jpeg[i + 1]) { starts.append(i + 2) }
            i += 1
        }
        return starts
    }

    private static func ascii(_ tag: UInt16, _ text: String) -> Entry {
        let bytes = Array(text.utf8) + [0]
        return Entry(tag: tag, type: 2, count: UInt32(bytes.count), value: bytes)
    }

    private static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    private static func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}
