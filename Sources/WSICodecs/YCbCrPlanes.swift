import CTurboJPEG

/// A JPEG's pixels as its Y, Cb and Cr planes at the stream's chroma subsampling: what re-encoding a
/// YCbCr JPEG needs, with no conversion to RGB and back (for 4:2:0 tiles that conversion and the chroma
/// resampling are about half of TurboJPEG's decoding time).
public struct YCbCrPlanes: Sendable {
    public let width: Int
    public let height: Int
    public let subsampling: ChromaSubsampling
    /// Y, Cb, Cr, each `planeWidths[i]` x `planeHeights[i]` samples, rows packed.
    public var planes: [[UInt8]]
    public let planeWidths: [Int]
    public let planeHeights: [Int]

    init(width: Int, height: Int, subsampling: ChromaSubsampling) {
        self.width = width
        self.height = height
        self.subsampling = subsampling
        let widths = (0..<3).map { Int(tjPlaneWidth(Int32($0), Int32(width), subsampling.turbo)) }
        let heights = (0..<3).map { Int(tjPlaneHeight(Int32($0), Int32(height), subsampling.turbo)) }
        planeWidths = widths
        planeHeights = heights
        planes = (0..<3).map { [UInt8](repeating: 0, count: widths[$0] * heights[$0]) }
    }

    /// Chroma samples per pixel across and down: 4:4:4 (1, 1), 4:2:2 (2, 1), 4:2:0 (2, 2).
    static func factors(_ s: ChromaSubsampling) -> (x: Int, y: Int) {
        switch s {
        case .s444: return (1, 1)
        case .s422: return (2, 1)
        case .s420: return (2, 2)
        }
    }

    /// Whether planes at `source` subsampling can become `target` ones by averaging chroma (no upsampling).
    public static func canConvert(_ source: ChromaSubsampling, to target: ChromaSubsampling) -> Bool {
        let s = factors(source), t = factors(target)
        return t.x >= s.x && t.y >= s.y
    }

    /// The same pixels at `target` subsampling, chroma averaged over the samples each new one covers
    /// (those that exist at the edges); nil when `target` needs finer chroma than these planes hold.
    public func converted(to target: ChromaSubsampling) -> YCbCrPlanes? {
        if target == subsampling { return self }
        guard Self.canConvert(subsampling, to: target) else { return nil }
        let s = Self.factors(subsampling), t = Self.factors(target)
        let rx = t.x / s.x, ry = t.y / s.y
        var out = YCbCrPlanes(width: width, height: height, subsampling: target)
        // Luma is the same samples; only its padding (to whole MCUs, which TurboJPEG's planes include) may
        // grow, by repeating the last column and row.
        let (sw0, sh0, w0, h0) = (planeWidths[0], planeHeights[0], out.planeWidths[0], out.planeHeights[0])
        planes[0].withUnsafeBufferPointer { src in
            out.planes[0].withUnsafeMutableBufferPointer { dst in
                for y in 0..<h0 {
                    let row = src.baseAddress! + min(y, sh0 - 1) * sw0, target = dst.baseAddress! + y * w0
                    target.update(from: row, count: min(sw0, w0))
                    if w0 > sw0 { target.advanced(by: sw0).update(repeating: row[sw0 - 1], count: w0 - sw0) }
                }
            }
        }
        for c in 1..<3 {
            let sw = planeWidths[c], sh = planeHeights[c], w = out.planeWidths[c], h = out.planeHeights[c]
            planes[c].withUnsafeBufferPointer { src in
                out.planes[c].withUnsafeMutableBufferPointer { dst in
                    for y in 0..<h {
                        let y0 = y * ry, y1 = min(sh - 1, y0 + ry - 1)
                        for x in 0..<w {
                            let x0 = x * rx, x1 = min(sw - 1, x0 + rx - 1)
                            var sum = 0
                            for yy in y0...y1 { for xx in x0...x1 { sum += Int(src[yy * sw + xx]) } }
                            let n = (y1 - y0 + 1) * (x1 - x0 + 1)
                            dst[y * w + x] = UInt8((sum + n / 2) / n)
                        }
                    }
                }
            }
        }
        return out
    }
}

extension JPEGDecoder {
    /// Decodes a YCbCr stream of a known subsampling into its planes; nil for RGB-coded, grayscale or
    /// other layouts (decode those to RGB).
    public func decodePlanes(_ data: [UInt8]) throws -> YCbCrPlanes? {
        let header = try info(data)
        guard !header.isRGBCoded, !header.isGrayscale, let subsampling = header.subsampling else { return nil }
        var out = YCbCrPlanes(width: header.width, height: header.height, subsampling: subsampling)
        var strides = out.planeWidths.map { Int32($0) }
        var (luma, blue, red) = (out.planes[0], out.planes[1], out.planes[2])
        out.planes = []
        try decompressing(data) { decompressor in
            luma.withUnsafeMutableBufferPointer { y in
                blue.withUnsafeMutableBufferPointer { cb in
                    red.withUnsafeMutableBufferPointer { cr in
                        var pointers: [UnsafeMutablePointer<UInt8>?] = [y.baseAddress, cb.baseAddress, cr.baseAddress]
                        return data.withUnsafeBufferPointer {
                            tjDecompressToYUVPlanes(decompressor, $0.baseAddress, UInt($0.count), &pointers, Int32(header.width),
                                                    &strides, Int32(header.height), 0)
                        }
                    }
                }
            }
        }
        out.planes = [luma, blue, red]
        return out
    }
}

extension JPEGEncoder {
    /// Encodes planes already at this encoder's subsampling.
    public func encode(_ planes: YCbCrPlanes) throws -> [UInt8] {
        precondition(planes.subsampling == subsampling, "planes must be converted to the encoder's subsampling first")
        var strides = planes.planeWidths.map { Int32($0) }
        return try compress(width: planes.width, height: planes.height) { target, size in
            planes.planes[0].withUnsafeBufferPointer { y in
                planes.planes[1].withUnsafeBufferPointer { cb in
                    planes.planes[2].withUnsafeBufferPointer { cr in
                        var sources: [UnsafePointer<UInt8>?] = [y.baseAddress, cb.baseAddress, cr.baseAddress]
                        return tjCompressFromYUVPlanes(handle, &sources, Int32(planes.width), &strides, Int32(planes.height),
                                                       subsampling.turbo, &target, &size, Int32(quality), TJFLAG_NOREALLOC)
                    }
                }
            }
        }
    }
}
