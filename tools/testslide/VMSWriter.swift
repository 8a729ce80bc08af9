import Foundation
import WSICodecs

/// Hamamatsu VMS: an INI key file naming a level-0 JPEG with restart markers, a small map JPEG (a
/// low-resolution view, which OpenSlide offers as a level) and a macro photo, all beside it.
enum VMSWriter {
    static func write(to path: String, painter: TissuePainter, width: Int, height: Int, mpp: Double, quality: Int, macro: RGBImage) throws {
        let url = URL(fileURLWithPath: path)
        let base = url.deletingPathExtension().lastPathComponent
        let folder = url.deletingLastPathComponent()
        func save(_ name: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: folder.appendingPathComponent(name)) }

        let image = painter.paint(x: 0, y: 0, width: width, height: height)
        try save("\(base).jpg", RestartJPEG.encode(image, quality: quality, restartMCUs: RestartJPEG.interval(width: width)))
        let map = Downsample.fit(image, maxSide: 512)
        try save("\(base)_map.jpg", RestartJPEG.encode(map, quality: quality, restartMCUs: RestartJPEG.interval(width: map.width)))
        try save("\(base)_macro.jpg", JPEGEncoder(quality: 90).encode(macro))
        let keys = """
            [Virtual Microscope Specimen]
            NoLayers=1
            NoJpegColumns=1
            NoJpegRows=1
            ImageFile=\(base).jpg
            MapFile=\(base)_map.jpg
            MacroImage=\(base)_macro.jpg
            PhysicalWidth=\(Int((Double(width) * mpp * 1000).rounded()))
            PhysicalHeight=\(Int((Double(height) * mpp * 1000).rounded()))
            SourceLens=\(Int(10 / mpp / 2))
            XOffsetFromSlideCentre=0
            YOffsetFromSlideCentre=0

            """
        try Data(keys.replacingOccurrences(of: "\n", with: "\r\n").utf8).write(to: url)
    }
}
