import Foundation

/// The directories of a Hamamatsu NDPI file, read by hand: NDPI is classic little-endian TIFF whose
/// offsets grow to 64 bits (files pass 4 GiB) by keeping their high 32 bits apart: 8 bytes for the
/// first directory's offset and for each next one, and after each directory's entries one block of the
/// entries' high bytes. libtiff reads none of that, and only the few tags below matter here.
struct NDPIFile {
    struct Directory {
        var width = 0
        var height = 0
        var compression = 0
        var stripOffsets: [Int] = []
        var stripByteCounts: [Int] = []
        /// The objective's magnification for a level; -1 for the macro photo, -2 for the map.
        var sourceLens: Float?
        /// Focus offset of this image's plane; levels of the main plane have 0.
        var focalPlane: Int = 0
        /// Where each restart interval of the strip's JPEG starts, from the strip's start (65426).
        var mcuStarts: [Int]?
    }

    let directories: [Directory]

    init(file: ReadOnlyFile) throws {
        let head = try file.read(at: 0, count: min(16, file.size))
        guard head.count >= 16, head[0] == 0x49, head[1] == 0x49, head[2] == 42, head[3] == 0 else {
            throw SourceError(file.path, "not a little-endian classic TIFF, so not NDPI")
        }
        // Below 4 GiB the high halves are all zero, and reading just the low ones also takes files that
        // were written as plain TIFF.
        let large = file.size > Int(UInt32.max)
        var next = large ? Self.u64(head, 4) : Int(Self.u32(head, 4))
        var directories: [Directory] = []
        var seen = Set<Int>()
        while next != 0 {
            guard seen.insert(next).inserted, directories.count < 1000 else { throw SourceError(file.path, "NDPI directories loop") }
            let countBytes = try file.read(at: next, count: 2)
            let count = Int(Self.u16(countBytes, 0))
            // entries, the next offset (8 bytes), then the entries' high offset bytes
            let block = try file.read(at: next + 2, count: count * 12 + (large ? 8 + count * 4 : 4))
            var directory = Directory()
            let highBytes: (Int) -> Int = { i in large ? Int(Self.u32(block, count * 12 + 8 + 4 * i)) << 32 : 0 }
            for i in 0..<count {
                let entry = 12 * i
                let tag = Self.u16(block, entry), type = Self.u16(block, entry + 2)
                let n = Int(Self.u32(block, entry + 4))
                let inline = Int(Self.u32(block, entry + 8))
                let size = [1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 9: 4, 11: 4, 12: 8][Int(type)] ?? 1
                func values() throws -> [UInt8] {
                    if n * size <= 4 { return Array(block[(entry + 8)..<(entry + 8 + n * size)]) }
                    return try file.read(at: inline + highBytes(i), count: n * size)
                }
                func integers() throws -> [Int] {
                    let bytes = try values()
                    switch type {
                    case 3: return (0..<n).map { Int(Self.u16(bytes, 2 * $0)) }
                    case 4: return (0..<n).map { Int(Self.u32(bytes, 4 * $0)) }
                    case 9: return (0..<n).map { Int(Int32(bitPattern: Self.u32(bytes, 4 * $0))) }
                    default: return []
                    }
                }
                switch tag {
                case 256: directory.width = try integers().first ?? 0
                case 257: directory.height = try integers().first ?? 0
                case 259: directory.compression = try integers().first ?? 0
                case 273: directory.stripOffsets = try integers().map { n == 1 ? $0 + highBytes(i) : $0 }
                case 279: directory.stripByteCounts = try integers().map { n == 1 ? $0 + highBytes(i) : $0 }
                case 65421 where type == 11: directory.sourceLens = Float(bitPattern: UInt32(truncatingIfNeeded: inline))
                case 65424: directory.focalPlane = try integers().first ?? 0
                case 65426: directory.mcuStarts = try integers()
                default: break
                }
            }
            // McuStartsHighBytes (65432), where the strip passes 4 GiB.
            if var starts = directory.mcuStarts, let i = (0..<count).first(where: { Self.u16(block, 12 * $0) == 65432 }) {
                let n = Int(Self.u32(block, 12 * i + 4)), offset = Int(Self.u32(block, 12 * i + 8)) + highBytes(i)
                if n == starts.count {
                    let high = try file.read(at: offset, count: 4 * n)
                    for k in 0..<n { starts[k] += Int(Self.u32(high, 4 * k)) << 32 }
                    directory.mcuStarts = starts
                }
            }
            directories.append(directory)
            next = large ? Self.u64(block, count * 12) : Int(Self.u32(block, count * 12))
        }
        self.directories = directories
    }

    private static func u16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    private static func u32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
    private static func u64(_ b: [UInt8], _ i: Int) -> Int { Int(u32(b, i)) | Int(u32(b, i + 4)) << 32 }
}
