import WSIDICOM

/// Sane limits on what an instance's header may declare, checked before the index allocates by it: a
/// 5 KB file may claim a 1.6M x 1.6M pixel matrix or 30,000-pixel tiles, and the index would then hold
/// tens of millions of tile slots, or one tile would take gigabytes to render. An instance past them is
/// skipped with a warning by every store.
public enum InstanceLimits {
    /// Tiles (frames) at most this many pixels a side: scanners write 240 to 1024; 8192 leaves room.
    public static let maximumTileSide = 8192
    /// A total pixel matrix at most this many pixels a side (the largest slides are about 200,000).
    public static let maximumSide = 1_000_000
    /// Tile slots of a level at most this many times its frames, plus a margin: sparse levels leave out
    /// background tiles, but a level whose frames fill a millionth of its grid is no slide.
    public static let maximumSlotsPerFrame = 64

    /// Why `file` cannot be indexed, or nil when its header is within the limits.
    public static func problem(_ file: DICOMFile) -> String? {
        let ds = file.dataSet
        guard let columns = ds.int(.columns), let rows = ds.int(.rows), columns > 0, rows > 0 else {
            return "no tile size (Rows, Columns)"
        }
        guard columns <= maximumTileSide, rows <= maximumTileSide else {
            return "tiles of \(columns) x \(rows) pixels (at most \(maximumTileSide) a side)"
        }
        let width = ds.int(.totalPixelMatrixColumns) ?? columns
        let height = ds.int(.totalPixelMatrixRows) ?? rows
        guard width > 0, height > 0, width <= maximumSide, height <= maximumSide else {
            return "a total pixel matrix of \(width) x \(height) (at most \(maximumSide) a side)"
        }
        let slots = ((width + columns - 1) / columns) * ((height + rows - 1) / rows)
        guard slots <= maximumSlotsPerFrame * file.numberOfFrames + 4096 else {
            return "a \(width) x \(height) matrix of \(slots) tiles for only \(file.numberOfFrames) frames"
        }
        return nil
    }
}
