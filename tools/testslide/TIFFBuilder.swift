import CTIFF
import Foundation
import WSICodecs

/// Writes TIFF files directory by directory with libtiff, for the test-slide generator.
final class TIFFBuilder {
    enum Encoding {
        /// libtiff's JPEG codec: abbreviated tiles sharing JPEGTables, components RGB or YCbCr.
        case jpeg(quality: Int, ycbcr: Bool)
        case none
        case lzw
        /// Raw codestreams we encode, under an Aperio compression tag (33005: RGB components).
        case jpeg2000(tag: Int, ratio: Double)
        /// Raw bytes under a compression tag nobody decodes.
        case opaque(tag: Int)
    }

    let path: String
    private let tiff: OpaquePointer
    private var errors = UnsafeMutablePointer<ctiff_errors>.allocate(capacity: 1)

    init(path: String, bigTIFF: Bool = false) throws {
        self.path = path
        errors.initialize(to: ctiff_errors())
        guard let t = ctiff_open(path, bigTIFF ? "w8" : "w", errors) else { throw CodecError("TIFF", "cannot create \(path)") }
        tiff = t
    }

    deinit { errors.deallocate() }

    private func fail(_ what: String) -> CodecError {
        let message = CString.decode(errors.pointee.message)
        return CodecError("TIFF", "\(what): \(message)")
    }

    private func setCommon(width: Int, height: Int, encoding: Encoding, description: String?, subfileType: UInt32, mpp: Double?,
                           software: String? = nil, xmlPacket: String? = nil) {
        _ = ctiff_set_u32(tiff, UInt32(TIFFTAG_IMAGEWIDTH), UInt32(width))
        _ = ctiff_set_u32(tiff, UInt32(TIFFTAG_IMAGELENGTH), UInt32(height))
        _ = ctiff_set_u16(tiff, UInt32(TIFFTAG_BITSPERSAMPLE), 8)
        _ = ctiff_set_u16(tiff, UInt32(TIFFTAG_SAMPLESPERPIXEL), 3)
        _ = ctiff_set_u16(tiff, UInt32(TIFFTAG_PLANARCONFIG), UInt16(PLANARCONFIG_CONTIG))
        _ = ctiff_set_u32(tiff, UInt32(TIFFTAG_SUBFILETYPE), subfileType)
        if let description { _ = ctiff_set_string(tiff, UInt32(TIFFTAG_IMAGEDESCRIPTION), description) }
        if let software { _ = ctiff_set_string(tiff, UInt32(TIFFTAG_SOFTWARE), software) }
        if let xmlPacket {
            let bytes = Array(xmlPacket.utf8)
            _ = ctiff_set_blob(tiff, UInt32(TIFFTAG_XMLPACKET), UInt32(bytes.count), bytes)
        }
        if let mpp {
            _ = ctiff_set_u16(tiff, UInt32(TIFFTAG_RESOLUTIONUNIT), UInt16(RESUNIT_CENTIMETER))
            _ = ctiff_set_float(tiff, UInt32(TIFFTAG_XRESOLUTION), Float(10_000 / mpp))
            _ = ctiff_set_float(tiff, UInt32(TIFFTAG_YRESOLUTION), Float(10_000 / mpp))
        }
        switch encoding {
        case .jpeg(let quality, let ycbcr):
            _ = ctiff_set_u16(tiff, UInt32(TIFFTAG_COMPRESSION), UInt16(COMPRESSION_JPEG))
            _ = ctiff_set_u16(tiff, UInt32(TIFFTAG_PHOTOMETRIC), UInt16(ycbcr ? PHOTOMETRIC_YCBCR : PHOTOMETRIC_RGB))
            if ycbcr {
                _ = ctiff_set_subsampling(tiff, 2, 2)
                _ = ctiff_set_int(tiff, UInt32(TIFFTAG_JPEGCOLORMODE), Int32(JPEGCOLORMODE_RGB))
            }
            _ = ctiff_set_int(tiff, UInt32(TIFFTAG_JPEGQUALITY), Int32(quality))
        case .none:
            _ = ctiff_set_u16(tiff, UInt32(TIFFTAG_COMPRESSION), UInt16(COMPRESSION_NONE))
            _ = ctiff_set_u16(tiff, UInt32(TIFFTAG_PHOTOMETRIC), UInt16(PHOTOMETRIC_RGB))
        case .lzw:
            _ = ctiff_set_u16(tiff, UInt32(TIFFTAG_COMPRESSION), UInt16(COMPRESSION_LZW))
            _ = ctiff_set_u16(tiff, UInt32(TIFFTAG_PHOTOMETRIC), UInt16(PHOTOMETRIC_RGB))
        case .jpeg2000(let tag, _), .opaque(let tag):
            _ = ctiff_set_u16(tiff, UInt32(TIFFTAG_COMPRESSION), UInt16(tag))
            _ = ctiff_set_u16(tiff, UInt32(TIFFTAG_PHOTOMETRIC), UInt16(PHOTOMETRIC_RGB))
        }
    }

    /// One tiled directory; `paint` gives each tile's pixels (rows painted in parallel, written in order).
    /// Tiles `sparse` names are left out (offset and byte count 0), as scanners leave out unscanned areas.
    func addTiled(width: Int, height: Int, tile: Int, encoding: Encoding, description: String?, subfileType: UInt32 = 0,
                  mpp: Double? = nil, software: String? = nil, xmlPacket: String? = nil, corruptTile: Int? = nil,
                  replaceTile: (index: Int, bytes: [UInt8]?)? = nil,
                  sparse: (_ col: Int, _ row: Int) -> Bool = { _, _ in false }, paint: @escaping @Sendable (_ col: Int, _ row: Int) -> RGBImage) throws {
        setCommon(width: width, height: height, encoding: encoding, description: description, subfileType: subfileType, mpp: mpp,
                  software: software, xmlPacket: xmlPacket)
        _ = ctiff_set_u32(tiff, UInt32(TIFFTAG_TILEWIDTH), UInt32(tile))
        _ = ctiff_set_u32(tiff, UInt32(TIFFTAG_TILELENGTH), UInt32(tile))
        let across = (width + tile - 1) / tile, down = (height + tile - 1) / tile
        for row in 0..<down {
            // Sparse tiles are never painted: a declared size of millions of tiles stays quick to write.
            let skipped = (0..<across).map { sparse($0, row) }
            let tiles = try Parallel.map(across, threads: Parallel.coreCount) { col -> [UInt8] in
                if skipped[col] { return [] }
                let image = paint(col, row)
                switch encoding {
                case .jpeg2000(_, let ratio): return try JPEG2000Codec.encode(image, ratio: ratio)
                case .opaque: return Array(image.pixels.prefix(4096))
                default: return image.pixels
                }
            }
            for (col, data) in tiles.enumerated() where !skipped[col] {
                let index = UInt32(row * across + col)
                // A tile stored as given (any stream, of any size), or left out (byte count 0).
                if let replaceTile, replaceTile.index == Int(index) {
                    guard var raw = replaceTile.bytes else { continue }
                    guard raw.withUnsafeMutableBytes({ TIFFWriteRawTile(tiff, index, $0.baseAddress, tmsize_t($0.count)) }) >= 0 else {
                        throw fail("writing tile \(index)")
                    }
                    continue
                }
                var bytes = data
                if corruptTile == Int(index) {
                    // A tile whose stream is garbage from its first byte: no decoder can take it.
                    bytes = (0..<max(64, bytes.count / 8)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
                }
                let written: tmsize_t
                switch encoding {
                case .jpeg2000, .opaque:
                    written = bytes.withUnsafeMutableBytes { TIFFWriteRawTile(tiff, index, $0.baseAddress, tmsize_t($0.count)) }
                default:
                    if corruptTile == Int(index) {
                        written = bytes.withUnsafeMutableBytes { TIFFWriteRawTile(tiff, index, $0.baseAddress, tmsize_t($0.count)) }
                    } else {
                        written = bytes.withUnsafeMutableBytes { TIFFWriteEncodedTile(tiff, index, $0.baseAddress, tmsize_t($0.count)) }
                    }
                }
                guard written >= 0 else { throw fail("writing tile \(index)") }
            }
        }
        guard TIFFWriteDirectory(tiff) == 1 else { throw fail("writing directory") }
    }

    /// One stripped directory holding a whole image (thumbnails, labels, macros, plain TIFFs).
    func addStripped(_ image: RGBImage, encoding: Encoding, description: String?, subfileType: UInt32 = 0, mpp: Double? = nil,
                     xmlPacket: String? = nil) throws {
        setCommon(width: image.width, height: image.height, encoding: encoding, description: description, subfileType: subfileType, mpp: mpp,
                  xmlPacket: xmlPacket)
        let rowsPerStrip = 16
        _ = ctiff_set_u32(tiff, UInt32(TIFFTAG_ROWSPERSTRIP), UInt32(rowsPerStrip))
        let strips = (image.height + rowsPerStrip - 1) / rowsPerStrip
        for strip in 0..<strips {
            let rows = min(rowsPerStrip, image.height - strip * rowsPerStrip)
            var bytes = Array(image.pixels[(strip * rowsPerStrip * image.width * 3)..<((strip * rowsPerStrip + rows) * image.width * 3)])
            let written = bytes.withUnsafeMutableBytes { TIFFWriteEncodedStrip(tiff, UInt32(strip), $0.baseAddress, tmsize_t($0.count)) }
            guard written >= 0 else { throw fail("writing strip \(strip)") }
        }
        guard TIFFWriteDirectory(tiff) == 1 else { throw fail("writing directory") }
    }

    func close() { TIFFClose(tiff) }
}
