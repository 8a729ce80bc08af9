import Foundation
import WSICodecs

/// IIIF Image API 3.0 at compliance level 1 (regions by pixels, percent, full and square; sizes by width,
/// height, both, best fit, percent and max; rotation 0; qualities default and color; jpg and png).
/// Requests are served from the nearest finer pyramid level, resampled by area averaging; a request that
/// is exactly one stored tile is answered with the stored frame.
public enum IIIF {
    public static let maxArea = 16_777_216

    /// A parsed image request, in level-0 pixels.
    public struct Request: Sendable, Equatable {
        public var x: Int, y: Int, width: Int, height: Int
        public var outputWidth: Int, outputHeight: Int
        public var format: ImageFormat
    }

    /// The info.json document for a slide served at `id` (the service's base URI).
    public static func info(slide: Slide, id: String) -> [String: Any] {
        let base = slide.levels[0]
        let tile = base.tileWidth
        // Every power of two down to the smallest level, with no gaps (OpenSeadragon needs them contiguous);
        // factors between stored levels are resampled from the finer one.
        var factors = [1]
        let smallest = slide.downsample(slide.levels.count - 1)
        while Double(factors.last! * 2) <= smallest * 1.01 { factors.append(factors.last! * 2) }
        let sizes = slide.levels.reversed().map { ["width": $0.width, "height": $0.height] }
        return [
            "@context": "http://iiif.io/api/image/3/context.json",
            "id": id,
            "type": "ImageService3",
            "protocol": "http://iiif.io/api/image",
            "profile": "level1",
            "width": slide.width,
            "height": slide.height,
            "maxArea": maxArea,
            "sizes": sizes,
            "tiles": [["width": tile, "height": base.tileHeight, "scaleFactors": factors]],
            "extraFormats": ["png"],
            "extraQualities": ["color"],
        ]
    }

    /// Parses the four path segments after the identifier.
    public static func parse(region: String, size: String, rotation: String, qualityAndFormat: String,
                             imageWidth: Int, imageHeight: Int) throws -> Request {
        func bad(_ message: String) -> TileServiceError { .badRequest("IIIF: \(message)") }
        let parts = qualityAndFormat.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw bad("expected {quality}.{format}, got '\(qualityAndFormat)'") }
        guard parts[0] == "default" || parts[0] == "color" else { throw bad("quality '\(parts[0])' is not supported (default, color)") }
        let format: ImageFormat
        switch parts[1] {
        case "jpg": format = .jpeg
        case "png": format = .png
        default: throw bad("format '\(parts[1])' is not supported (jpg, png)")
        }
        guard rotation == "0" else { throw bad("rotation '\(rotation)' is not supported (0)") }

        // Region
        var x = 0, y = 0, w = imageWidth, h = imageHeight
        if region == "square" {
            let side = min(imageWidth, imageHeight)
            x = (imageWidth - side) / 2; y = (imageHeight - side) / 2; w = side; h = side
        } else if region != "full" {
            let isPercent = region.hasPrefix("pct:")
            let numbers = region.dropFirst(isPercent ? 4 : 0).split(separator: ",").map { Double($0) }
            // Finite and below 2^31 (pixels or percent), so that every product and conversion below fits an Int.
            guard numbers.count == 4, numbers.allSatisfy({ $0 != nil && $0! >= 0 && $0! < 2_147_483_648 }) else { throw bad("region '\(region)' is not valid") }
            var v = numbers.map { $0! }
            if isPercent { v = [v[0] * Double(imageWidth) / 100, v[1] * Double(imageHeight) / 100, v[2] * Double(imageWidth) / 100, v[3] * Double(imageHeight) / 100] }
            x = Int(v[0]); y = Int(v[1]); w = Int(v[2].rounded()); h = Int(v[3].rounded())
            guard w > 0, h > 0 else { throw bad("region '\(region)' is empty") }
            guard x < imageWidth, y < imageHeight else { throw bad("region '\(region)' lies outside the image") }
            w = min(w, imageWidth - x); h = min(h, imageHeight - y)
        }

        // Size
        var upscale = false
        var spec = Substring(size)
        if spec.hasPrefix("^") { upscale = true; spec = spec.dropFirst() }
        var ow = w, oh = h
        let maxScale = sqrt(Double(maxArea) / (Double(w) * Double(h)))
        if spec == "max" {
            if maxScale < 1 { ow = max(1, Int(Double(w) * maxScale)); oh = max(1, Int(Double(h) * maxScale)) }
        } else if spec.hasPrefix("pct:") {
            guard let p = Double(spec.dropFirst(4)), p > 0, p < 1_000_000 else { throw bad("size '\(size)' is not valid") }
            ow = max(1, Int((Double(w) * p / 100).rounded())); oh = max(1, Int((Double(h) * p / 100).rounded()))
        } else {
            let fit = spec.hasPrefix("!")
            let numbers = spec.dropFirst(fit ? 1 : 0).split(separator: ",", omittingEmptySubsequences: false)
            guard numbers.count == 2 else { throw bad("size '\(size)' is not valid") }
            let bw = numbers[0].isEmpty ? nil : Int(numbers[0]), bh = numbers[1].isEmpty ? nil : Int(numbers[1])
            if (!numbers[0].isEmpty && bw == nil) || (!numbers[1].isEmpty && bh == nil) { throw bad("size '\(size)' is not valid") }
            guard (bw ?? 1) < 1 << 31, (bh ?? 1) < 1 << 31 else { throw bad("size '\(size)' exceeds maxArea \(maxArea)") }
            switch (bw, bh) {
            case let (bw?, bh?) where fit:
                let scale = min(Double(bw) / Double(w), Double(bh) / Double(h))
                ow = max(1, Int((Double(w) * scale).rounded())); oh = max(1, Int((Double(h) * scale).rounded()))
            case let (bw?, bh?): ow = bw; oh = bh
            case let (bw?, nil) where !fit: ow = bw; oh = max(1, Int((Double(h) * Double(bw) / Double(w)).rounded()))
            case let (nil, bh?) where !fit: oh = bh; ow = max(1, Int((Double(w) * Double(bh) / Double(h)).rounded()))
            default: throw bad("size '\(size)' is not valid")
            }
        }
        guard ow > 0, oh > 0 else { throw bad("size '\(size)' is empty") }
        if !upscale && (ow > w || oh > h) { throw bad("size '\(size)' is larger than the region; use ^ to upscale") }
        guard ow < 1 << 31, oh < 1 << 31, ow * oh <= maxArea else { throw bad("size '\(size)' exceeds maxArea \(maxArea)") }
        return Request(x: x, y: y, width: w, height: h, outputWidth: ow, outputHeight: oh, format: format)
    }
}

extension TileService {
    /// Answers a parsed IIIF request from the nearest finer level.
    public func iiif(slide: Slide, request r: IIIF.Request) throws -> EncodedImage {
        let scale = min(Double(r.width) / Double(r.outputWidth), Double(r.height) / Double(r.outputHeight))
        var level = 0
        for (index, _) in slide.levels.enumerated() where slide.downsample(index) <= scale * 1.001 { level = index }
        let image = slide.levels[level]
        let factor = slide.downsample(level)
        // Exactly one stored tile at its stored size: send the frame.
        let tw = image.tileWidth, th = image.tileHeight
        let lx = Double(r.x) / factor, ly = Double(r.y) / factor
        if abs(factor - scale) < 0.001, lx.truncatingRemainder(dividingBy: Double(tw)) == 0, ly.truncatingRemainder(dividingBy: Double(th)) == 0,
           r.outputWidth == tw, r.outputHeight == th {
            return try tile(slide: slide, level: level, col: Int(lx) / tw, row: Int(ly) / th, format: r.format)
        }
        let x0 = Int((Double(r.x) / factor).rounded(.down)), y0 = Int((Double(r.y) / factor).rounded(.down))
        let x1 = min(image.width, Int((Double(r.x + r.width) / factor).rounded(.up)))
        let y1 = min(image.height, Int((Double(r.y + r.height) / factor).rounded(.up)))
        let key = "\(slide.id)/iiif/\(r.x),\(r.y),\(r.width),\(r.height)/\(r.outputWidth),\(r.outputHeight).\(r.format.rawValue)"
        return try cached(key) {
            let pixels = try region(of: image, x: x0, y: y0, width: max(1, x1 - x0), height: max(1, y1 - y0))
            return try encode(Resample.areaAverage(pixels, width: r.outputWidth, height: r.outputHeight), format: r.format)
        }
    }
}
