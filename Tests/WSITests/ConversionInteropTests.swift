import CDCMTKShim
import Foundation
import Testing
import WSICodecs
import WSIDICOM
@testable import WSISources

/// Converts generated slides of several shapes with the `dicomizer` executable and checks the output
/// with readers we did not write: dciodvfy, dcentvfy, OpenSlide 4, wsidicom, DCMTK.
@Suite("Conversion checked by other readers")
struct ConversionInteropTests {
    /// Frame counts and fragments as DCMTK (with its full data dictionary) reads them.
    func dcmtkSummary(_ path: String) throws -> dcmtk_summary {
        var summary = dcmtk_summary()
        var error = [CChar](repeating: 0, count: 256)
        let status = dcmtk_inspect(path, &summary, &error, error.count)
        #expect(status == 0, "DCMTK cannot read \(path): \(text(error))")
        return summary
    }

    func convert(_ input: String, to output: String, _ extra: [String] = []) throws -> ConversionReportView {
        let reportPath = output + ".report.json"
        let result = try TestSupport.run(TestSupport.dicomizer, [input, "-o", output, "--quiet", "--report", reportPath] + extra)
        #expect(result.status == 0, "dicomizer failed: \(result.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: reportPath))
        return try JSONDecoder().decode(ConversionReportView.self, from: data)
    }

    /// The pyramid levels of a report, level 0 first.
    func volumes(_ report: ConversionReportView) -> [ConversionReportView.Instance] {
        report.instances.filter { $0.kind == "volume" }.sorted { $0.level! < $1.level! }
    }

    /// Two output folders hold the same instances with the same frames.
    func expectSameFrames(_ first: String, _ second: String) throws {
        #expect(TestSupport.instances(in: first) == TestSupport.instances(in: second))
        for name in TestSupport.instances(in: first) {
            let a = try DICOMFile(path: first + "/" + name), b = try DICOMFile(path: second + "/" + name)
            let same = try a.numberOfFrames == b.numberOfFrames && (0..<a.numberOfFrames).allSatisfy { try a.frame($0) == b.frame($0) }
            #expect(same, "\(name)")
        }
    }

    /// Frames of a level equal to the source's tiles (col, row) as they are (fragments padded to an even length).
    func expectCopied(_ dicom: DICOMFile, from raw: any RawTileSource, across: Int, tiles: [(Int, Int)]) throws {
        for (col, row) in tiles {
            let frame = try dicom.frame(row * across + col), tile = try #require(try raw.rawTile(col: col, row: row))
            #expect(frame.starts(with: tile) && frame.count - tile.count == tile.count % 2, "frame (\(col), \(row)) differs from the source tile")
        }
    }

    @Test("Aperio SVS with RGB JPEG tiles: level-0 tiles copied byte for byte, all instances valid")
    func aperioJPEG() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir, width: 1500, height: 1100)
        let out = dir.appendingPathComponent("out").path
        let report = try convert(slide, to: out)

        #expect(TestSupport.instances(in: out) == ["label.dcm", "level-0.dcm", "level-1.dcm", "level-2.dcm", "level-3.dcm", "overview.dcm", "thumbnail.dcm"])
        let level0 = try #require(report.instances.first { $0.level == 0 })
        #expect(level0.tileWidth == 240 && level0.tileHeight == 240)
        #expect(level0.copiedFrames == level0.frames)
        #expect(level0.photometricInterpretation == "RGB")

        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 0, levels: 4, associated: ["label", "overview", "thumbnail"])
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
        #expect(verdict.dciodvfy_errors.count == 7 && verdict.dciodvfy_errors.values.allSatisfy { $0 == 0 })
        #expect(verdict.mad["level0"] == 0)

        // Written around the page cache (the test machine's file system takes O_DIRECT); with --page-cache
        // through it, and the same frames either way.
        #expect(report.instances.allSatisfy { $0.directWrites })
        let cached = dir.appendingPathComponent("cached").path
        #expect(try convert(slide, to: cached, ["--page-cache"]).instances.allSatisfy { !$0.directWrites })
        try expectSameFrames(out, cached)

        // Copied frames equal the source's tiles with JPEGTables merged in (and the Adobe marker added).
        let source = try TiledTIFFSource(path: slide)
        let raw = try #require(source.rawTiles)
        let dicom = try DICOMFile(path: out + "/level-0.dcm")
        #expect(dicom.numberOfFrames == 35)
        for (index, (col, row)) in [(0, 0), (3, 2), (6, 4)].enumerated() {
            let expected = try #require(try raw.rawTile(col: col, row: row))
            #expect(try dicom.frame(row * 7 + col) == expected, "frame \(index) differs from the source tile")
            // The merge is the source's tables plus the tile's scan: same length as both minus SOI/EOI and the marker.
            #expect(expected.starts(with: [0xFF, 0xD8, 0xFF, 0xEE]))
        }
        let summary = try dcmtkSummary(out + "/level-0.dcm")
        #expect(summary.numberOfFrames == 35 && summary.fragments == 35)
        #expect(summary.totalPixelMatrixColumns == 1500 && summary.totalPixelMatrixRows == 1100)
        #expect(withUnsafeBytes(of: summary.sopClassUID) { text($0) } == UID.vlWholeSlideMicroscopyImageStorage)
    }

    @Test("An output file system that refuses O_DIRECT (ramfs) gets ordinary writes and the same instances",
          .enabled(if: TestSupport.isRoot, "mounting needs root"))
    func outputWithoutDirectIO() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir)
        guard let mount = try TestSupport.mount("ramfs", in: dir, name: "ram") else { return }
        defer { TestSupport.unmount(mount) }
        let report = try convert(slide, to: mount + "/out")
        #expect(!report.instances.isEmpty && report.instances.allSatisfy { !$0.directWrites })
        let reference = dir.appendingPathComponent("reference").path
        #expect(try convert(slide, to: reference).instances.allSatisfy { $0.directWrites })
        try expectSameFrames(mount + "/out", reference)
    }

    @Test("--pyramid source: the scanner's 4x levels copied byte for byte, dyadic levels computed below them, all valid")
    func sourcePyramid() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Levels 4000 x 3000 (1x), 1000 x 750 (4x), 250 x 187 (16x); then 125 x 94 computed.
        let slide = try TestSupport.makeSlide("svs", in: dir, width: 4000, height: 3000)
        let out = dir.appendingPathComponent("out").path
        let report = try convert(slide, to: out, ["--pyramid", "source"])
        let levels = report.instances.filter { $0.level != nil }.sorted { $0.level! < $1.level! }
        #expect(levels.map { [$0.width, $0.height] } == [[4000, 3000], [1000, 750], [250, 187], [125, 94]])
        #expect(levels.prefix(3).allSatisfy { $0.copiedFrames == $0.frames } && levels[3].copiedFrames == 0)

        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 0, maxMAD1: 0, levels: 4, associated: ["label", "overview", "thumbnail"],
                                            sourcePyramid: true)
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
        #expect(verdict.dciodvfy_errors.count == 7 && verdict.dciodvfy_errors.values.allSatisfy { $0 == 0 })

        // The 4x level's frames are the source's 4x tiles; its pixel spacing is 4x level 0's.
        let source = try TiledTIFFSource(path: slide)
        let scanner = try #require(source.pyramidLevel(1)?.rawTiles)
        let level1 = try DICOMFile(path: out + "/level-1.dcm")
        #expect(level1.numberOfFrames == 20)
        for (col, row) in [(0, 0), (2, 1), (4, 3)] {
            let source = try #require(try scanner.rawTile(col: col, row: row))
            // A fragment of odd length is padded with one zero byte.
            let stored = try level1.frame(row * 5 + col)
            #expect(stored == source || (stored.count == source.count + 1 && stored.last == 0 && Array(stored.dropLast()) == source),
                    "4x tile (\(col), \(row)) differs from the source's")
        }
        func spacing(_ file: DICOMFile) -> Double? {
            file.pixelSpacing?.first
        }
        let spacing0 = try #require(spacing(try DICOMFile(path: out + "/level-0.dcm")))
        let spacing1 = try #require(spacing(level1))
        #expect(abs(spacing1 / spacing0 - 4) < 1e-6)

        // Fewer levels than the scanner has: the pass stops at the last one written.
        let two = try convert(slide, to: dir.appendingPathComponent("two").path, ["--pyramid", "source", "--levels", "2", "--no-label", "--no-overview", "--no-thumbnail"])
        #expect(two.instances.map { [$0.width, $0.height, $0.frames - $0.copiedFrames] } == [[4000, 3000, 0], [1000, 750, 0]])
    }

    @Test("Aperio SVS with YCbCr JPEG tiles re-encoded at quality 90: within JPEG tolerance")
    func aperioReencoded() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir, extra: ["--colors", "ycbcr", "--quality", "95"])
        let out = dir.appendingPathComponent("out").path
        let report = try convert(slide, to: out, ["--reencode", "--tile-size", "256", "--no-label", "--no-overview", "--no-thumbnail"])
        // 1001 x 757 in 256-pixel tiles: 1001, 501, 251 wide.
        #expect(TestSupport.instances(in: out) == ["level-0.dcm", "level-1.dcm", "level-2.dcm"])
        #expect(report.instances.allSatisfy { $0.copiedFrames == 0 && $0.photometricInterpretation == "YBR_FULL_422" && $0.tileWidth == 256 })
        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 3, levels: 3)
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
        #expect((verdict.mad["level0"] ?? 99) < 3)

        // Without --tile-size, re-encoded tiles keep the source's grid (240), one output tile per source tile.
        let own = try convert(slide, to: dir.appendingPathComponent("own").path, ["--reencode", "--levels", "1", "--no-label", "--no-overview", "--no-thumbnail"])
        #expect(own.instances.map { [$0.tileWidth, $0.tileHeight, $0.frames, $0.copiedFrames] } == [[240, 240, 20, 0]])
    }

    @Test("Aperio SVS with RGB-coded JPEG tiles re-encoded (--reencode): transcoded in the DCT domain, YCbCr 4:2:0, both lossy steps recorded, valid, within JPEG tolerance")
    func aperioRGBReencoded() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir, width: 1500, height: 1100)
        let out = dir.appendingPathComponent("out").path
        let report = try convert(slide, to: out, ["--reencode", "--no-label", "--no-overview", "--no-thumbnail"])
        #expect(report.instances.map(\.width) == [1500, 750, 375, 188])
        #expect(report.instances.allSatisfy { $0.copiedFrames == 0 && $0.photometricInterpretation == "YBR_FULL_422" && $0.tileWidth == 240 })
        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 2, levels: 4)
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
        #expect(verdict.dciodvfy_errors.values.allSatisfy { $0 == 0 })
        // The scanner's JPEG step and ours.
        let level0 = try DICOMFile(path: out + "/level-0.dcm")
        #expect(level0.dataSet.string(.lossyImageCompressionMethod) == "ISO_10918_1\\ISO_10918_1")
        let frame = try level0.frame(8)
        #expect(try JPEGDecoder().info(frame).subsampling == .s420)

        // The same slide through pixels (4:2:2 output, which the transcoder does not make) is no closer to the source.
        let pixels = dir.appendingPathComponent("pixels").path
        _ = try convert(slide, to: pixels, ["--reencode", "--subsampling", "422", "--levels", "1", "--no-label", "--no-overview", "--no-thumbnail"])
        let pixelVerdict = try await TestSupport.check(pixels, source: slide, maxMAD0: 3, levels: 1)
        #expect(pixelVerdict.errors.isEmpty, "\(pixelVerdict.errors)")
        #expect((verdict.mad["level0"] ?? 99) <= (pixelVerdict.mad["level0"] ?? 0) + 0.1)
    }

    @Test("Generic tiled TIFF with odd dimensions and 256-pixel YCbCr tiles: copied, padded edges, valid")
    func genericTIFF() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("tiff", in: dir, width: 1001, height: 757)
        let out = dir.appendingPathComponent("out").path
        let report = try convert(slide, to: out)
        let level0 = try #require(report.instances.first { $0.level == 0 })
        #expect(level0.copiedFrames == 12 && level0.photometricInterpretation == "YBR_FULL_422")
        #expect(report.instances.map(\.width) == [1001, 501, 251])
        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 0, levels: 3)
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
    }

    @Test("Philips TIFF: read directly, level-0 tiles copied byte for byte, sparse tiles as background, the levels' true sizes, label from the XML, scanner metadata carried over, all valid")
    func philipsTIFF() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // 10 x 5 tiles of 256 (the slide rounded up to 2560 x 1280); the right half of the last row left out.
        let slide = try TestSupport.makeSlide("philips", in: dir, width: 2400, height: 1100, extra: ["--tile", "256"])
        let out = dir.appendingPathComponent("out").path
        let report = try convert(slide, to: out)
        #expect(report.format == "Philips TIFF")
        #expect(!report.warnings.contains { $0.contains("pixel size") || $0.contains("OpenSlide") }, "\(report.warnings)")
        let levels = volumes(report)
        #expect(levels.map { [$0.width, $0.height] } == [[2560, 1280], [1280, 640], [640, 320], [320, 160], [160, 80]])
        #expect(levels[0].frames == 50 && levels[0].copiedFrames == 45 && levels[0].photometricInterpretation == "YBR_FULL_422")
        #expect(TestSupport.instances(in: out) == ["label.dcm", "level-0.dcm", "level-1.dcm", "level-2.dcm", "level-3.dcm", "level-4.dcm", "overview.dcm"])

        let source = try TiledTIFFSource(path: slide)
        let raw = try #require(source.rawTiles)
        let dicom = try DICOMFile(path: out + "/level-0.dcm")
        try expectCopied(dicom, from: raw, across: 10, tiles: [(0, 0), (4, 3), (1, 4)])
        #expect(try raw.rawTile(col: 7, row: 4) == nil)
        let sparse = try JPEGDecoder().decode(try dicom.frame(4 * 10 + 7))
        #expect(sparse.pixels.allSatisfy { $0 >= 250 }, "a tile the scanner left out is not background")
        #expect(dicom.dataSet.strings(.manufacturer) == ["PHILIPS"] && dicom.dataSet.strings(.deviceSerialNumber) == ["FMT0042"])
        #expect(dicom.dataSet.strings(.manufacturerModelName) == ["UFS"])
        // The scanner's barcode (base64 in the XML) is the slide's identifier and the label's barcode.
        #expect(dicom.dataSet.strings(.containerIdentifier) == ["PH-2026-0042"])
        #expect(try DICOMFile(path: out + "/label.dcm").dataSet.strings(.barcodeValue) == ["PH-2026-0042"])
        let spacing = dicom.pixelSpacing
        #expect(spacing == [0.00025, 0.00025])
        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 0, levels: 5, associated: ["label", "overview"])
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")

        // The scanner's levels kept: their directories are rounded up to whole tiles (1536 x 768 for level 1),
        // their frames copied all the same, the sizes those of level 0 over the downsample (as OpenSlide reads them).
        let kept = dir.appendingPathComponent("kept").path
        let keptReport = try convert(slide, to: kept, ["--pyramid", "source"])
        let keptLevels = volumes(keptReport)
        #expect(keptLevels.map { [$0.width, $0.height] } == levels.map { [$0.width, $0.height] })
        #expect(keptLevels.map(\.copiedFrames) == [45, 13, 5, 2, 1])
        let keptVerdict = try await TestSupport.check(kept, source: slide, maxMAD0: 0, maxMAD1: 0, levels: 5, associated: ["label", "overview"],
                                                sourcePyramid: true)
        #expect(keptVerdict.errors.isEmpty, "\(keptVerdict.errors)")
    }

    @Test("Leica SCN: the main image read directly where the XML places it, level-0 tiles copied byte for byte, equal to OpenSlide's reading of its region of the collection, macro and metadata carried over, all valid")
    func leicaSCN() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A 3000 x 2200 main image 300 x 200 pixels in from the corner of a 3600 x 2600 collection; 4x levels.
        let slide = try TestSupport.makeSlide("scn", in: dir, width: 3000, height: 2200, extra: ["--tile", "256", "--mpp", "0.5"])
        let out = dir.appendingPathComponent("out").path
        let report = try convert(slide, to: out)
        #expect(report.format == "Leica SCN")
        #expect(!report.warnings.contains { $0.contains("pixel size") || $0.contains("OpenSlide") }, "\(report.warnings)")
        let levels = volumes(report)
        #expect(levels.map { [$0.width, $0.height] } == [[3000, 2200], [1500, 1100], [750, 550], [375, 275], [188, 138]])
        #expect(levels[0].frames == 108 && levels[0].copiedFrames == 108 && levels[0].photometricInterpretation == "YBR_FULL_422")
        #expect(TestSupport.instances(in: out) == ["level-0.dcm", "level-1.dcm", "level-2.dcm", "level-3.dcm", "level-4.dcm", "overview.dcm"])

        let raw = try #require(try TiledTIFFSource(path: slide).rawTiles)
        let dicom = try DICOMFile(path: out + "/level-0.dcm")
        try expectCopied(dicom, from: raw, across: 12, tiles: [(0, 0), (11, 8), (5, 3)])
        #expect(dicom.dataSet.strings(.manufacturer) == ["Leica"] && dicom.dataSet.strings(.manufacturerModelName) == ["Leica SCN400"])
        #expect(dicom.dataSet.strings(.containerIdentifier) == ["SYNTHETIC"])
        let spacing = dicom.pixelSpacing
        #expect(spacing.map { $0.map { ($0 * 1e7).rounded() / 1e7 } } == [0.0005, 0.0005])
        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 0, levels: 5, associated: ["overview"], sourceOffset: (300, 200))
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")

        // The scanner's 4x level kept as it is, the dyadic levels computed below it.
        let kept = dir.appendingPathComponent("kept").path
        let keptReport = try convert(slide, to: kept, ["--pyramid", "source"])
        let keptLevels = volumes(keptReport)
        #expect(keptLevels.map { [$0.width, $0.height] } == [[3000, 2200], [750, 550], [375, 275], [188, 138]])
        #expect(keptLevels.map(\.copiedFrames) == [108, 9, 0, 0])
    }

    @Test("Aperio SVS with JPEG 2000 tiles: codestreams copied, labelled YBR_ICT and JPEG 2000")
    func aperioJPEG2000() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs-jp2k", in: dir, width: 1001, height: 757)
        let out = dir.appendingPathComponent("out").path
        let report = try convert(slide, to: out)
        let level0 = try #require(report.instances.first { $0.level == 0 })
        #expect(level0.copiedFrames == level0.frames)
        #expect(level0.transferSyntax == TransferSyntax.jpeg2000.rawValue && level0.photometricInterpretation == "YBR_ICT")
        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 0, levels: 4, associated: ["label", "overview"])
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
    }

    @Test("Uncompressed tiled TIFF to lossless JPEG 2000 and to uncompressed DICOM: pixels exact")
    func uncompressedTIFF() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("tiff-raw", in: dir, width: 700, height: 530)
        for compression in ["jpeg2000-lossless", "none"] {
            let out = dir.appendingPathComponent("out-\(compression)").path
            let report = try convert(slide, to: out, ["--compression", compression])
            #expect(report.instances.first?.transferSyntax == (compression == "none" ? TransferSyntax.explicitVRLittleEndian : .jpeg2000Lossless).rawValue)
            let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 0, maxMAD1: 0, levels: 3)
            #expect(verdict.errors.isEmpty, "\(compression): \(verdict.errors)")
        }
    }

    @Test("Plain PNG, JPEG and stripped TIFF images become pyramids", arguments: ["png", "jpeg", "tiff-strip"])
    func plainImages(kind: String) async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide(kind, in: dir, width: 600, height: 450)
        let out = dir.appendingPathComponent("out").path
        _ = try convert(slide, to: out)
        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 3, levels: 3)
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
    }

    @Test("Extended Offset Table instances open in OpenSlide and wsidicom")
    func extendedOffsetTable() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir)
        let out = dir.appendingPathComponent("out").path
        let report = try convert(slide, to: out, ["--extended-offset-threshold", "4096"])
        #expect(report.instances.first { $0.level == 0 }?.extendedOffsetTable == true)
        let dicom = try DICOMFile(path: out + "/level-0.dcm")
        #expect(dicom.dataSet.bytes(.extendedOffsetTable)?.count == dicom.numberOfFrames * 8)
        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 0, levels: 4)
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
    }

    @Test("The slide goes through OpenSlide too (--reader openslide)")
    func openSlideReader() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir)
        let out = dir.appendingPathComponent("out").path
        let report = try convert(slide, to: out, ["--reader", "openslide"])
        #expect(report.format == "OpenSlide (aperio)")
        #expect(report.instances.allSatisfy { $0.copiedFrames == 0 })
        // OpenSlide's tile size (240) is kept: 1001, 501, 251, 126 wide.
        #expect(report.instances.map(\.kind).sorted() == ["label", "overview", "thumbnail", "volume", "volume", "volume", "volume"])
        #expect(report.instances.filter { $0.kind == "volume" }.allSatisfy { $0.tileWidth == 240 })
        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 3, levels: 4, associated: ["label", "overview", "thumbnail"])
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
    }
    @Test("3DHistech MRXS through OpenSlide: overlapping camera images off the grid, an unscanned corner as background, label, macro and thumbnail, pixel size, all valid")
    func mirax() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("mrxs", in: dir, name: "slide.mrxs", width: 2000, height: 1500, extra: ["--mpp", "0.5"])
        let out = dir.appendingPathComponent("out").path
        let report = try convert(slide, to: out)
        #expect(report.format == "OpenSlide (mirax)")
        #expect(try DICOMFile(path: out + "/level-0.dcm").dataSet.strings(.manufacturer) == ["3DHISTECH"])
        let levels = volumes(report)
        // 8 x 6 camera images of 256 pixels overlapping by 8: 8 * 256 - 7 * 8 wide.
        #expect(levels.first.map { [$0.width, $0.height] } == [1992, 1496])
        #expect(levels.allSatisfy { $0.copiedFrames == 0 && $0.transferSyntax == "1.2.840.10008.1.2.4.50" })
        #expect(report.instances.map(\.kind).filter { $0 != "volume" }.sorted() == ["label", "overview", "thumbnail"])
        let dicom = try DICOMFile(path: out + "/level-0.dcm")
        let spacing = dicom.pixelSpacing
        #expect(spacing.map { $0.map { ($0 * 1e7).rounded() / 1e7 } } == [0.0005, 0.0005])
        // The unscanned top-left camera positions are transparent in OpenSlide: background (white) in the frames.
        let corner = try JPEGDecoder().decode(try dicom.frame(0))
        #expect(corner.pixels.prefix(3 * 64).allSatisfy { $0 >= 250 }, "the unscanned corner is not background")
        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 3, levels: levels.count, associated: ["label", "overview", "thumbnail"])
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
        #expect(verdict.dciodvfy_errors.values.allSatisfy { $0 == 0 })
    }

    @Test("Ventana BIF through OpenSlide: overlapping level-0 tiles at fractional positions, macro and thumbnail, pixel size, all valid")
    func ventana() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("bif", in: dir, width: 2000, height: 1500, extra: ["--mpp", "0.5"])
        let out = dir.appendingPathComponent("out").path
        let report = try convert(slide, to: out)
        #expect(report.format == "OpenSlide (ventana)")
        let levels = volumes(report)
        #expect(levels.allSatisfy { $0.copiedFrames == 0 && $0.transferSyntax == "1.2.840.10008.1.2.4.50" })
        #expect(report.instances.map(\.kind).filter { $0 != "volume" }.sorted() == ["overview", "thumbnail"])
        let dicom = try DICOMFile(path: out + "/level-0.dcm")
        // The iScan XML's scanner and slide: model, serial number, software, and the barcode as the slide's identifier.
        #expect(dicom.dataSet.strings(.manufacturer) == ["Ventana"] && dicom.dataSet.strings(.manufacturerModelName) == ["VENTANA DP 200"])
        #expect(dicom.dataSet.strings(.deviceSerialNumber) == ["DP200-0042"] && dicom.dataSet.strings(.softwareVersions)?.first == "1.1.0.15854")
        #expect(dicom.dataSet.strings(.containerIdentifier) == ["SYNTHETIC"])
        let spacing = dicom.pixelSpacing
        #expect(spacing.map { $0.map { ($0 * 1e7).rounded() / 1e7 } } == [0.0005, 0.0005])
        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 3, levels: levels.count, associated: ["overview", "thumbnail"])
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
        #expect(verdict.dciodvfy_errors.values.allSatisfy { $0 == 0 })
    }

    @Test("Hamamatsu NDPI and VMS (level-0 frames cut from the scanner's JPEG): pixels match, pixel size, history and macro carried over, all valid",
          arguments: ["ndpi", "vms"])
    func hamamatsu(kind: String) async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide(kind, in: dir, name: "slide.\(kind)", width: 2048, height: 1504, extra: ["--mpp", "0.5"])
        let out = dir.appendingPathComponent("out").path
        let report = try convert(slide, to: out)
        #expect(report.format == (kind == "ndpi" ? "Hamamatsu NDPI" : "Hamamatsu VMS"))
        #expect(!report.warnings.contains { $0.contains("OpenSlide") }, "\(report.warnings)")
        let levels = volumes(report)
        // Frames of 2 x 64 restart intervals (256 x 8 pixels each), copied, so the pyramid ends at one 512-pixel tile.
        #expect(levels.map { [$0.width, $0.height] } == [[2048, 1504], [1024, 752], [512, 376]])
        #expect(levels.allSatisfy { $0.tileWidth == 512 && $0.tileHeight == 512 && $0.transferSyntax == "1.2.840.10008.1.2.4.50" })
        #expect(levels[0].copiedFrames == levels[0].frames && levels[0].photometricInterpretation == "YBR_FULL_422")
        #expect(report.instances.contains { $0.kind == "overview" })
        #expect(!report.warnings.contains { $0.contains("pixel size") }, "the source's pixel size was lost: \(report.warnings)")
        let dicom = try DICOMFile(path: out + "/level-0.dcm")
        let spacing = dicom.pixelSpacing
        #expect(spacing.map { $0.map { ($0 * 1e7).rounded() / 1e7 } } == [0.0005, 0.0005])
        // The scanner's JPEG step is part of the history, then ours on computed levels.
        #expect(dicom.dataSet.strings(.lossyImageCompressionMethod) == ["ISO_10918_1"])
        let level1 = try DICOMFile(path: out + "/level-1.dcm")
        #expect(level1.dataSet.strings(.lossyImageCompressionMethod) == ["ISO_10918_1", "ISO_10918_1"])

        // Copied frames hold the scanner's own pixels (only chroma upsampling at interval edges differs).
        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 0.1, levels: 3, associated: ["overview"])
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
        #expect(verdict.dciodvfy_errors.count == 4 && verdict.dciodvfy_errors.values.allSatisfy { $0 == 0 })
    }

    @Test("A VMS of several focal planes goes through OpenSlide, and the report says why")
    func vmsThroughOpenSlide() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("vms", in: dir, name: "slide.vms", width: 1024, height: 752)
        let keys = try String(contentsOfFile: slide, encoding: .isoLatin1).replacingOccurrences(of: "NoLayers=1", with: "NoLayers=2")
        try keys.write(toFile: slide, atomically: true, encoding: .isoLatin1)
        let out = dir.appendingPathComponent("out").path
        let report = try convert(slide, to: out)
        #expect(report.format == "OpenSlide (hamamatsu)")
        #expect(report.warnings.contains { $0.contains("direct VMS reader refused") && $0.contains("NoLayers") }, "\(report.warnings)")
        #expect(volumes(report).allSatisfy { $0.copiedFrames == 0 })
        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 3, associated: ["overview"])
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
    }

    @Test("NDPI re-encoded (--reencode): level 0 decoded from rectangles of restart intervals, valid, pixels within JPEG tolerance")
    func ndpiReencoded() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("ndpi", in: dir, name: "slide.ndpi", width: 2000, height: 1500)
        let out = dir.appendingPathComponent("out").path
        let report = try convert(slide, to: out, ["--reencode"])
        #expect(report.instances.allSatisfy { $0.copiedFrames == 0 })
        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 3, levels: 4, associated: ["overview"])
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
    }
}

/// A NUL-terminated C string held in bytes.
func text<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element: BinaryInteger {
    String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(truncatingIfNeeded: $0) }, as: UTF8.self)
}

/// The parts of `--report` the tests read.
struct ConversionReportView: Decodable {
    struct Instance: Decodable {
        var file: String
        var kind: String
        var level: Int?
        var width: Int
        var height: Int
        var tileWidth: Int
        var tileHeight: Int
        var frames: Int
        var transferSyntax: String
        var photometricInterpretation: String
        var copiedFrames: Int
        var extendedOffsetTable: Bool
        var directWrites: Bool
    }
    var format: String
    var instances: [Instance]
    var warnings: [String]
}
