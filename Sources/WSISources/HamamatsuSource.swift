import Foundation
import WSICodecs

/// Hamamatsu NDPI and VMS, with level 0 read by us. Each level of an NDPI is one JPEG (a VMS's level 0 is
/// one JPEG file, or a grid of them, which we leave to OpenSlide) whose restart markers cut it into
/// intervals of a few MCUs (160 x 8 pixels, say), and any rectangle of whole intervals is a valid JPEG of
/// its own (`RestartIntervalJPEG`). So level 0 becomes DICOM frames without decoding
/// (`RestartIntervalTiles`, whose frames the converter decodes at half scale for level 1), and where
/// pixels are needed (`--reencode`, the tile server) a region's
/// intervals are gathered into one stream per block of MCU rows, decoded by TurboJPEG in one call, blocks
/// in parallel. OpenSlide, which decodes one interval at a time with a decoder set up afresh, would leave
/// the codec a small part of the time.
///
/// OpenSlide still gives everything else: levels, properties, associated images. Opening checks the file
/// against OpenSlide (the layout it understands, then one region's pixels); `SlideOpener` uses OpenSlide
/// alone where any check fails.
public final class HamamatsuSource: SlideSource, @unchecked Sendable {
    public let path: String
    public let formatName: String
    public let width: Int
    public let height: Int
    public var levels: [SourceLevel] { openSlide.levels }
    public let properties: SourceProperties
    public var associatedImageKinds: [AssociatedImageKind] { openSlide.associatedImageKinds }
    /// Level-0 frames copied from the scanner's JPEG, where its chroma is subsampled (YBR_FULL_422 in DICOM;
    /// 4:4:4 would be YBR_FULL, which OpenSlide does not read, so such files are re-encoded).
    public let rawTiles: (any RawTileSource)?

    private let openSlide: OpenSlideSource
    private let index: RestartIntervalIndex
    private var jpeg: RestartIntervalJPEG { index.jpeg }
    private let decoders = HandlePool { JPEGDecoder() }
    /// Widest stream decoded at once (JPEG allows 65,535; narrower streams spread a region over cores).
    private static let streamWidth = 8192

    /// An NDPI: level 0 is the largest JPEG directory of the first focal plane, a single strip.
    public convenience init(ndpi path: String, openSlide: OpenSlideSource) throws {
        let file = try ReadOnlyFile(path: path)
        let ndpi = try NDPIFile(file: file)
        guard let level = ndpi.directories.filter({ ($0.sourceLens ?? 0) > 0 && $0.focalPlane == 0 && $0.compression == 7 })
            .max(by: { $0.width < $1.width }),
              level.width == openSlide.width, level.height == openSlide.height, level.stripOffsets.count == 1, level.stripByteCounts.count == 1 else {
            throw SourceError(path, "no single-strip JPEG level 0 of OpenSlide's size")
        }
        let start = level.stripOffsets[0], count = level.stripByteCounts[0]
        guard start >= 0, count > 0, start <= Int.max - count else { throw SourceError(path, "level 0's strip lies outside the file") }
        try self.init(path: path, formatName: "Hamamatsu NDPI", openSlide: openSlide, file: file, strip: start..<(start + count),
                      mcuStarts: level.mcuStarts)
    }

    /// A VMS: its key file names level 0's JPEG (`ImageFile`); a grid of several (`NoJpegColumns`,
    /// `NoJpegRows`) or several focal planes (`NoLayers`) are left to OpenSlide.
    public convenience init(vms path: String, openSlide: OpenSlideSource) throws {
        let keys = try VMSKeyFile(path: path)
        for key in ["NoJpegColumns", "NoJpegRows", "NoLayers"] where (keys[key].flatMap { Int($0) } ?? 1) != 1 {
            throw SourceError(path, "\(key) is \(keys[key]!) (one JPEG of one focal plane is read directly)")
        }
        guard let name = keys["ImageFile"], !name.isEmpty, !name.contains("/") else { throw SourceError(path, "no ImageFile in the key file") }
        let jpegPath = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name)
        let file = try ReadOnlyFile(path: jpegPath)
        guard file.size > 0 else { throw SourceError(jpegPath, "is empty") }
        try self.init(path: path, formatName: "Hamamatsu VMS", openSlide: openSlide, file: file, strip: 0..<file.size, mcuStarts: nil)
    }

    private init(path: String, formatName: String, openSlide: OpenSlideSource, file: ReadOnlyFile, strip: Range<Int>, mcuStarts: [Int]?) throws {
        self.path = path
        self.formatName = formatName
        self.openSlide = openSlide
        width = openSlide.width
        height = openSlide.height
        let count = strip.count
        index = try RestartIntervalIndex(file: file, strip: strip, width: width, height: height, mcuStarts: mcuStarts)
        rawTiles = index.jpeg.subsampling == .s422 || index.jpeg.subsampling == .s420 ? RestartIntervalTiles(index: index) : nil
        var properties = openSlide.properties
        properties.lossyMethod = "ISO_10918_1"
        properties.lossyRatio = Double(width * height * 3) / Double(count)
        self.properties = properties
        try verifyAgainstOpenSlide()
    }

    /// Decodes a region both ways and compares: a file we misread must not become a wrong DICOM slide.
    private func verifyAgainstOpenSlide() throws {
        let w = min(width, 4 * jpeg.intervalWidth), h = min(height, 4 * jpeg.mcuHeight)
        let x = (width - w) / 2 / jpeg.intervalWidth * jpeg.intervalWidth, y = (height - h) / 2 / jpeg.mcuHeight * jpeg.mcuHeight
        let ours = try readRegion(x: x, y: y, width: w, height: h, threads: 1)
        let theirs = try openSlide.readRegion(x: x, y: y, width: w, height: h, threads: 1)
        var difference = 0
        for i in 0..<ours.pixels.count { difference += abs(Int(ours.pixels[i]) - Int(theirs.pixels[i])) }
        // The same decoder and IDCT; only chroma upsampling across interval edges may differ.
        guard Double(difference) / Double(ours.pixels.count) <= 2 else {
            throw SourceError(path, "direct JPEG decoding disagrees with OpenSlide")
        }
    }

    public func associatedImage(_ kind: AssociatedImageKind) throws -> RGBImage { try openSlide.associatedImage(kind) }

    public func readRegion(x: Int, y: Int, width: Int, height: Int, threads: Int) throws -> RGBImage {
        let covered = x >= 0 && y >= 0 && x + width <= self.width && y + height <= self.height
        var out = covered ? RGBImage(uninitializedWidth: width, height: height) : RGBImage(width: width, height: height, fill: properties.background)
        try out.withPixelBuffer { try render(x: x, y: y, width: width, height: height, threads: threads, into: $0) }
        return out
    }

    /// Decodes the region's intervals into `buffer` (the region's size): blocks of MCU rows,
    /// a few per thread, each as streams at most `streamWidth` wide.
    private func render(x: Int, y: Int, width: Int, height: Int, threads: Int, into buffer: PixelBuffer) throws {
        let left = max(0, x), top = max(0, y), right = min(self.width, x + width), bottom = min(self.height, y + height)
        guard right > left, bottom > top else { return }
        let iw = jpeg.intervalWidth, mh = jpeg.mcuHeight
        let c0 = left / iw, c1 = (right + iw - 1) / iw
        let r0 = top / mh, r1 = (bottom + mh - 1) / mh
        // A few blocks per thread, each short enough for a JPEG header.
        let rowsPerBlock = min(max(1, (r1 - r0 + 2 * threads - 1) / (2 * threads)), 65_535 / mh)
        let blocks = (r1 - r0 + rowsPerBlock - 1) / rowsPerBlock
        let columnsPerStream = max(1, Self.streamWidth / iw)
        try Parallel.forEach(blocks, threads: threads) { block in
            let ra = r0 + block * rowsPerBlock, rb = min(r1, ra + rowsPerBlock)
            let intervals = try self.index.intervals(rows: ra..<rb)
            for ca in stride(from: c0, to: c1, by: columnsPerStream) {
                let cb = min(c1, ca + columnsPerStream)
                let picked = (ra..<rb).flatMap { row in intervals[((row - ra) * self.index.intervalsPerRow + ca)..<((row - ra) * self.index.intervalsPerRow + cb)] }
                // The stream's pixels: its intervals, cut at the slide's right and bottom edges.
                let sx = ca * iw, sy = ra * mh
                let sw = min((cb - ca) * iw, self.width - sx), sh = min((rb - ra) * mh, self.height - sy)
                let stream = self.jpeg.stream(width: sw, height: sh, intervals: picked)
                try self.decode(stream, width: sw, height: sh, at: (sx, sy), into: buffer, region: (x, y, left, top, right, bottom))
            }
        }
    }

    /// Decodes one stream whose top-left pixel is `at` on the slide and puts its part of the region in place.
    private func decode(_ stream: [UInt8], width sw: Int, height sh: Int, at origin: (x: Int, y: Int), into buffer: PixelBuffer,
                        region: (x: Int, y: Int, left: Int, top: Int, right: Int, bottom: Int)) throws {
        let vx0 = max(origin.x, region.left), vy0 = max(origin.y, region.top)
        let vx1 = min(origin.x + sw, region.right), vy1 = min(origin.y + sh, region.bottom)
        guard vx1 > vx0, vy1 > vy0 else { return }
        do {
            try decoders.with { decoder in
                // Straight into place when the stream lies wholly inside the region.
                if vx0 == origin.x, vy0 == origin.y, vx1 == origin.x + sw, vy1 == origin.y + sh,
                   try decoder.decode(stream, into: buffer.window(x: origin.x - region.x, y: origin.y - region.y, width: sw, height: sh)) {
                    return
                }
                var pixels = RGBImage(uninitializedWidth: sw, height: sh)
                guard try pixels.withPixelBuffer({ try decoder.decode(stream, into: $0) }) else {
                    throw CodecError("JPEG", "the stream is not \(sw)x\(sh)")
                }
                pixels.crop(x: vx0 - origin.x, y: vy0 - origin.y, width: vx1 - vx0, height: vy1 - vy0)
                    .copy(into: buffer, x: vx0 - region.x, y: vy0 - region.y)
            }
        } catch let error as CodecError {
            throw SourceError(path, "level 0 is corrupt at (\(origin.x), \(origin.y)): \(error)")
        }
    }
}
