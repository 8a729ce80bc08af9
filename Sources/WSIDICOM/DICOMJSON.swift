import Foundation

/// The DICOM JSON model (PS3.18 F.2) of a data set, for DICOMweb metadata responses. Bulk data (OB, OW,
/// OV, UN, and pixel data) is left out, as a metadata response without bulk data URIs may.
public enum DICOMJSON {
    public static func object(_ dataSet: DataSet) -> [String: Any] {
        var out: [String: Any] = [:]
        for (tag, value) in dataSet.elements {
            let key = String(format: "%04X%04X", tag.group, tag.element)
            switch value {
            case .sequence(let items):
                out[key] = ["vr": "SQ", "Value": items.map(object)] as [String: Any]
            case .bytes(let vr, let bytes):
                if let element = element(vr: vr, bytes: bytes, dataSet: dataSet, tag: tag) { out[key] = element }
            }
        }
        return out
    }

    static func element(vr: VR, bytes: [UInt8], dataSet: DataSet, tag: Tag) -> [String: Any]? {
        func numbers<T>(_ size: Int, _ read: (Int) -> T) -> [T] { stride(from: 0, to: bytes.count - size + 1, by: size).map(read) }
        func u16(_ i: Int) -> UInt16 { UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8 }
        func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) | UInt32(u16(i + 2)) << 16 }
        var result: [String: Any] = ["vr": vr.rawValue]
        switch vr {
        case .OB, .OW, .OV, .OD, .OF, .OL, .UN, .SV, .UV:
            return nil
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
