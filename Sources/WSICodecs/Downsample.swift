/// 2x2 area averaging: how each pyramid level is computed from the one above it.
public enum Downsample {
    /// Halves `image` (rounding odd sizes up; edge pixels average only the samples that exist).
    public static func half(_ image: RGBImage) -> RGBImage {
        let w = (image.width + 1) / 2, h = (image.height + 1) / 2
        var out = [UInt8](repeating: 0, count: w * h * 3)
        let sw = image.width, sh = image.height
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let s = src.baseAddress!, d = dst.baseAddress!
                for y in 0..<h {
                    let r0 = s + (2 * y) * sw * 3
                    let hasSecondRow = 2 * y + 1 < sh
                    let r1 = hasSecondRow ? r0 + sw * 3 : r0
                    let o = d + y * w * 3
                    let fullPairs = sw / 2
                    for x in 0..<fullPairs {
                        let i = 6 * x
                        for c in 0..<3 {
                            let sum = UInt16(r0[i + c]) &+ UInt16(r0[i + 3 + c]) &+ UInt16(r1[i + c]) &+ UInt16(r1[i + 3 + c])
                            o[3 * x + c] = UInt8(truncatingIfNeeded: (sum &+ 2) >> 2)
                        }
                    }
                    if sw % 2 == 1 {
                        let i = 3 * (sw - 1)
                        for c in 0..<3 {
                            let sum = UInt16(r0[i + c]) &+ UInt16(r1[i + c])
                            o[3 * fullPairs + c] = UInt8(truncatingIfNeeded: (sum &+ 1) >> 1)
                        }
                    }
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: out)
    }

    /// Shrinks `image` by area averaging to fit inside `maxSide` (used for small previews).
    public static func fit(_ image: RGBImage, maxSide: Int) -> RGBImage {
        var current = image
        while max(current.width, current.height) > maxSide && max(current.width, current.height) > 1 {
            current = half(current)
        }
        return current
    }
}
