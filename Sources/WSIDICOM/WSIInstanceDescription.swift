/// The kinds of image a WSI series holds, and their Image Type / Frame Type values.
public enum WSIImageFlavor: Sendable, Equatable {
    /// A pyramid level; `original` for the scanner's own pixels (level 0 copied or re-encoded).
    case volume(original: Bool)
    case label
    case overview
    case thumbnail

    public var imageType: [String] {
        switch self {
        case .volume(let original): return original ? ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"] : ["DERIVED", "PRIMARY", "VOLUME", "RESAMPLED"]
        case .label: return ["ORIGINAL", "PRIMARY", "LABEL", "NONE"]
        case .overview: return ["ORIGINAL", "PRIMARY", "OVERVIEW", "NONE"]
        case .thumbnail: return ["DERIVED", "PRIMARY", "THUMBNAIL", "RESAMPLED"]
        }
    }

    public var name: String {
        switch self {
        case .volume: return "volume"
        case .label: return "label"
        case .overview: return "overview"
        case .thumbnail: return "thumbnail"
        }
    }
}

/// Lossy compression history to declare (Lossy Image Compression, its ratios and methods), oldest first.
public struct LossyCompression: Sendable, Equatable {
    /// Defined terms: ISO_10918_1 (JPEG), ISO_15444_1 (JPEG 2000).
    public var methods: [String]
    /// One ratio per method; the last is replaced by the measured one when this conversion compresses.
    public var ratios: [Double]
    public init(methods: [String], ratios: [Double]) { self.methods = methods; self.ratios = ratios }

    /// This history followed by one more lossy step.
    public func appending(method: String, ratio: Double) -> LossyCompression {
        LossyCompression(methods: methods + [method], ratios: ratios + [ratio])
    }
}

/// One instance to write: its geometry, pixel encoding and place in the pyramid.
public struct WSIInstanceDescription: Sendable {
    public var flavor: WSIImageFlavor
    public var totalWidth: Int
    public var totalHeight: Int
    public var tileWidth: Int
    public var tileHeight: Int
    public var photometricInterpretation: String
    public var transferSyntax: TransferSyntax
    public var lossyCompression: LossyCompression?
    /// Millimetres between pixel centres (row spacing, column spacing), when known.
    public var pixelSpacing: [Double]?
    public var instanceNumber: Int
    public var derivationDescription: String?

    public init(flavor: WSIImageFlavor, totalWidth: Int, totalHeight: Int, tileWidth: Int, tileHeight: Int,
                photometricInterpretation: String, transferSyntax: TransferSyntax, lossyCompression: LossyCompression?,
                pixelSpacing: [Double]?, instanceNumber: Int, derivationDescription: String? = nil) {
        self.flavor = flavor
        self.totalWidth = totalWidth
        self.totalHeight = totalHeight
        self.tileWidth = tileWidth
        self.tileHeight = tileHeight
        self.photometricInterpretation = photometricInterpretation
        self.transferSyntax = transferSyntax
        self.lossyCompression = lossyCompression
        self.pixelSpacing = pixelSpacing
        self.instanceNumber = instanceNumber
        self.derivationDescription = derivationDescription
    }

    public var tilesAcross: Int { (totalWidth + tileWidth - 1) / tileWidth }
    public var tilesDown: Int { (totalHeight + tileHeight - 1) / tileHeight }
    public var frameCount: Int { tilesAcross * tilesDown }
}

/// The identifiers every instance of one slide shares.
public struct WSISlideIdentity: Sendable {
    public var studyInstanceUID: String
    public var seriesInstanceUID: String
    public var frameOfReferenceUID: String
    public var pyramidUID: String
    public var acquisitionUID: String
    public var dimensionOrganizationUID: String
    public var specimenUID: String
    public var containerIdentifier: String
    public var specimenIdentifier: String
    /// When the conversion ran: Content and Instance Creation Date/Time.
    public var contentDate: String
    public var contentTime: String

    /// Fresh UIDs, except where the metadata fixes them.
    public init(metadata: WSIMetadata, fallbackName: String, now: DateParts) {
        studyInstanceUID = Self.uid(metadata.study.instanceUID)
        seriesInstanceUID = Self.uid(metadata.series.instanceUID)
        frameOfReferenceUID = UID.make()
        pyramidUID = UID.make()
        acquisitionUID = UID.make()
        dimensionOrganizationUID = UID.make()
        specimenUID = Self.uid(metadata.specimen.uid)
        containerIdentifier = metadata.specimen.containerIdentifier ?? metadata.label.barcode ?? fallbackName
        specimenIdentifier = metadata.specimen.identifier ?? containerIdentifier
        contentDate = now.date
        contentTime = now.time
    }

    /// The given UID where it is one (`--metadata` is checked when read; this guards every other way in), else a fresh one.
    private static func uid(_ given: String?) -> String { given.flatMap { DICOMValueRules.isUID($0) ? $0 : nil } ?? UID.make() }
}

/// A date and time as DICOM DA and TM strings.
public struct DateParts: Sendable {
    public var date: String
    public var time: String
    public init(date: String, time: String) { self.date = date; self.time = time }
}
