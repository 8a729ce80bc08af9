/// An 8-bit RGB image, rows top to bottom, samples interleaved: the one decoded-pixel currency
/// that flows between sources, the pyramid engine and the encoders.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "pixel buffer does not match \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image filled with one colour.
    public init(width: Int, height: Int, fill: RGB = .white) {
        self.width = width
        self.height = height
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        if fill.r == fill.g && fill.g == fill.b {
            if fill.r != 0 { pixels.withUnsafeMutableBufferPointer { $0.update(repeating: fill.r) } }
        } else {
            for i in stride(from: 0, to: pixels.count, by: 3) {
                pixels[i] = fill.r; pixels[i + 1] = fill.g; pixels[i + 2] = fill.b
            }
        }
        self.pixels = pixels
    }

    /// An image whose pixels the caller overwrites entirely (no fill pass).
    public init(uninitializedWidth width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [UInt8](unsafeUninitializedCapacity: width * height * 3) { _, count in count = width * height * 3 }
    }

    /// A `width` x `height` image holding a copy of `window` at its top-left, `fill` where the window
    /// does not reach (edge tiles padded to the full tile size).
    public init(copying window: PixelBuffer, width: Int, height: Int, fill: RGB = .white) {
        let covered = window.width >= width && window.height >= height
        self = covered ? RGBImage(uninitializedWidth: width, height: height) : RGBImage(width: width, height: height, fill: fill)
        let rows = min(height, window.height), rowBytes = min(width, window.width) * 3
        withPixelBuffer { dst in
            for row in 0..<rows { (dst.base + row * dst.pitch).update(from: window.base + row * window.pitch, count: rowBytes) }
        }
    }

    public var byteCount: Int { pixels.count }

    /// Copies the part of `self` that fits into a `width` x `height` window of a raw buffer with the given
    /// row pitch, `self`'s top-left at (x, y) of the window. Distinct windows may be written concurrently.
    public func copy(into destination: PixelBuffer, x: Int, y: Int) {
        let x0 = max(0, x), y0 = max(0, y)
        let x1 = min(destination.width, x + width), y1 = min(destination.height, y + height)
        guard x1 > x0, y1 > y0 else { return }
        pixels.withUnsafeBufferPointer { src in
            for row in y0..<y1 {
                let s = src.baseAddress! + ((row - y) * width + (x0 - x)) * 3
                (destination.base + row * destination.pitch + x0 * 3).update(from: s, count: (x1 - x0) * 3)
            }
        }
    }

    /// Copies `source` (or its part inside self) so that its top-left lands at (x, y).
    public mutating func paste(_ source: RGBImage, atX x: Int, y: Int) {
        let x0 = max(0, x), y0 = max(0, y)
        let x1 = min(width, x + source.width), y1 = min(height, y + source.height)
        guard x1 > x0, y1 > y0 else { return }
        let rowBytes = (x1 - x0) * 3
        source.pixels.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                for row in y0..<y1 {
                    let s = ((row - y) * source.width + (x0 - x)) * 3
                    let d = (row * width + x0) * 3
                    (dst.baseAddress! + d).update(from: src.baseAddress! + s, count: rowBytes)
                }
            }
        }
    }

    /// The part of the image at (x, y) of the given size; where it reaches past the image, `fill`.
    public func crop(x: Int, y: Int, width w: Int, height h: Int, fill: RGB = .white) -> RGBImage {
        if x == 0 && y == 0 && w == width && h == height { return self }
        var out = RGBImage(width: w, height: h, fill: fill)
        out.paste(self, atX: -x, y: -y)
        return out
    }

    /// The mean absolute difference per sample against an image of the same size.
    public func meanAbsoluteDifference(_ other: RGBImage) -> Double {
        precondition(width == other.width && height == other.height)
        var total = 0
        for i in 0..<pixels.count { total += abs(Int(pixels[i]) - Int(other.pixels[i])) }
        return pixels.isEmpty ? 0 : Double(total) / Double(pixels.count)
    }
}

/// One colour: the background of padded edge tiles and of empty slide areas.
public struct RGB: Sendable, Equatable, Hashable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
    public static let white = RGB(255, 255, 255)
}

/// A raw view of RGB pixels owned elsewhere, for workers that fill disjoint parts of one image.
public struct PixelBuffer: @unchecked Sendable {
    public let base: UnsafeMutablePointer<UInt8>
    public let width: Int
    public let height: Int
    /// Bytes from one row to the next.
    public let pitch: Int

    public init(base: UnsafeMutablePointer<UInt8>, width: Int, height: Int, pitch: Int) {
        self.base = base; self.width = width; self.height = height; self.pitch = pitch
    }

    /// The window at (x, y) of the given size (which must lie inside).
    public func window(x: Int, y: Int, width: Int, height: Int) -> PixelBuffer {
        PixelBuffer(base: base + y * pitch + x * 3, width: width, height: height, pitch: pitch)
    }
}

extension RGBImage {
    /// Runs `body` with a raw view of this image's pixels that it must only read (no copy is made).
    public func withReadOnlyPixelBuffer<R>(_ body: (PixelBuffer) throws -> R) rethrows -> R {
        try pixels.withUnsafeBufferPointer {
            try body(PixelBuffer(base: UnsafeMutablePointer(mutating: $0.baseAddress!), width: width, height: height, pitch: width * 3))
        }
    }

    /// Runs `body` with a raw buffer over this image's pixels.
    public mutating func withPixelBuffer<R>(_ body: (PixelBuffer) throws -> R) rethrows -> R {
        let (w, h) = (width, height)
        return try pixels.withUnsafeMutableBufferPointer { try body(PixelBuffer(base: $0.baseAddress!, width: w, height: h, pitch: w * 3)) }
    }
}
