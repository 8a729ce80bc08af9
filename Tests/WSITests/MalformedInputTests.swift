import Foundation
import Testing
@testable import WSIDICOM
@testable import WSITileService

/// Broken or hostile input to the server's side, of the kinds `tools/fuzz/run.sh` found or aims at: the
/// DICOM reader and the pyramid indexer (run on any folder the server is given) and the IIIF parser (run
/// on any request) must refuse it with an error or leave the broken part out, never trap.
@Suite("Malformed input")
struct MalformedInputTests {
    /// A Part 10 file: preamble, meta group, `dataSet`, then `pixelData` bytes as they come.
    static func part10(_ dataSet: DataSet, syntax: TransferSyntax = .explicitVRLittleEndian, pixelData: [UInt8] = []) -> Data {
        var meta = DataSet()
        meta.set(.transferSyntaxUID, .UI, syntax.rawValue)
        return Data([UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + meta.encoded() + dataSet.encoded() + pixelData)
    }

    /// A Pixel Data header (explicit VR, OB) claiming `length` bytes.
    static func pixelDataHeader(length: UInt32) -> [UInt8] {
        [0xE0, 0x7F, 0x10, 0x00] + Array("OB".utf8) + [0, 0] + length.littleEndianBytes
    }

    static func tiledVolume(frames: String = "2") -> DataSet {
        var ds = DataSet()
        ds.set(.seriesInstanceUID, .UI, "1.2.3")
        ds.set(.imageType, .CS, values: ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"])
        ds.set(.rows, us: 2)
        ds.set(.columns, us: 2)
        ds.set(.totalPixelMatrixColumns, ul: 4)
        ds.set(.totalPixelMatrixRows, ul: 2)
        ds.set(.numberOfFrames, .IS, frames)
        return ds
    }

    @Test("Uncompressed pixel data that runs past the end of the file is refused")
    func nativePastTheEnd() throws {
        let data = Self.part10(Self.tiledVolume(), pixelData: Self.pixelDataHeader(length: 24) + [UInt8](repeating: 9, count: 10))
        #expect(throws: DICOMFile.ReadError.self) { try DICOMFile(data: data, path: "short.dcm") }
        // The same file whole reads, two frames of 12 bytes.
        let whole = Self.part10(Self.tiledVolume(), pixelData: Self.pixelDataHeader(length: 24) + [UInt8](repeating: 9, count: 24))
        let file = try DICOMFile(data: whole, path: "whole.dcm")
        #expect(try file.numberOfFrames == 2 && file.frame(1).count == 12)
    }

    @Test("A Number of Frames that is no count is refused", arguments: ["0", "-1", "99999999999999999"])
    func frameCounts(frames: String) {
        let data = Self.part10(Self.tiledVolume(frames: frames), pixelData: Self.pixelDataHeader(length: 24) + [UInt8](repeating: 9, count: 24))
        #expect(throws: DICOMFile.ReadError.self) { try DICOMFile(data: data, path: "frames.dcm") }
    }

    @Test("An item longer than the file, and sequences nested without end, are errors")
    func items() {
        // (0008,1115) SQ of undefined length holding an item that claims 4,000 bytes of the 2 that follow.
        let longItem: [UInt8] = [0x08, 0x00, 0x15, 0x11] + Array("SQ".utf8) + [0, 0, 0xFF, 0xFF, 0xFF, 0xFF]
            + [0xFE, 0xFF, 0x00, 0xE0] + UInt32(4000).littleEndianBytes + [0x08, 0x00]
        var header = DataSet()
        header.set(.seriesInstanceUID, .UI, "1.2.3")
        let truncated = Self.part10(header, pixelData: longItem)
        _ = try? DICOMFile(data: truncated, path: "item.dcm")  // an error or a partial header; no trap

        // 10,000 sequences, each the only element of the previous one's item.
        let level: [UInt8] = [0x08, 0x00, 0x15, 0x11] + Array("SQ".utf8) + [0, 0, 0xFF, 0xFF, 0xFF, 0xFF]
            + [0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]
        let nested = Self.part10(header, pixelData: Array([[UInt8]](repeating: level, count: 10_000).joined()))
        #expect(throws: DICOMFile.ReadError.self) { try DICOMFile(data: nested, path: "nested.dcm") }
    }

    @Test("A Basic Offset Table whose length is not a multiple of 4 reads as its whole entries")
    func oddOffsetTable() throws {
        let fragment: [UInt8] = [0xFF, 0xD8, 0xFF, 0xD9]
        let pixels = [0xE0, 0x7F, 0x10, 0x00] + Array("OB".utf8) + [0, 0, 0xFF, 0xFF, 0xFF, 0xFF]
            + [0xFE, 0xFF, 0x00, 0xE0] + UInt32(6).littleEndianBytes + [0, 0, 0, 0, 1, 2]
            + [0xFE, 0xFF, 0x00, 0xE0] + UInt32(4).littleEndianBytes + fragment
            + [0xFE, 0xFF, 0x00, 0xE0] + UInt32(4).littleEndianBytes + fragment
        let file = try DICOMFile(data: Self.part10(Self.tiledVolume(), syntax: .jpegBaseline, pixelData: pixels), path: "bot.dcm")
        #expect(try file.numberOfFrames == 2 && file.frame(1) == fragment)
    }

    @Test("The indexer leaves out what makes no sense: a spacing of no number, positions and offsets out of range")
    func indexer() throws {
        var ds = Self.tiledVolume()
        ds.set(.pixelSpacing, .DS, "abc")
        ds.set(.concatenationFrameOffsetNumber, .IS, "-5")
        let pixels = Self.pixelDataHeader(length: 24) + [UInt8](repeating: 9, count: 24)
        let file = try DICOMFile(data: Self.part10(ds, pixelData: pixels), path: "level.dcm")
        let slide = try #require(PyramidIndexer.slides(from: [file]).first)
        #expect(slide.mppX == nil && slide.mppY == nil)
        #expect(slide.levels[0].frames.allSatisfy { $0 == nil }, "a negative concatenation offset places no frame")

        // TILED_SPARSE with positions far outside Int32 (IS values) and one in place.
        var sparse = Self.tiledVolume()
        sparse.set(.dimensionOrganizationType, .CS, "TILED_SPARSE")
        func frame(_ x: String, _ y: String) -> DataSet {
            var position = DataSet()
            position.set(.columnPositionInTotalImagePixelMatrix, .IS, x)
            position.set(.rowPositionInTotalImagePixelMatrix, .IS, y)
            var item = DataSet()
            item.set(.planePositionSlideSequence, sequence: [position])
            return item
        }
        sparse.set(.perFrameFunctionalGroupsSequence, sequence: [frame("-9223372036854775808", "1"), frame("3", "1")])
        let sparseFile = try DICOMFile(data: Self.part10(sparse, pixelData: pixels), path: "sparse.dcm")
        let level = try #require(PyramidIndexer.slides(from: [sparseFile]).first?.levels.first)
        #expect(level.frames[0] == nil && level.frames[1]?.index == 1)
    }

    @Test("IIIF requests with numbers past any image are refused as bad requests, not converted into a trap",
          arguments: [("1e300,0,10,10", "max"), ("inf,0,10,10", "max"), ("0,0,1e19,10", "max"), ("full", "pct:1e300"),
                      ("full", "^99999999999,99999999999"), ("full", "^!99999999999999999,9"), ("0,0,10,10", "^9999999999,")])
    func hostileIIIF(region: String, size: String) {
        #expect(throws: TileServiceError.self) {
            try IIIF.parse(region: region, size: size, rotation: "0", qualityAndFormat: "default.jpg", imageWidth: 40_000, imageHeight: 30_000)
        }
    }

    @Test("Uncompressed frames of a sample count we do not decode are an error, not a read past the frame")
    func sampleCounts() {
        for samples in [0, 2, 4] {
            #expect(throws: TileServiceError.self) {
                try TileService.native([UInt8](repeating: 1, count: 64), width: 2, height: 2, samples: samples, photometric: "RGB")
            }
        }
    }
}

/// Headers that declare more than any slide: the stores skip such instances before indexing them.
@Suite("Instance limits")
struct InstanceLimitsTests {
    func file(columns: Int = 2, rows: Int = 2, width: UInt32 = 4, height: UInt32 = 2, frames: Int = 2) throws -> DICOMFile {
        var ds = MalformedInputTests.tiledVolume(frames: String(frames))
        ds.set(.columns, us: UInt16(columns))
        ds.set(.rows, us: UInt16(rows))
        ds.set(.totalPixelMatrixColumns, ul: width)
        ds.set(.totalPixelMatrixRows, ul: height)
        let pixels = MalformedInputTests.pixelDataHeader(length: UInt32(frames * 4)) + [UInt8](repeating: 7, count: frames * 4)
        return try DICOMFile(data: MalformedInputTests.part10(ds, pixelData: pixels), path: "limits.dcm")
    }

    @Test("Tiles of 30,000 pixels, a 1.6M x 1.6M matrix, and a grid a few frames cannot fill are refused; a plain level is not")
    func limits() throws {
        #expect(InstanceLimits.problem(try file()) == nil)
        #expect(InstanceLimits.problem(try file(columns: 30_000, rows: 30_000))?.contains("tiles of 30000") == true)
        #expect(InstanceLimits.problem(try file(width: 1_600_000, height: 1_600_000))?.contains("at most") == true)
        #expect(InstanceLimits.problem(try file(columns: 2, rows: 2, width: 200_000, height: 200_000))?.contains("only 2 frames") == true)
    }

    @Test("The folder store skips such an instance and keeps the others")
    func folderSkips() throws {
        let root = try TestSupport.temporaryDirectory("limits")
        defer { try? FileManager.default.removeItem(at: root) }
        var huge = MalformedInputTests.tiledVolume(frames: "1")
        huge.set(.seriesInstanceUID, .UI, "1.2.9")
        huge.set(.sopClassUID, .UI, UID.vlWholeSlideMicroscopyImageStorage)
        huge.set(.totalPixelMatrixColumns, ul: 1_600_000)
        huge.set(.totalPixelMatrixRows, ul: 1_600_000)
        let pixels = MalformedInputTests.pixelDataHeader(length: 4) + [1, 2, 3, 4]
        try MalformedInputTests.part10(huge, pixelData: pixels).write(to: root.appendingPathComponent("huge.dcm"))
        let fine = MalformedInputTests.pixelDataHeader(length: 8) + [UInt8](repeating: 5, count: 8)
        var plain = MalformedInputTests.tiledVolume()
        plain.set(.sopClassUID, .UI, UID.vlWholeSlideMicroscopyImageStorage)
        try MalformedInputTests.part10(plain, pixelData: fine).write(to: root.appendingPathComponent("fine.dcm"))
        let library = SlideLibrary(root: root.path)
        library.rescan()
        #expect(library.slides.map(\.id) == ["1.2.3"])
    }
}
