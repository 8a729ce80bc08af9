import Foundation
import WSICodecs

extension IIIF {
    /// Most source pixels (of the level read) one request may decode: 64 Mi, four times maxArea. A
    /// `full/max` answer read from the next finer level needs less than that (that level is under twice
    /// as fine on each side), so only requests that ask for a slide's full resolution over a wide area
    /// (`full/16000,1`, or any large answer from a file with no pyramid) reach it, and they get 413 at
    /// once instead of minutes of decoding.
    public static let maxDecodedPixels = 64 << 20

    /// Which level answers a request, and the part of it to read (in that level's pixels).
    struct Plan: Equatable {
        var level: Int
        var x: Int, y: Int, width: Int, height: Int
    }

    /// The coarsest level fine enough for the output along its finer axis; when that one is past the
    /// budget (an output squeezed along one axis only, like 16000 x 1), a coarser level still fine enough
    /// along the other axis, as long as one fits; else `tooLarge`.
    static func plan(slide: Slide, request r: Request) throws -> Plan {
        let scaleX = Double(r.width) / Double(r.outputWidth), scaleY = Double(r.height) / Double(r.outputHeight)
        let fine = min(scaleX, scaleY), coarse = max(scaleX, scaleY)
        func area(_ level: Int) -> Plan {
            let image = slide.levels[level], factor = slide.downsample(level)
            let x0 = min(image.width - 1, Int((Double(r.x) / factor).rounded(.down)))
            let y0 = min(image.height - 1, Int((Double(r.y) / factor).rounded(.down)))
            let x1 = min(image.width, Int((Double(r.x + r.width) / factor).rounded(.up)))
            let y1 = min(image.height, Int((Double(r.y + r.height) / factor).rounded(.up)))
            return Plan(level: level, x: x0, y: y0, width: max(1, x1 - x0), height: max(1, y1 - y0))
        }
        var first = 0
        for index in slide.levels.indices where slide.downsample(index) <= fine * 1.001 { first = index }
        var smallest: Plan?
        for index in first..<slide.levels.count where index == first || slide.downsample(index) <= coarse * 1.001 {
            let plan = area(index)
            if plan.width * plan.height <= maxDecodedPixels { return plan }
            if smallest == nil { smallest = plan }
        }
        let pixels = smallest.map { $0.width * $0.height } ?? 0
        throw TileServiceError.tooLarge("IIIF: this request needs \(pixels) pixels of the slide decoded; the limit is \(maxDecodedPixels) (ask for a smaller region, or a smaller size)")
    }
}

extension TileService {
    /// Answers a parsed IIIF request: the stored frame when it is exactly one tile, else the planned
    /// area resampled to the output size (cached by request).
    public func iiif(slide: Slide, request r: IIIF.Request) throws -> EncodedImage {
        let plan = try IIIF.plan(slide: slide, request: r)
        let image = slide.levels[plan.level]
        let factor = slide.downsample(plan.level)
        let scale = min(Double(r.width) / Double(r.outputWidth), Double(r.height) / Double(r.outputHeight))
        let tw = image.tileWidth, th = image.tileHeight
        let lx = Double(r.x) / factor, ly = Double(r.y) / factor
        if abs(factor - scale) < 0.001, lx.truncatingRemainder(dividingBy: Double(tw)) == 0, ly.truncatingRemainder(dividingBy: Double(th)) == 0,
           r.outputWidth == tw, r.outputHeight == th {
            return try tile(slide: slide, level: plan.level, col: Int(lx) / tw, row: Int(ly) / th, format: r.format)
        }
        let key = "\(slide.id)/iiif/\(r.x),\(r.y),\(r.width),\(r.height)/\(r.outputWidth),\(r.outputHeight).\(r.format.rawValue)"
        return try cached(key) {
            let pixels = try IIIFResampler(service: self, image: image, plan: plan, width: r.outputWidth, height: r.outputHeight).render()
            return try encode(pixels, format: r.format)
        }
    }
}
