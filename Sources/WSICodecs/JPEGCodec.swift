import CJPEGTranscode
import CTurboJPEG

/// Chroma subsampling of a JPEG stream.
public enum ChromaSubsampling: String, Sendable, CaseIterable, Codable {
    case s444 = "444", s422 = "422", s420 = "420"

    var turbo: Int32 {
        switch self {
        case .s444: return Int32(TJSAMP_444.rawValue)
        case .s422: return Int32(TJSAMP_422.rawValue)
        case .s420: return Int32(TJSAMP_420.rawValue)
        }
    }
}

/// What a JPEG stream's header says, without decoding it.
public struct JPEGInfo: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// True when the three components hold R, G, B rather than Y, Cb, Cr.
    public let isRGBCoded: Bool
    public let isGrayscale: Bool
    /// Chroma subsampling of a YCbCr stream (nil for others, such as 4:4:0 or 4:1:1).
    public let subsampling: ChromaSubsampling?
}

/// Decodes JPEG streams with TurboJPEG. Not thread-safe: make one per task.
public final class JPEGDecoder {
    let handle: tjhandle

    public init() {
        guard let handle = tjInitDecompress() else { fatalError("TurboJPEG could not allocate a decompressor") }
        self.handle = handle
    }

    deinit { tjDestroy(handle) }

    var lastError: String { String(cString: tjGetErrorStr2(handle)) }

    public func info(_ data: [UInt8]) throws -> JPEGInfo {
        var w: Int32 = 0, h: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        let status = data.withUnsafeBufferPointer {
            tjDecompressHeader3(handle, $0.baseAddress, UInt(data.count), &w, &h, &subsamp, &colorspace)
        }
        guard status == 0 else { throw CodecError("JPEG", lastError) }
        return JPEGInfo(width: Int(w), height: Int(h), isRGBCoded: colorspace == Int32(TJCS_RGB.rawValue),
                        isGrayscale: colorspace == Int32(TJCS_GRAY.rawValue),
                        subsampling: ChromaSubsampling.allCases.first { $0.turbo == subsamp })
    }

    /// Decodes a complete JPEG stream to RGB.
    public func decode(_ data: [UInt8]) throws -> RGBImage {
        let header = try info(data)
        var image = RGBImage(uninitializedWidth: header.width, height: header.height)
        try image.withPixelBuffer { try decompress(data, into: $0) }
        return image
    }

    /// Decodes a complete stream straight into `destination` when the stream is exactly its size;
    /// returns false (writing nothing) when it is not.
    public func decode(_ data: [UInt8], into destination: PixelBuffer) throws -> Bool {
        let header = try info(data)
        guard header.width == destination.width, header.height == destination.height else { return false }
        try decompress(data, into: destination)
        return true
    }

    /// Decodes a complete stream at half size (the scaled IDCT: far less work than full size, then
    /// halving) straight into `destination`, which must be the stream's size halved (rounded up).
    public func decodeHalf(_ data: [UInt8], into destination: PixelBuffer) throws -> Bool {
        let header = try info(data)
        guard (header.width + 1) / 2 == destination.width, (header.height + 1) / 2 == destination.height else { return false }
        try decompress(data, into: destination)
        return true
    }

    /// Decompresses into `destination`, which TurboJPEG fills at its size (full, or scaled down to it).
    private func decompress(_ data: [UInt8], into destination: PixelBuffer) throws {
        try decompressing(data) { decompressor in
            data.withUnsafeBufferPointer { src in
                tjDecompress2(decompressor, src.baseAddress, UInt(data.count), destination.base, Int32(destination.width),
                              Int32(destination.pitch), Int32(destination.height), Int32(TJPF_RGB.rawValue), 0)
            }
        }
    }

    /// Runs `body` (a TurboJPEG decompression, returning its status) on this decoder's handle, or on a new
    /// one for a stream that leaves out a table or has several scans: a handle keeps its tables from stream
    /// to stream (for abbreviated streams), and such a stream would otherwise be read with the last one's,
    /// what comes out depending on the tiles before it (`jpeg_defines_own_tables`). A fatal error thrown.
    func decompressing(_ data: [UInt8], _ body: (tjhandle) -> Int32) throws {
        let ownTables = data.withUnsafeBufferPointer { jpeg_defines_own_tables($0.baseAddress, $0.count) != 0 }
        guard !ownTables else { return try check(body(handle), handle) }
        guard let fresh = tjInitDecompress() else { throw CodecError("JPEG", "TurboJPEG could not allocate a decompressor") }
        defer { tjDestroy(fresh) }
        try check(body(fresh), fresh)
    }

    /// TurboJPEG returns -1 with a warning for recoverable damage; a fatal error leaves nothing usable.
    func check(_ status: Int32, _ decompressor: tjhandle) throws {
        if status != 0 && tjGetErrorCode(decompressor) == Int32(TJERR_FATAL.rawValue) {
            throw CodecError("JPEG", String(cString: tjGetErrorStr2(decompressor)))
        }
    }
}

/// Encodes RGB images as baseline JPEG (YCbCr) with TurboJPEG. Not thread-safe: make one per task.
public final class JPEGEncoder {
    let handle: tjhandle
    public let quality: Int
    public let subsampling: ChromaSubsampling

    public init(quality: Int = 90, subsampling: ChromaSubsampling = .s420) {
        guard let handle = tjInitCompress() else { fatalError("TurboJPEG could not allocate a compressor") }
        self.handle = handle
        self.quality = quality
        self.subsampling = subsampling
    }

    deinit { tjDestroy(handle) }

    public func encode(_ image: RGBImage) throws -> [UInt8] {
        try image.withReadOnlyPixelBuffer { try encode($0) }
    }

    /// Encodes pixels in place (a window of a larger image), with no copy.
    public func encode(_ source: PixelBuffer) throws -> [UInt8] {
        try compress(width: source.width, height: source.height) { target, size in
            tjCompress2(handle, source.base, Int32(source.width), Int32(source.pitch), Int32(source.height),
                        Int32(TJPF_RGB.rawValue), &target, &size, subsampling.turbo, Int32(quality), TJFLAG_NOREALLOC)
        }
    }

    /// Runs one TurboJPEG compression into a buffer of the largest size a stream of this size can take
    /// (so TJFLAG_NOREALLOC holds) and returns the stream.
    func compress(width: Int, height: Int,
                  _ body: (inout UnsafeMutablePointer<UInt8>?, inout UInt) -> Int32) throws -> [UInt8] {
        let capacity = Int(tjBufSize(Int32(width), Int32(height), subsampling.turbo))
        var size = UInt(capacity)
        var failed = false
        let out = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            var target: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            failed = body(&target, &size) != 0
            count = failed ? 0 : Int(size)
        }
        guard !failed else { throw CodecError("JPEG", String(cString: tjGetErrorStr2(handle))) }
        return out
    }
}
