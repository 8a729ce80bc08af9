import COpenSlide
import COpenSlideCompositing
import CPixelKernels
import Foundation
import WSICodecs

/// Any format OpenSlide reads (NDPI, MRXS, SCN, BIF, VMS, Philips TIFF, ...): regions by
/// `openslide_read_region`, which is thread-safe, so bands are read in parallel chunks.
public final class OpenSlideSource: SlideSource, @unchecked Sendable {
    public let path: String
    public let formatName: String
    private let osr: OpaquePointer
    public let width: Int
    public let height: Int
    public let levels: [SourceLevel]
    public let properties: SourceProperties
    public let associatedImageKinds: [AssociatedImageKind]
    private let associatedNames: [AssociatedImageKind: String]
    /// Whether level-0 reads composite with DEST_OVER (see `readRegion`).
    private let opaqueCompositing: Bool
    /// Set by `SlideOpener` before the source is shared.
    public internal(set) var readerNotes: [String] = []

    /// DICOM Manufacturer by OpenSlide vendor; none for `generic-tiff`, which says nothing of the scanner.
    static let manufacturers = [
        "aperio": "Aperio", "hamamatsu": "Hamamatsu", "leica": "Leica", "mirax": "3DHISTECH", "philips": "Philips",
        "sakura": "Sakura", "trestle": "Trestle", "ventana": "Ventana",
    ]

    /// The vendor OpenSlide detects for `path`, or nil when it does not read it.
    public static func vendor(of path: String) -> String? {
        openslide_detect_vendor(path).map { String(cString: $0) }
    }

    public init(path: String) throws {
        self.path = path
        guard let osr = openslide_open(path) else { throw SourceError(path, "OpenSlide does not recognise this file") }
        if let error = openslide_get_error(osr) {
            let message = String(cString: error)
            openslide_close(osr)
            throw SourceError(path, "OpenSlide cannot read it: \(message)")
        }
        self.osr = osr
        func property(_ name: String) -> String? { openslide_get_property_value(osr, name).map { String(cString: $0) } }
        let vendor = property("openslide.vendor") ?? "unknown"
        formatName = "OpenSlide (\(vendor))"
        opaqueCompositing = Self.placesLevel0TilesAtWholePixels(vendor: vendor)
        var w: Int64 = 0, h: Int64 = 0
        openslide_get_level0_dimensions(osr, &w, &h)
        width = Int(w); height = Int(h)
        var levels = [SourceLevel]()
        for level in 0..<openslide_get_level_count(osr) {
            var lw: Int64 = 0, lh: Int64 = 0
            openslide_get_level_dimensions(osr, level, &lw, &lh)
            let tw = property("openslide.level[\(level)].tile-width").flatMap(Int.init) ?? 0
            let th = property("openslide.level[\(level)].tile-height").flatMap(Int.init) ?? 0
            levels.append(SourceLevel(width: Int(lw), height: Int(lh), tileWidth: tw, tileHeight: th, compression: vendor))
        }
        self.levels = levels
        var properties = SourceProperties()
        properties.mppX = property("openslide.mpp-x").flatMap(Double.init)
        properties.mppY = property("openslide.mpp-y").flatMap(Double.init)
        properties.objectivePower = property("openslide.objective-power").flatMap(Double.init)
        properties.manufacturer = Self.manufacturers[vendor]
        if vendor == "ventana" {
            // The iScan XML's scanner attributes, as OpenSlide copies them.
            properties.modelName = property("ventana.ScannerModel")
            properties.deviceSerialNumber = property("ventana.UnitNumber")
            properties.softwareVersions = property("ventana.BuildVersion")
            properties.barcode = [property("ventana.Barcode1D"), property("ventana.Barcode2D")].compactMap { $0 }.first { !$0.isEmpty }
        }
        if let color = property("openslide.background-color"), color.count == 6, let value = Int(color, radix: 16) {
            properties.background = RGB(UInt8(value >> 16), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF))
        }
        self.properties = properties
        var names = [AssociatedImageKind: String]()
        if let list = openslide_get_associated_image_names(osr) {
            var i = 0
            while let name = list[i] {
                let text = String(cString: name)
                switch text {
                case "label": names[.label] = text
                case "macro": names[.overview] = text
                case "thumbnail": names[.thumbnail] = text
                default: break
                }
                i += 1
            }
        }
        associatedNames = names
        associatedImageKinds = AssociatedImageKind.allCases.filter { names[$0] != nil }
    }

    deinit { openslide_close(osr) }

    private func failIfBroken() throws {
        if let error = openslide_get_error(osr) { throw SourceError(path, "OpenSlide: \(String(cString: error))") }
    }

    public func associatedImage(_ kind: AssociatedImageKind) throws -> RGBImage {
        guard let name = associatedNames[kind] else { throw SourceError(path, "no \(kind.rawValue) image") }
        var w: Int64 = 0, h: Int64 = 0
        openslide_get_associated_image_dimensions(osr, name, &w, &h)
        guard w > 0, h > 0 else { throw SourceError(path, "unreadable \(kind.rawValue) image") }
        var argb = [UInt32](repeating: 0, count: Int(w * h))
        argb.withUnsafeMutableBufferPointer { openslide_read_associated_image(osr, name, $0.baseAddress) }
        try failIfBroken()
        return unpack(argb, width: Int(w), height: Int(h))
    }

    /// Premultiplied ARGB to RGB over the background colour.
    func unpack(_ argb: [UInt32], width: Int, height: Int) -> RGBImage {
        let bg = properties.background
        let pixels = [UInt8](unsafeUninitializedCapacity: width * height * 3) { buffer, count in
            argb.withUnsafeBufferPointer { pixel_argb_over_rgb($0.baseAddress, buffer.baseAddress, argb.count, bg.r, bg.g, bg.b) }
            count = width * height * 3
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// OpenSlide 3.4's formats whose level-0 tiles sit at whole-pixel positions, so that every pixel they
    /// paint there is opaque or transparent and DEST_OVER gives SATURATE's bytes. Not Ventana (BIF): its
    /// tiles advance by the tile size less the average of its tile joints' overlaps, a fraction of a
    /// pixel, and where two tiles' antialiased edges meet the two operators differ.
    static func placesLevel0TilesAtWholePixels(vendor: String) -> Bool {
        ["aperio", "generic-tiff", "hamamatsu", "leica", "mirax", "philips", "sakura", "trestle"].contains(vendor)
    }

    /// Level-0 pixels. Where every tile OpenSlide paints sits at a whole-pixel position, its pixels are
    /// opaque or transparent, so the regions are composited with DEST_OVER instead of SATURATE: the
    /// same bytes, at a third of the cost (`OpenSlideCompositing`).
    public func readRegion(x: Int, y: Int, width: Int, height: Int, threads: Int) throws -> RGBImage {
        let chunk = 512
        let across = (width + chunk - 1) / chunk
        let parts = try Parallel.map(across, threads: threads) { i -> RGBImage in
            let w = min(chunk, width - i * chunk)
            let argb = self.readARGB(x: x + i * chunk, y: y, width: w, height: height, opaqueCompositing: self.opaqueCompositing)
            try self.failIfBroken()
            return self.unpack(argb, width: w, height: height)
        }
        var out = RGBImage(width: width, height: height, fill: properties.background)
        for (i, part) in parts.enumerated() { out.paste(part, atX: i * chunk, y: 0) }
        return out
    }

    /// Whether OpenSlide's calls to `cairo_set_operator` have reached our interposer, so that level-0
    /// reads composite through the 8-bit path (known once a region has been read).
    static var opaqueCompositingInterposed: Bool { openslide_compositing_is_interposed() != 0 }

    /// One level-0 region as OpenSlide's premultiplied ARGB, composited with DEST_OVER or with OpenSlide's
    /// own SATURATE (the tests compare the two).
    func readARGB(x: Int, y: Int, width: Int, height: Int, opaqueCompositing: Bool) -> [UInt32] {
        [UInt32](unsafeUninitializedCapacity: width * height) { buffer, count in
            let previous = openslide_compositing_set_opaque(opaqueCompositing ? 1 : 0)
            openslide_read_region(osr, buffer.baseAddress, Int64(x), Int64(y), 0, Int64(width), Int64(height))
            openslide_compositing_set_opaque(previous)
            count = width * height
        }
    }

    public var rawTiles: (any RawTileSource)? { nil }
}
