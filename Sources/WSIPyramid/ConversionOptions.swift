import WSICodecs
import WSIDICOM

/// How frames we encode are compressed.
public enum OutputCompression: String, CaseIterable, Sendable, Codable {
    case jpeg
    case jpeg2000
    case jpeg2000Lossless = "jpeg2000-lossless"
    case none
}

/// Which levels the pyramid has.
public enum PyramidMode: String, CaseIterable, Sendable, Codable {
    /// Every level half the one above, computed from level 0 (level 0's tiles copied where they can be).
    case dyadic
    /// The source's own levels copied as they are where their tiles can be (no new lossy step for them,
    /// and no decoding of level 0), then dyadic levels computed below the last of them.
    case source
}

/// Everything a conversion can be told; the CLI fills it from its flags. Codable so that a batch can hand
/// it to the child process converting one slide.
public struct ConversionOptions: Sendable, Codable {
    public var outputDirectory: String
    /// Tile size of every level; nil means the source's (when it is tiled, in even sizes of 64 to 2048),
    /// else 256.
    public var tileSize: Int?
    /// nil means: the source's codec when its tiles can be copied, else JPEG.
    public var compression: OutputCompression?
    public var quality: Int = 90
    public var subsampling: ChromaSubsampling = .s420
    public var maxLevels: Int?
    public var pyramid = PyramidMode.dyadic
    public var threads: Int = Parallel.coreCount
    /// Level-0 tiles read, decoded and encoded per step (the in-flight window): fewer use less memory,
    /// more keep the cores busier between steps. nil: as many as make 8 megapixels (128 tiles of 256).
    public var window: Int?

    /// The window for tiles of this size.
    public func windowTiles(tileWidth: Int, tileHeight: Int) -> Int {
        max(1, window ?? (8 << 20) / max(1, tileWidth * tileHeight))
    }
    /// Re-encode level 0 even where its tiles could be copied.
    public var reencode = false
    public var includeLabel = true
    public var includeOverview = true
    public var includeThumbnail = true
    public var metadata = WSIMetadata()
    public var overwrite = false
    /// The input's path as people know it, where `source.path` is another name for the file (a non-UTF-8
    /// name opened as `/proc/self/fd/N`): for the Container Identifier and the report.
    public var inputName: String?
    /// Write the instances around the page cache (O_DIRECT) where the file system takes it; false writes
    /// through it (see `OutputFile` for why around is the default).
    public var directWrites = true
    /// Fragment offsets from which the Extended Offset Table is used (lowered by tests).
    public var extendedOffsetThreshold = UInt64(UInt32.max)

    public init(outputDirectory: String) { self.outputDirectory = outputDirectory }
}

/// How far a conversion has come, for progress bars.
public struct ConversionProgress: Sendable {
    public var stage: String
    public var done: Int
    public var total: Int
    public init(stage: String, done: Int, total: Int) { self.stage = stage; self.done = done; self.total = total }
}
