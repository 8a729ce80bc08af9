import Foundation
import WSICodecs

/// A plain PNG, JPEG or (untiled) TIFF image: decoded whole, then treated as a one-level slide from
/// which the pyramid is built. Memory grows with the image, so this is for ordinary photographs and scans,
/// up to `WholeImageLimit` (checked from the header, before decoding).
public final class ImageFileSource: SlideSource, @unchecked Sendable {
    public let path: String
    public let formatName: String
    private let image: RGBImage
    public let properties: SourceProperties

    public enum Kind: String, Sendable { case png = "PNG image", jpeg = "JPEG image", tiff = "TIFF image" }

    public init(path: String, kind: Kind) throws {
        self.path = path
        formatName = kind.rawValue
        var properties = SourceProperties()
        do {
            switch kind {
            case .png:
                image = try PNGCodec.decode(file: path) { try WholeImageLimit.check(width: $0, height: $1, path: path, what: kind.rawValue) }
            case .jpeg:
                let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
                let decoder = JPEGDecoder()
                let info = try decoder.info(data)
                try WholeImageLimit.check(width: info.width, height: info.height, path: path, what: kind.rawValue)
                image = try decoder.decode(data)
            case .tiff:
                let file = try TIFFFile(path: path)
                try WholeImageLimit.check(width: file.directories[0].width, height: file.directories[0].height, path: path, what: kind.rawValue)
                image = try file.rgbImage(directory: 0)
                if let (x, y) = file.resolutionPerCentimetre(directory: 0), x > 100 {
                    properties.mppX = 10_000 / x
                    properties.mppY = 10_000 / y
                }
                properties.iccProfile = file.iccProfile(directory: 0)
            }
        } catch let error as CodecError {
            throw SourceError(path, "cannot decode \(kind.rawValue): \(error)")
        }
        self.properties = properties
    }

    public var width: Int { image.width }
    public var height: Int { image.height }
    public var levels: [SourceLevel] { [SourceLevel(width: image.width, height: image.height, tileWidth: 0, tileHeight: 0, compression: formatName)] }
    public var associatedImageKinds: [AssociatedImageKind] { [] }
    public func associatedImage(_ kind: AssociatedImageKind) throws -> RGBImage { throw SourceError(path, "no \(kind.rawValue) image") }

    public func readRegion(x: Int, y: Int, width: Int, height: Int, threads: Int) throws -> RGBImage {
        image.crop(x: x, y: y, width: width, height: height, fill: properties.background)
    }

    public var rawTiles: (any RawTileSource)? { nil }
}
