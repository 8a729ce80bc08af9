import Foundation
import WSICodecs

/// Philips TIFF, as Philips' image management exports it: tiled JPEG (YCbCr, shared JPEGTables) in
/// 2x levels, each level's size rounded up to whole tiles, tiles of unscanned areas left out (sparse),
/// and the slide described by an XML document in the first ImageDescription (root `DataObject` of type
/// `DPUfsImport`, DICOM-named attributes, a pixel spacing in millimetres for each level). The label
/// is a base64 JPEG inside that XML, the macro a TIFF directory described "Macro"; Software starts
/// with "Philips", which OpenSlide looks for first.
enum PhilipsWriter {
    static func write(to path: String, painter: TissuePainter, width: Int, height: Int, tile: Int, mpp: Double, quality: Int,
                      label: RGBImage, macro: RGBImage, nesting: Int = 0) throws {
        let across = (width + tile - 1) / tile, down = (height + tile - 1) / tile
        // Level-0 pixels the scanner left out: the right half of the last row of tiles.
        let unscanned = (x: across / 2 * tile, y: (down - 1) * tile)
        let inUnscanned: @Sendable (Int, Int) -> Bool = { x, y in x >= unscanned.x && y >= unscanned.y }

        var levels: [(width: Int, height: Int, downsample: Int)] = []
        var downsample = 1
        repeat {
            let w = (across * tile + downsample - 1) / downsample, h = (down * tile + downsample - 1) / downsample
            levels.append(((w + tile - 1) / tile * tile, (h + tile - 1) / tile * tile, downsample))
            downsample *= 2
        } while levels.last!.width > tile || levels.last!.height > tile

        let builder = try TIFFBuilder(path: path, bigTIFF: true)
        for (index, level) in levels.enumerated() {
            let ds = level.downsample
            try builder.addTiled(
                width: level.width, height: level.height, tile: tile, encoding: .jpeg(quality: quality, ycbcr: true),
                description: index == 0 ? description(levels: levels, width: width, height: height, mpp: mpp, quality: quality, label: label, nesting: nesting) : nil,
                subfileType: index == 0 ? 0 : 1, software: index == 0 ? "Philips DP v1.0" : nil,
                // A tile is left out where all of it lies in the unscanned area.
                sparse: { col, row in inUnscanned(col * tile * ds, row * tile * ds) }
            ) { col, row in
                var image = painter.paint(x: col * tile, y: row * tile, width: tile, height: tile, downsample: ds)
                // Lower levels show the unscanned area as the background, as level 0 reads.
                guard inUnscanned((col + 1) * tile * ds - 1, (row + 1) * tile * ds - 1) else { return image }
                for y in 0..<tile {
                    for x in 0..<tile where inUnscanned((col * tile + x) * ds, (row * tile + y) * ds) {
                        image.pixels.replaceSubrange((y * tile + x) * 3..<(y * tile + x) * 3 + 3, with: [255, 255, 255])
                    }
                }
                return image
            }
        }
        try builder.addStripped(macro, encoding: .jpeg(quality: 90, ycbcr: false), description: "Macro")
        builder.close()
    }

    private static func description(levels: [(width: Int, height: Int, downsample: Int)], width: Int, height: Int, mpp: Double,
                                    quality: Int, label: RGBImage, nesting: Int) throws -> String {
        func attribute(_ name: String, _ value: String, _ vr: String = "IString") -> String {
            "<Attribute Name=\"\(name)\" PMSVR=\"\(vr)\">\(value)</Attribute>"
        }
        func spacing(_ ds: Int) -> String {
            let mm = String(format: "%.9g", mpp * Double(ds) / 1000)
            return attribute("DICOM_PIXEL_SPACING", "&quot;\(mm)&quot; &quot;\(mm)&quot;", "IDoubleArray")
        }
        let representations = levels.enumerated().map { index, level in
            """
            <DataObject ObjectType="PixelDataRepresentation">\(spacing(level.downsample))\
            \(attribute("PIIM_PIXEL_DATA_REPRESENTATION_COLUMNS", String(level.width), "IUInt32"))\
            \(attribute("PIIM_PIXEL_DATA_REPRESENTATION_NUMBER", String(index), "IUInt32"))\
            \(attribute("PIIM_PIXEL_DATA_REPRESENTATION_ROWS", String(level.height), "IUInt32"))</DataObject>
            """
        }.joined()
        let labelJPEG = try Data(JPEGEncoder(quality: 90).encode(label)).base64EncodedString()
        return """
            <?xml version="1.0" encoding="UTF-8" ?>
            <DataObject ObjectType="DPUfsImport">
            \(attribute("DICOM_ACQUISITION_DATETIME", "20261124101530.000000"))
            \(attribute("DICOM_MANUFACTURER", "PHILIPS"))
            \(attribute("DICOM_DEVICE_SERIAL_NUMBER", "FMT0042"))
            \(attribute("DICOM_SOFTWARE_VERSIONS", "&quot;1.8.6824&quot; &quot;20180906_R51&quot;", "IStringArray"))
            \(attribute("DICOM_MODEL_NAME", "UFS"))
            \(attribute("PIM_DP_UFS_BARCODE", Data("PH-2026-0042".utf8).base64EncodedString()))
            <Attribute Name="PIM_DP_SCANNED_IMAGES" PMSVR="IDataObjectArray"><Array>
            <DataObject ObjectType="DPScannedImage">\
            \(attribute("DICOM_DERIVATION_DESCRIPTION", "tiff-useBigTIFF=1-useRgb=0-levels=\(levels.count)-q\(quality)"))\
            \(attribute("DICOM_LOSSY_IMAGE_COMPRESSION", "01"))\
            \(spacing(1))\
            \(attribute("PIM_DP_IMAGE_TYPE", "WSI"))\
            \(attribute("PIM_DP_IMAGE_COLUMNS", String(width), "IUInt32"))\
            \(attribute("PIM_DP_IMAGE_ROWS", String(height), "IUInt32"))\
            <Attribute Name="PIIM_PIXEL_DATA_REPRESENTATION_SEQUENCE" PMSVR="IDataObjectArray"><Array>\(representations)</Array></Attribute>\
            </DataObject>
            <DataObject ObjectType="DPScannedImage">\
            \(attribute("PIM_DP_IMAGE_TYPE", "LABELIMAGE"))\
            \(attribute("PIM_DP_IMAGE_DATA", labelJPEG))\
            </DataObject>
            </Array></Attribute>\(String(repeating: "<Nested>", count: nesting) + String(repeating: "</Nested>", count: nesting))
            </DataObject>
            """
    }
}
