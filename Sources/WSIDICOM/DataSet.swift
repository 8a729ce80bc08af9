import Foundation

/// One data element's value: bytes in a VR, or a sequence of item data sets.
public enum DataElementValue: Sendable, Equatable {
    case bytes(VR, [UInt8])
    case sequence([DataSet])
}

/// An ordered set of data elements, built in memory and encoded as explicit VR little endian.
/// Pixel data is never held here: the file writer streams it after the data set.
public struct DataSet: Sendable, Equatable {
    public private(set) var elements: [Tag: DataElementValue] = [:]

    public init() {}

    public subscript(tag: Tag) -> DataElementValue? {
        get { elements[tag] }
        set { elements[tag] = newValue }
    }

    public mutating func set(_ tag: Tag, _ vr: VR, _ bytes: [UInt8]) { elements[tag] = .bytes(vr, bytes) }

    /// A text value (several values joined by backslash); an empty string writes an empty (Type 2) element.
    public mutating func set(_ tag: Tag, _ vr: VR, _ text: String) { elements[tag] = .bytes(vr, Array(text.utf8)) }
    public mutating func set(_ tag: Tag, _ vr: VR, values: [String]) { set(tag, vr, values.joined(separator: "\\")) }
    public mutating func set(_ tag: Tag, us value: UInt16) { elements[tag] = .bytes(.US, value.littleEndianBytes) }
    public mutating func set(_ tag: Tag, ul value: UInt32) { elements[tag] = .bytes(.UL, value.littleEndianBytes) }
    public mutating func set(_ tag: Tag, fl value: Float) { elements[tag] = .bytes(.FL, value.bitPattern.littleEndianBytes) }
    public mutating func set(_ tag: Tag, ds values: [Double]) { set(tag, .DS, values: values.map(DecimalString.format)) }
    public mutating func set(_ tag: Tag, at pointer: Tag) {
        elements[tag] = .bytes(.AT, pointer.group.littleEndianBytes + pointer.element.littleEndianBytes)
    }
    public mutating func set(_ tag: Tag, sequence items: [DataSet]) { elements[tag] = .sequence(items) }

    /// The text of a string element, without padding; nil when absent or not text.
    public func string(_ tag: Tag) -> String? {
        guard case .bytes(let vr, let bytes)? = elements[tag], vr.isText else { return nil }
        var end = bytes.count
        while end > 0 && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0) { end -= 1 }
        var start = 0
        if vr != .LT && vr != .ST && vr != .UT { while start < end && bytes[start] == 0x20 { start += 1 } }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    public func strings(_ tag: Tag) -> [String]? { string(tag).map { $0.split(separator: "\\", omittingEmptySubsequences: false).map { $0.trimmingSpaces } } }

    public func int(_ tag: Tag) -> Int? {
        guard case .bytes(let vr, let b)? = elements[tag] else { return nil }
        switch vr {
        case .US where b.count >= 2: return Int(UInt16(b[0]) | UInt16(b[1]) << 8)
        case .UL where b.count >= 4: return Int(UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24)
        case .SL where b.count >= 4: return Int(Int32(bitPattern: UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24))
        case .SS where b.count >= 2: return Int(Int16(bitPattern: UInt16(b[0]) | UInt16(b[1]) << 8))
        case .IS: return string(tag).flatMap { Int($0.trimmingSpaces) }
        default: return nil
        }
    }

    public func doubles(_ tag: Tag) -> [Double]? {
        guard case .bytes(let vr, let b)? = elements[tag] else { return nil }
        switch vr {
        case .DS: return strings(tag)?.compactMap { Double($0) }
        case .FL where b.count >= 4: return [Double(Float(bitPattern: UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24))]
        default: return nil
        }
    }

    public func items(_ tag: Tag) -> [DataSet]? {
        guard case .sequence(let items)? = elements[tag] else { return nil }
        return items
    }

    public func bytes(_ tag: Tag) -> [UInt8]? {
        guard case .bytes(_, let b)? = elements[tag] else { return nil }
        return b
    }

    /// Explicit VR little endian encoding of all elements in tag order; sequences and items get defined lengths.
    public func encoded() -> [UInt8] { encoded(locating: nil).bytes }

    /// The encoding, and where the value of top-level element `tag` starts in it.
    func encoded(locating tag: Tag?) -> (bytes: [UInt8], valueOffset: Int?) {
        var out = [UInt8]()
        var offset: Int?
        for key in elements.keys.sorted() {
            let start = out.count
            DataSet.encode(tag: key, value: elements[key]!, into: &out)
            if key == tag, case .bytes(let vr, _)? = elements[key] { offset = start + (vr.hasLongLength ? 12 : 8) }
        }
        return (out, offset)
    }

    static func encode(tag: Tag, value: DataElementValue, into out: inout [UInt8]) {
        switch value {
        case .bytes(let vr, var bytes):
            if bytes.count % 2 == 1 { bytes.append(vr.padding) }
            appendHeader(tag: tag, vr: vr, length: bytes.count, into: &out)
            out.append(contentsOf: bytes)
        case .sequence(let items):
            var body = [UInt8]()
            for item in items {
                let encodedItem = item.encoded()
                body += Tag.item.group.littleEndianBytes + Tag.item.element.littleEndianBytes + UInt32(encodedItem.count).littleEndianBytes
                body += encodedItem
            }
            appendHeader(tag: tag, vr: .SQ, length: body.count, into: &out)
            out += body
        }
    }

    static func appendHeader(tag: Tag, vr: VR, length: Int, into out: inout [UInt8]) {
        out += tag.group.littleEndianBytes + tag.element.littleEndianBytes
        out += Array(vr.rawValue.utf8)
        if vr.hasLongLength {
            out += [0, 0] + UInt32(truncatingIfNeeded: length).littleEndianBytes
        } else {
            out += UInt16(truncatingIfNeeded: length).littleEndianBytes
        }
    }
}

extension FixedWidthInteger {
    var littleEndianBytes: [UInt8] { withUnsafeBytes(of: self.littleEndian) { Array($0) } }
}

extension Substring {
    var trimmingSpaces: String {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " || s.last == "\0" { s.removeLast() }
        return String(s)
    }
}

extension String {
    var trimmingSpaces: String { Substring(self).trimmingSpaces }
}

/// Decimal String (DS) values: at most 16 characters.
public enum DecimalString {
    public static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        for precision in stride(from: 15, through: 1, by: -1) {
            let text = String(format: "%.\(precision)g", value)
            if text.count <= 16 { return text }
        }
        return "0"
    }
}
