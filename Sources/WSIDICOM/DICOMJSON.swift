import Foundation

/// The DICOM JSON model (PS3.18 F.2) of a data set, for DICOMweb metadata responses. Bulk data (OB, OW,
/// OV, UN, ...; pixel data is never in the data set) is left out, as a metadata response may, unless
/// the caller gives `bulkDataURI`: then binary values up to `inlineLimit` bytes are InlineBinary and
/// larger ones BulkDataURIs the server answers. Viewers need the ICC profile (dicom-microscopy-viewer
/// warns without one); inline, it reaches every client with the metadata, pydicom's `from_json` included,
/// and does not depend on the absolute URL the server believes it has (dicomweb-client sends a Host
/// header without the port, so a URI built from it points at port 80).
public enum DICOMJSON {
    /// Binary values up to this size are sent inline: ICC profiles are a few kilobytes as a rule.
    public static let inlineLimit = 64 << 10

    /// `bulkDataURI` maps an element's path (see `bulkData(in:path:)`) to the URI to put in the JSON.
    public static func object(_ dataSet: DataSet, bulkDataURI: ((_ path: String) -> String)? = nil) -> [String: Any] {
        object(dataSet, prefix: "", bulkDataURI: bulkDataURI)
    }

    static func object(_ dataSet: DataSet, prefix: String, bulkDataURI: ((String) -> String)?) -> [String: Any] {
        var out: [String: Any] = [:]
        for (tag, value) in dataSet.elements {
            let key = String(format: "%04X%04X", tag.group, tag.element)
            switch value {
            case .sequence(let items):
                let objects = items.enumerated().map { object($0.element, prefix: "\(prefix)\(key)/\($0.offset)/", bulkDataURI: bulkDataURI) }
                out[key] = ["vr": "SQ", "Value": objects] as [String: Any]
            case .bytes(let vr, let bytes):
                if isBulk(vr) {
                    guard let bulkDataURI, !bytes.isEmpty else { continue }
                    out[key] = bytes.count <= inlineLimit ? ["vr": vr.rawValue, "InlineBinary": Data(bytes).base64EncodedString()]
                        : ["vr": vr.rawValue, "BulkDataURI": bulkDataURI(prefix + key)]
                } else if let element = element(vr: vr, bytes: bytes, dataSet: dataSet, tag: tag) {
                    out[key] = element
                }
            }
        }
        return out
    }

    static func isBulk(_ vr: VR) -> Bool {
        switch vr {
        case .OB, .OW, .OV, .OD, .OF, .OL, .UN, .SV, .UV: return true
        default: return false
        }
    }

    /// The bytes of the binary element at `path`, the inverse of the paths given to `bulkDataURI`:
    /// tags (8 hex digits) and item indices (from 0) alternating, ending on a tag, such as
    /// `["00480105", "0", "00282000"]` for the ICC profile of the first optical path. Nil for anything
    /// else, so a path from a request can be passed as it is.
    public static func bulkData(in dataSet: DataSet, path: [String]) -> [UInt8]? {
        func tag(_ text: String) -> Tag? {
            guard text.count == 8, let value = UInt32(text, radix: 16) else { return nil }
            return Tag(UInt16(value >> 16), UInt16(value & 0xFFFF))
        }
        guard path.count % 2 == 1, path.count <= 15 else { return nil }
        var current = dataSet
        var index = 0
        while index + 1 < path.count {
            guard let sequence = tag(path[index]), let items = current.items(sequence),
                  let item = Int(path[index + 1]), item >= 0, item < items.count else { return nil }
            current = items[item]
            index += 2
        }
        guard let last = tag(path[index]), case .bytes(let vr, let bytes)? = current[last], isBulk(vr) else { return nil }
        return bytes
    }

    static func element(vr: VR, bytes: [UInt8], dataSet: DataSet, tag: Tag) -> [String: Any]? {
        func numbers<T>(_ size: Int, _ read: (Int) -> T) -> [T] { stride(from: 0, to: bytes.count - size + 1, by: size).map(read) }
        func u16(_ i: Int) -> UInt16 { UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8 }
        func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) | UInt32(u16(i + 2)) << 16 }
        var result: [String: Any] = ["vr": vr.rawValue]
        switch vr {
        case .OB, .OW, .OV, .OD, .OF, .OL, .UN, .SV, .UV:
            return nil  // bulk data: see `object`
        case .US: result["Value"] = numbers(2) { Int(u16($0)) }
        case .SS: result["Value"] = numbers(2) { Int(Int16(bitPattern: u16($0))) }
        case .UL: result["Value"] = numbers(4) { Int(u32($0)) }
        case .SL: result["Value"] = numbers(4) { Int(Int32(bitPattern: u32($0))) }
        case .FL: result["Value"] = numbers(4) { Double(Float(bitPattern: u32($0))) }
        case .FD: result["Value"] = numbers(8) { Double(bitPattern: UInt64(u32($0)) | UInt64(u32($0 + 4)) << 32) }
        case .AT: result["Value"] = numbers(4) { String(format: "%04X%04X", u16($0), u16($0 + 2)) }
        case .DS, .IS:
            let values = dataSet.strings(tag) ?? []
            if values.allSatisfy({ $0.isEmpty }) { return result }
            result["Value"] = values.map { vr == .IS ? (Int($0).map { $0 as Any } ?? $0 as Any) : (Double($0).map { $0 as Any } ?? $0 as Any) }
        case .PN:
            let values = dataSet.strings(tag) ?? []
            if values.allSatisfy({ $0.isEmpty }) { return result }
            result["Value"] = values.map { ["Alphabetic": $0] }
        case .LT, .ST, .UT, .UR:
            let text = dataSet.string(tag) ?? ""
            if !text.isEmpty { result["Value"] = [text] }
        default:
            let values = dataSet.strings(tag) ?? []
            if values.allSatisfy({ $0.isEmpty }) { return result }
            result["Value"] = values
        }
        return result
    }
}
