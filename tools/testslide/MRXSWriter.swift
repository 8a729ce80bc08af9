import Foundation
import WSICodecs

/// 3DHistech MIRAX (MRXS): `slide.mrxs` beside a folder `slide/` holding `Slidedat.ini` (an INI file of
/// the slide's layers), `Index.dat` (pointers to every image, by zoom level) and `Data0000.dat` (the
/// JPEGs, one after another). Level 0 is a grid of camera images that overlap their neighbours by a few
/// pixels, each placed by the position buffer (a non-hierarchical record) a little off the nominal grid,
/// as a stage places them; images over unscanned glass are left out. Each lower zoom level's image is
/// 2 x 2 images of the level above, placed edge to edge and halved, as the scanner builds them. OpenSlide
/// composites the level-0 images at their positions (the first painted keeping overlapped pixels); here
/// every image shows the slide at its own position, so what it composites is the slide itself.
enum MRXSWriter {
    static let imageSide = 256
    static let overlap = 8
    static let slideID = "5f3a2b1c9d8e4f607182930a1b2c3d4e"

    /// Camera positions in the top-left corner that were not scanned (no image at any level).
    static func scanned(_ column: Int, _ row: Int) -> Bool { !(column < 3 && row < 2) }

    /// Where the stage put camera image (column, row): the nominal grid plus a small deterministic offset.
    static func position(_ column: Int, _ row: Int) -> (x: Int, y: Int) {
        let advance = imageSide - overlap
        func jitter(_ salt: Int) -> Int { Int(UInt64(truncatingIfNeeded: (column &* 73_856_093) ^ (row &* 19_349_663) ^ salt) % 7) - 3 }
        return (max(0, column * advance + (column == 0 ? 0 : jitter(1))), max(0, row * advance + (row == 0 ? 0 : jitter(2))))
    }

    static func write(to path: String, painter: TissuePainter, width: Int, height: Int, mpp: Double, quality: Int,
                      label: RGBImage, macro: RGBImage) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingPathExtension()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let advance = imageSide - overlap
        // OpenSlide's level 0 is the images edge to edge less the overlaps: at most the size asked for.
        let across = max(1, (width - overlap) / advance), down = max(1, (height - overlap) / advance)
        var levels = 1
        while (1 << levels) < max(across, down) && imageSide >> levels >= 8 { levels += 1 }

        var data = Data((MIRAXHeader.version + slideID).utf8)
        func append(_ bytes: [UInt8]) -> (offset: Int32, length: Int32) {
            let offset = Int32(data.count)
            data.append(contentsOf: bytes)
            return (offset, Int32(bytes.count))
        }
        let encoder = JPEGEncoder(quality: quality)
        // Per zoom level, its images: (index in the level-0 grid, offset, length).
        var records: [[(index: Int32, offset: Int32, length: Int32)]] = []
        for level in 0..<levels {
            let step = 1 << level, side = imageSide >> level
            var list: [(index: Int32, offset: Int32, length: Int32)] = []
            for row in stride(from: 0, to: down, by: step) {
                let columns = Array(stride(from: 0, to: across, by: step))
                let images = try Parallel.map(columns.count, threads: ProcessInfo.processInfo.activeProcessorCount) { i in
                    try image(column: columns[i], row: row, step: step, side: side, across: across, down: down, painter: painter, quality: quality)
                }
                for (i, column) in columns.enumerated() {
                    guard !images[i].isEmpty else { continue }  // nothing scanned under this image
                    let (offset, length) = append(images[i])
                    list.append((Int32(row * across + column), offset, length))
                }
            }
            records.append(list)
        }
        // Non-hierarchical records: macro, label, thumbnail (JPEG), then the position buffer (9 bytes a camera
        // position: a flag, then x and y, little-endian).
        let thumbnail = painter.paint(x: 0, y: 0, width: width / max(1, width / 512), height: height / max(1, width / 512),
                                      downsample: max(1, width / 512))
        var positions = [UInt8]()
        for row in 0..<down {
            for column in 0..<across {
                let p = position(column, row)
                positions.append(scanned(column, row) ? 1 : 0)
                positions += MIRAXHeader.le(Int32(p.x)) + MIRAXHeader.le(Int32(p.y))
            }
        }
        let nonHierarchical = [append(try encoder.encode(macro)), append(try encoder.encode(label)), append(try encoder.encode(thumbnail)),
                               append(positions)]
        try data.write(to: folder.appendingPathComponent("Data0000.dat"))
        try MIRAXHeader.index(levels: records, nonHierarchical: nonHierarchical).write(to: folder.appendingPathComponent("Index.dat"))
        try Data(slidedat(across: across, down: down, levels: levels, mpp: mpp).utf8).write(to: folder.appendingPathComponent("Slidedat.ini"))
        try Data("MIRAX slide \(slideID)\n".utf8).write(to: url)
    }

    /// Zoom level `log2(step)`'s image at (column, row) of the level-0 grid: `step` x `step` camera images
    /// edge to edge, each showing the slide at its own position, halved down to `side` pixels apiece.
    /// Empty when none of them was scanned.
    private static func image(column: Int, row: Int, step: Int, side: Int, across: Int, down: Int,
                              painter: TissuePainter, quality: Int) throws -> [UInt8] {
        let canvas = painter.mosaic(tile: imageSide, side: side, step: step) { dx, dy in
            column + dx < across && row + dy < down && scanned(column + dx, row + dy) ? position(column + dx, row + dy) : nil
        }
        return try canvas.map { try JPEGEncoder(quality: quality).encode($0) } ?? []
    }

    private static func slidedat(across: Int, down: Int, levels: Int, mpp: Double) -> String {
        var lines = [
            "[GENERAL]", "SLIDE_VERSION=01.02", "SLIDE_ID=\(slideID)", "SLIDE_NAME=synthetic", "IMAGENUMBER_X=\(across)",
            "IMAGENUMBER_Y=\(down)", "OBJECTIVE_MAGNIFICATION=\(Int(10 / mpp / 2))", "CameraImageDivisionsPerSide=1",
            "", "[HIERARCHICAL]", "INDEXFILE=Index.dat", "HIER_COUNT=1", "HIER_0_NAME=Slide zoom level", "HIER_0_COUNT=\(levels)",
        ]
        for level in 0..<levels {
            lines += ["HIER_0_VAL_\(level)=ZoomLevel_\(level)", "HIER_0_VAL_\(level)_SECTION=LAYER_0_LEVEL_\(level)_SECTION"]
        }
        lines += [
            "NONHIER_COUNT=2", "NONHIER_0_NAME=Scan data layer", "NONHIER_0_COUNT=3",
            "NONHIER_0_VAL_0=ScanDataLayer_SlideThumbnail", "NONHIER_0_VAL_0_SECTION=NONHIERLAYER_0_LEVEL_0_SECTION",
            "NONHIER_0_VAL_1=ScanDataLayer_SlideBarcode", "NONHIER_0_VAL_1_SECTION=NONHIERLAYER_0_LEVEL_1_SECTION",
            "NONHIER_0_VAL_2=ScanDataLayer_SlidePreview", "NONHIER_0_VAL_2_SECTION=NONHIERLAYER_0_LEVEL_2_SECTION",
            "NONHIER_1_NAME=VIMSLIDE_POSITION_BUFFER", "NONHIER_1_COUNT=1",
            "NONHIER_1_VAL_0=default", "NONHIER_1_VAL_0_SECTION=NONHIERLAYER_1_LEVEL_0_SECTION",
            "", "[DATAFILE]", "FILE_COUNT=1", "FILE_0=Data0000.dat",
        ]
        for level in 0..<levels {
            let scale = Double(1 << level)
            lines += [
                "", "[LAYER_0_LEVEL_\(level)_SECTION]", "IMAGE_FORMAT=JPEG", "IMAGE_FILL_COLOR_BGR=16777215",
                "DIGITIZER_WIDTH=\(imageSide)", "DIGITIZER_HEIGHT=\(imageSide)", "IMAGE_CONCAT_FACTOR=\(level == 0 ? 0 : 1)",
                "OVERLAP_X=\(Double(overlap) / scale)", "OVERLAP_Y=\(Double(overlap) / scale)",
                "MICROMETER_PER_PIXEL_X=\(mpp * scale)", "MICROMETER_PER_PIXEL_Y=\(mpp * scale)",
            ]
        }
        lines += [
            "", "[NONHIERLAYER_0_LEVEL_0_SECTION]", "THUMBNAIL_IMAGE_TYPE=JPEG",
            "", "[NONHIERLAYER_0_LEVEL_1_SECTION]", "BARCODE_IMAGE_TYPE=JPEG",
            "", "[NONHIERLAYER_0_LEVEL_2_SECTION]", "PREVIEW_IMAGE_TYPE=JPEG",
            "", "[NONHIERLAYER_1_LEVEL_0_SECTION]", "VIMSLIDE_POSITION_DATA_FORMAT_VERSION=257", "",
        ]
        return lines.joined(separator: "\r\n")
    }
}

/// The layout of MIRAX's Index.dat: the version and slide ID, then two pointers (hierarchical root,
/// non-hierarchical root), each to a table of pointers, one per zoom level or record, each to a list
/// head (0, then a pointer to the first data page); a page is its record count, the next page's
/// pointer (0: last) and the records (image index, offset, length, data file number).
enum MIRAXHeader {
    static let version = "01.02"

    static func le(_ value: Int32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }

    static func index(levels: [[(index: Int32, offset: Int32, length: Int32)]], nonHierarchical: [(offset: Int32, length: Int32)]) -> Data {
        var out = [UInt8]((version + MRXSWriter.slideID).utf8)
        let roots = out.count
        out += le(0) + le(0)  // filled in below
        func patch(_ at: Int, _ value: Int) { out.replaceSubrange(at..<at + 4, with: le(Int32(value))) }

        // Hierarchical: a table of one pointer per zoom level, each to a list head, each to one page.
        let levelTable = out.count
        out += [UInt8](repeating: 0, count: 4 * levels.count)
        patch(roots, levelTable)
        for (level, records) in levels.enumerated() {
            patch(levelTable + 4 * level, out.count)
            out += le(0) + le(Int32(out.count + 8))
            out += le(Int32(records.count)) + le(0)
            for record in records { out += le(record.index) + le(record.offset) + le(record.length) + le(0) }
        }
        // Non-hierarchical: a table of one pointer per record, each to a list head, each to a page of one.
        let recordTable = out.count
        out += [UInt8](repeating: 0, count: 4 * nonHierarchical.count)
        patch(roots + 4, recordTable)
        for (number, record) in nonHierarchical.enumerated() {
            patch(recordTable + 4 * number, out.count)
            out += le(0) + le(Int32(out.count + 8))
            out += le(1) + le(0) + le(0) + le(0) + le(record.offset) + le(record.length) + le(0)
        }
        return Data(out)
    }
}
