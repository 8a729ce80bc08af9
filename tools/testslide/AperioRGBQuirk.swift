import Foundation

/// Rewrites a TIFF's RGB JPEG streams the way some Aperio scanners code them: the Adobe APP14 segment
/// becomes APP15 (ignored by decoders) and the component ids 'R', 'G', 'B' of frame and scan headers
/// become 1, 2, 3, so libjpeg guesses YCbCr while the TIFF says RGB. Every edit keeps lengths, so offsets
/// hold. Marker patterns cannot occur inside entropy-coded data (0xFF is stuffed there), so a scan of the
/// whole file finds only real headers.
enum AperioRGBQuirk {
    static func apply(to path: String) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let adobe: [UInt8] = [0xFF, 0xEE, 0x00, 0x0E, 0x41, 0x64, 0x6F, 0x62, 0x65]
        var i = 0
        while i + 20 < bytes.count {
            defer { i += 1 }
            guard bytes[i] == 0xFF else { continue }
            if bytes[i + 1] == 0xEE, Array(bytes[i..<i + adobe.count]) == adobe {
                bytes[i + 1] = 0xEF
            } else if bytes[i + 1] == 0xC0, bytes[i + 9] == 3, bytes[i + 10] == 0x52, bytes[i + 13] == 0x47, bytes[i + 16] == 0x42 {
                // SOF0: length, precision, height, width, 3 components of (id, sampling, table).
                bytes[i + 10] = 1; bytes[i + 13] = 2; bytes[i + 16] = 3
            } else if bytes[i + 1] == 0xDA, bytes[i + 4] == 3, bytes[i + 5] == 0x52, bytes[i + 7] == 0x47, bytes[i + 9] == 0x42 {
                // SOS: length, 3 components of (selector, tables).
                bytes[i + 5] = 1; bytes[i + 7] = 2; bytes[i + 9] = 3
            }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
