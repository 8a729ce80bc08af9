import CPNG
import Glibc

/// PNG through libpng's simplified API: reading plain PNG inputs, writing PNG tiles.
public enum PNGCodec {
    public static func decode(file path: String) throws -> RGBImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_file(&image, path) != 0 else { throw failure(&image, "cannot read") }
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

    public static func encode(_ rgb: RGBImage) throws -> [UInt8] {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(rgb.width)
        image.height = UInt32(rgb.height)
        image.format = UInt32(PNG_FORMAT_RGB)
        var size = 0
        _ = rgb.pixels.withUnsafeBytes { png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, Int32(rgb.width * 3), nil) }
        guard size > 0 else { throw failure(&image, "cannot encode") }
        var out = [UInt8](repeating: 0, count: size)
        let ok = out.withUnsafeMutableBytes { dst in
            rgb.pixels.withUnsafeBytes { png_image_write_to_memory(&image, dst.baseAddress, &size, 0, $0.baseAddress, Int32(rgb.width * 3), nil) }
        }
        guard ok != 0 else { throw failure(&image, "cannot encode") }
        return Array(out.prefix(size))
    }

    private static func failure(_ image: inout png_image, _ what: String) -> CodecError {
        let message = CString.decode(image.message)
        png_image_free(&image)
        return CodecError("PNG", message.isEmpty ? what : message)
    }
}
