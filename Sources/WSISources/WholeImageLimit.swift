/// The largest image read whole into memory: plain PNG, JPEG and untiled TIFF inputs, and associated
/// images (label, macro, a Philips label's JPEG). Their headers are trusted for nothing: a 257 KB PNG or
/// a 693-byte JPEG can declare 46,000 x 46,000 pixels (6 GB decoded), past the converter's memory bound
/// of 300 MB. 32 megapixels decode to 96 MB of RGB (libtiff's RGBA raster adds 128 MB); larger images must
/// come as tiled TIFF, which is read a tile row at a time.
public enum WholeImageLimit {
    public static let maxPixels = 1 << 25

    /// Refuses `width` x `height` when it is past the limit (or no size at all).
    static func check(width: Int, height: Int, path: String, what: String) throws {
        guard width > 0, height > 0 else { throw SourceError(path, "\(what) declares no size (\(width) x \(height))") }
        guard width <= maxPixels, height <= maxPixels, width * height <= maxPixels else {
            throw SourceError(path, "\(what) of \(width) x \(height) pixels is too large to read whole (the limit is \(maxPixels / 1_048_576) megapixels, to keep memory bounded); convert it to a tiled TIFF first")
        }
    }
}
