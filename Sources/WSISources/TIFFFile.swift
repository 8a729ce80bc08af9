import CTIFF
import Foundation
import WSICodecs

/// One TIFF directory (image) as read from its tags.
struct TIFFDirectory: Sendable {
    var index: Int
    var width: Int
    var height: Int
    var isTiled: Bool
    var tileWidth: Int
    var tileHeight: Int
    var compression: Int
    var photometric: Int
    var samplesPerPixel: Int
    var bitsPerSample: Int
    var planarConfig: Int
    var subfileType: UInt32
    var description: String?
    var jpegTables: [UInt8]?

    var tilesAcross: Int { isTiled ? (width + tileWidth - 1) / tileWidth : 1 }
    var tilesDown: Int { isTiled ? (height + tileHeight - 1) / tileHeight : 1 }

    var compressionName: String {
        switch compression {
        case 1: return "none"
        case 5: return "LZW"
        case 7: return "JPEG"
        case 8, 32946: return "deflate"
        case 32773: return "PackBits"
        case 33003: return "JPEG 2000 (YCbCr)"
        case 33005: return "JPEG 2000 (RGB)"
        case 34712: return "JPEG 2000"
        default: return "compression \(compression)"
        }
    }
}

/// An open libtiff handle. libtiff handles are not thread-safe, so every call goes through one lock;
/// libtiff's errors land in a per-handle buffer and come out as `SourceError`s. Stored tile bytes, the
/// hot path of a copy, are read by position from a descriptor of their own instead, by any number of
/// threads at once, from each directory's tile offsets (fetched from libtiff once).
final class TIFFFile: @unchecked Sendable {
    let path: String
    private let handle: OpaquePointer
    private let errors: UnsafeMutablePointer<ctiff_errors>
    private let lock = NSLock()
    private var current = 0
    private let contents: ReadOnlyFile
    /// Each directory's tile offsets and byte counts, once read (under `lock`).
    private var tileLocations: [Int: (offsets: [UInt64], counts: [UInt64])] = [:]
    let directories: [TIFFDirectory]
    let strings: [UInt32: String]

    init(path: String) throws {
        self.path = path
        errors = .allocate(capacity: 1)
        errors.initialize(to: ctiff_errors())
        // "m": no memory mapping, so reading a large slide does not grow our resident memory by its size.
        guard let handle = ctiff_open(path, "rm", errors) else {
            let message = TIFFFile.message(errors)
            errors.deallocate()
            throw SourceError(path, "not a readable TIFF file" + (message.isEmpty ? "" : " (\(message))"))
        }
        self.handle = handle
        do { contents = try ReadOnlyFile(path: path) } catch {
            TIFFClose(handle)
            errors.deallocate()
            throw error
        }
        var directories = [TIFFDirectory]()
        var index = 0
        repeat {
            directories.append(TIFFFile.readDirectory(handle, index: index))
            index += 1
        } while TIFFReadDirectory(handle) == 1 && index < 1000
        self.directories = directories
        TIFFSetDirectory(handle, 0)
        var strings = [UInt32: String]()
        for tag in [TIFFTAG_MAKE, TIFFTAG_MODEL, TIFFTAG_SOFTWARE, TIFFTAG_DATETIME] {
            var value: UnsafePointer<CChar>?
            if ctiff_get_string(handle, UInt32(tag), &value) == 1, let value { strings[UInt32(tag)] = String(cString: value) }
        }
        self.strings = strings
        if directories.isEmpty || directories[0].width <= 0 || directories[0].height <= 0 {
            TIFFClose(handle)
            errors.deallocate()
            throw SourceError(path, "TIFF file has no image")
        }
    }

    deinit {
        TIFFClose(handle)
        errors.deallocate()
    }

    private static func message(_ errors: UnsafeMutablePointer<ctiff_errors>) -> String {
        CString.decode(errors.pointee.message)
    }

    private var lastError: String {
        let text = TIFFFile.message(errors)
        return text.isEmpty ? "unreadable data" : text
    }

    private static func readDirectory(_ t: OpaquePointer, index: Int) -> TIFFDirectory {
        var w: UInt32 = 0, h: UInt32 = 0, tw: UInt32 = 0, th: UInt32 = 0, subfile: UInt32 = 0
        var compression: UInt16 = 1, photometric: UInt16 = 2, spp: UInt16 = 1, bps: UInt16 = 8, planar: UInt16 = 1
        _ = ctiff_get_u32(t, UInt32(TIFFTAG_IMAGEWIDTH), &w)
        _ = ctiff_get_u32(t, UInt32(TIFFTAG_IMAGELENGTH), &h)
        let tiled = TIFFIsTiled(t) != 0
        if tiled {
            _ = ctiff_get_u32(t, UInt32(TIFFTAG_TILEWIDTH), &tw)
            _ = ctiff_get_u32(t, UInt32(TIFFTAG_TILELENGTH), &th)
        }
        _ = ctiff_get_u16_defaulted(t, UInt32(TIFFTAG_COMPRESSION), &compression)
        _ = ctiff_get_u16(t, UInt32(TIFFTAG_PHOTOMETRIC), &photometric)
        _ = ctiff_get_u16_defaulted(t, UInt32(TIFFTAG_SAMPLESPERPIXEL), &spp)
        _ = ctiff_get_u16_defaulted(t, UInt32(TIFFTAG_BITSPERSAMPLE), &bps)
        _ = ctiff_get_u16_defaulted(t, UInt32(TIFFTAG_PLANARCONFIG), &planar)
        _ = ctiff_get_u32(t, UInt32(TIFFTAG_SUBFILETYPE), &subfile)
        var description: UnsafePointer<CChar>?
        let hasDescription = ctiff_get_string(t, UInt32(TIFFTAG_IMAGEDESCRIPTION), &description) == 1
        var tables: [UInt8]?
        var count: UInt32 = 0
        var data: UnsafeRawPointer?
        if compression == 7, ctiff_get_blob(t, UInt32(TIFFTAG_JPEGTABLES), &count, &data) == 1, let data, count > 0 {
            tables = Array(UnsafeRawBufferPointer(start: data, count: Int(count)))
        }
        return TIFFDirectory(index: index, width: Int(w), height: Int(h), isTiled: tiled, tileWidth: Int(tw), tileHeight: Int(th),
                             compression: Int(compression), photometric: Int(photometric), samplesPerPixel: Int(spp),
                             bitsPerSample: Int(bps), planarConfig: Int(planar), subfileType: subfile,
                             description: hasDescription ? description.map { String(cString: $0) } : nil, jpegTables: tables)
    }

    private func select(_ directory: Int) throws {
        if current != directory {
            guard TIFFSetDirectory(handle, UInt32(directory)) == 1 else { throw SourceError(path, "cannot read TIFF directory \(directory): \(lastError)") }
            current = directory
        }
    }

    /// The X/Y resolution in pixels per centimetre, when the file says.
    func resolutionPerCentimetre(directory: Int) -> (Double, Double)? {
        lock.withLock {
            guard (try? select(directory)) != nil else { return nil }
            var x: Float = 0, y: Float = 0, unit: UInt16 = 2
            guard ctiff_get_float(handle, UInt32(TIFFTAG_XRESOLUTION), &x) == 1, ctiff_get_float(handle, UInt32(TIFFTAG_YRESOLUTION), &y) == 1,
                  x > 0, y > 0 else { return nil }
            _ = ctiff_get_u16_defaulted(handle, UInt32(TIFFTAG_RESOLUTIONUNIT), &unit)
            switch unit {
            case 2: return (Double(x) / 2.54, Double(y) / 2.54)
            case 3: return (Double(x), Double(y))
            default: return nil
            }
        }
    }

    func iccProfile(directory: Int) -> [UInt8]? {
        lock.withLock {
            guard (try? select(directory)) != nil else { return nil }
            var count: UInt32 = 0
            var data: UnsafeRawPointer?
            guard ctiff_get_blob(handle, UInt32(TIFFTAG_ICCPROFILE), &count, &data) == 1, let data, count > 0 else { return nil }
            return Array(UnsafeRawBufferPointer(start: data, count: Int(count)))
        }
    }

    /// The stored bytes of one tile; nil where the file has none (a sparse tile).
    func rawTile(directory: Int, index: Int) throws -> [UInt8]? {
        let (offsets, counts) = try locations(directory)
        guard index >= 0 && index < counts.count else { throw SourceError(path, "tile \(index) is not in TIFF directory \(directory)") }
        let size = counts[index]
        if size == 0 { return nil }
        guard size < 64 << 20 else { throw SourceError(path, "tile \(index) claims \(size) bytes") }
        guard offsets[index] < UInt64(Int.max), offsets[index] + size <= UInt64(contents.size) else {
            throw SourceError(path, "tile \(index) is truncated or unreadable: it lies past the end of the file")
        }
        return try contents.read(at: Int(offsets[index]), count: Int(size))
    }

    /// The file's size in bytes.
    var size: Int { contents.size }

    /// A directory's tile offsets and byte counts (see `locations`).
    func tileTable(_ directory: Int) throws -> (offsets: [UInt64], counts: [UInt64]) { try locations(directory) }

    /// A directory's tile offsets and byte counts, read from libtiff the first time they are wanted.
    private func locations(_ directory: Int) throws -> (offsets: [UInt64], counts: [UInt64]) {
        try lock.withLock {
            if let known = tileLocations[directory] { return known }
            try select(directory)
            let count = Int(TIFFIsTiled(handle) != 0 ? TIFFNumberOfTiles(handle) : TIFFNumberOfStrips(handle))
            let offsets = (0..<count).map { TIFFGetStrileOffset(handle, UInt32($0)) }
            let counts = (0..<count).map { TIFFGetStrileByteCount(handle, UInt32($0)) }
            tileLocations[directory] = (offsets, counts)
            return (offsets, counts)
        }
    }

    /// One tile decoded by libtiff itself (for compressions we do not decode ourselves).
    func decodedTile(directory: Int, index: Int) throws -> [UInt8] {
        try lock.withLock {
            try select(directory)
            let size = Int(TIFFTileSize(handle))
            var data = [UInt8](repeating: 0, count: size)
            let read = data.withUnsafeMutableBytes { TIFFReadEncodedTile(handle, UInt32(index), $0.baseAddress, tmsize_t(size)) }
            guard read >= 0 else { throw SourceError(path, "tile \(index) cannot be decoded: \(lastError)") }
            return data
        }
    }

    /// A whole (small) image decoded to RGB by libtiff's RGBA interface: associated images, plain TIFFs.
    func rgbImage(directory: Int) throws -> RGBImage {
        try lock.withLock {
            try select(directory)
            let d = directories[directory]
            try WholeImageLimit.check(width: d.width, height: d.height, path: path, what: "TIFF image \(directory)")
            var raster = [UInt32](repeating: 0, count: d.width * d.height)
            let ok = raster.withUnsafeMutableBufferPointer {
                TIFFReadRGBAImageOriented(handle, UInt32(d.width), UInt32(d.height), $0.baseAddress, ORIENTATION_TOPLEFT, 0)
            }
            guard ok == 1 else { throw SourceError(path, "image \(directory) cannot be decoded: \(lastError)") }
            var pixels = [UInt8](repeating: 255, count: d.width * d.height * 3)
            for i in 0..<raster.count {
                let v = raster[i] // ABGR packed: R in the low byte
                let a = Int(v >> 24)
                let r = Int(v & 0xFF), g = Int(v >> 8 & 0xFF), b = Int(v >> 16 & 0xFF)
                // Composite over white (libtiff's RGBA is associated alpha).
                pixels[3 * i] = UInt8(min(255, r + 255 - a))
                pixels[3 * i + 1] = UInt8(min(255, g + 255 - a))
                pixels[3 * i + 2] = UInt8(min(255, b + 255 - a))
            }
            return RGBImage(width: d.width, height: d.height, pixels: pixels)
        }
    }

    /// The stored bytes of all tiles of a directory (for the compression ratio of copied tiles).
    func totalTileBytes(directory: Int) -> UInt64 {
        guard let (_, counts) = try? locations(directory) else { return 0 }
        return counts.reduce(0, +)
    }

    func tileIndex(directory: Int, col: Int, row: Int) -> Int { row * directories[directory].tilesAcross + col }
}
