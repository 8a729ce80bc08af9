import COpenJPEG
import Glibc

/// What a JPEG 2000 codestream's main header says about its colour transform and wavelet.
public struct JPEG2000Info: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let components: Int
    /// Multiple component transform on (RCT with the reversible wavelet, ICT with the irreversible one).
    public let usesColorTransform: Bool
    /// 5-3 reversible wavelet (lossless capable) rather than 9-7 irreversible.
    public let isReversible: Bool
    /// How many times the wavelet halves the image (so how many lower resolutions can be decoded alone).
    public let decompositionLevels: Int

    /// Reads SIZ and COD from a raw codestream (SOC first); nil when it is not one.
    public init?(codestream data: [UInt8]) {
        guard data.count > 4, data[0] == 0xFF, data[1] == 0x4F else { return nil }
        var i = 2
        var size: (Int, Int, Int)?
        var cod: (Bool, Bool, Int)?
        while i + 4 <= data.count, size == nil || cod == nil {
            guard data[i] == 0xFF else { return nil }
            let marker = data[i + 1]
            let length = Int(data[i + 2]) << 8 | Int(data[i + 3])
            if marker == 0x90 || marker == 0x93 { break } // SOT / SOD: main header over
            let body = i + 4
            if marker == 0x51, body + 34 <= data.count { // SIZ
                func u32(_ o: Int) -> Int { Int(data[o]) << 24 | Int(data[o + 1]) << 16 | Int(data[o + 2]) << 8 | Int(data[o + 3]) }
                let width = u32(body + 2) - u32(body + 10), height = u32(body + 6) - u32(body + 14)
                let comps = Int(data[body + 34]) << 8 | Int(data[body + 35])
                size = (width, height, comps)
            } else if marker == 0x52, body + 9 <= data.count { // COD: Scod, SGcod (4), SPcod (transform at +8)
                cod = (data[body + 4] != 0, data[body + 9] == 1, Int(data[body + 5]))
            }
            i += 2 + length
        }
        guard let size, let cod else { return nil }
        width = size.0; height = size.1; components = size.2
        usesColorTransform = cod.0
        isReversible = cod.1
        decompositionLevels = cod.2
    }
}

/// JPEG 2000 encode and decode through OpenJPEG. Stateless: safe to use from any task.
public enum JPEG2000Codec {
    /// Decodes a raw codestream (or JP2 file) to interleaved components, upsampled to full size; with
    /// `halfSize`, at the wavelet's next lower resolution (half the size, rounded up), not decoding the finest.
    public static func decodeComponents(_ data: [UInt8], halfSize: Bool = false) throws -> (width: Int, height: Int, components: Int, samples: [UInt8]) {
        var errors = copj_errors()
        var out: UnsafeMutablePointer<UInt8>?
        var w: Int32 = 0, h: Int32 = 0, n: Int32 = 0
        let status = data.withUnsafeBufferPointer { copj_decode($0.baseAddress, data.count, halfSize ? 1 : 0, &out, &w, &h, &n, &errors) }
        guard status == 0, let out else { throw failure(errors, "cannot decode codestream") }
        defer { free(out) }
        let count = Int(w) * Int(h) * Int(n)
        return (Int(w), Int(h), Int(n), Array(UnsafeBufferPointer(start: out, count: count)))
    }

    /// Decodes to RGB; `ycbcr` says the components are Y, Cb, Cr without a codestream colour transform
    /// (Aperio compression 33003). `halfSize`: see `decodeComponents`; a codestream without a wavelet
    /// decomposition to drop is decoded whole and halved (2x2 averages).
    public static func decode(_ data: [UInt8], ycbcr: Bool = false, halfSize: Bool = false) throws -> RGBImage {
        if halfSize {
            // (A tile-part header may give fewer levels than the main header says: decode it whole then.)
            if let info = JPEG2000Info(codestream: data), info.decompositionLevels > 0, let half = try? decode(data, ycbcr: ycbcr, reduced: true) {
                return half
            }
            return Downsample.half(try decode(data, ycbcr: ycbcr))
        }
        return try decode(data, ycbcr: ycbcr, reduced: false)
    }

    private static func decode(_ data: [UInt8], ycbcr: Bool, reduced: Bool) throws -> RGBImage {
        let decoded = try decodeComponents(data, halfSize: reduced)
        let (w, h, n) = (decoded.width, decoded.height, decoded.components)
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        decoded.samples.withUnsafeBufferPointer { s in
            for i in 0..<(w * h) {
                if n >= 3 {
                    var r = Int(s[i * n]), g = Int(s[i * n + 1]), b = Int(s[i * n + 2])
                    if ycbcr {
                        let y = Double(r), cb = Double(g) - 128, cr = Double(b) - 128
                        r = Int((y + 1.402 * cr).rounded()); g = Int((y - 0.344136 * cb - 0.714136 * cr).rounded())
                        b = Int((y + 1.772 * cb).rounded())
                    }
                    rgb[i * 3] = UInt8(clamping: r); rgb[i * 3 + 1] = UInt8(clamping: g); rgb[i * 3 + 2] = UInt8(clamping: b)
                } else {
                    let v = s[i * n]
                    rgb[i * 3] = v; rgb[i * 3 + 1] = v; rgb[i * 3 + 2] = v
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: rgb)
    }

    /// Encodes as a raw J2K codestream: lossless (reversible, RCT) when `ratio` is nil, else irreversible
    /// (ICT) at that compression ratio.
    public static func encode(_ image: RGBImage, ratio: Double?) throws -> [UInt8] {
        var errors = copj_errors()
        var writer = copj_writer()
        defer { free(writer.data) }
        let status = image.pixels.withUnsafeBufferPointer {
            copj_encode($0.baseAddress, Int32(image.width), Int32(image.height), 3, Float(ratio ?? 0), &writer, &errors)
        }
        guard status == 0, let data = writer.data else { throw failure(errors, "cannot encode") }
        return Array(UnsafeBufferPointer(start: data, count: writer.size))
    }

    /// OpenJPEG's first error message, or `fallback` when it said nothing.
    private static func failure(_ errors: copj_errors, _ fallback: String) -> CodecError {
        let message = CString.decode(errors.message)
        return CodecError("JPEG 2000", message.isEmpty ? fallback : message)
    }
}
