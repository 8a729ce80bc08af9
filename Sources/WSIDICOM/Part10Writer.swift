import Foundation

/// Writes one DICOM Part 10 file: preamble, File Meta, the data set, then pixel data streamed frame by
/// frame. Encapsulated frames get one fragment each and a Basic Offset Table patched in at the end; when
/// the frames pass what 32-bit offsets can address, the file is rewritten with an Extended Offset Table
/// (and an empty Basic Offset Table), streaming the fragments across.
public final class Part10Writer {
    public let path: String
    public let transferSyntax: TransferSyntax
    public let frameCount: Int
    private let dataSet: DataSet
    private let encodedDataSet: [UInt8]
    /// Where the Lossy Image Compression Ratio value sits in the file, to patch in the measured ratio.
    private let ratioValuePosition: Int?
    private let ratioValueLength: Int
    private let meta: [UInt8]
    private var frameBytes: UInt64 = 0
    private var file: OutputFile
    private var framesWritten = 0
    private var offsetTablePosition: UInt64 = 0
    private var firstFragmentPosition: UInt64 = 0
    private var frameOffsets: [UInt64] = []
    private var frameLengths: [UInt64] = []
    private let nativeFrameLength: Int
    /// Fragment offsets at or above this use the Extended Offset Table (tests lower it).
    let extendedOffsetThreshold: UInt64
    public private(set) var usedExtendedOffsetTable = false
    /// Whether to write around the page cache (see `OutputFile`).
    private let direct: Bool
    /// Whether the file is being written around the page cache: asked for, and taken by the file system.
    public var writesAroundPageCache: Bool { file.direct }

    /// `dataSet` must hold everything but pixel data; `frameLength` is needed for uncompressed frames.
    public init(path: String, dataSet: DataSet, sopInstanceUID: String, transferSyntax: TransferSyntax,
                frameCount: Int, nativeFrameLength: Int = 0, extendedOffsetThreshold: UInt64 = UInt64(UInt32.max),
                direct: Bool = true) throws {
        self.path = path
        self.transferSyntax = transferSyntax
        self.frameCount = frameCount
        self.dataSet = dataSet
        self.nativeFrameLength = nativeFrameLength
        self.extendedOffsetThreshold = extendedOffsetThreshold
        self.direct = direct
        let sopClass = dataSet.string(.sopClassUID) ?? UID.vlWholeSlideMicroscopyImageStorage
        let meta = Part10Writer.fileMeta(sopClassUID: sopClass, sopInstanceUID: sopInstanceUID, transferSyntax: transferSyntax)
        self.meta = meta
        let (bytes, ratioOffset) = dataSet.encoded(locating: .lossyImageCompressionRatio)
        encodedDataSet = bytes
        ratioValuePosition = ratioOffset.map { $0 + meta.count }
        ratioValueLength = dataSet.bytes(.lossyImageCompressionRatio).map { $0.count + $0.count % 2 } ?? 0
        if !transferSyntax.isEncapsulated {
            let total = UInt64(nativeFrameLength) * UInt64(frameCount)
            guard total < UInt64(UInt32.max) - 1 else {
                throw OutputError(path: path, reason: "uncompressed pixel data of \(total) bytes exceeds the 4 GiB a DICOM element can hold; use a compressed transfer syntax")
            }
        }
        file = try OutputFile(destination: path, direct: direct)
        do {
            try writeHeader(to: file, extendedTable: false)
        } catch {
            file.abandon()
            throw error
        }
    }

    static func fileMeta(sopClassUID: String, sopInstanceUID: String, transferSyntax: TransferSyntax) -> [UInt8] {
        var group = DataSet()
        group.set(.fileMetaInformationVersion, .OB, [0, 1])
        group.set(.mediaStorageSOPClassUID, .UI, sopClassUID)
        group.set(.mediaStorageSOPInstanceUID, .UI, sopInstanceUID)
        group.set(.transferSyntaxUID, .UI, transferSyntax.rawValue)
        group.set(.implementationClassUID, .UI, UID.implementationClass)
        group.set(.implementationVersionName, .SH, UID.implementationVersionName)
        let body = group.encoded()
        var lengthElement = [UInt8]()
        DataSet.encode(tag: .fileMetaInformationGroupLength, value: .bytes(.UL, UInt32(body.count).littleEndianBytes), into: &lengthElement)
        return [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + lengthElement + body
    }

    private func writeHeader(to file: OutputFile, extendedTable: Bool) throws {
        try file.write(meta)
        try file.write(encodedDataSet)
        if transferSyntax.isEncapsulated {
            if extendedTable {
                var offsets = [UInt8](), lengths = [UInt8]()
                offsets.reserveCapacity(frameCount * 8); lengths.reserveCapacity(frameCount * 8)
                for i in 0..<frameOffsets.count {
                    offsets += frameOffsets[i].littleEndianBytes
                    lengths += frameLengths[i].littleEndianBytes
                }
                var out = [UInt8]()
                DataSet.encode(tag: .extendedOffsetTable, value: .bytes(.OV, offsets), into: &out)
                DataSet.encode(tag: .extendedOffsetTableLengths, value: .bytes(.OV, lengths), into: &out)
                try file.write(out)
            }
            var header = [UInt8]()
            DataSet.appendHeader(tag: .pixelData, vr: .OB, length: 0, into: &header)
            header.replaceSubrange((header.count - 4)..., with: [0xFF, 0xFF, 0xFF, 0xFF])
            try file.write(header)
            let tableLength = extendedTable ? 0 : frameCount * 4
            try file.write(itemHeader(length: tableLength))
            offsetTablePosition = file.position
            if tableLength > 0 { try file.write([UInt8](repeating: 0, count: tableLength)) }
            firstFragmentPosition = file.position
        } else {
            let total = nativeFrameLength * frameCount
            var header = [UInt8]()
            DataSet.appendHeader(tag: .pixelData, vr: .OB, length: total + total % 2, into: &header)
            try file.write(header)
        }
    }

    private func itemHeader(length: Int) -> [UInt8] {
        Tag.item.group.littleEndianBytes + Tag.item.element.littleEndianBytes + UInt32(length).littleEndianBytes
    }

    /// Appends the next frame (frames arrive in frame order).
    public func append(frame: [UInt8]) throws {
        precondition(framesWritten < frameCount, "more frames than declared")
        frameBytes += UInt64(frame.count)
        if transferSyntax.isEncapsulated {
            frameOffsets.append(file.position - firstFragmentPosition)
            let padded = frame.count % 2 == 1
            frameLengths.append(UInt64(frame.count + (padded ? 1 : 0)))
            try file.write(itemHeader(length: frame.count + (padded ? 1 : 0)))
            try file.write(frame)
            if padded { try file.write([0]) }
        } else {
            precondition(frame.count == nativeFrameLength, "uncompressed frame of the wrong size")
            try file.write(frame)
        }
        framesWritten += 1
    }

    /// The ratio of uncompressed to stored frame bytes so far.
    public func compressionRatio(uncompressedFrameBytes: Int) -> Double {
        frameBytes == 0 ? 1 : Double(uncompressedFrameBytes) * Double(framesWritten) / Double(frameBytes)
    }

    /// Finishes the offset tables and moves the file into place. `lossyRatios`, when given, replaces the
    /// Lossy Image Compression Ratio written at the start (which must have been padded wide enough).
    /// `moveIntoPlace: false` leaves the complete file under its temporary name until `moveIntoPlace()`,
    /// so that a conversion replaces earlier instances only once all its own are whole.
    public func finish(lossyRatios: [Double]? = nil, moveIntoPlace: Bool = true) throws {
        guard framesWritten == frameCount else {
            abandon()
            throw OutputError(path: path, reason: "only \(framesWritten) of \(frameCount) frames were written")
        }
        do {
            if transferSyntax.isEncapsulated {
                try file.write(Tag.sequenceDelimitation.group.littleEndianBytes + Tag.sequenceDelimitation.element.littleEndianBytes + [0, 0, 0, 0])
                if let last = frameOffsets.last, last >= extendedOffsetThreshold {
                    try rewriteWithExtendedOffsetTable()
                } else {
                    var table = [UInt8]()
                    table.reserveCapacity(frameCount * 4)
                    for offset in frameOffsets { table += UInt32(offset).littleEndianBytes }
                    try file.patch(table, at: offsetTablePosition)
                }
            } else if (nativeFrameLength * frameCount) % 2 == 1 {
                try file.write([0])
            }
            if let lossyRatios, let position = ratioValuePosition {
                var text = Array(lossyRatios.map(DecimalString.format).joined(separator: "\\").utf8)
                if text.count <= ratioValueLength {
                    text += [UInt8](repeating: 0x20, count: ratioValueLength - text.count)
                    try file.patch(text, at: UInt64(position))
                }
            }
            if moveIntoPlace { try file.commit() } else { try file.closeKeepingName() }
        } catch {
            abandon()
            throw error
        }
    }

    /// Where the file is until it is moved into place.
    public var temporaryPath: String { file.temporaryPath }

    /// Renames a file finished with `moveIntoPlace: false` into place.
    public func moveIntoPlace() throws {
        do { try file.moveIntoPlace() } catch {
            abandon()
            throw error
        }
    }

    /// Writes a second file with the Extended Offset Table ahead of the pixel data and the fragments
    /// streamed across from the first, then replaces the first.
    private func rewriteWithExtendedOffsetTable() throws {
        try file.flush()
        let source = file
        let sourceFirstFragment = firstFragmentPosition
        let target = try OutputFile(destination: path, variant: "-extended", direct: direct)
        do {
            try writeHeader(to: target, extendedTable: true)
            guard let input = FileHandle(forReadingAtPath: source.temporaryPath) else {
                throw OutputError(path: path, reason: "cannot reread the frames written")
            }
            defer { try? input.close() }
            // Skip to the first fragment of the first file: its header plus the Basic Offset Table.
            try input.seek(toOffset: sourceFirstFragment)
            while true {
                let chunk = input.readData(ofLength: 8 << 20)
                if chunk.isEmpty { break }
                try target.write([UInt8](chunk))
            }
            source.abandon()
            file = target
            usedExtendedOffsetTable = true
        } catch {
            target.abandon()
            throw error
        }
    }

    /// Deletes the partial file.
    public func abandon() { file.abandon() }
}
