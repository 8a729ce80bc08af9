import Foundation
import WSICodecs
import WSIDICOM

/// An encoded image ready to send.
public struct EncodedImage: Sendable {
    public let data: Data
    public let mediaType: String
    public init(data: Data, mediaType: String) { self.data = data; self.mediaType = mediaType }
}

/// Image formats the service can answer in.
public enum ImageFormat: String, Sendable {
    case jpeg, png
    public var mediaType: String { self == .jpeg ? "image/jpeg" : "image/png" }
}

/// A request the service cannot answer; the routes turn it into a status code.
public enum TileServiceError: Error, CustomStringConvertible, Sendable {
    case notFound(String)
    case badRequest(String)
    case unsupported(String)
    /// The client's Accept header names nothing we can produce.
    case notAcceptable(String)
    /// The work asked for is past the server's budget.
    case tooLarge(String)
    case failed(String)

    public var description: String {
        switch self {
        case .notFound(let m), .badRequest(let m), .unsupported(let m), .notAcceptable(let m), .tooLarge(let m), .failed(let m): return m
        }
    }
}

/// Tiles and regions of the library's slides. JPEG frames asked for as JPEG are sent as stored (no
/// decoding); JPEG 2000 and uncompressed frames, and anything asked for as PNG, are decoded and encoded,
/// and those results are kept in an LRU cache bounded in bytes.
public final class TileService: Sendable {
    /// Where the slides come from: a folder (`SlideLibrary`), or Orthanc.
    public let store: any SlideStore
    let cache: LRUCache<String, EncodedImage>
    let quality: Int
    private let encoders: HandlePool<JPEGEncoder>
    private let decoders = HandlePool { JPEGDecoder() }

    public init(store: any SlideStore, cacheBytes: Int = 256 << 20, jpegQuality: Int = 90) {
        self.store = store
        cache = LRUCache(capacity: cacheBytes)
        quality = jpegQuality
        encoders = HandlePool { JPEGEncoder(quality: jpegQuality, subsampling: .s420) }
    }

    public func slide(_ id: String) throws -> Slide {
        guard let slide = store.slide(id) else { throw TileServiceError.notFound("no slide \(id)") }
        return slide
    }

    /// Tile (col, row) of a pyramid level (0 = full resolution), at its stored size.
    public func tile(slide: Slide, level: Int, col: Int, row: Int, format: ImageFormat = .jpeg) throws -> EncodedImage {
        guard level >= 0, level < slide.levels.count else { throw TileServiceError.notFound("no level \(level) (the slide has \(slide.levels.count))") }
        return try tile(of: slide.levels[level], col: col, row: row, format: format, key: "\(slide.id)/\(level)")
    }

    /// The JPEG tile (col, row) of a level when it is ready to send with no work (a stored JPEG frame or
    /// a cached image); nil when it must be made, or does not exist (`tile` then says why).
    public func readyTile(slide: Slide, level: Int, col: Int, row: Int) -> EncodedImage? {
        guard level < slide.levels.count else { return nil }
        let image = slide.levels[level]
        guard col < image.tilesAcross, row < image.tilesDown else { return nil }
        if image.encoding == .jpeg, let frame = image.frame(col: col, row: row) {
            guard let data = try? frame.file.frameData(frame.index) else { return nil }
            return EncodedImage(data: data, mediaType: "image/jpeg")
        }
        return cache.value(Self.cacheKey("\(slide.id)/\(level)", col: col, row: row, format: .jpeg))
    }

    /// Where a ready tile's bytes are, for a server that reads them straight into its own buffers.
    public enum ReadyBytes: Sendable {
        /// A stored frame in a file: its fragments' byte ranges, `count` bytes in all, read when sent
        /// (`FileByteSource.read(_:into:)` checks the file against what was indexed).
        case file(FileByteSource, ranges: [Range<Int>], count: Int)
        /// An image in memory (a cached one, or a frame from a store that does not read files).
        case image(EncodedImage)
    }

    /// `readyTile` without reading the frame: where its bytes are, so that they are copied once, into
    /// the buffer they are sent from. Nil where `readyTile` is nil.
    public func readyTileBytes(slide: Slide, level: Int, col: Int, row: Int) -> ReadyBytes? {
        guard level < slide.levels.count else { return nil }
        let image = slide.levels[level]
        guard col < image.tilesAcross, row < image.tilesDown else { return nil }
        if image.encoding == .jpeg, let frame = image.frame(col: col, row: row) {
            if let source = frame.file.fileSource, frame.index < frame.file.frameFragments.count {
                let ranges = frame.file.frameFragments[frame.index]
                return .file(source, ranges: ranges, count: ranges.reduce(0) { $0 + $1.count })
            }
            return readyTile(slide: slide, level: level, col: col, row: row).map { .image($0) }
        }
        return cache.value(Self.cacheKey("\(slide.id)/\(level)", col: col, row: row, format: .jpeg)).map { .image($0) }
    }

    /// An associated image (its first frame).
    public func associated(slide: Slide, kind: AssociatedKind, format: ImageFormat = .jpeg) throws -> EncodedImage {
        guard let image = slide.associated[kind] else { throw TileServiceError.notFound("slide \(slide.id) has no \(kind.rawValue) image") }
        if image.frames.count == 1 { return try tile(of: image, col: 0, row: 0, format: format, key: "\(slide.id)/\(kind.rawValue)") }
        let whole = try region(of: image, x: 0, y: 0, width: image.width, height: image.height)
        return try encode(whole, format: format)
    }

    func tile(of image: TiledImage, col: Int, row: Int, format: ImageFormat, key: String) throws -> EncodedImage {
        guard col >= 0, row >= 0, col < image.tilesAcross, row < image.tilesDown else {
            throw TileServiceError.notFound("no tile (\(col), \(row)); the image is \(image.tilesAcross) x \(image.tilesDown) tiles")
        }
        if format == .jpeg, image.encoding == .jpeg, let frame = image.frame(col: col, row: row) {
            return EncodedImage(data: try frameData(frame.file, frame.index), mediaType: "image/jpeg")
        }
        return try cached(Self.cacheKey(key, col: col, row: row, format: format)) {
            try encode(decodedTile(of: image, col: col, row: row), format: format)
        }
    }

    /// A stored frame's bytes; a file that changed or vanished since it was indexed is a failure the
    /// store is told of (so it can index the file again), never a crash.
    public func frameData(_ file: DICOMFile, _ index: Int) throws -> Data {
        do {
            return try file.frameData(index)
        } catch {
            store.frameReadFailed(file)
            throw TileServiceError.failed("\(error)")
        }
    }

    static func cacheKey(_ image: String, col: Int, row: Int, format: ImageFormat) -> String {
        "\(image)/\(col)/\(row).\(format.rawValue)"
    }

    /// The cached image for `key`, or `make`'s, which is then cached.
    func cached(_ key: String, _ make: () throws -> EncodedImage) throws -> EncodedImage {
        if let hit = cache.value(key) { return hit }
        let encoded = try make()
        cache.insert(encoded, for: key, cost: encoded.data.count + 64)
        return encoded
    }

    func encode(_ image: RGBImage, format: ImageFormat) throws -> EncodedImage {
        do {
            switch format {
            case .jpeg: return EncodedImage(data: Data(try encoders.with { try $0.encode(image) }), mediaType: "image/jpeg")
            case .png: return EncodedImage(data: Data(try PNGCodec.encode(image)), mediaType: "image/png")
            }
        } catch {
            throw TileServiceError.failed("cannot encode: \(error)")
        }
    }

    /// A tile's pixels at the full tile size (background where a sparse level has no frame).
    public func decodedTile(of image: TiledImage, col: Int, row: Int) throws -> RGBImage {
        guard let frame = image.frame(col: col, row: row) else {
            return RGBImage(width: image.tileWidth, height: image.tileHeight, fill: .white)
        }
        let bytes = [UInt8](try frameData(frame.file, frame.index))
        let decoded: RGBImage
        do {
            switch image.encoding {
            case .jpeg:
                decoded = try decoders.with { try $0.decode(bytes) }
            case .jpeg2000:
                let ycbcr = image.photometric.hasPrefix("YBR_FULL")
                decoded = try JPEG2000Codec.decode(bytes, ycbcr: ycbcr)
            case .native(let samples, let photometric):
                decoded = try Self.native(bytes, width: image.tileWidth, height: image.tileHeight, samples: samples, photometric: photometric)
            case .unsupported(let syntax):
                throw TileServiceError.unsupported("frames in transfer syntax \(syntax) cannot be decoded")
            }
        } catch let error as CodecError {
            throw TileServiceError.failed("frame \(frame.index + 1) of \(frame.file.path) is corrupt: \(error)")
        }
        if decoded.width == image.tileWidth && decoded.height == image.tileHeight { return decoded }
        return decoded.crop(x: 0, y: 0, width: image.tileWidth, height: image.tileHeight)
    }

    static func native(_ bytes: [UInt8], width: Int, height: Int, samples: Int, photometric: String) throws -> RGBImage {
        guard samples == 1 || samples == 3 else { throw TileServiceError.unsupported("uncompressed frames of \(samples) samples per pixel") }
        let count = width * height
        guard bytes.count >= count * samples else { throw TileServiceError.failed("uncompressed frame is too short") }
        if samples == 3 && photometric == "RGB" { return RGBImage(width: width, height: height, pixels: Array(bytes.prefix(count * 3))) }
        var pixels = [UInt8](repeating: 0, count: count * 3)
        for i in 0..<count {
            if samples == 1 {
                let v = photometric == "MONOCHROME1" ? 255 - bytes[i] : bytes[i]
                pixels[3 * i] = v; pixels[3 * i + 1] = v; pixels[3 * i + 2] = v
            } else {
                let y = Double(bytes[3 * i]), cb = Double(bytes[3 * i + 1]) - 128, cr = Double(bytes[3 * i + 2]) - 128
                pixels[3 * i] = UInt8(clamping: Int((y + 1.402 * cr).rounded()))
                pixels[3 * i + 1] = UInt8(clamping: Int((y - 0.344136 * cb - 0.714136 * cr).rounded()))
                pixels[3 * i + 2] = UInt8(clamping: Int((y + 1.772 * cb).rounded()))
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Pixels of a region of one tiled image (in its own pixel coordinates), clipped to the image.
    public func region(of image: TiledImage, x: Int, y: Int, width: Int, height: Int) throws -> RGBImage {
        var out = RGBImage(width: width, height: height, fill: .white)
        let tw = image.tileWidth, th = image.tileHeight
        let col0 = max(0, x / tw), row0 = max(0, y / th)
        let col1 = min(image.tilesAcross - 1, (x + width - 1) / tw), row1 = min(image.tilesDown - 1, (y + height - 1) / th)
        guard col1 >= col0, row1 >= row0 else { return out }
        for row in row0...row1 {
            for col in col0...col1 {
                let tile = try decodedTile(of: image, col: col, row: row)
                // Only what lies inside the image: stored edge tiles are padded.
                let visible = tile.crop(x: 0, y: 0, width: min(tw, image.width - col * tw), height: min(th, image.height - row * th))
                out.paste(visible, atX: col * tw - x, y: row * th - y)
            }
        }
        return out
    }
}
