import WSICodecs
import WSIDICOM

/// Encodes tiles for one output compression and says how to label the result in DICOM.
struct FrameCodec: Sendable {
    let compression: OutputCompression
    let quality: Int
    let subsampling: ChromaSubsampling
    private let encoders: HandlePool<JPEGEncoder>
    private let decoders = HandlePool { JPEGDecoder() }
    private let transcoders: HandlePool<JPEGTranscoder>

    init(compression: OutputCompression, quality: Int, subsampling: ChromaSubsampling) {
        self.compression = compression
        self.quality = quality
        self.subsampling = subsampling
        encoders = HandlePool { JPEGEncoder(quality: quality, subsampling: subsampling) }
        transcoders = HandlePool { JPEGTranscoder(quality: quality, subsampling: subsampling) }
    }

    var transferSyntax: TransferSyntax {
        switch compression {
        case .jpeg: return .jpegBaseline
        case .jpeg2000: return .jpeg2000
        case .jpeg2000Lossless: return .jpeg2000Lossless
        case .none: return .explicitVRLittleEndian
        }
    }

    var photometricInterpretation: String {
        switch compression {
        case .jpeg: return subsampling == .s444 ? "YBR_FULL" : "YBR_FULL_422"
        case .jpeg2000: return "YBR_ICT"
        case .jpeg2000Lossless: return "YBR_RCT"
        case .none: return "RGB"
        }
    }

    /// The DICOM method term when this codec is lossy.
    var lossyMethod: String? {
        switch compression {
        case .jpeg: return "ISO_10918_1"
        case .jpeg2000: return "ISO_15444_1"
        case .jpeg2000Lossless, .none: return nil
        }
    }

    /// JPEG 2000 compression ratio for a JPEG-like quality setting (90 gives 10:1).
    var jpeg2000Ratio: Double { Double(max(2, 100 - quality)) }

    /// Encodes a tile-sized window of a larger image; JPEG reads it in place.
    func encode(_ window: PixelBuffer) throws -> [UInt8] {
        if compression == .jpeg { return try encoders.with { try $0.encode(window) } }
        return try encode(RGBImage(copying: window, width: window.width, height: window.height))
    }

    /// Re-encodes a complete JPEG frame as JPEG at this codec's quality and subsampling in the DCT domain
    /// (`JPEGTranscoder`), writing its pixels at half size into `half` when given; nil (nothing written)
    /// when the frame must go through pixels instead.
    func transcode(jpeg frame: [UInt8], half: PixelBuffer?) throws -> [UInt8]? {
        precondition(compression == .jpeg)
        guard JPEGTranscoder.supports(subsampling) else { return nil }
        return try transcoders.with { try $0.transcode(frame, half: half) }
    }

    /// Re-encodes a complete JPEG frame as JPEG at this codec's quality and subsampling: through its
    /// YCbCr planes where the stream allows (no RGB round trip), else through RGB.
    func reencode(jpeg frame: [UInt8]) throws -> [UInt8] {
        precondition(compression == .jpeg)
        return try decoders.with { decoder in
            if let planes = try decoder.decodePlanes(frame), let converted = planes.converted(to: subsampling) {
                return try encoders.with { try $0.encode(converted) }
            }
            return try encode(try decoder.decode(frame))
        }
    }

    func encode(_ tile: RGBImage) throws -> [UInt8] {
        switch compression {
        case .jpeg: return try encoders.with { try $0.encode(tile) }
        case .jpeg2000: return try JPEG2000Codec.encode(tile, ratio: jpeg2000Ratio)
        case .jpeg2000Lossless: return try JPEG2000Codec.encode(tile, ratio: nil)
        case .none: return tile.pixels
        }
    }
}
