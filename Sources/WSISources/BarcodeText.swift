import Foundation

/// A barcode as scanners write it in their XML: base64 of printable text where it decodes to such, else as
/// it stands; nil when empty.
func barcodeText(_ stored: String) -> String? {
    guard !stored.isEmpty else { return nil }
    if stored.count % 4 == 0, let data = Data(base64Encoded: stored), !data.isEmpty, data.allSatisfy({ (0x20..<0x7F).contains($0) }) {
        return String(decoding: data, as: UTF8.self)
    }
    return stored
}
