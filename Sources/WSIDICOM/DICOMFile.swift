import Foundation

/// A DICOM Part 10 file read without loading its pixel data: the header as a `DataSet` and the byte
/// range of every frame (from the Basic or Extended Offset Table, or one fragment per frame).
/// The file is memory-mapped, so frames are read on demand by the page cache.
public final class DICOMFile: @unchecked Sendable {
    public let path: String
    public let meta: DataSet
    public let dataSet: DataSet
    public let transferSyntaxUID: String
    /// Byte ranges of each frame's data in the file (encapsulated: one range per fragment of the frame).
    public let frameFragments: [[Range<Int>]]
    private let data: Data

    public struct ReadError: Error, CustomStringConvertible, Sendable {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public convenience init(path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw ReadError(path: path, reason: "cannot be read")
        }
        try self.init(data: data, path: path)
    }

    /// Parses bytes already in memory; `path` names them in errors.
    public init(data: Data, path: String) throws {
        self.path = path
        let data = data.startIndex == 0 ? data : Data(data)  // the parser counts from 0
        self.data = data
        var parser = Parser(data: data, path: path)
        guard data.count > 132, data[128] == 0x44, data[129] == 0x49, data[130] == 0x43, data[131] == 0x4D else {
            throw ReadError(path: path, reason: "not a DICOM Part 10 file (no DICM prefix)")
        }
        parser.position = 132
        let meta = try parser.readDataSet(explicit: true, until: { $0.group != 0x0002 })
        self.meta = meta
        let syntax = meta.string(.transferSyntaxUID) ?? ""
        transferSyntaxUID = syntax
        let explicit = syntax != TransferSyntax.implicitVRLittleEndian.rawValue
        guard syntax != "1.2.840.10008.1.2.2" else { throw ReadError(path: path, reason: "big endian transfer syntax is not supported") }
        let dataSet = try parser.readDataSet(explicit: explicit, until: { $0 == .pixelData })
        self.dataSet = dataSet

        let frames = dataSet.int(.numberOfFrames) ?? 1
        // Number of Frames is an IS of at most 2^31 - 1; anything else is not a count to allocate by.
        guard frames >= 1 && frames <= Int(Int32.max) else { throw ReadError(path: path, reason: "Number of Frames is \(frames)") }
        var fragmentsByFrame: [[Range<Int>]] = []
        if parser.position + 8 <= data.count, parser.peekTag() == .pixelData {
            let (_, length, valueStart) = try parser.readHeader(explicit: explicit)
            if length == 0xFFFF_FFFF {
                let (table, fragments) = try parser.readFragments()
                if fragments.count == frames {
                    fragmentsByFrame = fragments.map { [$0] }
                } else if let eotBytes = dataSet.bytes(.extendedOffsetTable), eotBytes.count == frames * 8 {
                    let offsets = (0..<frames).map { i in eotBytes[(i * 8)..<(i * 8 + 8)].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) } }
                    fragmentsByFrame = DICOMFile.group(fragments, itemOffsets: offsets)
                } else if table.count == frames {
                    fragmentsByFrame = DICOMFile.group(fragments, itemOffsets: table)
                } else if frames == 1 {
                    fragmentsByFrame = [fragments]
                } else {
                    throw ReadError(path: path, reason: "\(fragments.count) fragments for \(frames) frames and no offset table")
                }
            } else {
                guard valueStart + length <= data.count else { throw ReadError(path: path, reason: "pixel data runs past the end of the file") }
                let frameLength = length / frames
                fragmentsByFrame = (0..<frames).map { [(valueStart + $0 * frameLength)..<(valueStart + ($0 + 1) * frameLength)] }
            }
        }
        frameFragments = fragmentsByFrame
    }

    /// Fragments grouped into frames by the offsets of each frame's first item (relative to the first fragment's item).
    private static func group(_ fragments: [Range<Int>], itemOffsets: [Int]) -> [[Range<Int>]] {
        guard let first = fragments.first else { return [] }
        let base = first.lowerBound - 8
        var frames: [[Range<Int>]] = Array(repeating: [], count: itemOffsets.count)
        for fragment in fragments {
            let itemOffset = fragment.lowerBound - 8 - base
            var frame = 0
            while frame + 1 < itemOffsets.count && itemOffsets[frame + 1] <= itemOffset { frame += 1 }
            frames[frame].append(fragment)
        }
        return frames
    }

    public var numberOfFrames: Int { frameFragments.count }

    /// Whether a file starts like DICOM Part 10 (128 bytes, then "DICM"), read without mapping it.
    public static func hasPart10Prefix(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = handle.readData(ofLength: 132)
        return head.count == 132 && head[128] == 0x44 && head[129] == 0x49 && head[130] == 0x43 && head[131] == 0x4D
    }

    /// The bytes of frame `index` as a Data slice of the mapped file (no copy when it is one fragment).
    public func frameData(_ index: Int) -> Data {
        let fragments = frameFragments[index]
        if fragments.count == 1 { return data[fragments[0]] }
        var out = Data()
        for range in fragments { out.append(data[range]) }
        return out
    }

    /// The bytes of frame `index` (fragments joined).
    public func frame(_ index: Int) -> [UInt8] {
        var out = [UInt8]()
        for range in frameFragments[index] { out.append(contentsOf: data[range]) }
        return out
    }

    /// A stream over the mapped bytes, explicit or implicit VR little endian.
    struct Parser {
        let data: Data
        let path: String
        var position = 0

        func fail(_ reason: String) -> ReadError { ReadError(path: path, reason: reason) }

        func u16(_ at: Int) -> Int { Int(data[at]) | Int(data[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }

        func peekTag() -> Tag { Tag(UInt16(u16(position)), UInt16(u16(position + 2))) }

        /// Reads a tag and length; returns the VR (nil when implicit) and the value's start.
        mutating func readHeader(explicit: Bool) throws -> (VR?, Int, Int) {
            guard position + 8 <= data.count else { throw fail("truncated at byte \(position)") }
            let tag = peekTag()
            if tag.group == 0xFFFE || !explicit {
                let length = u32(position + 4)
                position += 8
                return (nil, length, position)
            }
            let vrText = String(decoding: data[(position + 4)..<(position + 6)], as: UTF8.self)
            guard let vr = VR(rawValue: vrText) else { throw fail("unknown VR '\(vrText)' at byte \(position)") }
            if vr.hasLongLength {
                guard position + 12 <= data.count else { throw fail("truncated at byte \(position)") }
                let length = u32(position + 8)
                position += 12
                return (vr, length, position)
            }
            let length = u16(position + 6)
            position += 8
            return (vr, length, position)
        }

        mutating func readDataSet(explicit: Bool, end: Int? = nil, until stop: (Tag) -> Bool) throws -> DataSet {
            var set = DataSet()
            let limit = min(end ?? data.count, data.count)
            while position + 8 <= limit {
                let tag = peekTag()
                if tag == .itemDelimitation { position += 8; break }
                if stop(tag) { break }
                let (vr, length, start) = try readHeader(explicit: explicit)
                if vr == .SQ || (vr == nil && length == 0xFFFF_FFFF) || (vr == .UN && length == 0xFFFF_FFFF) {
                    set[tag] = .sequence(try readItems(explicit: vr == .UN ? false : explicit, length: length))
                    continue
                }
                guard length != 0xFFFF_FFFF else { throw fail("undefined length on \(tag)") }
                guard start + length <= data.count else { throw fail("element \(tag) runs past the end of the file") }
                set[tag] = .bytes(vr ?? Self.implicitVR(tag), [UInt8](data[start..<(start + length)]))
                position = start + length
            }
            return set
        }

        /// Sequences nest this deep at most (WSI headers nest 4 or 5 deep); deeper is a broken or hostile file.
        static let maximumDepth = 32
        var depth = 0

        mutating func readItems(explicit: Bool, length: Int) throws -> [DataSet] {
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.maximumDepth else { throw fail("sequences nest deeper than \(Self.maximumDepth) at byte \(position)") }
            var items = [DataSet]()
            let end = length == 0xFFFF_FFFF ? Int.max : position + length
            while position + 8 <= min(end, data.count) {
                let tag = peekTag()
                if tag == .sequenceDelimitation { position += 8; break }
                guard tag == .item else { throw fail("expected an item at byte \(position)") }
                let itemLength = u32(position + 4)
                position += 8
                if itemLength == 0xFFFF_FFFF {
                    items.append(try readDataSet(explicit: explicit, until: { _ in false }))
                } else {
                    let itemEnd = position + itemLength
                    items.append(try readDataSet(explicit: explicit, end: itemEnd, until: { _ in false }))
                    position = itemEnd
                }
            }
            return items
        }

        /// Reads the Basic Offset Table and the fragments of encapsulated pixel data (ranges, not bytes).
        mutating func readFragments() throws -> ([Int], [Range<Int>]) {
            var table = [Int]()
            var fragments = [Range<Int>]()
            var first = true
            while position + 8 <= data.count {
                let tag = peekTag()
                let length = u32(position + 4)
                position += 8
                if tag == .sequenceDelimitation { break }
                guard tag == .item, position + length <= data.count else { throw fail("broken pixel data fragment at byte \(position - 8)") }
                if first {
                    table = (0..<(length / 4)).map { u32(position + 4 * $0) }
                    first = false
                } else {
                    fragments.append(position..<(position + length))
                }
                position += length
            }
            return (table, fragments)
        }

        /// VRs of the few attributes we read from implicit VR files; the rest stay bytes.
        static func implicitVR(_ tag: Tag) -> VR {
            switch tag {
            case .rows, .columns, .samplesPerPixel, .bitsAllocated, .bitsStored, .highBit, .pixelRepresentation, .planarConfiguration: return .US
            case .totalPixelMatrixColumns, .totalPixelMatrixRows, .numberOfOpticalPaths, .totalPixelMatrixFocalPlanes: return .UL
            case .numberOfFrames, .instanceNumber, .seriesNumber: return .IS
            case .pixelSpacing, .imageOrientationSlide: return .DS
            case .imageType, .photometricInterpretation, .dimensionOrganizationType, .modality: return .CS
            case .sopClassUID, .sopInstanceUID, .studyInstanceUID, .seriesInstanceUID, .frameOfReferenceUID, .pyramidUID: return .UI
            case .extendedOffsetTable, .extendedOffsetTableLengths: return .OV
            default: return .UN
            }
        }
    }
}
