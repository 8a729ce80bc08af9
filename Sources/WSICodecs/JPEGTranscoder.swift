import CJPEGTranscode

/// Re-encodes JPEG frames at a new quality and chroma subsampling without leaving the DCT domain where it
/// can (C in `CJPEGTranscode`): the coefficients are converted to YCbCr and requantized, so no full-size
/// inverse or forward DCT and no colour conversion of full-size pixels is done, and the half-size pixels
/// that 4:2:0 chroma is made from come out as the tile one pyramid level down (`decodeHalf` gives them
/// alone, for copied frames). Entropy decoding is our own for intact single-scan baseline streams (2.4
/// times libjpeg's speed), libjpeg's otherwise. Takes 3-component 8-bit
/// streams (RGB-coded 4:4:4, or YCbCr with luma sampled 1 or 2 times across and down) whose sides are
/// multiples of 16, to 4:2:0 or 4:4:4 (4:4:4 only from full-resolution chroma). Not thread-safe: one per task.
public final class JPEGTranscoder {
    private let handle: OpaquePointer
    public let quality: Int
    public let subsampling: ChromaSubsampling

    /// `libjpegDecoderOnly` sends every stream to libjpeg's entropy decoder instead of ours (for tests,
    /// which compare the two).
    public init(quality: Int = 90, subsampling: ChromaSubsampling = .s420, libjpegDecoderOnly: Bool = false) {
        guard let handle = jpeg_transcoder_create(Int32(quality), Int32(subsampling.rawValue)!) else {
            fatalError("libjpeg could not allocate a transcoder")
        }
        jpeg_transcoder_use_libjpeg_decoder(handle, libjpegDecoderOnly ? 1 : 0)
        self.handle = handle
        self.quality = quality
        self.subsampling = subsampling
    }

    deinit { jpeg_transcoder_destroy(handle) }

    /// Whether this transcoder can produce `subsampling` at all (4:2:2 it cannot).
    public static func supports(_ subsampling: ChromaSubsampling) -> Bool { subsampling != .s422 }

    /// The frame re-encoded; when `half` is given, the frame's pixels at half size (its top-left part, at
    /// most the frame's size halved) are written there. nil, with nothing written, for a stream of a kind
    /// this transcoder does not take: re-encode that one through pixels.
    public func transcode(_ frame: [UInt8], half: PixelBuffer? = nil) throws -> [UInt8]? {
        var output: UnsafePointer<UInt8>?
        var size = 0
        let status = frame.withUnsafeBufferPointer { source in
            jpeg_transcoder_run(handle, source.baseAddress, source.count, &output, &size, half?.base, Int32(half?.pitch ?? 0),
                                Int32(half?.width ?? 0), Int32(half?.height ?? 0))
        }
        return try succeeded(status) ? [UInt8](UnsafeBufferPointer(start: output, count: size)) : nil
    }

    /// Decodes a frame at half size only, into the top-left of `half` (at most the frame's size halved):
    /// the level below a copied frame, without the inverse DCT at full size or TurboJPEG's entropy decoder.
    /// RGB-coded (as Aperio's), YCbCr 4:4:4, 4:2:2 (as NDPI's) and 4:2:0 streams.
    /// false, with nothing written, for a stream of a kind this transcoder does not take, or whose entropy
    /// decoding it would leave to libjpeg (progressive or damaged data): TurboJPEG's scaled
    /// decoding is faster for those.
    public func decodeHalf(_ frame: [UInt8], into half: PixelBuffer) throws -> Bool {
        let status = frame.withUnsafeBufferPointer { source in
            jpeg_transcoder_half(handle, source.baseAddress, source.count, half.base, Int32(half.pitch), Int32(half.width), Int32(half.height))
        }
        return try succeeded(status)
    }

    /// true for JPEG_TRANSCODE_OK, false for a stream not taken; libjpeg's message thrown for an error.
    private func succeeded(_ status: Int32) throws -> Bool {
        switch Int(status) {
        case Int(JPEG_TRANSCODE_OK): return true
        case Int(JPEG_TRANSCODE_UNSUPPORTED): return false
        default: throw CodecError("JPEG", String(cString: jpeg_transcoder_message(handle)))
        }
    }
}
