import Foundation
import Testing
import WSIDICOM

/// The converter's items of issue 19: hostile files and values, each refused with one line before any
/// output is written, or converted into values every reader takes; memory stays bounded and nothing good
/// is lost.
@Suite("Hostile input conversion")
struct HostileInputConversionTests {
    /// A run of `dicomizer` under /usr/bin/time (peak RSS) and `timeout` (a hang is a failure, not a stuck suite).
    struct Run {
        var status: Int32
        var stderr: String
        var stdout: String
        var peakMiB: Double
    }

    static func run(_ arguments: [String], seconds: Int = 120) throws -> Run {
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("rss-\(UUID().uuidString)").path
        defer { unlink(report) }
        let result = try TestSupport.run("/usr/bin/time", ["-o", report, "-f", "%M", "/usr/bin/timeout", "-s", "KILL", String(seconds), TestSupport.dicomizer] + arguments)
        let text = (try? String(contentsOfFile: report, encoding: .utf8)) ?? ""
        let kib = text.split(separator: "\n").compactMap { Double($0) }.last ?? .infinity
        // /usr/bin/time reports a killed child on a line of its own in the same file; the status is the child's.
        return Run(status: result.status, stderr: result.stderr, stdout: result.stdout, peakMiB: kib / 1024)
    }

    /// One line naming `mentions`, a non-zero exit that is no crash or timeout, and no instance left behind.
    static func expectRefusal(_ run: Run, output: String, mentions: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(run.status != 0 && run.status != 137 && run.status != 124, "status \(run.status): \(run.stderr)", sourceLocation: sourceLocation)
        #expect(run.stderr.split(separator: "\n").count == 1 && run.stderr.hasPrefix("dicomizer: error: "), "expected one error line, got: \(run.stderr)", sourceLocation: sourceLocation)
        for word in mentions { #expect(run.stderr.contains(word), "error should mention \(word): \(run.stderr)", sourceLocation: sourceLocation) }
        #expect(!run.stderr.contains("Fatal error") && !run.stderr.contains("Stack dump"), sourceLocation: sourceLocation)
        #expect(TestSupport.instances(in: output).isEmpty, "left behind: \(TestSupport.instances(in: output))", sourceLocation: sourceLocation)
    }

    // MARK: 7. Absurd declared sizes

    @Test("An SVS declaring a size no scanner makes is refused at open, with nothing written and memory bounded",
          arguments: [(100_000_000, 256, 256), (1_000_000, 1_000_000, 2048)])
    func absurdDeclaredSize(width: Int, height: Int, tile: Int) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir, name: "absurd.svs", width: 1000, height: 256,
                                              extra: ["--tile", String(tile), "--declare-width", String(width), "--declare-height", String(height)])
        let size = try FileManager.default.attributesOfItem(atPath: slide)[.size] as? Int ?? 0
        #expect(size < 8 << 20, "the hostile file itself is small: \(size) bytes")
        let out = dir.appendingPathComponent("out").path
        let result = try Self.run([slide, "-o", out, "-q"])
        Self.expectRefusal(result, output: out, mentions: ["absurd.svs", "no scanner makes"])
        #expect(!FileManager.default.fileExists(atPath: out), "refused before the output folder is made")
        #expect(result.peakMiB < 300, "peak \(result.peakMiB) MiB")
        let info = try Self.run(["info", slide])
        #expect(info.status == 1 && info.stderr.contains("no scanner makes"), "\(info.stderr)")
    }

    @Test("A tile table pointing past the end of the file is refused at open")
    func tileOffsetPastTheEnd() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir, name: "offsets.svs")
        var data = try Data(contentsOf: URL(fileURLWithPath: slide))
        try TIFFPatch.setFirstTileOffset(&data, to: UInt32(data.count + 10_000))
        try data.write(to: URL(fileURLWithPath: slide))
        let out = dir.appendingPathComponent("out").path
        let result = try Self.run([slide, "-o", out, "-q"])
        Self.expectRefusal(result, output: out, mentions: ["offsets.svs", "past the end of the file"])
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    // MARK: 8. Philips XML nested without end

    @Test("A Philips TIFF whose XML nests 100,000 deep is refused, not a stack overflow")
    func deepPhilipsXML() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("philips", in: dir, name: "deep.tiff", extra: ["--xml-nesting", "100000"])
        let out = dir.appendingPathComponent("out").path
        let result = try Self.run([slide, "-o", out, "-q"])
        Self.expectRefusal(result, output: out, mentions: ["deep.tiff"])
        let info = try Self.run(["info", slide])
        #expect(info.status == 1 && !info.stderr.contains("Fatal"), "status \(info.status): \(info.stderr)")
    }

    // MARK: 9. A FIFO as input

    @Test("A FIFO given to convert, info or batch is refused at once, not read until a writer comes")
    func fifoInput() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("pipe.svs").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let out = dir.appendingPathComponent("out").path
        let convert = try Self.run([fifo, "-o", out, "-q"], seconds: 30)
        Self.expectRefusal(convert, output: out, mentions: ["pipe.svs", "FIFO", "not a regular file"])
        let info = try Self.run(["info", fifo], seconds: 30)
        #expect(info.status == 1 && info.stderr.contains("FIFO"), "status \(info.status): \(info.stderr)")
        let batch = try Self.run(["batch", fifo, "-o", out], seconds: 30)
        #expect(batch.status == 1 && batch.stderr.contains("FIFO"), "status \(batch.status): \(batch.stderr)")
        // In a folder given to batch, a FIFO is passed over, not waited on.
        let folderBatch = try Self.run(["batch", dir.path, "-o", dir.appendingPathComponent("out2").path], seconds: 30)
        #expect(folderBatch.status != 137, "batch hung on a FIFO in a folder: \(folderBatch.stderr)")
        // A FIFO named like an instance in a folder given to info is passed over too.
        let instances = dir.appendingPathComponent("instances")
        try FileManager.default.createDirectory(at: instances, withIntermediateDirectories: true)
        #expect(mkfifo(instances.appendingPathComponent("level-0.dcm").path, 0o644) == 0)
        let infoFolder = try Self.run(["info", instances.path], seconds: 30)
        #expect(infoFolder.status == 1 && infoFolder.stderr.contains("no .dcm files"), "status \(infoFolder.status): \(infoFolder.stderr)")
    }

    // MARK: 10. Tiles that are not what the TIFF says

    @Test("A copied tile whose JPEG is another size, or truncated, is refused naming the tile, though nothing decodes it",
          arguments: [("large", "480 x 480 pixels, not the 240 x 240"), ("small", "60 x 60 pixels, not the 240 x 240"), ("truncated", "truncated")])
    func oddTile(kind: String, problem: String) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir, name: "odd.svs", extra: ["--odd-tile", kind])
        let out = dir.appendingPathComponent("out").path
        // One level: its tiles are only copied, never decoded.
        let result = try Self.run([slide, "-o", out, "-q", "--levels", "1"])
        Self.expectRefusal(result, output: out, mentions: ["odd.svs", "tile (2, 1)", problem])
    }

    @Test("A level-0 tile with byte count 0 becomes background, and a warning says so")
    func emptyTile() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir, name: "empty.svs", extra: ["--odd-tile", "empty"])
        let out = dir.appendingPathComponent("out").path
        let result = try TestSupport.run(TestSupport.dicomizer, [slide, "-o", out, "-q"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("warning: 1 tile of level 0 is absent from the source"), "\(result.stderr)")
        #expect(TestSupport.instances(in: out).count == 7)
    }

    // MARK: 11. DICOM values out of range

    @Test("Pixel sizes no microscope gives, a 160-character file name with a backslash and hostile --metadata text give valid DICOM",
          arguments: ["inf", "1e-30"])
    func valuesOutOfRange(mpp: String) async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = String(repeating: "n", count: 100) + "\\back" + String(repeating: "é", count: 25) + "slash.svs"
        #expect(name.count > 130)
        let slide = try TestSupport.makeSlide("svs", in: dir, name: name, extra: ["--mpp", mpp])
        let metadata = dir.appendingPathComponent("meta.json")
        let long = String(repeating: "x\\y", count: 40)
        try Data("""
            {"patient": {"id": "\(long.replacingOccurrences(of: "\\", with: "\\\\"))", "name": "Doe\\\\John^\(String(repeating: "J", count: 90))"},
             "study": {"description": "a\\\\b\\n\(String(repeating: "d", count: 80))", "accessionNumber": "ACC-0123456789-0123456789"},
             "label": {"barcode": "BC\\\\42"}}
            """.utf8).write(to: metadata)
        let out = dir.appendingPathComponent("out").path
        let result = try TestSupport.run(TestSupport.dicomizer, [slide, "-o", out, "-q", "--metadata", metadata.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("not one a microscope gives"), "\(result.stderr)")
        let level0 = try DICOMFile(path: out + "/level-0.dcm")
        let container = try #require(level0.dataSet.string(.containerIdentifier))
        #expect(container.utf8.count <= 64 && !container.contains("\\"), "\(container)")
        for tag in [Tag.patientID, .studyDescription, .accessionNumber] {
            #expect(level0.dataSet.strings(tag)?.count == 1, "\(tag) is one value")
        }
        let spacing = try #require(level0.pixelSpacing)
        #expect(spacing.allSatisfy { $0.isFinite && $0 > 0 }, "\(spacing)")
        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 1, associated: ["label", "overview", "thumbnail"])
        #expect(verdict.dciodvfy_errors.values.allSatisfy { $0 == 0 }, "dciodvfy: \(verdict.dciodvfy_errors)")
    }

    @Test("A batch metadata CSV: a UID that is none is refused naming its row and column; long text with backslashes gives valid DICOM")
    func metadataCSV() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir, name: "s1.svs")
        let bad = dir.appendingPathComponent("bad.csv")
        try Data("file,study_instance_uid\ns1.svs,1.2.03.x\n".utf8).write(to: bad)
        let refused = try Self.run(["batch", slide, "-o", dir.appendingPathComponent("refused").path, "--metadata-csv", bad.path])
        #expect(refused.status == 1 && refused.stderr.contains("row 2, column study_instance_uid") && refused.stderr.contains("DICOM UID"), "\(refused.stderr)")

        let good = dir.appendingPathComponent("good.csv")
        let long = String(repeating: "c\\", count: 50)
        try Data("file,container_id,patient_name,accession_number\ns1.svs,\(long),\(long),\(long)\n".utf8).write(to: good)
        let out = dir.appendingPathComponent("out").path
        let result = try TestSupport.run(TestSupport.dicomizer, ["batch", slide, "-o", out, "--metadata-csv", good.path])
        #expect(result.status == 0, "\(result.stderr)")
        let verdict = try await TestSupport.check(out + "/s1", source: slide, maxMAD0: 1, associated: ["label", "overview", "thumbnail"])
        #expect(verdict.dciodvfy_errors.count == 7 && verdict.dciodvfy_errors.values.allSatisfy { $0 == 0 }, "dciodvfy: \(verdict.dciodvfy_errors)")
    }

    // MARK: 16. RGB-coded Aperio JPEG without an Adobe marker

    @Test("Aperio tiles coded in RGB with no Adobe marker and ids 1, 2, 3 keep their colours (the TIFF's RGB is trusted)",
          arguments: [[String](), ["--reencode"]])
    func aperioRGBWithoutMarker(extra: [String]) async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir, extra: ["--aperio-rgb-quirk"])
        let info = try TestSupport.run(TestSupport.dicomizer, ["info", slide])
        #expect(info.status == 0, "\(info.stderr)")
        let out = dir.appendingPathComponent("out").path
        let result = try TestSupport.run(TestSupport.dicomizer, [slide, "-o", out, "-q"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        let level0 = try DICOMFile(path: out + "/level-0.dcm")
        #expect(level0.dataSet.string(.photometricInterpretation) == (extra.isEmpty ? "RGB" : "YBR_FULL_422"))
        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: extra.isEmpty ? 1 : 3, associated: ["label", "overview", "thumbnail"])
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
        #expect(verdict.dciodvfy_errors.values.allSatisfy { $0 == 0 })
    }

    // MARK: 12. --overwrite keeps good output when the new run fails

    @Test("--overwrite replaces a good pyramid only once the new one is complete")
    func overwriteKeepsGoodOutput() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try TestSupport.makeSlide("svs", in: dir, name: "good.svs", width: 3000, height: 2000)
        let bad = try TestSupport.makeSlide("svs", in: dir, name: "bad.svs", extra: ["--corrupt-tile"])
        let small = try TestSupport.makeSlide("svs", in: dir, name: "small.svs", width: 600, height: 500)
        let out = dir.appendingPathComponent("out").path
        #expect(try TestSupport.run(TestSupport.dicomizer, [good, "-o", out, "-q"]).status == 0)
        let before = TestSupport.instances(in: out)
        let uids = try before.map { try DICOMFile(path: out + "/" + $0).dataSet.string(.sopInstanceUID) }
        #expect(before.count >= 7)

        let failed = try TestSupport.run(TestSupport.dicomizer, [bad, "-o", out, "-q", "--overwrite"])
        #expect(failed.status != 0 && failed.stderr.contains("corrupt"), "\(failed.stderr)")
        #expect(TestSupport.instances(in: out) == before, "the good pyramid is all there")
        let after = try before.map { try DICOMFile(path: out + "/" + $0).dataSet.string(.sopInstanceUID) }
        #expect(after == uids, "and unchanged")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).allSatisfy { !$0.hasPrefix(".") }, "no temporary files")

        // A good run replaces it whole: the earlier run's deeper levels do not linger.
        #expect(try TestSupport.run(TestSupport.dicomizer, [small, "-o", out, "-q", "--overwrite"]).status == 0)
        let replaced = TestSupport.instances(in: out)
        let levels = replaced.filter { $0.hasPrefix("level-") }
        #expect(levels.count == 3 && replaced.count == 6, "\(replaced)")
        let series = try Set(replaced.map { try DICOMFile(path: out + "/" + $0).dataSet.string(.seriesInstanceUID) })
        #expect(series.count == 1)
    }

    // MARK: 13. Decompression bombs in plain images

    @Test("A small PNG or JPEG declaring 46,000 x 46,000 pixels is refused from its header, within the memory bound", arguments: ["png", "jpeg"])
    func decompressionBomb(kind: String) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("bomb.\(kind == "png" ? "png" : "jpg")").path
        if kind == "png" {
            let script = """
                import struct, sys, zlib
                w = h = 46000
                def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
                c = zlib.compressobj(9); row = bytes(1 + (w + 7) // 8); body = b''.join(c.compress(row) for _ in range(h)) + c.flush()
                open(sys.argv[1], 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 1, 0, 0, 0, 0)) + chunk(b'IDAT', body) + chunk(b'IEND', b''))
                """
            let made = try TestSupport.python(["-c", script, path])
            #expect(made.status == 0, "\(made.stderr)")
        } else {
            let small = try TestSupport.makeSlide("jpeg", in: dir, name: "small.jpg", width: 16, height: 16)
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: small)))
            let sof = try #require((0..<bytes.count - 9).first { bytes[$0] == 0xFF && (bytes[$0 + 1] == 0xC0 || bytes[$0 + 1] == 0xC2) })
            bytes.replaceSubrange(sof + 5..<sof + 9, with: [0xB3, 0xB0, 0xB3, 0xB0])  // 46,000 high and wide
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        let out = dir.appendingPathComponent("out").path
        let result = try Self.run([path, "-o", out, "-q"])
        Self.expectRefusal(result, output: out, mentions: ["bomb", "46000 x 46000", "too large to read whole"])
        #expect(result.peakMiB < 300, "peak \(result.peakMiB) MiB")
    }

    // MARK: 14. File names that are not UTF-8

    @Test("A slide whose name is not UTF-8 (Latin-1 é) is converted and described, its output beside it")
    func nonUTF8Name() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir, name: "plain.svs")
        let raw: [UInt8] = Array(dir.path.utf8) + Array("/slide-".utf8) + [0xE9] + Array(".svs".utf8) + [0]
        #expect(raw.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { rename(slide, $0.baseAddress!) } } == 0)
        // Process takes Strings; Python passes the bytes as they are.
        let script = """
            import os, subprocess, sys
            path = os.fsencode(sys.argv[2]) + b'/slide-\\xe9.svs'
            first = subprocess.run([sys.argv[1], path, '-q', '--no-label']).returncode
            second = subprocess.run([sys.argv[1], 'info', path], stdout=subprocess.DEVNULL).returncode
            sys.exit(first * 10 + second)
            """
        let result = try TestSupport.python(["-c", script, TestSupport.dicomizer, dir.path])
        #expect(result.status == 0, "status \(result.status): \(result.stderr)")
        #expect(result.stdout.contains("slide-\u{FFFD}-dicom"), "\(result.stdout)")
        let outputs = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix("-dicom") }
        #expect(outputs.count == 1)
        let out = dir.appendingPathComponent(outputs.first ?? "none").path
        #expect(TestSupport.instances(in: out).count == 6, "\(TestSupport.instances(in: out))")
        let container = try DICOMFile(path: out + "/level-0.dcm").dataSet.string(.containerIdentifier)
        #expect(container == "slide-\u{FFFD}")

        let missing = try TestSupport.python(["-c", "import os, subprocess, sys; sys.exit(subprocess.run([sys.argv[1], os.fsencode(sys.argv[2]) + b'/gone-\\xe9.svs', '-q']).returncode)",
                                              TestSupport.dicomizer, dir.path])
        #expect(missing.status == 1 && missing.stderr.contains("no such file"), "\(missing.stderr)")
    }

    // MARK: 15. --metadata with any subset of fields, errors in words

    @Test("--metadata takes any subset of its fields")
    func metadataSubset() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir)
        let metadata = dir.appendingPathComponent("meta.json")
        try Data(#"{"patient": {"id": "P1"}, "study": {"description": "Biopsy", "accessionNumber": "A7"}}"#.utf8).write(to: metadata)
        let out = dir.appendingPathComponent("out").path
        let result = try TestSupport.run(TestSupport.dicomizer, [slide, "-o", out, "-q", "--metadata", metadata.path])
        #expect(result.status == 0, "\(result.stderr)")
        let level0 = try DICOMFile(path: out + "/level-0.dcm")
        #expect(level0.dataSet.string(.patientID) == "P1" && level0.dataSet.string(.studyDescription) == "Biopsy")
    }

    @Test("--metadata errors name the field and say what is wrong, in words",
          arguments: [(#"{"patient": {"id": 42}}"#, "patient.id", "must be a string"),
                      (#"{"patient": {"nmae": "Doe"}}"#, "patient.nmae", "not a metadata field"),
                      (#"{"study": "x"}"#, "study", "must be an object"),
                      (#"{"study": {"instanceUID": "1.2.abc"}}"#, "study.instanceUID", "DICOM UID"),
                      (#"{"study": {"date": "2026-11-24"}}"#, "study.date", "YYYYMMDD"),
                      (#"{"pixelSpacing": [0.00025]}"#, "pixelSpacing", "two positive numbers"),
                      (#"{"series": {"number": "one"}}"#, "series.number", "must be a number"),
                      (#"{"patient": {"id": "P1",}"#, "not valid JSON", "")])
    func metadataErrors(json: String, field: String, problem: String) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir)
        let metadata = dir.appendingPathComponent("meta.json")
        try Data(json.utf8).write(to: metadata)
        let out = dir.appendingPathComponent("out").path
        let result = try Self.run([slide, "-o", out, "-q", "--metadata", metadata.path])
        Self.expectRefusal(result, output: out, mentions: ["meta.json", field, problem].filter { !$0.isEmpty })
        for jargon in ["CodingKeys", "typeMismatch", "Swift.", "debugDescription", "Expected to decode"] {
            #expect(!result.stderr.contains(jargon), "\(result.stderr)")
        }
    }

    // MARK: Issue 18. Every level covers the same physical area

    /// Each level's (rows x spacing, columns x spacing) in mm, and its spacing over level 0's.
    static func extents(_ out: String) throws -> [(height: Double, width: Double, ratio: [Double])] {
        var result: [(height: Double, width: Double, ratio: [Double])] = []
        var base: [Double]?
        for name in TestSupport.instances(in: out) where name.hasPrefix("level-") {
            let file = try DICOMFile(path: out + "/" + name)
            let spacing = try #require(file.pixelSpacing)
            base = base ?? spacing
            let columns = try #require(file.dataSet.int(.totalPixelMatrixColumns)), rows = try #require(file.dataSet.int(.totalPixelMatrixRows))
            result.append((Double(rows) * spacing[0], Double(columns) * spacing[1], [spacing[0] / base![0], spacing[1] / base![1]]))
        }
        return result
    }

    @Test("Each level's Pixel Spacing is level 0's times the exact size ratio: all levels span the same millimetres")
    func levelsSpanTheSameArea() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // 3001 x 2003 in 512-pixel tiles: every halving rounds up (751 x 501 is not 3001 / 4 x 2003 / 4), so
        // the nominal downsample drifts from the true ratio; the levels are 3001, 1501, 751 and 376 wide.
        let slide = try TestSupport.makeSlide("svs", in: dir, width: 3001, height: 2003, extra: ["--tile", "512"])
        let out = dir.appendingPathComponent("out").path
        #expect(try TestSupport.run(TestSupport.dicomizer, [slide, "-o", out, "-q", "--no-label", "--no-overview", "--no-thumbnail"]).status == 0)
        let extents = try Self.extents(out)
        #expect(extents.count == 4)
        for extent in extents {
            #expect(abs(extent.width - extents[0].width) / extents[0].width < 1e-9 && abs(extent.height - extents[0].height) / extents[0].height < 1e-9,
                    "\(extent.width) x \(extent.height) mm against \(extents[0].width) x \(extents[0].height)")
        }
    }

    @Test("A small level whose exact ratio is far from a power of two keeps a spacing wsidicom takes, as close to the true size as that allows")
    func smallLevelsStayReadable() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // 1001 x 757 in 240-pixel tiles: level 3 is 126 x 95, and 1001 / 126 is 2^2.990.
        let slide = try TestSupport.makeSlide("svs", in: dir, width: 1001, height: 757)
        let out = dir.appendingPathComponent("out").path
        #expect(try TestSupport.run(TestSupport.dicomizer, [slide, "-o", out, "-q"]).status == 0)
        let extents = try Self.extents(out)
        #expect(extents.count == 4)
        for extent in extents {
            #expect(abs(extent.width - extents[0].width) / extents[0].width < 0.005, "\(extent.width) against \(extents[0].width)")
            for ratio in extent.ratio {
                #expect(abs(log2(ratio) - log2(ratio).rounded()) <= 0.0091, "spacing ratio \(ratio)")
            }
        }
        let verdict = try await TestSupport.check(out, source: slide, maxMAD0: 1, associated: ["label", "overview", "thumbnail"])
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
    }
}

/// Edits of a classic little-endian TIFF in place, for making hostile files from good ones.
enum TIFFPatch {
    struct NotPatchable: Error {}

    /// Points the first TileOffsets entry of the first directory at `offset`.
    static func setFirstTileOffset(_ data: inout Data, to offset: UInt32) throws {
        let bytes = [UInt8](data)
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        guard bytes.starts(with: [0x49, 0x49, 0x2A, 0x00]) else { throw NotPatchable() }
        let ifd = u32(4)
        for entry in 0..<u16(ifd) {
            let at = ifd + 2 + entry * 12
            guard u16(at) == 324 else { continue }  // TileOffsets
            let count = u32(at + 4), type = u16(at + 2)
            guard type == 4 else { throw NotPatchable() }
            let position = count == 1 ? at + 8 : u32(at + 8)
            data.replaceSubrange(position..<position + 4, with: withUnsafeBytes(of: offset.littleEndian) { Array($0) })
            return
        }
        throw NotPatchable()
    }
}
