import Foundation
import WSICodecs

/// IIIF Image API 3.0 at compliance level 1 (regions by pixels, percent, full and square; sizes by width,
/// height, both, best fit, percent, max and upscaled with ^; rotation 0; qualities default and color; jpg
/// and png). Requests are served from the pyramid level the output needs, resampled by area averaging,
/// within a budget of decoded pixels (see `IIIFRendering.swift`); a request that is exactly one stored
/// tile is answered with the stored frame.
public enum IIIF {
    /// Most output pixels per answer (4096 x 4096): 48 MiB decoded, the size viewers ask for at most.
    public static let maxArea = 16_777_216
    /// Most output pixels along one side, so that a 16,000,000 x 1 answer (within maxArea) cannot make one
    /// output row, and the sums kept for it while resampling, hundreds of megabytes long.
    public static let maxWidth = 65_536
    public static let maxHeight = 65_536

    /// The features beyond level 1's that work, and level 1's own (clients that only read this list then
    /// see them too). `cors` is left out: with `--cors ORIGIN` the IIIF routes answer that origin only.
    public static let extraFeatures = ["baseUriRedirect", "jsonldMediaType", "regionByPct", "regionByPx", "regionSquare",
                                       "sizeByConfinedWh", "sizeByH", "sizeByPct", "sizeByW", "sizeByWh", "sizeUpscaling"]

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
        // The stored levels' sizes that a request may ask for (within maxArea): larger ones would get 400.
        let sizes = slide.levels.reversed().filter { $0.width <= maxWidth && $0.height <= maxHeight && $0.width * $0.height <= maxArea }
            .map { ["width": $0.width, "height": $0.height] }
        return [
            "@context": "http://iiif.io/api/image/3/context.json",
            "id": id,
            "type": "ImageService3",
            "protocol": "http://iiif.io/api/image",
            "profile": "level1",
            "width": slide.width,
            "height": slide.height,
            "maxArea": maxArea,
            "maxWidth": maxWidth,
            "maxHeight": maxHeight,
            "sizes": sizes,
            "tiles": [["width": tile, "height": base.tileHeight, "scaleFactors": factors]],
            "extraFormats": ["png"],
            "extraQualities": ["color"],
            "extraFeatures": extraFeatures,
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
        // The largest scale within maxArea, maxWidth and maxHeight.
        let maxScale = min(sqrt(Double(maxArea) / (Double(w) * Double(h))), Double(maxWidth) / Double(w), Double(maxHeight) / Double(h))
        if spec == "max" {
            // max never enlarges; ^max enlarges as far as the limits allow.
            if maxScale < 1 || upscale { ow = max(1, Int(Double(w) * maxScale)); oh = max(1, Int(Double(h) * maxScale)) }
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
        guard ow <= maxWidth, oh <= maxHeight, ow * oh <= maxArea else {
            throw bad("size '\(size)' exceeds maxArea \(maxArea) or maxWidth x maxHeight \(maxWidth) x \(maxHeight)")
        }
        return Request(x: x, y: y, width: w, height: h, outputWidth: ow, outputHeight: oh, format: format)
    }
}
