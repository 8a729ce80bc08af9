import Foundation
import WSICodecs

/// Leica SCN: a BigTIFF whose first ImageDescription is an XML document (namespace
/// `http://www.leica-microsystems.com/scn/2010/10/01`) describing a collection (the whole glass slide,
/// sizes in nanometres) and its images: the macro, whose view is the whole collection, and the main
/// image, placed in it by its view's offset. Each image's resolutions are TIFF directories (`ifd`),
/// tiled JPEG (YCbCr), going down by 4x as Leica's scanners write them. OpenSlide shows the main image
/// where it lies on the collection, the rest transparent.
enum SCNWriter {
    static func write(to path: String, painter: TissuePainter, width: Int, height: Int, tile: Int, mpp: Double, quality: Int,
                      macro: RGBImage) throws {
        let nmPerPixel = Int((mpp * 1000).rounded())
        // The main image lies 300 x 200 pixels in from the collection's corner, with as much room beyond it.
        let offset = (x: 300, y: 200)
        let collection = (width: (width + 2 * offset.x) * nmPerPixel, height: (height + 2 * offset.y) * nmPerPixel)

        let builder = try TIFFBuilder(path: path, bigTIFF: true)
        var directory = 0
        // The macro first (directory 0 must be tiled, and hold the XML), at full size and 4x smaller.
        var macroDimensions: [(width: Int, height: Int, ifd: Int)] = []
        var mainDimensions: [(width: Int, height: Int, ifd: Int)] = []
        var levels: [(image: RGBImage?, width: Int, height: Int, downsample: Int)] = [(macro, macro.width, macro.height, 1)]
        let small = Downsample.fit(macro, maxSide: max(macro.width, macro.height) / 4)
        levels.append((small, small.width, small.height, 4))
        for level in levels {
            macroDimensions.append((level.width, level.height, directory))
            directory += 1
        }
        var downsample = 1
        repeat {
            mainDimensions.append(((width + downsample - 1) / downsample, (height + downsample - 1) / downsample, directory))
            directory += 1
            downsample *= 4
        } while max(width / downsample, height / downsample) >= tile

        let description = xml(collection: collection, nmPerPixel: nmPerPixel, offset: offset, width: width, height: height,
                              macro: macroDimensions, main: mainDimensions)
        for (index, level) in levels.enumerated() {
            let image = level.image!
            try builder.addTiled(width: image.width, height: image.height, tile: 256, encoding: .jpeg(quality: 90, ycbcr: true),
                                 description: index == 0 ? description : nil) { col, row in
                image.crop(x: col * 256, y: row * 256, width: 256, height: 256, fill: RGB(255, 255, 255))
            }
        }
        for (index, dimension) in mainDimensions.enumerated() {
            let ds = 1 << (2 * index)
            try builder.addTiled(width: dimension.width, height: dimension.height, tile: tile, encoding: .jpeg(quality: quality, ycbcr: true),
                                 description: nil, mpp: mpp * Double(ds)) { col, row in
                painter.paint(x: col * tile, y: row * tile, width: tile, height: tile, downsample: ds)
            }
        }
        builder.close()
    }

    private static func xml(collection: (width: Int, height: Int), nmPerPixel: Int, offset: (x: Int, y: Int), width: Int, height: Int,
                            macro: [(width: Int, height: Int, ifd: Int)], main: [(width: Int, height: Int, ifd: Int)]) -> String {
        func dimensions(_ list: [(width: Int, height: Int, ifd: Int)]) -> String {
            list.enumerated().map { r, d in "<dimension sizeX=\"\(d.width)\" sizeY=\"\(d.height)\" r=\"\(r)\" ifd=\"\(d.ifd)\"/>" }.joined()
        }
        func image(name: String, list: [(width: Int, height: Int, ifd: Int)], view: String, objective: String) -> String {
            """
            <image name="\(name)" uuid="urn:uuid:00000000-0000-4000-8000-00000000000\(name == "macro" ? 1 : 2)">\
            <creationDate>2026-11-24T10:15:30.00Z</creationDate>\
            <device model="Leica SCN400;Leica SCN" version="1.5.1.10804 2012/05/10 13:29:07;1.5.1.10864"/>\
            <pixels sizeX="\(list[0].width)" sizeY="\(list[0].height)">\(dimensions(list))</pixels>\
            \(view)\
            <scanSettings><objectiveSettings><objective>\(objective)</objective></objectiveSettings>\
            <illuminationSettings><numericalAperture>0.4</numericalAperture><illuminationSource>brightfield</illuminationSource></illuminationSettings>\
            </scanSettings></image>
            """
        }
        let macroView = "<view sizeX=\"\(collection.width)\" sizeY=\"\(collection.height)\" offsetX=\"0\" offsetY=\"0\" spacingZ=\"0\"/>"
        let mainView = "<view sizeX=\"\(width * nmPerPixel)\" sizeY=\"\(height * nmPerPixel)\" offsetX=\"\(offset.x * nmPerPixel)\" "
            + "offsetY=\"\(offset.y * nmPerPixel)\" spacingZ=\"0\"/>"
        let objective = String(Int((10 / (Double(nmPerPixel) / 1000) / 2).rounded()))
        return """
            <?xml version="1.0"?>
            <scn xmlns="http://www.leica-microsystems.com/scn/2010/10/01">\
            <collection name="synthetic" uuid="urn:uuid:00000000-0000-4000-8000-000000000000" sizeX="\(collection.width)" sizeY="\(collection.height)">\
            <barcode>U1lOVEhFVElD</barcode>\
            \(image(name: "macro", list: macro, view: macroView, objective: "0.16"))\
            \(image(name: "main", list: main, view: mainView, objective: objective))\
            </collection></scn>
            """
    }
}
