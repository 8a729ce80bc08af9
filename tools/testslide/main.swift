import ArgumentParser
import Foundation
import WSICodecs

/// Generates test slides of several shapes with tissue-like content.
struct TestSlide: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wsi-testslide",
        abstract: "Generate a synthetic whole-slide image with tissue-like content.",
        discussion: """
        Kinds:
          svs          Aperio SVS: JPEG tiles sharing JPEGTables, 4x levels,
                       thumbnail, label and macro images
          svs-jp2k     Aperio SVS with JPEG 2000 tiles (compression 33005)
          tiff         generic tiled TIFF, JPEG YCbCr 4:2:0, 2x levels
          tiff-raw     generic tiled TIFF, uncompressed
          tiff-strip   a plain (stripped, LZW) TIFF image
          vms          Hamamatsu VMS: key file, level-0 JPEG with restart
                       markers, map and macro JPEGs
          ndpi         Hamamatsu NDPI: TIFF of whole JPEGs with restart
                       markers, 4x levels, macro
                       (both: the size rounded down to whole 16 x 8 MCUs)
          philips      Philips TIFF: XML description, 2x levels padded to whole
                       tiles, sparse tiles, label in the XML, macro directory
          scn          Leica SCN: BigTIFF with an XML collection, the main image
                       placed in it (4x levels), the macro covering all of it
          mrxs         3DHistech MIRAX: Slidedat.ini, Index.dat and Data0000.dat in a
                       folder beside the .mrxs; overlapping camera images placed
                       off the grid by a position buffer, some left unscanned;
                       label, macro and thumbnail (read through OpenSlide)
          bif          Ventana BIF: iScan XML, level-0 tiles overlapping by 4-5
                       pixels with their joints in the level-0 XML, 2x levels,
                       macro and thumbnail (read through OpenSlide)
          png, jpeg    plain images
          unsupported  a tiled TIFF whose compression (34892) nothing reads
        """)

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case svs, svsJP2K = "svs-jp2k", tiff, philips, scn, mrxs, bif, tiffRaw = "tiff-raw", tiffStrip = "tiff-strip", vms, ndpi, png, jpeg, unsupported
    }

    @Argument(help: "Output file.") var output: String
    @Option(help: "Slide kind: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")).") var kind: Kind = .svs
    @Option(help: "Level-0 width in pixels.") var width = 2000
    @Option(help: "Level-0 height in pixels.") var height = 1500
    @Option(help: "Tile size.") var tile: Int?
    @Option(help: "JPEG quality of the tiles.") var quality = 80
    @Option(help: "Micrometres per pixel at level 0.") var mpp = 0.25
    @Option(help: "Seed of the tissue pattern.") var seed: UInt64 = 1
    @Option(help: "JPEG tiles coded as rgb (Aperio's usual) or ycbcr.") var colors = "rgb"
    @Flag(help: "Write one level-0 tile as garbage, to test corrupt input.") var corruptTile = false
    @Option(help: "Paint only an N x N block of distinct level-0 tiles and repeat it (fast large slides).") var repeatTiles: Int?
    @Option(help: "SVS: the level-0 width its header declares, larger than --width; tiles past --width are left out (hostile input).") var declareWidth: Int?
    @Option(help: "SVS: the level-0 height its header declares, larger than --height (hostile input).") var declareHeight: Int?
    @Option(help: "SVS: one level-0 tile that is not what the TIFF says: large (a JPEG of twice the tile size), small (a quarter), truncated (half its stream), empty (byte count 0).")
    var oddTile: String?
    @Flag(help: "SVS: code RGB tiles as some Aperio scanners do: no Adobe marker, component ids 1, 2, 3 (libjpeg then guesses YCbCr; the TIFF says RGB).")
    var aperioRGBQuirk = false
    @Option(help: "Philips: nest this many empty elements inside the XML description (hostile input).") var xmlNesting = 0
    @Flag(help: "NDPI: leave out the McuStarts tag, as some files do (readers must find the restart markers).") var noMcuStarts = false

    func run() throws {
        // Hamamatsu scanners write whole MCUs (16 x 8 pixels at 4:2:2); OpenSlide reads no partial ones.
        let (width, height) = kind == .vms || kind == .ndpi ? (self.width / 16 * 16, self.height / 8 * 8) : (self.width, self.height)
        let painter = TissuePainter(seed: seed, width: width, height: height)
        let url = URL(fileURLWithPath: output)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        switch kind {
        case .png:
            try Data(PNGCodec.encode(painter.paint(x: 0, y: 0, width: width, height: height))).write(to: url)
        case .jpeg:
            try Data(JPEGEncoder(quality: quality).encode(painter.paint(x: 0, y: 0, width: width, height: height))).write(to: url)
        case .tiffStrip:
            let builder = try TIFFBuilder(path: output)
            try builder.addStripped(painter.paint(x: 0, y: 0, width: width, height: height), encoding: .lzw, description: nil, mpp: mpp)
            builder.close()
        case .svs, .svsJP2K:
            try writeSVS(painter)
            if aperioRGBQuirk { try AperioRGBQuirk.apply(to: output) }
        case .tiff, .tiffRaw, .unsupported:
            try writeGenericTIFF(painter)
        case .philips:
            try PhilipsWriter.write(to: output, painter: painter, width: width, height: height, tile: tile ?? 512, mpp: mpp, quality: quality,
                                    label: makeLabel(), macro: makeMacro(painter), nesting: xmlNesting)
        case .scn:
            try SCNWriter.write(to: output, painter: painter, width: width, height: height, tile: tile ?? 512, mpp: mpp, quality: quality,
                                macro: makeMacro(painter))
        case .bif:
            try BIFWriter.write(to: output, painter: painter, width: width, height: height, tile: tile ?? 256, mpp: mpp, quality: quality,
                                macro: makeMacro(painter))
        case .mrxs:
            try MRXSWriter.write(to: output, painter: painter, width: width, height: height, mpp: mpp, quality: quality,
                                 label: makeLabel(), macro: makeMacro(painter))
        case .vms:
            try VMSWriter.write(to: output, painter: painter, width: width, height: height, mpp: mpp, quality: quality, macro: makeMacro(painter))
        case .ndpi:
            try NDPIWriter.write(to: output, painter: painter, width: width, height: height, mpp: mpp, quality: quality, macro: makeMacro(painter),
                                 mcuStarts: !noMcuStarts)
        }
    }

    private func tileEncoding(ycbcr: Bool) -> TIFFBuilder.Encoding {
        switch kind {
        case .svsJP2K: return .jpeg2000(tag: 33005, ratio: 12)
        case .tiffRaw: return .none
        case .unsupported: return .opaque(tag: 34892)
        default: return .jpeg(quality: quality, ycbcr: ycbcr)
        }
    }

    private func writeSVS(_ painter: TissuePainter) throws {
        let tile = self.tile ?? 240
        let ycbcr = colors == "ycbcr"
        let encoding = tileEncoding(ycbcr: ycbcr)
        let codecName = kind == .svsJP2K ? "J2K/KDU" : "JPEG/RGB"
        let header = "Aperio Image Library v12.0.15 \r\n"
        let appMag = (10 / mpp / 2).isFinite && 10 / mpp / 2 < 1e9 ? Int(10 / mpp / 2) : 0
        let fields = "|AppMag = \(appMag)|StripeWidth = 2040|ScanScope ID = SS0042|Filename = synthetic|Date = 11/24/26|Time = 10:15:30|MPP = \(mpp)"
        let builder = try TIFFBuilder(path: output)
        let cache = TileCache()
        let corrupt = corruptTile ? ((height / tile) / 2) * ((width + tile - 1) / tile) + (width / tile) / 2 : nil
        let (declaredWidth, declaredHeight) = (declareWidth ?? width, declareHeight ?? height)
        let (paintedWidth, paintedHeight) = (width, height)
        try builder.addTiled(width: declaredWidth, height: declaredHeight, tile: tile, encoding: encoding,
                             description: header + "\(declaredWidth)x\(declaredHeight) [0,0 \(declaredWidth)x\(declaredHeight)] (\(tile)x\(tile)) \(codecName) Q=\(quality)" + fields,
                             corruptTile: corrupt, replaceTile: try oddTileBytes(painter, tile: tile), sparse: { col, row in col * tile >= paintedWidth || row * tile >= paintedHeight }) { col, row in
            guard let repeatTiles else { return painter.paint(x: col * tile, y: row * tile, width: tile, height: tile) }
            return cache.tile(col % repeatTiles, row % repeatTiles, level: 0) {
                painter.paint(x: (col % repeatTiles) * tile, y: (row % repeatTiles) * tile, width: tile, height: tile)
            }
        }
        // Thumbnail: directory 1, stripped JPEG.
        let thumbScale = max(1, (max(width, height) + 767) / 768)
        let thumb = painter.paint(x: 0, y: 0, width: width / thumbScale, height: height / thumbScale, downsample: thumbScale)
        try builder.addStripped(thumb, encoding: .jpeg(quality: 90, ycbcr: false),
                                description: header + "\(width)x\(height) -> \(thumb.width)x\(thumb.height) - " + fields)
        // Lower levels at 4x steps, as Aperio writes them.
        var downsample = 4
        while max(width / downsample, height / downsample) >= tile {
            let w = width / downsample, h = height / downsample, ds = downsample
            try builder.addTiled(width: w, height: h, tile: tile, encoding: encoding,
                                 description: header + "\(width)x\(height) [0,0 \(width)x\(height)] (\(tile)x\(tile)) -> \(w)x\(h) \(codecName) Q=\(quality)" + fields) { col, row in
                guard let repeatTiles else { return painter.paint(x: col * tile, y: row * tile, width: tile, height: tile, downsample: ds) }
                return cache.tile(col % repeatTiles, row % repeatTiles, level: ds) {
                    painter.paint(x: (col % repeatTiles) * tile, y: (row % repeatTiles) * tile, width: tile, height: tile, downsample: ds)
                }
            }
            downsample *= 4
        }
        try builder.addStripped(makeLabel(), encoding: .lzw, description: "Aperio Image Library v12.0.15\nlabel 420x400", subfileType: 1)
        try builder.addStripped(makeMacro(painter), encoding: .jpeg(quality: 90, ycbcr: false), description: "Aperio Image Library v12.0.15\nmacro 1280x431", subfileType: 9)
        builder.close()
    }

    /// The middle level-0 tile for `--odd-tile`: its index and its bytes (nil: left out).
    private func oddTileBytes(_ painter: TissuePainter, tile: Int) throws -> (index: Int, bytes: [UInt8]?)? {
        guard let oddTile else { return nil }
        let index = ((height / tile) / 2) * ((width + tile - 1) / tile) + (width / tile) / 2
        let encoder = JPEGEncoder(quality: quality)
        switch oddTile {
        case "large": return (index, try encoder.encode(painter.paint(x: 0, y: 0, width: tile * 2, height: tile * 2)))
        case "small": return (index, try encoder.encode(painter.paint(x: 0, y: 0, width: tile / 4, height: tile / 4)))
        case "truncated":
            let whole = try encoder.encode(painter.paint(x: 0, y: 0, width: tile, height: tile))
            return (index, Array(whole.prefix(whole.count / 2)))
        case "empty": return (index, nil)
        default: throw ValidationError("--odd-tile must be large, small, truncated or empty")
        }
    }

    private func writeGenericTIFF(_ painter: TissuePainter) throws {
        let tile = self.tile ?? 256
        let encoding = tileEncoding(ycbcr: true)
        let builder = try TIFFBuilder(path: output)
        var downsample = 1
        repeat {
            let w = (width + downsample - 1) / downsample, h = (height + downsample - 1) / downsample, ds = downsample
            try builder.addTiled(width: w, height: h, tile: tile, encoding: encoding, description: downsample == 1 ? "synthetic slide" : nil,
                                 subfileType: downsample == 1 ? 0 : 1, mpp: mpp * Double(downsample)) { col, row in
                painter.paint(x: col * tile, y: row * tile, width: tile, height: tile, downsample: ds)
            }
            downsample *= 2
        } while max(width / downsample, height / downsample) >= tile && kind != .unsupported
        builder.close()
    }

    /// A slide label: white, with a barcode-like stripe pattern and blocks of "text".
    private func makeLabel() -> RGBImage {
        var label = RGBImage(width: 420, height: 400, fill: RGB(250, 250, 248))
        for bar in 0..<40 where (seed &+ UInt64(bar) &* 7) % 3 != 0 {
            label.paste(RGBImage(width: 4, height: 120, fill: RGB(20, 20, 20)), atX: 40 + bar * 8, y: 40)
        }
        for line in 0..<4 {
            label.paste(RGBImage(width: 300 - line * 40, height: 18, fill: RGB(40, 40, 60)), atX: 40, y: 200 + line * 40)
        }
        return label
    }

    /// A macro (overview) photo: the label on the left, the slide's tissue on the right.
    private func makeMacro(_ painter: TissuePainter) -> RGBImage {
        var macro = RGBImage(width: 1280, height: 431, fill: RGB(200, 200, 205))
        macro.paste(Downsample.fit(makeLabel(), maxSide: 380), atX: 20, y: 25)
        let scale = max(1, max(width / 820, height / 400))
        let tissue = painter.paint(x: 0, y: 0, width: min(840, width / scale), height: min(410, height / scale), downsample: scale)
        macro.paste(tissue, atX: 430, y: 10)
        return macro
    }
}

/// Painted tiles kept for `--repeat-tiles`, shared by the painting threads.
final class TileCache: @unchecked Sendable {
    private var tiles: [[Int]: RGBImage] = [:]
    private let lock = NSLock()

    func tile(_ col: Int, _ row: Int, level: Int, paint: () -> RGBImage) -> RGBImage {
        if let tile = lock.withLock({ tiles[[col, row, level]] }) { return tile }
        let tile = paint()
        lock.withLock { tiles[[col, row, level]] = tile }
        return tile
    }
}

TestSlide.main()
