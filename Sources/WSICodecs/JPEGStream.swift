/// Byte-level surgery on JPEG streams: what copying TIFF tiles into DICOM frames needs.
public enum JPEGStream {
    /// A complete stream from TIFF `JPEGTables` (SOI, tables, EOI) and an abbreviated tile (SOI, ..., EOI):
    /// the tables without their EOI followed by the tile without its SOI.
    public static func merge(tables: [UInt8], tile: [UInt8]) -> [UInt8] {
        guard tables.count >= 4, tile.count >= 2, tile[0] == 0xFF, tile[1] == 0xD8 else { return tile }
        var out = [UInt8]()
        out.reserveCapacity(tables.count + tile.count)
        let tablesEnd = (tables[tables.count - 2] == 0xFF && tables[tables.count - 1] == 0xD9) ? tables.count - 2 : tables.count
        out.append(contentsOf: tables[0..<tablesEnd])
        out.append(contentsOf: tile[2...])
        return out
    }

    /// True when the stream carries an Adobe APP14 segment before its first frame header.
    public static func hasAdobeMarker(_ data: [UInt8]) -> Bool {
        var found = false
        forEachSegment(data) { marker, start, length in
            if marker == 0xEE, length >= 7, data[start + 4] == 0x41, data[start + 5] == 0x64, data[start + 6] == 0x6F {
                found = true
            }
            return !found && marker != 0xC0 && marker != 0xC1 && marker != 0xC2 && marker != 0xDA
        }
        return found
    }

    /// Inserts an Adobe APP14 segment with transform 0 right after SOI, so that decoders read the three
    /// components as R, G, B (never add it to a YCbCr stream).
    public static func addingAdobeRGBMarker(_ data: [UInt8]) -> [UInt8] {
        guard data.count >= 2, !hasAdobeMarker(data) else { return data }
        let app14: [UInt8] = [0xFF, 0xEE, 0x00, 0x0E, 0x41, 0x64, 0x6F, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00]
        var out = [UInt8]()
        out.reserveCapacity(data.count + app14.count)
        out.append(contentsOf: data[0..<2])
        out.append(contentsOf: app14)
        out.append(contentsOf: data[2...])
        return out
    }

    /// Walks marker segments from SOI up to SOS; `body` gets the marker, the segment's offset (at 0xFF)
    /// and its length field, and returns false to stop.
    public static func forEachSegment(_ data: [UInt8], _ body: (UInt8, Int, Int) -> Bool) {
        var i = 2
        while i + 4 <= data.count {
            guard data[i] == 0xFF else { return }
            let marker = data[i + 1]
            if marker == 0xFF { i += 1; continue }
            let length = Int(data[i + 2]) << 8 | Int(data[i + 3])
            guard body(marker, i, length), marker != 0xDA else { return }
            i += 2 + length
        }
    }
}
