import WSICodecs

/// A whole-slide image to convert: level-0 pixels by region, the source's own pyramid (for `info`),
/// associated images, and, where the source allows, its level-0 tiles as encoded bytes to copy.
public protocol SlideSource: AnyObject, Sendable {
    var path: String { get }
    /// What kind of file this is, for people: "Aperio SVS", "generic tiled TIFF", "OpenSlide (hamamatsu)".
    var formatName: String { get }
    var width: Int { get }
    var height: Int { get }
    /// The source's own levels, level 0 first.
    var levels: [SourceLevel] { get }
    var properties: SourceProperties { get }
    var associatedImageKinds: [AssociatedImageKind] { get }
    func associatedImage(_ kind: AssociatedImageKind) throws -> RGBImage
    /// Level-0 pixels of a region; what lies outside the slide is `properties.background`.
    func readRegion(x: Int, y: Int, width: Int, height: Int, threads: Int) throws -> RGBImage
    /// Level-0 tiles that can become DICOM frames as they are; nil when the source's tiles cannot.
    var rawTiles: (any RawTileSource)? { get }
    /// What the reader had to settle for, for the report and `info` (a faster reader that refused the file).
    var readerNotes: [String] { get }
    /// One of the source's own levels (`levels[index]`) as a slide of its own, whose level 0 it is:
    /// for copying the scanner's lower levels. nil where the source cannot read its levels apart.
    func pyramidLevel(_ index: Int) -> (any SlideSource)?
}

extension SlideSource {
    public func pyramidLevel(_ index: Int) -> (any SlideSource)? { index == 0 ? self : nil }
    public var readerNotes: [String] { [] }
}

/// One level of a source's own pyramid.
public struct SourceLevel: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var tileWidth: Int
    public var tileHeight: Int
    public var compression: String
    public init(width: Int, height: Int, tileWidth: Int, tileHeight: Int, compression: String) {
        self.width = width; self.height = height; self.tileWidth = tileWidth; self.tileHeight = tileHeight; self.compression = compression
    }
}

/// Associated images a slide file may carry besides its pyramid.
public enum AssociatedImageKind: String, Sendable, CaseIterable, Codable {
    case label, overview, thumbnail
}

/// What the source says about the slide and the scanner.
public struct SourceProperties: Sendable, Equatable {
    /// Micrometres per pixel at level 0 (x, y).
    public var mppX: Double?
    public var mppY: Double?
    public var objectivePower: Double?
    public var manufacturer: String?
    public var modelName: String?
    public var deviceSerialNumber: String?
    /// The slide's barcode as the scanner read it from the label: the slide's identifier.
    public var barcode: String?
    public var softwareVersions: String?
    /// DICOM DT: YYYYMMDDHHMMSS.
    public var acquisitionDateTime: String?
    public var iccProfile: [UInt8]?
    /// How level 0 was compressed by the scanner, when lossy: a DICOM method term and the ratio.
    public var lossyMethod: String?
    public var lossyRatio: Double?
    public var background: RGB = .white
    public init() {}
}

/// How a raw tile's bytes are encoded.
public enum RawTileEncoding: Sendable, Equatable {
    /// Complete baseline JPEG streams; `rgbCoded` when the components are R, G, B (not Y, Cb, Cr).
    case jpeg(rgbCoded: Bool)
    /// Raw JPEG 2000 codestreams.
    case jpeg2000(colorTransform: Bool, reversible: Bool)
}

/// Level-0 tiles as encoded bytes, ready to be DICOM frames.
public protocol RawTileSource: Sendable {
    var tileWidth: Int { get }
    var tileHeight: Int { get }
    var encoding: RawTileEncoding { get }
    /// Tile (col, row) as a complete stream; nil where the source has no tile (sparse files).
    func rawTile(col: Int, row: Int) throws -> [UInt8]?
}

/// A slide could not be opened or read; the message names the file and the reason.
public struct SourceError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String
    public init(_ path: String, _ reason: String) { self.path = path; self.reason = reason }
    public var description: String { "\(path): \(reason)" }

    /// Level-0 tile (col, row) that no decoder can take.
    public static func corruptTile(_ path: String, col: Int, row: Int, _ error: any Error) -> SourceError {
        SourceError(path, "tile (\(col), \(row)) is corrupt: \(error)")
    }
}
