import Foundation
import WSICodecs
import WSIDICOM
import WSISources

/// Converts one slide into a DICOM WSI pyramid in a single streaming pass over level 0.
///
/// Level 0 is read one tile row at a time, in windows of a bounded number of tiles; their frames are
/// copied from the source or encoded in parallel, and each window, halved, fills its part of the next
/// level's band, which is written out when full, and so on down: every level is written in TILED_FULL
/// order while memory holds a window of level 0 and one band (a tile row) of each lower level.
public final class SlideConverter {
    public let source: any SlideSource
    public let options: ConversionOptions
    private let progress: (@Sendable (ConversionProgress) -> Void)?
    public static let version = "0.1.0"
    /// Pixel size assumed when neither the source nor the metadata gives one.
    public static let assumedMicrometresPerPixel = 0.25
    /// Decoders for copied frames that feed the level below.
    private let halfDecoders = HandlePool { JPEGDecoder() }
    private let halfTranscoders = HandlePool { JPEGTranscoder() }

    public init(source: any SlideSource, options: ConversionOptions, progress: (@Sendable (ConversionProgress) -> Void)? = nil) {
        self.source = source
        self.options = options
        self.progress = progress
    }

    /// One output level being written: its writer and the band it is accumulating from the level above.
    private final class LevelState {
        let index: Int
        let width: Int
        let height: Int
        let writer: Part10Writer
        let description: WSIInstanceDescription
        var band: RGBImage
        var rowsFilled = 0
        var nextTileRow = 0
        var copiedFrames = 0
        /// Frames written as background where a copied level's source tile is absent (byte count 0).
        var backgroundFrames = 0

        init(index: Int, width: Int, height: Int, tileHeight: Int, writer: Part10Writer, description: WSIInstanceDescription,
             computed: Bool, background: RGB) {
            self.index = index
            self.width = width
            self.height = height
            self.writer = writer
            self.description = description
            band = computed ? RGBImage(width: width, height: tileHeight, fill: background) : RGBImage(width: 0, height: 0)
        }
    }

    public func run() throws -> ConversionReport {
        let started = Date()
        guard options.quality >= 1 && options.quality <= 100 else { throw ConversionError("--quality must be 1 to 100") }

        let (codec, copy) = chooseEncoding()
        let sourceTile = sourceTileSize
        // Re-encoding JPEG tiles on the source's grid: each is transcoded on its own (in the DCT domain, or
        // through its YCbCr planes) and feeds the level below like a copied one.
        let transcoded = copy == nil ? reencodedTiles(codec, sourceTile: sourceTile) : nil
        let tiles = copy ?? transcoded
        let tileWidth = tiles?.tileWidth ?? options.tileSize ?? sourceTile?.width ?? 256
        let tileHeight = tiles?.tileHeight ?? options.tileSize ?? sourceTile?.height ?? 256
        guard tileWidth >= 16, tileHeight >= 16, tileWidth <= 4096, tileHeight <= 4096, tileWidth % 2 == 0, tileHeight % 2 == 0 else {
            throw ConversionError("tile size \(tileWidth)x\(tileHeight) is not supported (even, 16 to 4096)")
        }
        // The source's own levels to copy (just level 0 for a dyadic pyramid), the last of which the
        // computed levels are made from.
        var copiedLevels: [(source: any SlideSource, tiles: any RawTileSource)] = []
        if let tiles {
            copiedLevels = [(source, tiles)]
            if options.pyramid == .source, let copy { copiedLevels = scannerLevels(matching: copy) }
        }
        let plan = PyramidPlan.plan(
            levelZero: (source.width, source.height), copied: copiedLevels.map { ($0.source.width, $0.source.height, $0.tiles.tileWidth, $0.tiles.tileHeight) },
            tileWidth: copiedLevels.last?.tiles.tileWidth ?? tileWidth, tileHeight: copiedLevels.last?.tiles.tileHeight ?? tileHeight,
            maxLevels: options.maxLevels)
        // The level the single pass reads: the last copied one that is written (or level 0).
        let pass = max(0, min(copiedLevels.count, plan.levels.count) - 1)
        let top = copiedLevels.isEmpty ? source : copiedLevels[pass].source
        try checkMemory(plan, pass: pass)
        let folder = try OutputFolder(path: options.outputDirectory, overwrite: options.overwrite)

        var (metadata, warnings) = mergedMetadata()
        warnings = source.readerNotes + warnings
        let props = source.properties
        let name = (((options.inputName ?? source.path) as NSString).lastPathComponent as NSString).deletingPathExtension
        let identity = WSISlideIdentity(metadata: metadata, fallbackName: name, now: Self.now())
        let builder = WSIDataSetBuilder(metadata: metadata, identity: identity, iccProfile: props.iccProfile, softwareVersion: Self.version)

        // The scanner's lossy step, unless its tiles are reversible JPEG 2000.
        var sourceHistory: LossyCompression?
        if let method = props.lossyMethod { sourceHistory = LossyCompression(methods: [method], ratios: [props.lossyRatio ?? 1]) }
        if case .jpeg2000(_, true)? = source.rawTiles?.encoding { sourceHistory = nil }
        var ourHistory = sourceHistory
        if let method = codec.lossyMethod { ourHistory = (sourceHistory ?? LossyCompression(methods: [], ratios: [])).appending(method: method, ratio: 1) }
        if options.pyramid == .source && copy == nil {
            warnings.append("--pyramid source keeps the source's levels only where level-0 tiles are copied; writing a dyadic pyramid")
        }

        var report = ConversionReport(input: options.inputName ?? source.path, format: source.formatName, outputDirectory: folder.path,
                                      studyInstanceUID: identity.studyInstanceUID, seriesInstanceUID: identity.seriesInstanceUID,
                                      threads: options.threads)
        report.warnings = warnings
        var levels: [LevelState] = []
        // Finished instances, under their temporary names until all are complete (`OutputFolder.replace`).
        var finished: [Part10Writer] = []
        let frameWriter = FrameWriterQueue()
        do {
            for (index, level) in plan.levels.enumerated() {
                let copied = index < copiedLevels.count ? copiedLevels[index].tiles : nil
                let derivation: String? = switch (index, level.copiedFromSource) {
                case (0, _): nil
                case (_, true): "Copied from the source's level \(index), downsampled \(level.downsampleText)x by the scanner"
                // Level 1 from JPEG tiles comes from each block's low-frequency coefficients (JPEGTranscoder).
                case (_, false): "Downsampled \(level.downsampleText)x from level 0, halved level by level (2x2 area averaging, or the low-frequency DCT coefficients of JPEG tiles)"
                }
                var description = WSIInstanceDescription(
                    flavor: .volume(original: index == 0), totalWidth: level.width, totalHeight: level.height,
                    tileWidth: level.tileWidth, tileHeight: level.tileHeight, photometricInterpretation: codec.photometricInterpretation,
                    transferSyntax: codec.transferSyntax, lossyCompression: ourHistory,
                    pixelSpacing: metadata.pixelSpacing.map { Self.spacing(levelZero: $0, width: level.width, height: level.height, of: source) },
                    instanceNumber: index + 1,
                    derivationDescription: derivation)
                // Copied frames keep the source's coding and history; transcoded ones are ours.
                if let copied, !(index == 0 && transcoded != nil) {
                    switch copied.encoding {
                    case .jpeg(let rgbCoded):
                        description.photometricInterpretation = rgbCoded ? "RGB" : "YBR_FULL_422"
                        description.transferSyntax = .jpegBaseline
                    case .jpeg2000(let transform, let reversible):
                        description.photometricInterpretation = transform ? (reversible ? "YBR_RCT" : "YBR_ICT") : "RGB"
                        description.transferSyntax = reversible ? .jpeg2000Lossless : .jpeg2000
                    }
                    description.lossyCompression = sourceHistory
                }
                let uid = UID.make()
                let writer = try Part10Writer(
                    path: folder.file("level-\(index).dcm"), dataSet: builder.dataSet(for: description, sopInstanceUID: uid),
                    sopInstanceUID: uid, transferSyntax: description.transferSyntax, frameCount: description.frameCount,
                    nativeFrameLength: level.tileWidth * level.tileHeight * 3, extendedOffsetThreshold: options.extendedOffsetThreshold,
                    direct: options.directWrites)
                levels.append(LevelState(index: index, width: level.width, height: level.height, tileHeight: level.tileHeight,
                                         writer: writer, description: description, computed: index > pass, background: props.background))
            }

            // Progress counts tile rows: those of the copied levels above the pass, then the pass's.
            let passRows = (top.height + levels[pass].description.tileHeight - 1) / levels[pass].description.tileHeight
            let totalRows = levels[..<pass].reduce(passRows) { $0 + $1.description.tilesDown }
            var rowsDone = 0

            // The source's levels above the one the pass starts from are copied as they are.
            for index in 0..<pass {
                let level = levels[index]
                for _ in 0..<level.description.tilesDown {
                    let window = options.windowTiles(tileWidth: level.description.tileWidth, tileHeight: level.description.tileHeight)
                    for first in stride(from: 0, to: level.description.tilesAcross, by: window) {
                        try writeTiles(of: level, pixels: nil, firstColumn: first, columns: min(window, level.description.tilesAcross - first),
                                       codec: codec, copy: copiedLevels[index].tiles, to: frameWriter)
                    }
                    level.nextTileRow += 1
                    rowsDone += 1
                    progress?(ConversionProgress(stage: "pyramid", done: rowsDone, total: totalRows))
                }
            }

            // The single pass over the level the computed ones come from (level 0 for a dyadic pyramid):
            // tile row by tile row, each row in windows of a few tiles (`--window`), so that level
            // is never held much wider than a window.
            let first = levels[pass]
            let passCopy = pass < copiedLevels.count ? copiedLevels[pass].tiles : nil
            let tileHeight = first.description.tileHeight, tileWidth = first.description.tileWidth
            let bands = passRows
            let reader = BandReader(source: top, threads: options.threads)
            let window = options.windowTiles(tileWidth: tileWidth, tileHeight: tileHeight)
            let computes = pass + 1 < levels.count
            for row in 0..<bands {
                let y = row * tileHeight
                let bandHeight = min(tileHeight, top.height - y)
                var halfHeight = 0
                for firstColumn in stride(from: 0, to: first.description.tilesAcross, by: window) {
                    let columns = min(window, first.description.tilesAcross - firstColumn)
                    let x = firstColumn * tileWidth
                    let width = min(columns * tileWidth, top.width - x)
                    guard computes else {
                        // Nothing below: copy, or encode, this level alone.
                        let image = passCopy == nil ? try reader.region(x: x, y: y, width: width, height: bandHeight) : nil
                        try writeTiles(of: first, pixels: image, firstColumn: firstColumn, columns: columns, codec: codec, copy: passCopy,
                                       transcode: transcoded != nil, to: frameWriter)
                        continue
                    }
                    // The window's pixels, halved, go straight into the next level's band.
                    let next = levels[pass + 1]
                    try next.band.withPixelBuffer { band in
                        let target = band.window(x: x / 2, y: next.rowsFilled, width: (width + 1) / 2, height: (bandHeight + 1) / 2)
                        // Copied frames need no pixels at full size: each worker decodes the frame it has just
                        // read at half scale (JPEG: the low coefficients; JPEG 2000: the next lower resolution).
                        if let passCopy {
                            try writeTiles(of: first, pixels: nil, firstColumn: firstColumn, columns: columns, codec: codec, copy: passCopy,
                                           transcode: transcoded != nil, halvingInto: target, to: frameWriter)
                            return
                        }
                        // Otherwise each worker halves the tile it has just encoded (or copied), while it is in cache.
                        let image = try reader.region(x: x, y: y, width: width, height: bandHeight)
                        try writeTiles(of: first, pixels: image, firstColumn: firstColumn, columns: columns, codec: codec, copy: passCopy,
                                       halvingInto: target, to: frameWriter)
                    }
                    halfHeight = (bandHeight + 1) / 2
                }
                first.nextTileRow += 1
                if computes { try added(rows: halfHeight, to: pass + 1, levels: levels, codec: codec, writer: frameWriter) }
                rowsDone += 1
                progress?(ConversionProgress(stage: "pyramid", done: rowsDone, total: totalRows))
            }
            for level in levels.dropFirst(pass + 1) where level.rowsFilled > 0 {
                let partial = level.band.crop(x: 0, y: 0, width: level.width, height: level.rowsFilled)
                level.rowsFilled = 0
                try emit(level: level.index, band: partial, levels: levels, codec: codec, writer: frameWriter)
            }
            try frameWriter.drain()
            for level in levels {
                let uncompressedFrame = level.description.tileWidth * level.description.tileHeight * 3
                var ratios = level.description.lossyCompression?.ratios
                if level.copiedFrames < level.description.frameCount, codec.lossyMethod != nil, ratios != nil {
                    ratios![ratios!.count - 1] = level.writer.compressionRatio(uncompressedFrameBytes: uncompressedFrame)
                }
                try level.writer.finish(lossyRatios: ratios, moveIntoPlace: false)
                finished.append(level.writer)
                report.instances.append(instanceReport(level.writer, level.description, level: level.index, copied: level.copiedFrames))
                if level.backgroundFrames > 0 {
                    // Sparse files leave out unscanned tiles on purpose; elsewhere it is damage. Either way, say so.
                    let tiles = level.backgroundFrames == 1 ? "1 tile of level \(level.index) is" : "\(level.backgroundFrames) tiles of level \(level.index) are"
                    report.warnings.append("\(tiles) absent from the source (byte count 0) and written as background")
                }
            }
            report.pyramidSeconds = Date().timeIntervalSince(started)

            // Associated images.
            let associatedStart = Date()
            var instanceNumber = levels.count
            let wanted: [(AssociatedImageKind, WSIImageFlavor, Bool)] = [
                (.label, .label, options.includeLabel), (.overview, .overview, options.includeOverview), (.thumbnail, .thumbnail, options.includeThumbnail),
            ]
            for (kind, flavor, include) in wanted where include && source.associatedImageKinds.contains(kind) {
                var image = try source.associatedImage(kind)
                image = Downsample.fit(image, maxSide: 65_535)
                instanceNumber += 1
                let spacing = associatedSpacing(flavor, image: image, levelZeroSpacing: metadata.pixelSpacing)
                var description = WSIInstanceDescription(
                    flavor: flavor, totalWidth: image.width, totalHeight: image.height, tileWidth: image.width, tileHeight: image.height,
                    photometricInterpretation: codec.photometricInterpretation, transferSyntax: codec.transferSyntax,
                    lossyCompression: codec.lossyMethod.map { LossyCompression(methods: [$0], ratios: [1]) },
                    pixelSpacing: spacing, instanceNumber: instanceNumber)
                if flavor == .thumbnail { description.lossyCompression = ourHistory }
                let uid = UID.make()
                let writer = try Part10Writer(
                    path: folder.file("\(kind.rawValue).dcm"), dataSet: builder.dataSet(for: description, sopInstanceUID: uid),
                    sopInstanceUID: uid, transferSyntax: description.transferSyntax, frameCount: 1,
                    nativeFrameLength: image.byteCount, extendedOffsetThreshold: options.extendedOffsetThreshold,
                    direct: options.directWrites)
                do {
                    try writer.append(frame: try codec.encode(image))
                    var ratios = description.lossyCompression?.ratios
                    if ratios != nil { ratios![ratios!.count - 1] = writer.compressionRatio(uncompressedFrameBytes: image.byteCount) }
                    try writer.finish(lossyRatios: ratios, moveIntoPlace: false)
                } catch {
                    writer.abandon()
                    throw error
                }
                finished.append(writer)
                report.instances.append(instanceReport(writer, description, level: nil, copied: 0))
            }
            report.associatedSeconds = Date().timeIntervalSince(associatedStart)
            try folder.replace(with: finished)
        } catch {
            try? frameWriter.drain()
            for level in levels { level.writer.abandon() }
            for writer in finished { writer.abandon() }
            throw error
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// What the bands of the computed levels take: one tile row of each, whole width (3 bytes a pixel).
    static let bandBudget = 200 << 20

    /// Refuses, before any output is written, a pyramid whose bands would not fit the memory bound:
    /// memory follows the width (a tile row of every computed level), so a level 0 hundreds of thousands
    /// of pixels wide in large tiles, whatever its header claims, would otherwise take gigabytes.
    private func checkMemory(_ plan: PyramidPlan, pass: Int) throws {
        var bytes = 0
        for level in plan.levels.dropFirst(pass + 1) {
            let (band, overflow) = level.width.multipliedReportingOverflow(by: level.tileHeight * 3)
            guard !overflow else { bytes = .max; break }
            bytes = bytes > Int.max - band ? .max : bytes + band
        }
        guard bytes <= Self.bandBudget else {
            let level = plan.levels[min(pass + 1, plan.levels.count - 1)]
            throw ConversionError("\(source.path): \(source.width) x \(source.height) pixels in tiles \(level.tileHeight) high would need \(bytes >> 20) MiB for one tile row of each level, past the \(Self.bandBudget >> 20) MiB the converter allows itself; a smaller --tile-size lowers it")
        }
    }

    /// The codec for the frames we encode (the source's codec when its tiles can be copied, unless told
    /// otherwise), and the level-0 tiles to copy when they suit it and the requested tile size.
    private func chooseEncoding() -> (FrameCodec, (any RawTileSource)?) {
        let raw = options.reencode ? nil : source.rawTiles
        var compression = options.compression
        if compression == nil {
            if case .jpeg2000? = raw?.encoding { compression = .jpeg2000 } else { compression = .jpeg }
        }
        let codec = FrameCodec(compression: compression!, quality: options.quality, subsampling: options.subsampling)
        guard let raw, options.tileSize == nil || (options.tileSize == raw.tileWidth && options.tileSize == raw.tileHeight) else {
            return (codec, nil)
        }
        switch (raw.encoding, codec.compression) {
        case (.jpeg, .jpeg), (.jpeg2000, .jpeg2000): return (codec, raw)
        case (.jpeg2000(_, let reversible), .jpeg2000Lossless) where reversible: return (codec, raw)
        default: return (codec, nil)
        }
    }

    /// Level-0 JPEG tiles to re-encode one by one on the source's grid (`--reencode` to JPEG at the tile size
    /// the output gets anyway): in the DCT domain where the transcoder takes them (`JPEGTranscoder`), else
    /// through their YCbCr planes where their chroma is no coarser than the output's (it is only averaged).
    /// Each feeds the level below like a copied tile. nil: re-encode from pixels read in bands.
    private func reencodedTiles(_ codec: FrameCodec, sourceTile: (width: Int, height: Int)?) -> (any RawTileSource)? {
        guard options.reencode, codec.compression == .jpeg, let raw = source.rawTiles, case .jpeg = raw.encoding,
              raw.tileWidth % 2 == 0, raw.tileHeight % 2 == 0 else { return nil }
        let size = options.tileSize.map { ($0, $0) } ?? sourceTile.map { ($0.width, $0.height) }
        guard let size, size == (raw.tileWidth, raw.tileHeight), let first = try? raw.rawTile(col: 0, row: 0) else { return nil }
        if (try? codec.transcode(jpeg: first, half: nil)) != nil { return raw }
        guard let info = try? JPEGDecoder().info(first), !info.isRGBCoded, !info.isGrayscale, let subsampling = info.subsampling,
              YCbCrPlanes.canConvert(subsampling, to: codec.subsampling) else { return nil }
        return raw
    }

    /// The source's own tile size, the default for tiles we encode: each output tile is then one source
    /// tile (no source row is read twice, nothing straddles). nil for untiled sources and odd sizes.
    private var sourceTileSize: (width: Int, height: Int)? {
        guard let level = source.levels.first, level.tileWidth % 2 == 0, level.tileHeight % 2 == 0,
              (64...2048).contains(level.tileWidth), (64...2048).contains(level.tileHeight),
              level.tileWidth < source.width || level.tileHeight < source.height else { return nil }
        return (level.tileWidth, level.tileHeight)
    }

    /// The source's own levels whose tiles can be copied like level 0's (same codec, even tile sizes),
    /// from level 0 down to the first that cannot.
    private func scannerLevels(matching levelZero: any RawTileSource) -> [(source: any SlideSource, tiles: any RawTileSource)] {
        var result: [(source: any SlideSource, tiles: any RawTileSource)] = [(source, levelZero)]
        for index in 1..<max(1, source.levels.count) {
            guard let level = source.pyramidLevel(index), let tiles = level.rawTiles,
                  tiles.tileWidth % 2 == 0, tiles.tileHeight % 2 == 0, level.width < result.last!.source.width else { break }
            switch (tiles.encoding, levelZero.encoding) {
            case (.jpeg, .jpeg), (.jpeg2000, .jpeg2000): result.append((level, tiles))
            default: return result
            }
        }
        return result
    }

    /// Pixel sizes taken from a source: a scanner's are 0.05-50 µm, a photograph's or a scan's at most
    /// millimetres. Past these (`inf`, 1e-300) the value is damage, and would become a Pixel Spacing no
    /// reader can use (`inf` is no DS at all).
    static let plausibleMicrometresPerPixel = 1e-3...1e5

    /// A level's Pixel Spacing: level 0's times the exact size ratio along each axis, so every level
    /// covers the same physical area. (Level 0's times the nominal downsample drifts at odd sizes: a
    /// level rounded up from 1001 / 8 is 126 pixels, 0.6% more than 1001 / 8, and viewers such as
    /// dicom-microscopy-viewer warn that the levels differ in size.) wsidicom, though, refuses a level
    /// whose spacing is more than 0.01 (in log2) from a power of two times level 0's, which the exact
    /// ratio of a small level can be (1001 / 126 is 2^2.990): there the ratio is held at 0.009 from it,
    /// the nearest to the true size every reader takes.
    static func spacing(levelZero: [Double], width: Int, height: Int, of source: any SlideSource) -> [Double] {
        guard levelZero.count == 2, width > 0, height > 0 else { return levelZero }
        func readable(_ ratio: Double) -> Double {
            let log = Foundation.log2(ratio), power = log.rounded()
            return Foundation.pow(2, power + min(max(log - power, -0.009), 0.009))
        }
        return [levelZero[0] * readable(Double(source.height) / Double(height)), levelZero[1] * readable(Double(source.width) / Double(width))]
    }

    /// The source's metadata overridden by the user's, and what had to be assumed.
    private func mergedMetadata() -> (WSIMetadata, [String]) {
        let props = source.properties
        var fromSource = WSIMetadata()
        fromSource.equipment.manufacturer = props.manufacturer
        fromSource.equipment.modelName = props.modelName
        fromSource.equipment.deviceSerialNumber = props.deviceSerialNumber
        fromSource.equipment.softwareVersions = props.softwareVersions
        fromSource.acquisitionDateTime = props.acquisitionDateTime
        fromSource.objectivePower = props.objectivePower
        fromSource.label.barcode = props.barcode
        var warnings: [String] = []
        if let x = props.mppX, let y = props.mppY {
            if Self.plausibleMicrometresPerPixel.contains(x), Self.plausibleMicrometresPerPixel.contains(y) {
                fromSource.pixelSpacing = [y / 1000, x / 1000]
            } else {
                warnings.append("the source's pixel size (\(x) x \(y) µm) is not one a microscope gives; ignored")
            }
        }
        if let power = props.objectivePower, !(power.isFinite && power > 0 && power < 10_000) { fromSource.objectivePower = nil }
        var metadata = fromSource.merging(options.metadata)
        if metadata.pixelSpacing == nil {
            // Pixel Measures are Type 1 and readers (wsidicom) refuse a pyramid without them.
            metadata.pixelSpacing = [Self.assumedMicrometresPerPixel / 1000, Self.assumedMicrometresPerPixel / 1000]
            warnings.append("the source states no pixel size; assuming \(Self.assumedMicrometresPerPixel) µm/pixel (set \"pixelSpacing\" in --metadata, in mm)")
        }
        return (metadata, warnings)
    }

    /// Writes one tile row of a lower level from its band and passes the band, halved, to the level below.
    private func emit(level index: Int, band: RGBImage, levels: [LevelState], codec: FrameCodec, writer: FrameWriterQueue) throws {
        let level = levels[index]
        let columns = level.description.tilesAcross
        guard index + 1 < levels.count else {
            try writeTiles(of: level, pixels: band, firstColumn: 0, columns: columns, codec: codec, copy: nil, to: writer)
            level.nextTileRow += 1
            return
        }
        let next = levels[index + 1]
        try next.band.withPixelBuffer { target in
            let window = target.window(x: 0, y: next.rowsFilled, width: (band.width + 1) / 2, height: (band.height + 1) / 2)
            try writeTiles(of: level, pixels: band, firstColumn: 0, columns: columns, codec: codec, copy: nil, halvingInto: window, to: writer)
        }
        level.nextTileRow += 1
        try added(rows: (band.height + 1) / 2, to: index + 1, levels: levels, codec: codec, writer: writer)
    }

    /// Counts rows pasted into a level's band, and writes the band out once it holds a whole tile row.
    private func added(rows: Int, to index: Int, levels: [LevelState], codec: FrameCodec, writer: FrameWriterQueue) throws {
        let level = levels[index]
        level.rowsFilled += rows
        guard level.rowsFilled >= level.description.tileHeight else { return }
        let full = level.band
        level.rowsFilled = 0
        try emit(level: index, band: full, levels: levels, codec: codec, writer: writer)
    }

    /// Encodes (or copies) tiles firstColumn..<firstColumn+columns of a level's current tile row, in
    /// parallel, and queues them for its instance in order. `pixels` starts at the first column's left
    /// edge; without it (copied tiles) tiles the source lacks are background.
    private func writeTiles(of level: LevelState, pixels: RGBImage?, firstColumn: Int, columns: Int, codec: FrameCodec,
                            copy: (any RawTileSource)?, transcode: Bool = false, halvingInto half: PixelBuffer? = nil,
                            to writer: FrameWriterQueue) throws {
        let tw = level.description.tileWidth, th = level.description.tileHeight
        let row = level.nextTileRow
        let background = source.properties.background
        let frames: [[UInt8]]
        if let copy {
            let decoders = halfDecoders, transcoders = halfTranscoders, path = source.path
            let visibleWidth = level.width, visibleHeight = min(th, level.height - row * th)
            let results = try Parallel.map(columns, threads: options.threads) { i -> (frame: [UInt8], copied: Bool, background: Bool) in
                if let half, let pixels {
                    pixels.withReadOnlyPixelBuffer { Self.halve(column: i, of: Self.tileWindow(i, of: $0, tileWidth: tw), into: half, tileWidth: tw) }
                }
                // Without pixels, the level below comes from the frame itself, decoded at half scale.
                let halfTile = half.map { half in
                    let width = min(tw, visibleWidth - (firstColumn + i) * tw)
                    return half.window(x: i * tw / 2, y: 0, width: (width + 1) / 2, height: (visibleHeight + 1) / 2)
                }
                if let frame = try copy.rawTile(col: firstColumn + i, row: row) {
                    // In the DCT domain, the half-size tile comes with the frame.
                    if transcode, let reencoded = try Self.corruptTile(path, firstColumn + i, row, {
                        try codec.transcode(jpeg: frame, half: pixels == nil ? halfTile : nil)
                    }) {
                        return (reencoded, false, false)
                    }
                    if let halfTile, pixels == nil {
                        try Self.decodeAtHalfScale(frame, encoding: copy.encoding, tileWidth: tw, tileHeight: th, into: halfTile, decoders: decoders,
                                                   transcoders: transcoders, tile: (firstColumn + i, row), of: path)
                    }
                    guard transcode else { return (frame, true, false) }
                    return (try Self.corruptTile(path, firstColumn + i, row) { try codec.reencode(jpeg: frame) }, false, false)
                }
                // A tile the source lacks (sparse files): background, or the pixels when there are some.
                guard let pixels else {
                    if let halfTile { RGBImage(width: halfTile.width, height: halfTile.height, fill: background).copy(into: halfTile, x: 0, y: 0) }
                    return (try codec.encode(RGBImage(width: tw, height: th, fill: background)), false, true)
                }
                return (try codec.encode(pixels.crop(x: i * tw, y: 0, width: tw, height: th, fill: background)), false, true)
            }
            frames = results.map(\.frame)
            level.copiedFrames += results.count { $0.copied }
            level.backgroundFrames += results.count { $0.background }
        } else {
            guard let pixels else { return }
            frames = try pixels.withReadOnlyPixelBuffer { buffer in
                try Parallel.map(columns, threads: options.threads) { i in
                    // Whole tiles are encoded in place; edge tiles are padded with the background first.
                    let visible = Self.tileWindow(i, of: buffer, tileWidth: tw)
                    let frame = visible.width == tw && visible.height == th
                        ? try codec.encode(visible) : try codec.encode(RGBImage(copying: visible, width: tw, height: th, fill: background))
                    if let half { Self.halve(column: i, of: visible, into: half, tileWidth: tw) }
                    return frame
                }
            }
        }
        try writer.append(frames, to: level.writer)
    }

    /// Decodes a copied tw x th frame at half size into `destination`, its visible part halved (rounded
    /// up). JPEG: from its coefficients (`JPEGTranscoder`) where the stream allows, else by TurboJPEG's
    /// scaled decoding, straight into place for whole tiles and through a scratch tile at the slide's edges.
    /// JPEG 2000: the wavelet's next lower resolution, the finest one's code-blocks left undecoded.
    private static func decodeAtHalfScale(_ frame: [UInt8], encoding: RawTileEncoding, tileWidth tw: Int, tileHeight th: Int,
                                          into destination: PixelBuffer, decoders: HandlePool<JPEGDecoder>,
                                          transcoders: HandlePool<JPEGTranscoder>, tile: (col: Int, row: Int), of path: String) throws {
        try corruptTile(path, tile.col, tile.row) {
            if case .jpeg2000 = encoding {
                let half = try JPEG2000Codec.decode(frame, halfSize: true)
                guard half.width >= destination.width, half.height >= destination.height else {
                    throw CodecError("JPEG 2000", "the frame is \(half.width * 2)x\(half.height * 2), not \(tw)x\(th)")
                }
                half.crop(x: 0, y: 0, width: destination.width, height: destination.height).copy(into: destination, x: 0, y: 0)
                return
            }
            if destination.width <= tw / 2, destination.height <= th / 2, try transcoders.with({ try $0.decodeHalf(frame, into: destination) }) {
                return
            }
            try decoders.with { decoder in
                if destination.width == tw / 2, destination.height == th / 2, try decoder.decodeHalf(frame, into: destination) { return }
                var tile = RGBImage(uninitializedWidth: tw / 2, height: th / 2)
                guard try tile.withPixelBuffer({ try decoder.decodeHalf(frame, into: $0) }) else {
                    throw CodecError("JPEG", "the frame is not \(tw)x\(th)")
                }
                tile.crop(x: 0, y: 0, width: destination.width, height: destination.height).copy(into: destination, x: 0, y: 0)
            }
        }
    }

    /// `body`'s result, its codec error reported as the source's corrupt tile (col, row).
    private static func corruptTile<T>(_ path: String, _ col: Int, _ row: Int, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as CodecError {
            throw SourceError.corruptTile(path, col: col, row: row, error)
        }
    }

    /// The part of tile column `column` inside a window of pixels (edge tiles are narrower).
    private static func tileWindow(_ column: Int, of buffer: PixelBuffer, tileWidth tw: Int) -> PixelBuffer {
        buffer.window(x: column * tw, y: 0, width: min(tw, buffer.width - column * tw), height: buffer.height)
    }

    /// Halves one tile column's pixels into its place in the halved window.
    private static func halve(column: Int, of tile: PixelBuffer, into half: PixelBuffer, tileWidth tw: Int) {
        Downsample.half(tile, into: half.window(x: column * tw / 2, y: 0, width: (tile.width + 1) / 2, height: half.height))
    }

    /// Pixel spacing of an associated image. A thumbnail covers the scanned area; a label or overview
    /// photo has no calibration, so it gets the nominal spacing of a standard 76 x 26 mm slide (overview)
    /// or of a 26 mm square label: Pixel Measures is Type 1 for every WSI instance.
    private func associatedSpacing(_ flavor: WSIImageFlavor, image: RGBImage, levelZeroSpacing: [Double]?) -> [Double] {
        switch flavor {
        case .thumbnail:
            let s = levelZeroSpacing ?? [0.00025, 0.00025]
            return [s[0] * Double(source.height) / Double(image.height), s[1] * Double(source.width) / Double(image.width)]
        case .overview:
            let mm = 76.0 / Double(image.width)
            return [mm, mm]
        default:
            let mm = 26.0 / Double(image.height)
            return [mm, mm]
        }
    }

    private func instanceReport(_ writer: Part10Writer, _ d: WSIInstanceDescription, level: Int?, copied: Int) -> ConversionReport.Instance {
        // Finished instances are still under their temporary names (moved into place once all are whole).
        let bytes = (try? FileManager.default.attributesOfItem(atPath: writer.temporaryPath)[.size] as? Int)
            ?? (try? FileManager.default.attributesOfItem(atPath: writer.path)[.size] as? Int) ?? 0
        return ConversionReport.Instance(
            file: (writer.path as NSString).lastPathComponent, kind: d.flavor.name, level: level, width: d.totalWidth, height: d.totalHeight,
            tileWidth: d.tileWidth, tileHeight: d.tileHeight, frames: d.frameCount, transferSyntax: d.transferSyntax.rawValue,
            photometricInterpretation: d.photometricInterpretation, copiedFrames: copied, bytes: bytes,
            extendedOffsetTable: writer.usedExtendedOffsetTable, directWrites: writer.writesAroundPageCache)
    }

    static func now() -> DateParts {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyyMMdd"
        let date = formatter.string(from: Date())
        formatter.dateFormat = "HHmmss"
        return DateParts(date: date, time: formatter.string(from: Date()))
    }
}
