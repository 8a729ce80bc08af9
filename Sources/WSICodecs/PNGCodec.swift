import CPNG
import Glibc

/// PNG through libpng's simplified API: reading plain PNG inputs, writing PNG tiles.
public enum PNGCodec {
    /// `check` sees the declared width and height before any pixel is decoded, and may refuse them
    /// (a few hundred bytes of PNG can declare gigabytes of pixels).
    public static func decode(file path: String, check: (Int, Int) throws -> Void = { _, _ in }) throws -> RGBImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_file(&image, path) != 0 else { throw failure(&image, "cannot read") }
        do { try check(Int(image.width), Int(image.height)) } catch {
            png_image_free(&image)
            throw error
        }
        return try finishRead(&image)
    }

    public static func decode(_ data: [UInt8]) throws -> RGBImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let ok = data.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, data.count) }
        guard ok != 0 else { throw failure(&image, "cannot read") }
        return try finishRead(&image)
    }

    private static func finishRead(_ image: inout png_image) throws -> RGBImage {
        image.format = UInt32(PNG_FORMAT_RGB)
        let width = Int(image.width), height = Int(image.height)
        guard width > 0, height > 0, width * height < 1 << 31 else {
            png_image_free(&image)
            throw CodecError("PNG", "unsupported image size \(width)x\(height)")
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        // A white background for images with transparency.
        var background = png_color(red: 255, green: 255, blue: 255)
        let ok = pixels.withUnsafeMutableBytes {
            png_image_finish_read(&image, &background, $0.baseAddress, Int32(width * 3), nil)
        }
        guard ok != 0 else { throw failure(&image, "cannot decode") }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Encodes with libpng's fast setting (no row filters, zlib level 3): a 4096 x 4096 answer must reach
    /// IIIF clients that give up after 5 s, and the default (adaptive filters, level 6) takes several
    /// times as long for files about a fifth smaller. Written once, into a growing memory stream (asking
    /// libpng for the size first would encode twice). `fast: false` gives libpng's default, the smaller file.
    public static func encode(_ rgb: RGBImage, fast: Bool = true) throws -> [UInt8] {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(rgb.width)
        image.height = UInt32(rgb.height)
        image.format = UInt32(PNG_FORMAT_RGB)
        image.flags = fast ? UInt32(PNG_IMAGE_FLAG_FAST) : 0
        var buffer: UnsafeMutablePointer<CChar>?
        var size = 0
        guard let stream = open_memstream(&buffer, &size) else { throw CodecError("PNG", "cannot open a memory stream") }
        let ok = rgb.pixels.withUnsafeBytes { png_image_write_to_stdio(&image, stream, 0, $0.baseAddress, Int32(rgb.width * 3), nil) }
        // fclose makes `buffer` and `size` final; the buffer is ours to free.
        let closed = fclose(stream)
        defer { free(buffer) }
        guard ok != 0 else { throw failure(&image, "cannot encode") }
        guard closed == 0, let bytes = buffer else { throw CodecError("PNG", "cannot encode: out of memory") }
        return bytes.withMemoryRebound(to: UInt8.self, capacity: size) { Array(UnsafeBufferPointer(start: $0, count: size)) }
    }

    private static func failure(_ image: inout png_image, _ what: String) -> CodecError {
        let message = CString.decode(image.message)
        png_image_free(&image)
        return CodecError("PNG", message.isEmpty ? what : message)
    }
}
