import WSICodecs

/// What a JPEG tile copied as a DICOM frame must be, checked from its headers without decoding it: a
/// frame of the tile's size (a 512-pixel JPEG inside a 256-pixel TIFF tile would contradict Rows and
/// Columns, and readers crop or misplace it) and a whole stream, ending in EOI (a truncated tile copied
/// as it is shows as grey or garbage in every viewer). Decoding tiles catches this too, but copied
/// tiles are never decoded at full size.
enum CopiedTileCheck {
    /// nil when `stream` is a complete JPEG of `width` x `height`, else what is wrong with it.
    static func problem(_ stream: [UInt8], width: Int, height: Int) -> String? {
        guard stream.count >= 4, stream[0] == 0xFF, stream[1] == 0xD8 else { return "it is not a JPEG stream (no SOI marker)" }
        var size: (width: Int, height: Int)?
        JPEGStream.forEachSegment(stream) { marker, offset, length in
            // SOF0-3, 5-7, 9-11, 13-15: precision, height, width follow the length.
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker), offset + 9 <= stream.count, length >= 8 {
                size = (Int(stream[offset + 7]) << 8 | Int(stream[offset + 8]), Int(stream[offset + 5]) << 8 | Int(stream[offset + 6]))
                return false
            }
            return true
        }
        guard let size else { return "it has no frame header" }
        guard size.width == width, size.height == height else {
            return "its JPEG is \(size.width) x \(size.height) pixels, not the \(width) x \(height) of the TIFF's tiles"
        }
        // Encoders may pad after EOI with zero bytes.
        var end = stream.count
        while end > 2, stream[end - 1] == 0 { end -= 1 }
        guard end >= 4, stream[end - 2] == 0xFF, stream[end - 1] == 0xD9 else { return "it is truncated (no end-of-image marker)" }
        return nil
    }
}
