import Foundation

/// Reads frames of an instance some other way than by byte ranges of its file (Orthanc's SDK, say,
/// which hands out frames by number).
public protocol FrameFetcher: Sendable {
    func frame(_ index: Int) throws -> Data
}

/// A DICOM Part 10 file read without loading its pixel data: the header as a `DataSet` and the byte
/// range of every frame (from the Basic or Extended Offset Table, or one fragment per frame).
/// Frames are read on demand from the source (`pread` for files, never a memory map: see `ByteSource`).
public final class DICOMFile: @unchecked Sendable {
    public let path: String
    public let meta: DataSet
    public let dataSet: DataSet
    public let transferSyntaxUID: String
    /// Byte ranges of each frame's data in the file (encapsulated: one range per fragment of the frame).
    public let frameFragments: [[Range<Int>]]
    private let source: any ByteSource
    private let fetcher: (any FrameFetcher)?

    public struct ReadError: Error, CustomStringConvertible, Sendable {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// Frames past this count are refused: a 2^31-frame header in a small file is hostile, and the index
    /// keeps one entry per frame. A 200,000 x 200,000 level of 256-pixel tiles has 610,000.
    public static let maximumFrames = 4_000_000

    public convenience init(path: String) throws {
        let source: FileByteSource
        do {
            source = try FileByteSource(path: path)
        } catch {
            throw ReadError(path: path, reason: "\(error)")
        }
        try self.init(source: source, path: path)
        source.releaseDescriptor()
    }

    /// Parses bytes already in memory; `path` names them in errors.
    public convenience init(data: Data, path: String) throws {
        try self.init(source: MemoryByteSource(data), path: path)
    }

    /// Parses the header from `source`; frames are read from it, or from `fetcher` when one is given.
    public init(source: any ByteSource, path: String, fetcher: (any FrameFetcher)? = nil) throws {
        self.path = path
        // With a fetcher, the source only serves the header: do not keep a whole file in memory for it.
        self.source = fetcher == nil ? source : MemoryByteSource(Data())
        self.fetcher = fetcher
        let window = ByteWindow(source)
        var parser = Parser(window: window, path: path)
        do {
            guard source.count > 132, try window.bytes(128, 4) == Data("DICM".utf8) else {
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
            frameFragments = try Self.frames(of: dataSet, parser: &parser, explicit: explicit, path: path)
        } catch let error as ByteSourceError {
            throw ReadError(path: path, reason: error.reason)
        }
    }

    /// Every frame's fragments, checked against the file: inside it, in order, none empty.
    private static func frames(of dataSet: DataSet, parser: inout Parser, explicit: Bool, path: String) throws -> [[Range<Int>]] {
        func fail(_ reason: String) -> ReadError { ReadError(path: path, reason: reason) }
        let frames = dataSet.int(.numberOfFrames) ?? 1
        guard frames >= 1 && frames <= maximumFrames else { throw fail("Number of Frames is \(frames)") }
        let size = parser.window.count
        guard parser.position + 8 <= size, try parser.peekTag() == .pixelData else { return [] }
        let (_, length, valueStart) = try parser.readHeader(explicit: explicit)
        if length != 0xFFFF_FFFF {
            guard valueStart + length <= size else { throw fail("pixel data runs past the end of the file") }
            let frameLength = length / frames
            guard frameLength > 0 else { throw fail("\(length) bytes of pixel data for \(frames) frames") }
            return (0..<frames).map { [(valueStart + $0 * frameLength)..<(valueStart + ($0 + 1) * frameLength)] }
        }
        // Every fragment is at least an 8-byte item header: a file cannot hold more than this many.
        let (table, fragments) = try parser.readFragments(limit: max(frames, size / 8))
        guard !fragments.isEmpty else { throw fail("encapsulated pixel data holds no fragment") }
        var grouped: [[Range<Int>]]
        if fragments.count == frames {
            grouped = fragments.map { [$0] }
        } else if let eotBytes = dataSet.bytes(.extendedOffsetTable), eotBytes.count == frames * 8 {
            let offsets = (0..<frames).map { i in eotBytes[(i * 8)..<(i * 8 + 8)].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) } }
            grouped = try group(fragments, itemOffsets: offsets, path: path)
        } else if table.count == frames {
            grouped = try group(fragments, itemOffsets: table, path: path)
        } else if frames == 1 {
            grouped = [fragments]
        } else {
            throw fail("\(fragments.count) fragments for \(frames) frames and no offset table")
        }
        guard grouped.allSatisfy({ $0.contains { !$0.isEmpty } }) else { throw fail("a frame has no data (empty fragments)") }
        return grouped
    }

    /// Fragments grouped into frames by the offsets of each frame's first item (relative to the first
    /// fragment's item). The offsets must start at the first item, rise strictly, and each name the start
    /// of an item; one pass over both lists.
    private static func group(_ fragments: [Range<Int>], itemOffsets: [Int], path: String) throws -> [[Range<Int>]] {
        guard let first = fragments.first else { return [] }
        let base = first.lowerBound - 8
        guard itemOffsets.first == 0 else { throw ReadError(path: path, reason: "the offset table does not start at the first fragment") }
        var frames: [[Range<Int>]] = Array(repeating: [], count: itemOffsets.count)
        var frame = 0
        for fragment in fragments {
            let itemOffset = fragment.lowerBound - 8 - base
            while frame + 1 < itemOffsets.count && itemOffsets[frame + 1] <= itemOffset {
                guard itemOffsets[frame + 1] == itemOffset, itemOffsets[frame + 1] > itemOffsets[frame] else {
                    throw ReadError(path: path, reason: "the offset table names no fragment's start, or goes backwards (frame \(frame + 2))")
                }
                frame += 1
            }
            frames[frame].append(fragment)
        }
        guard frame + 1 == itemOffsets.count else {
            throw ReadError(path: path, reason: "the offset table points past the last fragment (frame \(frame + 2))")
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

    /// The bytes of frame `index` (fragments joined). Throws when the index is out of range or the bytes
    /// cannot be read (the file changed since it was indexed).
    public func frameData(_ index: Int) throws -> Data {
        guard index >= 0, index < frameFragments.count else {
            throw ReadError(path: path, reason: "no frame \(index + 1) (\(frameFragments.count) frames)")
        }
        do {
            if let fetcher { return try fetcher.frame(index) }
            let fragments = frameFragments[index]
            if fragments.count == 1 { return try source.read(fragments[0]) }
            var out = Data()
            for range in fragments { out.append(try source.read(range)) }
            return out
        } catch let error as ByteSourceError {
            throw ReadError(path: path, reason: error.reason)
        }
    }

    /// The file the frames are read from, when they come from one (not from memory or a fetcher).
    public var fileSource: FileByteSource? { fetcher == nil ? source as? FileByteSource : nil }

    /// The bytes of frame `index` (fragments joined).
    public func frame(_ index: Int) throws -> [UInt8] {
        [UInt8](try frameData(index))
    }

    /// A stream over the source's bytes, explicit or implicit VR little endian.
    struct Parser {
        let window: ByteWindow
        let path: String
        var position = 0

        func fail(_ reason: String) -> ReadError { ReadError(path: path, reason: reason) }

        func u16(_ at: Int) throws -> Int { try window.u16(at) }
        func u32(_ at: Int) throws -> Int { try window.u32(at) }

        func peekTag() throws -> Tag { Tag(UInt16(try u16(position)), UInt16(try u16(position + 2))) }

        /// Reads a tag and length; returns the VR (nil when implicit) and the value's start.
        mutating func readHeader(explicit: Bool) throws -> (VR?, Int, Int) {
            guard position + 8 <= window.count else { throw fail("truncated at byte \(position)") }
            let tag = try peekTag()
            if tag.group == 0xFFFE || !explicit {
                let length = try u32(position + 4)
                position += 8
                return (nil, length, position)
            }
            let vrText = String(decoding: try window.bytes(position + 4, 2), as: UTF8.self)
            guard let vr = VR(rawValue: vrText) else { throw fail("unknown VR '\(vrText)' at byte \(position)") }
            if vr.hasLongLength {
                guard position + 12 <= window.count else { throw fail("truncated at byte \(position)") }
                let length = try u32(position + 8)
                position += 12
                return (vr, length, position)
            }
            let length = try u16(position + 6)
            position += 8
            return (vr, length, position)
        }

        mutating func readDataSet(explicit: Bool, end: Int? = nil, until stop: (Tag) -> Bool) throws -> DataSet {
            var set = DataSet()
            let limit = min(end ?? window.count, window.count)
            while position + 8 <= limit {
                let tag = try peekTag()
                if tag == .itemDelimitation { position += 8; break }
                if stop(tag) { break }
                let (vr, length, start) = try readHeader(explicit: explicit)
                if vr == .SQ || (vr == nil && length == 0xFFFF_FFFF) || (vr == .UN && length == 0xFFFF_FFFF) {
                    set[tag] = .sequence(try readItems(explicit: vr == .UN ? false : explicit, length: length))
                    continue
                }
                guard length != 0xFFFF_FFFF else { throw fail("undefined length on \(tag)") }
                guard start + length <= window.count else { throw fail("element \(tag) runs past the end of the file") }
                set[tag] = .bytes(vr ?? Self.implicitVR(tag), [UInt8](try window.bytes(start, length)))
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
            while position + 8 <= min(end, window.count) {
                let tag = try peekTag()
                if tag == .sequenceDelimitation { position += 8; break }
                guard tag == .item else { throw fail("expected an item at byte \(position)") }
                let itemLength = try u32(position + 4)
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

        /// Reads the Basic Offset Table and the fragments of encapsulated pixel data (ranges, not bytes);
        /// at most `limit` fragments.
        mutating func readFragments(limit: Int) throws -> ([Int], [Range<Int>]) {
            var table = [Int]()
            var fragments = [Range<Int>]()
            var first = true
            while position + 8 <= window.count {
                let tag = try peekTag()
                let length = try u32(position + 4)
                position += 8
                if tag == .sequenceDelimitation { break }
                guard tag == .item, position + length <= window.count else { throw fail("broken pixel data fragment at byte \(position - 8)") }
                if first {
                    let entries = try window.bytes(position, length - length % 4)
                    let s = entries.startIndex
                    table = (0..<(length / 4)).map { i in
                        Int(entries[s + 4 * i]) | Int(entries[s + 4 * i + 1]) << 8 | Int(entries[s + 4 * i + 2]) << 16 | Int(entries[s + 4 * i + 3]) << 24
                    }
                    first = false
                } else {
                    guard fragments.count < limit else { throw fail("more than \(limit) pixel data fragments") }
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
