import WSICodecs

/// Procedural, tissue-like H&E content: a white glass background with noise, smooth tissue islands in
/// eosin pink with texture, and hematoxylin-purple nuclei scattered over them. Every pixel is a pure
/// function of its level-0 coordinates, so any region of any size can be painted on its own.
struct TissuePainter: Sendable {
    let seed: UInt64
    let width: Int
    let height: Int

    @inline(__always) private func hash(_ x: Int, _ y: Int, _ salt: UInt64) -> UInt64 {
        var h = seed &+ salt &* 0x9E37_79B9_7F4A_7C15
        h ^= UInt64(truncatingIfNeeded: x) &* 0xBF58_476D_1CE4_E5B9
        h ^= UInt64(truncatingIfNeeded: y) &* 0x94D0_49BB_1331_11EB
        h ^= h >> 31; h &*= 0xD6E8_FEB8_6659_FD93; h ^= h >> 29
        return h
    }

    @inline(__always) private func unit(_ x: Int, _ y: Int, _ salt: UInt64) -> Double {
        Double(hash(x, y, salt) >> 11) / Double(1 << 53)
    }

    /// Smooth value noise in [0, 1] with features about `scale` pixels wide.
    @inline(__always) private func noise(_ x: Double, _ y: Double, scale: Double, salt: UInt64) -> Double {
        let fx = x / scale, fy = y / scale
        let x0 = Int(fx.rounded(.down)), y0 = Int(fy.rounded(.down))
        let tx = fx - Double(x0), ty = fy - Double(y0)
        let sx = tx * tx * (3 - 2 * tx), sy = ty * ty * (3 - 2 * ty)
        let a = unit(x0, y0, salt), b = unit(x0 + 1, y0, salt), c = unit(x0, y0 + 1, salt), d = unit(x0 + 1, y0 + 1, salt)
        return (a + (b - a) * sx) * (1 - sy) + (c + (d - c) * sx) * sy
    }

    /// The colour at level-0 pixel (x, y).
    func color(_ x: Int, _ y: Int) -> (Double, Double, Double) {
        let fx = Double(x), fy = Double(y)
        let size = Double(max(width, height))
        // Tissue islands: low-frequency noise, stronger towards the slide's centre.
        let cx = fx / Double(width) - 0.5, cy = fy / Double(height) - 0.5
        let centre = 1 - 1.6 * (cx * cx + cy * cy)
        let field = 0.65 * noise(fx, fy, scale: size / 5, salt: 1) + 0.35 * noise(fx, fy, scale: size / 14, salt: 2)
        let tissue = field * centre
        let grain = unit(x, y, 3) - 0.5
        if tissue < 0.36 {
            let v = 242 + grain * 6
            return (v, v, v + 1)
        }
        let edge = min(1, (tissue - 0.36) / 0.05)
        let texture = noise(fx, fy, scale: 24, salt: 4)
        var r = 236 - 30 * texture, g = 160 - 50 * texture, b = 200 - 25 * texture
        // Nuclei: one candidate per 28-pixel cell, jittered, some cells empty.
        let cell = 28
        let gx = x >= 0 ? x / cell : (x - cell + 1) / cell, gy = y >= 0 ? y / cell : (y - cell + 1) / cell
        for oy in -1...1 {
            for ox in -1...1 {
                let hx = gx + ox, hy = gy + oy
                guard unit(hx, hy, 5) < 0.55 else { continue }
                let nx = Double(hx * cell) + unit(hx, hy, 6) * Double(cell)
                let ny = Double(hy * cell) + unit(hx, hy, 7) * Double(cell)
                let radius = 4 + 4 * unit(hx, hy, 8)
                let dx = fx - nx, dy = (fy - ny) * (0.8 + 0.4 * unit(hx, hy, 9))
                let d2 = dx * dx + dy * dy
                if d2 < radius * radius {
                    let k = 1 - d2 / (radius * radius) * 0.4
                    r = 95 * k + r * (1 - k); g = 60 * k + g * (1 - k); b = 150 * k + b * (1 - k)
                }
            }
        }
        let mix = edge
        r = 242 * (1 - mix) + r * mix; g = 242 * (1 - mix) + g * mix; b = 243 * (1 - mix) + b * mix
        return (r + grain * 10, g + grain * 10, b + grain * 10)
    }

    /// What scanners store as a lower level of overlapping level-0 images (MIRAX, BIF): a `tile`-pixel
    /// image of `step` x `step` of them edge to edge, each `side` x `step` pixels of the slide from its own
    /// level-0 origin, shrunk `step` times into `side` pixels, the rest white. `origin` gives image
    /// (dx, dy)'s origin, nil where there is none; the result is nil where none of them has one.
    func mosaic(tile: Int, side: Int, step: Int, origin: (_ dx: Int, _ dy: Int) -> (x: Int, y: Int)?) -> RGBImage? {
        var canvas = RGBImage(width: tile, height: tile, fill: RGB(255, 255, 255))
        var any = false
        for dy in 0..<step {
            for dx in 0..<step {
                guard let p = origin(dx, dy) else { continue }
                canvas.paste(paint(x: p.x / step, y: p.y / step, width: side, height: side, downsample: step), atX: dx * side, y: dy * side)
                any = true
            }
        }
        return any ? canvas : nil
    }

    /// A region of the slide at `downsample` (each output pixel samples the centre of its footprint).
    func paint(x: Int, y: Int, width w: Int, height h: Int, downsample: Int = 1) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        let half = downsample / 2
        for row in 0..<h {
            for col in 0..<w {
                let sx = (x + col) * downsample + half, sy = (y + row) * downsample + half
                let c = (sx < width && sy < height) ? color(sx, sy) : (255, 255, 255)
                let i = (row * w + col) * 3
                pixels[i] = UInt8(clamping: Int(c.0.rounded()))
                pixels[i + 1] = UInt8(clamping: Int(c.1.rounded()))
                pixels[i + 2] = UInt8(clamping: Int(c.2.rounded()))
            }
        }
        return RGBImage(width: w, height: h, pixels: pixels)
    }
}
