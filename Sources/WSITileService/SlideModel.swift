import Foundation
import WSIDICOM

/// One stored frame: which file holds it and its index there.
public struct FrameRef: Sendable {
    public let file: DICOMFile
    public let index: Int
}

/// How a level's frames are encoded, which decides between passthrough and transcoding.
public enum FrameEncoding: Sendable, Equatable {
    case jpeg
    case jpeg2000
    /// Uncompressed samples: 3 (RGB or YBR_FULL) or 1 (monochrome) per pixel.
    case native(samplesPerPixel: Int, photometric: String)
    case unsupported(String)

    init(transferSyntaxUID: String, dataSet: DataSet) {
        switch transferSyntaxUID {
        case TransferSyntax.jpegBaseline.rawValue, TransferSyntax.jpegExtended.rawValue: self = .jpeg
        case TransferSyntax.jpeg2000.rawValue, TransferSyntax.jpeg2000Lossless.rawValue,
             TransferSyntax.htj2k.rawValue, TransferSyntax.htj2kLossless.rawValue, "1.2.840.10008.1.2.4.202": self = .jpeg2000
        case TransferSyntax.explicitVRLittleEndian.rawValue, TransferSyntax.implicitVRLittleEndian.rawValue:
            self = .native(samplesPerPixel: dataSet.int(.samplesPerPixel) ?? 3, photometric: dataSet.string(.photometricInterpretation) ?? "RGB")
        default: self = .unsupported(transferSyntaxUID)
        }
    }
}

/// A tiled image: one pyramid level, or an associated image (a single tile as a rule).
public final class TiledImage: Sendable {
    public let width: Int
    public let height: Int
    public let tileWidth: Int
    public let tileHeight: Int
    public let encoding: FrameEncoding
    public let photometric: String
    /// Frames by tile, row-major; nil where a sparse instance has no frame (background).
    let frames: [FrameRef?]
    /// The instances whose frames make up this image.
    public let files: [DICOMFile]

    public var tilesAcross: Int { (width + tileWidth - 1) / tileWidth }
    public var tilesDown: Int { (height + tileHeight - 1) / tileHeight }

    init(width: Int, height: Int, tileWidth: Int, tileHeight: Int, encoding: FrameEncoding, photometric: String, frames: [FrameRef?], files: [DICOMFile]) {
        self.width = width
        self.height = height
        self.tileWidth = tileWidth
        self.tileHeight = tileHeight
        self.encoding = encoding
        self.photometric = photometric
        self.frames = frames
        self.files = files
    }

    public func frame(col: Int, row: Int) -> FrameRef? {
        guard col >= 0, row >= 0, col < tilesAcross, row < tilesDown else { return nil }
        return frames[row * tilesAcross + col]
    }
}

/// Associated images a slide can have besides its pyramid.
public enum AssociatedKind: String, Sendable, CaseIterable {
    case label, overview, thumbnail
}

/// One slide: a DICOM series holding a pyramid of VOLUME levels, and maybe associated images.
public final class Slide: Sendable {
    /// The Series Instance UID.
    public let id: String
    public let studyInstanceUID: String
    public let name: String
    /// Level 0 first (full resolution).
    public let levels: [TiledImage]
    public let associated: [AssociatedKind: TiledImage]
    /// Micrometres per pixel at level 0 (x, y), when the instances say.
    public let mppX: Double?
    public let mppY: Double?

    init(id: String, studyInstanceUID: String, name: String, levels: [TiledImage], associated: [AssociatedKind: TiledImage], mppX: Double?, mppY: Double?) {
        self.id = id
        self.studyInstanceUID = studyInstanceUID
        self.name = name
        self.levels = levels
        self.associated = associated
        self.mppX = mppX
        self.mppY = mppY
    }

    public var width: Int { levels[0].width }
    public var height: Int { levels[0].height }

    /// Level-0 pixels per pixel of `level`: the width ratio, snapped to the power of two it rounds from
    /// (a dyadic level of an odd width is 7.98 times narrower, but each pixel covers 8).
    public func downsample(_ level: Int) -> Double {
        let ratio = Double(levels[0].width) / Double(levels[level].width)
        let power = (log2(ratio)).rounded()
        let snapped = pow(2, power)
        return abs(ratio - snapped) / snapped < 0.02 && abs(Double(levels[level].width) - (Double(levels[0].width) / snapped).rounded(.up)) <= 1 ? snapped : ratio
    }

    /// Every instance file of the slide.
    public var files: [DICOMFile] { (levels + Array(associated.values)).flatMap(\.files) }
}
