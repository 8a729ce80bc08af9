import Foundation
import WSICodecs

/// Ventana BIF (iScan): a TIFF whose first directory (the macro, "Label Image") carries an `iScan` XML
/// packet (magnification, resolution, focal planes), then a "Thumbnail", then the levels, each described
/// "level=N mag=M quality=Q". Level-0 tiles overlap their neighbours by a few pixels; the level-0 XML packet
/// (`EncodeInfo`) records each joint's overlap, numbering tiles from the bottom row up and every other row
/// right to left. OpenSlide advances tiles by the tile size less the joints' average overlap, which is a
/// fraction of a pixel here, as it is in scanners' files. Lower levels are the stored level-0 tiles edge to
/// edge, halved.
enum BIFWriter {
    static func write(to path: String, painter: TissuePainter, width: Int, height: Int, tile: Int, mpp: Double, quality: Int,
                      macro: RGBImage) throws {
        // Overlaps of 4 or 5 pixels: the average, and so the advance, is not a whole number.
        let overlapX = { (col: Int, row: Int) in 4 + (col + row) % 2 }
        let overlapY = { (col: Int, row: Int) in 4 + (col * 3 + row) % 2 }
        var sumX = 0, countX = 0, sumY = 0, countY = 0
        let across = max(2, (width - 5) / (tile - 5)), down = max(2, (height - 5) / (tile - 5))
        for row in 0..<down {
            for col in 0..<across {
                if col + 1 < across { sumX += overlapX(col, row); countX += 1 }
                if row > 0 { sumY += overlapY(col, row); countY += 1 }
            }
        }
        let advance = (x: Double(tile) - Double(sumX) / Double(countX), y: Double(tile) - Double(sumY) / Double(countY))
        let magnification = Int(10 / mpp / 2)

        let builder = try TIFFBuilder(path: path)
        let scan = """
            <?xml version="1.0" encoding="utf-8"?>
            <iScan ScannerModel="VENTANA DP 200" Magnification="\(magnification)" ScanRes="\(mpp)" Z-layers="1" \
            BuildVersion="1.1.0.15854" UnitNumber="DP200-0042" Barcode1D="SYNTHETIC" />
            """
        try builder.addStripped(macro, encoding: .jpeg(quality: 90, ycbcr: false), description: "Label Image", xmlPacket: scan)
        let thumbnailScale = max(1, width / 512)
        try builder.addStripped(painter.paint(x: 0, y: 0, width: width / thumbnailScale, height: height / thumbnailScale, downsample: thumbnailScale),
                                encoding: .jpeg(quality: 90, ycbcr: false), description: "Thumbnail")
        var level = 0
        while level == 0 || (across * tile) >> level >= tile {
            let step = 1 << level, side = tile >> level
            let levelAcross = (across + step - 1) / step, levelDown = (down + step - 1) / step
            try builder.addTiled(width: levelAcross * tile, height: levelDown * tile, tile: tile, encoding: .jpeg(quality: quality, ycbcr: true),
                                 description: "level=\(level) mag=\(Double(magnification) / Double(step)) quality=\(quality)",
                                 xmlPacket: level == 0 ? encodeInfo(across: across, down: down, tile: tile, overlapX: overlapX, overlapY: overlapY) : nil) { col, row in
                // Each stored level-0 tile shows the slide where OpenSlide places it.
                let image = painter.mosaic(tile: tile, side: side, step: step) { dx, dy in
                    let c = col * step + dx, r = row * step + dy
                    return c < across && r < down ? (Int((Double(c) * advance.x).rounded()), Int((Double(r) * advance.y).rounded())) : nil
                }
                return image ?? RGBImage(width: tile, height: tile, fill: RGB(255, 255, 255))
            }
            level += 1
        }
        builder.close()
    }

    /// The level-0 XML packet: one area of interest, its tiles' joints with their overlaps.
    private static func encodeInfo(across: Int, down: Int, tile: Int, overlapX: (Int, Int) -> Int, overlapY: (Int, Int) -> Int) -> String {
        // BIF numbers tiles from 1, starting at the bottom-left, every other row right to left.
        func number(_ col: Int, _ row: Int) -> Int {
            let fromBottom = down - 1 - row
            return fromBottom * across + (fromBottom % 2 == 1 ? across - 1 - col : col) + 1
        }
        var joints = ""
        for row in 0..<down {
            for col in 0..<across {
                if col + 1 < across {
                    joints += "<TileJointInfo FlagJoined=\"1\" Confidence=\"\(90 + col % 10)\" Direction=\"RIGHT\" Tile1=\"\(number(col, row))\" "
                        + "Tile2=\"\(number(col + 1, row))\" OverlapX=\"\(overlapX(col, row))\" OverlapY=\"0\"/>"
                }
                if row > 0 {
                    joints += "<TileJointInfo FlagJoined=\"1\" Confidence=\"\(90 + row % 10)\" Direction=\"UP\" Tile1=\"\(number(col, row))\" "
                        + "Tile2=\"\(number(col, row - 1))\" OverlapX=\"0\" OverlapY=\"\(overlapY(col, row))\"/>"
                }
            }
        }
        return """
            <?xml version="1.0" encoding="utf-8"?>
            <EncodeInfo Ver="2"><SlideInfo><AoiInfo XIMAGESIZE="\(tile)" YIMAGESIZE="\(tile)" NumRows="\(down)" NumCols="\(across)" /></SlideInfo>\
            <SlideStitchInfo><ImageInfo AOIScanned="1" AOIIndex="0" Width="\(tile)" Height="\(tile)" NumRows="\(down)" NumCols="\(across)" Pos-X="0" Pos-Y="0">\
            \(joints)</ImageInfo></SlideStitchInfo><AoiOrigin><AOI0 OriginX="0" OriginY="0" /></AoiOrigin></EncodeInfo>
            """
    }
}
