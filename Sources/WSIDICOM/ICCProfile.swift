import Foundation

/// An sRGB ICC profile (version 2.1) of device class "Input", built once: the optical path's profile when
/// the source carries none. Class Input rather than Display, or viewers render washed-out colour.
public enum ICCProfile {
    public static let sRGB: [UInt8] = build()

    /// The profile's device class signature (bytes 12..<16), e.g. "scnr".
    public static func deviceClass(of profile: [UInt8]) -> String? {
        guard profile.count >= 128 else { return nil }
        return String(decoding: profile[12..<16], as: UTF8.self)
    }

    private static func build() -> [UInt8] {
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
        func s15(_ v: Double) -> [UInt8] { be32(UInt32(bitPattern: Int32((v * 65536).rounded()))) }
        func sig(_ s: String) -> [UInt8] { Array(s.utf8) }
        func xyz(_ x: Double, _ y: Double, _ z: Double) -> [UInt8] { sig("XYZ ") + [0, 0, 0, 0] + s15(x) + s15(y) + s15(z) }
        func text(_ s: String) -> [UInt8] { sig("text") + [0, 0, 0, 0] + Array(s.utf8) + [0] }
        func desc(_ s: String) -> [UInt8] {
            sig("desc") + [0, 0, 0, 0] + be32(UInt32(s.utf8.count + 1)) + Array(s.utf8) + [0]
                + be32(0) + be32(0) + be16(0) + [0] + [UInt8](repeating: 0, count: 67)
        }
        // The sRGB transfer curve as a 1024-entry table.
        var curve = sig("curv") + [0, 0, 0, 0] + be32(1024)
        for i in 0..<1024 {
            let v = Double(i) / 1023
            let linear = v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4)
            curve += be16(UInt16((linear * 65535).rounded()))
        }
        // Primaries adapted to D50, as in the usual sRGB profiles.
        let tags: [(String, [UInt8])] = [
            ("desc", desc("sRGB IEC61966-2.1")),
            ("cprt", text("No copyright, use freely")),
            ("wtpt", xyz(0.9642, 1.0, 0.8249)),
            ("rXYZ", xyz(0.4361, 0.2225, 0.0139)),
            ("gXYZ", xyz(0.3851, 0.7169, 0.0971)),
            ("bXYZ", xyz(0.1431, 0.0606, 0.7141)),
            ("rTRC", curve), ("gTRC", curve), ("bTRC", curve),
        ]
        var table = be32(UInt32(tags.count))
        var data = [UInt8]()
        let dataStart = 128 + 4 + 12 * tags.count
        var curveOffset: Int?
        for (name, body) in tags {
            var offset = dataStart + data.count
            if name.hasSuffix("TRC"), let shared = curveOffset {
                offset = shared
            } else {
                if name.hasSuffix("TRC") { curveOffset = offset }
                data += body
                while data.count % 4 != 0 { data.append(0) }
            }
            table += sig(name) + be32(UInt32(offset)) + be32(UInt32(body.count))
        }
        let size = 128 + table.count + data.count
        var header = be32(UInt32(size)) + be32(0) + be32(0x0210_0000) + sig("scnr") + sig("RGB ") + sig("XYZ ")
        header += be16(2024) + be16(1) + be16(1) + be16(0) + be16(0) + be16(0)
        header += sig("acsp") + be32(0) + be32(0) + be32(0) + be32(0) + be32(0) + be32(0) + be32(0)
        header += s15(0.9642) + s15(1.0) + s15(0.8249) + be32(0)
        header += [UInt8](repeating: 0, count: 128 - header.count)
        return header + table + data
    }
}
