/// Resizing to an arbitrary size: area averaging when shrinking, nearest pixel when enlarging.
public enum Resample {
    public static func areaAverage(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        if width == image.width && height == image.height { return image }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        let sx = Double(image.width) / Double(width), sy = Double(image.height) / Double(height)
        image.pixels.withUnsafeBufferPointer { src in
            for y in 0..<height {
                let ya = Int(Double(y) * sy), yb = max(ya + 1, min(image.height, Int((Double(y + 1) * sy).rounded(.up))))
                for x in 0..<width {
                    let xa = Int(Double(x) * sx), xb = max(xa + 1, min(image.width, Int((Double(x + 1) * sx).rounded(.up))))
                    var r = 0, g = 0, b = 0
                    for yy in ya..<min(yb, image.height) {
                        var i = (yy * image.width + xa) * 3
                        for _ in xa..<min(xb, image.width) {
                            r += Int(src[i]); g += Int(src[i + 1]); b += Int(src[i + 2])
                            i += 3
                        }
                    }
                    let n = max(1, (min(yb, image.height) - ya) * (min(xb, image.width) - xa))
                    let o = (y * width + x) * 3
                    out[o] = UInt8((r + n / 2) / n); out[o + 1] = UInt8((g + n / 2) / n); out[o + 2] = UInt8((b + n / 2) / n)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
