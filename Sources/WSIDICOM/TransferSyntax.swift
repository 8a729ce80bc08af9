/// The transfer syntaxes a WSI instance of ours can carry, and what their frames hold.
public enum TransferSyntax: String, Sendable, Codable {
    case explicitVRLittleEndian = "1.2.840.10008.1.2.1"
    case implicitVRLittleEndian = "1.2.840.10008.1.2"
    case jpegBaseline = "1.2.840.10008.1.2.4.50"
    case jpegExtended = "1.2.840.10008.1.2.4.51"
    case jpegLossless = "1.2.840.10008.1.2.4.70"
    case jpeg2000Lossless = "1.2.840.10008.1.2.4.90"
    case jpeg2000 = "1.2.840.10008.1.2.4.91"
    case htj2kLossless = "1.2.840.10008.1.2.4.201"
    case htj2k = "1.2.840.10008.1.2.4.203"

    public var isEncapsulated: Bool { self != .explicitVRLittleEndian && self != .implicitVRLittleEndian }

    public var name: String {
        switch self {
        case .explicitVRLittleEndian: return "uncompressed"
        case .implicitVRLittleEndian: return "uncompressed (implicit VR)"
        case .jpegBaseline: return "JPEG baseline"
        case .jpegExtended: return "JPEG extended"
        case .jpegLossless: return "JPEG lossless"
        case .jpeg2000Lossless: return "JPEG 2000 lossless"
        case .jpeg2000: return "JPEG 2000"
        case .htj2kLossless: return "HTJ2K lossless"
        case .htj2k: return "HTJ2K"
        }
    }
}
