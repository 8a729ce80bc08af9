import CPixelKernels

/// 2x2 area averaging: how each pyramid level is computed from the one above it.
public enum Downsample {
    /// Halves `image` (rounding odd sizes up; edge pixels average only the samples that exist).
    public static func half(_ image: RGBImage, threads: Int = 1) -> RGBImage {
        let w = (image.width + 1) / 2, h = (image.height + 1) / 2
        var result = RGBImage(uninitializedWidth: w, height: h)
        image.withReadOnlyPixelBuffer { s in
            result.withPixelBuffer { dst in
                let chunk = 16
                try? Parallel.forEach((h + chunk - 1) / chunk, threads: threads) { part in
                    halveRows(s, into: dst, rows: (part * chunk)..<min(h, (part + 1) * chunk))
                }
            }
        }
        return result
    }

    /// Halves a window into `destination`, which must be its size halved (rounded up): for workers that
    /// halve the tile they have just encoded, while it is still in cache.
    public static func half(_ source: PixelBuffer, into destination: PixelBuffer) {
        precondition(destination.width == (source.width + 1) / 2 && destination.height == (source.height + 1) / 2)
        halveRows(source, into: destination, rows: 0..<destination.height)
    }

    /// Output rows `rows` of the halved image.
    private static func halveRows(_ source: PixelBuffer, into destination: PixelBuffer, rows: Range<Int>) {
        let s = source.base, d = destination.base
        let sw = source.width, sh = source.height, w = destination.width
        let fullPairs = sw / 2
        for y in rows {
            let r0 = s + (2 * y) * source.pitch
            let r1 = 2 * y + 1 < sh ? r0 + source.pitch : r0
            let o = d + y * destination.pitch
            pixel_halve_rgb_row(r0, r1, o, Int32(fullPairs))
            if sw % 2 == 1 && fullPairs < w {
                let i = 3 * (sw - 1)
                for c in 0..<3 {
                    let sum = UInt16(r0[i + c]) &+ UInt16(r1[i + c])
                    o[3 * fullPairs + c] = UInt8(truncatingIfNeeded: (sum &+ 1) >> 1)
                }
            }
        }
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
