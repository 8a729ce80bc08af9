import Foundation

/// DICOM UIDs: fresh ones under the UUID-derived root 2.25, and the fixed ones this project uses.
public enum UID {
    /// A new UID `2.25.<the decimal value of a random UUID>` (PS3.5 B.2).
    public static func make() -> String {
        let uuid = UUID().uuid
        let bytes = withUnsafeBytes(of: uuid) { Array($0) }
        return "2.25." + decimal(of: bytes)
    }

    /// A deterministic UID derived from a name (for UIDs that must be stable across runs).
    public static func make(from name: String) -> String {
        var hash: (UInt64, UInt64) = (0xcbf29ce484222325, 0x84222325cbf29ce4)
        for byte in name.utf8 {
            hash.0 = (hash.0 ^ UInt64(byte)) &* 0x100000001b3
            hash.1 = (hash.1 ^ UInt64(byte)) &* 0x100000001b3 &+ 0x9e3779b97f4a7c15
        }
        return "2.25." + decimal(of: hash.0.bigEndianBytes + hash.1.bigEndianBytes)
    }

    /// The decimal digits of a big-endian unsigned integer.
    static func decimal(of bigEndian: [UInt8]) -> String {
        var number = bigEndian
        var digits = [Character]()
        while number.contains(where: { $0 != 0 }) {
            var remainder = 0
            for i in 0..<number.count {
                let value = remainder * 256 + Int(number[i])
                number[i] = UInt8(value / 10)
                remainder = value % 10
            }
            digits.append(Character(String(remainder)))
        }
        return digits.isEmpty ? "0" : String(digits.reversed())
    }

    public static let vlWholeSlideMicroscopyImageStorage = "1.2.840.10008.5.1.4.1.1.77.1.6"
    /// This project's implementation class UID (stable, derived from its name).
    public static let implementationClass = "2.25.190276253870398102953186592785736291347"
    public static let implementationVersionName = "DICOMIZER_1"
}

extension UInt64 {
    var bigEndianBytes: [UInt8] { withUnsafeBytes(of: self.bigEndian) { Array($0) } }
}
