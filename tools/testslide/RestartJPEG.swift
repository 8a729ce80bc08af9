import CJPEGLib
import Foundation
import WSICodecs

/// Baseline JPEG with restart markers (libjpeg's `restart_interval`), as Hamamatsu VMS and NDPI files
/// hold them: OpenSlide finds its tiles by the restart markers. TurboJPEG 2.1 cannot write them.
enum RestartJPEG {
    /// Encodes `image` as YCbCr 4:2:2, as Hamamatsu scanners write, with a restart marker every
    /// `restartMCUs` MCUs (16 x 8 pixels each). (OpenSlide cannot read 4:2:0 here: decoding one restart
    /// interval as a tile, libjpeg's upsampling asks for the MCU row below it.)
    static func encode(_ image: RGBImage, quality: Int, restartMCUs: Int) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            cjpeg_encode_rgb(pixels.baseAddress, Int32(image.width), Int32(image.height), Int32(quality), 422, Int32(restartMCUs),
                             &out, &size, &message, message.count)
        }
        guard status == 0, let out else { throw CodecError("JPEG", "cannot encode with restart markers: \(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))") }
        defer { free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(size)))
    }

    /// A restart interval that divides a row of MCUs (OpenSlide's tiles are whole restart intervals,
    /// and its rows of tiles must line up with the image's): the largest divisor of the row up to `limit`.
    static func interval(width: Int, limit: Int = 16) -> Int {
        let mcus = (width + 15) / 16
        return (1...min(limit, mcus)).last { mcus % $0 == 0 } ?? 1
    }
}
