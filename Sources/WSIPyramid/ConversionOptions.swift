import WSICodecs
import WSIDICOM

/// How frames we encode are compressed.
public enum OutputCompression: String, CaseIterable, Sendable, Codable {
    case jpeg
    case jpeg2000
    case jpeg2000Lossless = "jpeg2000-lossless"
    case none
}

/// Everything a conversion can be told; the CLI fills it from its flags.
public struct ConversionOptions: Sendable {
    public var outputDirectory: String
    /// Tile size of every level; nil means the source's when its tiles are copied, else 256.
    public var tileSize: Int?
    /// nil means: the source's codec when its tiles can be copied, else JPEG.
    public var compression: OutputCompression?
    public var quality: Int = 90
    public var subsampling: ChromaSubsampling = .s420
    public var maxLevels: Int?
    public var threads: Int = Parallel.coreCount
    /// Level-0 tiles read, decoded and encoded per step (the in-flight window): fewer use less memory,
    /// more keep the cores busier between steps.
    public var window = 128
    /// Re-encode level 0 even where its tiles could be copied.
    public var reencode = false
    public var includeLabel = true
    public var includeOverview = true
    public var includeThumbnail = true
    public var metadata = WSIMetadata()
    public var overwrite = false
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
