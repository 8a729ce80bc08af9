import CTIFF
import Foundation
import WSICodecs

/// Aperio SVS, Philips TIFF, Leica SCN and generic tiled TIFF read directly with libtiff: tiles are read
/// raw and decoded by TurboJPEG or OpenJPEG in parallel (the fast path), and JPEG / JPEG 2000 tiles can be
/// copied as they are. The vendors' descriptions say where the levels are and what size they truly are.
public final class TiledTIFFSource: SlideSource, @unchecked Sendable {
    public let path: String
    public let formatName: String
    let file: TIFFFile
    let base: TIFFDirectory
    /// The level's size: the directory's, or less where the scanner rounded its levels up to whole tiles
    /// (Philips: each level is level 0 divided by its downsample, as OpenSlide reads it).
    public let width: Int
    public let height: Int
    public let levels: [SourceLevel]
    public let properties: SourceProperties
    private let associated: [AssociatedImageKind: AssociatedImage]
    /// The TIFF directory of each of `levels`.
    private let levelDirectories: [TIFFDirectory]
    private let decoders = HandlePool { JPEGDecoder() }

    /// Where an associated image is: a TIFF directory, or a JPEG inside the description (Philips).
    private enum AssociatedImage {
        case directory(Int)
        case jpeg([UInt8])
    }

    /// Compressions whose tiles we decode ourselves; libtiff decodes the rest.
    static let ownDecoders: Set<Int> = [7, 33003, 33005]

    public convenience init(path: String) throws {
        try self.init(file: TIFFFile(path: path))
    }

    /// Reads an already opened TIFF (the opener has parsed its directories to choose this reader).
    init(file: TIFFFile) throws {
        path = file.path
        self.file = file
        let dirs = file.directories
        // Leica SCN: the main image's resolutions are wherever its XML says, after the macro's.
        var scn: SCNDescription?
        if dirs[0].description?.contains(SCNDescription.namespace) == true {
            do { scn = try SCNDescription(dirs[0].description) } catch { throw SourceError(file.path, error.description) }
        }
        if let scn {
            for dimension in scn.main + (scn.macro.map { [$0] } ?? []) {
                guard dimension.directory < dirs.count, dirs[dimension.directory].width == dimension.width,
                      dirs[dimension.directory].height == dimension.height else {
                    throw SourceError(file.path, "Leica SCN whose XML names directory \(dimension.directory) as \(dimension.width) x \(dimension.height), which the file does not hold")
                }
            }
            base = dirs[scn.main[0].directory]
        } else {
            base = dirs[0]
        }
        guard base.isTiled, base.tileWidth > 0, base.tileHeight > 0 else { throw SourceError(path, "TIFF is not tiled") }
        guard base.planarConfig == 1 || base.samplesPerPixel == 1 else { throw SourceError(path, "separate colour planes are not supported") }
        guard base.bitsPerSample == 8 else { throw SourceError(path, "\(base.bitsPerSample)-bit samples are not supported (8-bit only)") }
        let supported: Set<Int> = [1, 5, 7, 8, 32773, 32946, 33003, 33005]
        guard supported.contains(base.compression) else {
            throw SourceError(path, "unsupported TIFF compression \(base.compression)")
        }
        let aperio = AperioDescription(base.description)
        let software = file.strings[UInt32(TIFFTAG_SOFTWARE)] ?? ""
        // (Other TIFFs a Philips program wrote, without the document, are generic TIFFs.)
        let claimsPhilips = aperio == nil && software.hasPrefix("Philips") && base.description?.contains("DPUfsImport") == true
        let philips = claimsPhilips ? PhilipsDescription(base.description) : nil
        if claimsPhilips, philips == nil {
            throw SourceError(path, "Philips TIFF whose XML description is not well-formed or does not describe one WSI image")
        }
        formatName = aperio != nil ? "Aperio SVS" : philips != nil ? "Philips TIFF" : scn != nil ? "Leica SCN" : "generic tiled TIFF"

        var levels = [SourceLevel]()
        var levelDirectories = [TIFFDirectory]()
        var associated = [AssociatedImageKind: AssociatedImage]()
        for d in dirs where scn == nil {
            let text = d.description?.lowercased() ?? ""
            if d.index > 0, text.contains("label") { associated[.label] = .directory(d.index); continue }
            if d.index > 0, text.contains("macro") { associated[.overview] = .directory(d.index); continue }
            if d.isTiled, d.width <= (levelDirectories.last?.width ?? Int.max), d.subfileType & 0x4 == 0 {
                levels.append(SourceLevel(width: d.width, height: d.height, tileWidth: d.tileWidth, tileHeight: d.tileHeight, compression: d.compressionName))
                levelDirectories.append(d)
            } else if aperio != nil, d.index == 1, !d.isTiled {
                associated[.thumbnail] = .directory(d.index)
            }
        }
        if let scn {
            for dimension in scn.main {
                let d = dirs[dimension.directory]
                guard d.isTiled, d.compression == base.compression else {
                    throw SourceError(path, "Leica SCN level of \(d.width) x \(d.height) is not tiled like level 0")
                }
                levels.append(SourceLevel(width: d.width, height: d.height, tileWidth: d.tileWidth, tileHeight: d.tileHeight, compression: d.compressionName))
                levelDirectories.append(d)
            }
            if let macro = scn.macro { associated[.overview] = .directory(macro.directory) }
        }
        if let philips {
            // Levels are rounded up to whole tiles; their true size is level 0's over the downsample.
            guard philips.downsamples.count == levels.count else {
                throw SourceError(path, philips.downsamples.isEmpty
                    ? "Philips TIFF whose XML does not give a readable pixel spacing for each level (PixelDataRepresentation)"
                    : "Philips TIFF whose XML describes \(philips.downsamples.count) levels where the file has \(levels.count)")
            }
            for (index, downsample) in philips.downsamples.enumerated() where index > 0 {
                guard downsample >= 1 else { throw SourceError(path, "Philips TIFF level \(index) has downsample \(downsample)") }
                levels[index].width = min(levels[index].width, Int((Double(base.width) / downsample).rounded(.up)))
                levels[index].height = min(levels[index].height, Int((Double(base.height) / downsample).rounded(.up)))
            }
            if associated[.label] == nil, let jpeg = philips.labelJPEG { associated[.label] = .jpeg(jpeg) }
            if associated[.overview] == nil, let jpeg = philips.macroJPEG { associated[.overview] = .jpeg(jpeg) }
        }
        // What the headers declare, checked before anything is sized from it.
        try DeclaredSizeCheck.check(base, of: file, name: "level 0")
        for (index, d) in levelDirectories.enumerated() where d.index != base.index {
            try DeclaredSizeCheck.check(d, of: file, name: "level \(index)")
        }
        self.levels = levels
        self.levelDirectories = levelDirectories
        self.associated = associated
        width = base.width
        height = base.height

        var properties = SourceProperties()
        if let aperio {
            properties.mppX = aperio.mpp
            properties.mppY = aperio.mpp
            properties.objectivePower = aperio.appMag
            properties.manufacturer = "Aperio"
            properties.deviceSerialNumber = aperio.scannerID
            properties.acquisitionDateTime = aperio.acquisitionDateTime
            properties.softwareVersions = base.description?.split(separator: "\n").first.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        } else if let philips {
            properties.mppX = philips.mpp?.x
            properties.mppY = philips.mpp?.y
            properties.manufacturer = philips.manufacturer ?? "Philips"
            properties.modelName = philips.modelName
            properties.deviceSerialNumber = philips.deviceSerialNumber
            properties.barcode = philips.barcode
            properties.softwareVersions = philips.softwareVersions
            properties.acquisitionDateTime = philips.acquisitionDateTime
        } else if let scn {
            properties.objectivePower = scn.objectivePower
            properties.manufacturer = "Leica"
            properties.modelName = scn.deviceModel
            properties.softwareVersions = scn.deviceVersion
            properties.acquisitionDateTime = scn.creationDateTime
            properties.barcode = scn.barcode
        }
        if aperio == nil, philips == nil, let (x, y) = file.resolutionPerCentimetre(directory: base.index) {
            properties.mppX = 10_000 / x
            properties.mppY = 10_000 / y
        }
        properties.manufacturer = file.strings[UInt32(TIFFTAG_MAKE)] ?? properties.manufacturer
        properties.modelName = file.strings[UInt32(TIFFTAG_MODEL)] ?? properties.modelName
        if properties.softwareVersions == nil { properties.softwareVersions = file.strings[UInt32(TIFFTAG_SOFTWARE)] }
        if properties.acquisitionDateTime == nil, let stamp = file.strings[UInt32(TIFFTAG_DATETIME)] {
            let digits = stamp.filter(\.isNumber)
            if digits.count == 14 { properties.acquisitionDateTime = digits }
        }
        properties.iccProfile = file.iccProfile(directory: base.index)
        if base.compression == 7 || base.compression == 33003 || base.compression == 33005 {
            properties.lossyMethod = base.compression == 7 ? "ISO_10918_1" : "ISO_15444_1"
            let stored = file.totalTileBytes(directory: base.index)
            if stored > 0 { properties.lossyRatio = Double(base.width * base.height * 3) / Double(stored) }
        }
        self.properties = properties
    }

    /// A view of one of the source's own levels as a slide of its own (level 0 is `self`): its tiles
    /// read, decoded and copied like level 0's, for keeping the scanner's pyramid.
    private init(level: Int, of parent: TiledTIFFSource) {
        path = parent.path
        formatName = parent.formatName
        file = parent.file
        base = parent.levelDirectories[level]
        width = parent.levels[level].width
        height = parent.levels[level].height
        levels = Array(parent.levels[level...])
        levelDirectories = Array(parent.levelDirectories[level...])
        properties = parent.properties
        associated = [:]
    }

    public func pyramidLevel(_ index: Int) -> (any SlideSource)? {
        guard index >= 0, index < levels.count else { return nil }
        return index == 0 ? self : TiledTIFFSource(level: index, of: self)
    }

    public var associatedImageKinds: [AssociatedImageKind] { AssociatedImageKind.allCases.filter { associated[$0] != nil } }

    public func associatedImage(_ kind: AssociatedImageKind) throws -> RGBImage {
        switch associated[kind] {
        case .directory(let index)?: return try file.rgbImage(directory: index)
        case .jpeg(let bytes)?:
            do {
                let decoder = JPEGDecoder()
                let info = try decoder.info(bytes)
                try WholeImageLimit.check(width: info.width, height: info.height, path: path, what: "the \(kind.rawValue) image")
                return try decoder.decode(bytes)
            } catch let error as CodecError { throw SourceError(path, "the \(kind.rawValue) image cannot be decoded: \(error)") }
        case nil: throw SourceError(path, "no \(kind.rawValue) image")
        }
    }

    /// Tile (col, row) of level 0 decoded to RGB at the full tile size.
    func decodedTile(col: Int, row: Int) throws -> RGBImage {
        let index = file.tileIndex(directory: base.index, col: col, row: row)
        do {
            switch base.compression {
            case 7:
                guard let raw = try file.rawTile(directory: base.index, index: index) else { return blankTile }
                let image = try decoders.with { try $0.decode(completeStream(raw)) }
                return image.width == base.tileWidth && image.height == base.tileHeight ? image : image.crop(x: 0, y: 0, width: base.tileWidth, height: base.tileHeight, fill: properties.background)
            case 33003, 33005:
                guard let raw = try file.rawTile(directory: base.index, index: index) else { return blankTile }
                let image = try JPEG2000Codec.decode(raw, ycbcr: base.compression == 33003)
                return image.crop(x: 0, y: 0, width: base.tileWidth, height: base.tileHeight, fill: properties.background)
            default:
                let samples = try file.decodedTile(directory: base.index, index: index)
                return try toRGB(samples)
            }
        } catch let error as CodecError {
            throw SourceError.corruptTile(path, col: col, row: row, error)
        }
    }

    /// A stored JPEG tile as a complete stream: the shared JPEGTables merged in when the file has them,
    /// and an Adobe marker (transform 0) where the TIFF says the JPEG data is RGB. Some Aperio files code
    /// tiles in RGB with no Adobe marker and component ids other than 'R', 'G', 'B', from which libjpeg
    /// guesses YCbCr (wrong colours, magenta tissue); the TIFF's PhotometricInterpretation is what
    /// defines the data's colour space (as OpenSlide reads it), so the marker makes every decoder, and
    /// every reader of copied frames, read it so.
    func completeStream(_ raw: [UInt8]) -> [UInt8] {
        let stream = base.jpegTables.map { JPEGStream.merge(tables: $0, tile: raw) } ?? raw
        return base.compression == 7 && base.photometric == 2 && base.samplesPerPixel == 3 ? JPEGStream.addingAdobeRGBMarker(stream) : stream
    }

    private var blankTile: RGBImage { RGBImage(width: base.tileWidth, height: base.tileHeight, fill: properties.background) }

    private func toRGB(_ samples: [UInt8]) throws -> RGBImage {
        let n = base.samplesPerPixel
        let count = base.tileWidth * base.tileHeight
        guard samples.count >= count * n, n == 1 || n >= 3, base.photometric <= 2 else {
            throw SourceError(path, "unsupported TIFF sample layout (\(n) samples, photometric \(base.photometric))")
        }
        if n == 3 { return RGBImage(width: base.tileWidth, height: base.tileHeight, pixels: Array(samples.prefix(count * 3))) }
        var pixels = [UInt8](repeating: 0, count: count * 3)
        for i in 0..<count {
            if n == 1 {
                let v = base.photometric == 0 ? 255 - samples[i] : samples[i]
                pixels[3 * i] = v; pixels[3 * i + 1] = v; pixels[3 * i + 2] = v
            } else {
                pixels[3 * i] = samples[n * i]; pixels[3 * i + 1] = samples[n * i + 1]; pixels[3 * i + 2] = samples[n * i + 2]
            }
        }
        return RGBImage(width: base.tileWidth, height: base.tileHeight, pixels: pixels)
    }

    public func readRegion(x: Int, y: Int, width: Int, height: Int, threads: Int) throws -> RGBImage {
        let tw = base.tileWidth, th = base.tileHeight
        let col0 = max(0, x / tw), row0 = max(0, y / th)
        // Tiles past the level's size (a scanner's rounding up to whole tiles) hold nothing of the slide.
        let col1 = min(min(base.tilesAcross, (self.width + tw - 1) / tw) - 1, (x + width - 1) / tw)
        let row1 = min(min(base.tilesDown, (self.height + th - 1) / th) - 1, (y + height - 1) / th)
        let covered = x >= 0 && y >= 0 && x + width <= self.width && y + height <= self.height
        var out = covered ? RGBImage(uninitializedWidth: width, height: height) : RGBImage(width: width, height: height, fill: properties.background)
        guard col1 >= col0, row1 >= row0 else { return out }
        let across = col1 - col0 + 1
        try out.withPixelBuffer { buffer in
            try Parallel.forEach(across * (row1 - row0 + 1), threads: threads) { i in
                let col = col0 + i % across, row = row0 + i / across
                // The tile's visible part (edge tiles carry padding beyond the image).
                let left = col * tw - x, top = row * th - y
                let visibleWidth = min(tw, self.width - col * tw), visibleHeight = min(th, self.height - row * th)
                if self.base.compression == 7, left >= 0, top >= 0, left + tw <= width, top + th <= height,
                   visibleWidth == tw, visibleHeight == th,
                   try self.decodeJPEGTile(col: col, row: row, into: buffer.window(x: left, y: top, width: tw, height: th)) {
                    return
                }
                let tile = try self.decodedTile(col: col, row: row)
                let visible = tile.crop(x: 0, y: 0, width: visibleWidth, height: visibleHeight)
                visible.copy(into: buffer, x: left, y: top)
            }
        }
        return out
    }

    /// Decodes a JPEG tile straight into place; false when it must go the general way (sparse, odd size).
    private func decodeJPEGTile(col: Int, row: Int, into destination: PixelBuffer) throws -> Bool {
        guard let raw = try file.rawTile(directory: base.index, index: file.tileIndex(directory: base.index, col: col, row: row)) else { return false }
        do {
            return try decoders.with { try $0.decode(completeStream(raw), into: destination) }
        } catch let error as CodecError {
            throw SourceError.corruptTile(path, col: col, row: row, error)
        }
    }

    public var rawTiles: (any RawTileSource)? {
        switch base.compression {
        case 7 where base.samplesPerPixel == 3:
            guard let sample = try? firstTileStream(), let info = try? JPEGDecoder().info(sample), !info.isGrayscale else { return nil }
            return TIFFRawTiles(source: self, encoding: .jpeg(rgbCoded: info.isRGBCoded))
        case 33005:
            guard let sample = try? firstTileStream(), let info = JPEG2000Info(codestream: sample), info.components == 3 else { return nil }
            return TIFFRawTiles(source: self, encoding: .jpeg2000(colorTransform: info.usesColorTransform, reversible: info.isReversible))
        default:
            return nil
        }
    }

    /// The first non-empty tile as a complete stream, to learn how tiles are coded.
    private func firstTileStream() throws -> [UInt8]? {
        for index in 0..<min(64, base.tilesAcross * base.tilesDown) {
            if let raw = try file.rawTile(directory: base.index, index: index) {
                return completeStream(raw)
            }
        }
        return nil
    }
}

/// Level-0 tiles of a TIFF as complete streams: JPEGTables merged in, an Adobe marker added to RGB-coded JPEG.
struct TIFFRawTiles: RawTileSource {
    let source: TiledTIFFSource
    let encoding: RawTileEncoding
    var tileWidth: Int { source.base.tileWidth }
    var tileHeight: Int { source.base.tileHeight }

    func rawTile(col: Int, row: Int) throws -> [UInt8]? {
        let directory = source.base.index
        guard let raw = try source.file.rawTile(directory: directory, index: source.file.tileIndex(directory: directory, col: col, row: row)) else { return nil }
        switch encoding {
        case .jpeg(let rgbCoded):
            let stream = source.completeStream(raw)
            if let problem = CopiedTileCheck.problem(stream, width: tileWidth, height: tileHeight) {
                throw SourceError.corruptTile(source.path, col: col, row: row, CodecError("JPEG", problem))
            }
            return rgbCoded ? JPEGStream.addingAdobeRGBMarker(stream) : stream
        case .jpeg2000:
            return raw
        }
    }
}
