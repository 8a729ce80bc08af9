import Foundation
import Testing

/// Every bad input gets one line naming the file and the reason, a non-zero exit, and no `.dcm` left behind.
@Suite("Bad input")
struct BadInputTests {
    func expectFailure(_ arguments: [String], output: String, mentions: [String]) throws {
        let result = try TestSupport.run(TestSupport.dicomizer, arguments + ["-o", output, "--quiet"])
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "expected one error line, got: \(result.stderr)")
        #expect(result.stderr.hasPrefix("dicomizer: error: "))
        for word in mentions { #expect(result.stderr.contains(word), "error should mention \(word): \(result.stderr)") }
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack dump"))
        let leftovers = ((try? FileManager.default.subpathsOfDirectory(atPath: output)) ?? []).filter { $0.hasSuffix(".dcm") }
        #expect(leftovers.isEmpty, "left behind: \(leftovers)")
    }

    @Test("A missing file")
    func missingFile() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try expectFailure([dir.appendingPathComponent("nope.svs").path], output: dir.appendingPathComponent("out").path, mentions: ["nope.svs", "no such file"])
    }

    @Test("A file that is not a slide")
    func notASlide() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("notes.svs").path
        try Data("these are not pixels\n".utf8).write(to: URL(fileURLWithPath: path))
        try expectFailure([path], output: dir.appendingPathComponent("out").path, mentions: ["notes.svs", "not a slide"])
    }

    @Test("A DICOM file given as the slide is named as DICOM, with what to do instead")
    func dicomInput() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var header = Data(count: 128)
        header.append(Data("DICM".utf8))
        header.append(Data(count: 64))
        let path = dir.appendingPathComponent("level-0.dcm").path
        try header.write(to: URL(fileURLWithPath: path))
        try expectFailure([path], output: dir.appendingPathComponent("out").path, mentions: ["level-0.dcm", "DICOM file already", "dicomizer serve"])
    }

    @Test("A truncated TIFF")
    func truncatedTIFF() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir)
        let data = try Data(contentsOf: URL(fileURLWithPath: slide))
        let cut = dir.appendingPathComponent("cut.svs").path
        try data.prefix(data.count / 3).write(to: URL(fileURLWithPath: cut))
        try expectFailure([cut], output: dir.appendingPathComponent("out").path, mentions: ["cut.svs"])
    }

    @Test("A TIFF with a corrupt tile", arguments: [[], ["--reencode"]])
    func corruptTile(extra: [String]) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir, name: "corrupt.svs", extra: ["--corrupt-tile"])
        try expectFailure([slide] + extra, output: dir.appendingPathComponent("out").path, mentions: ["corrupt.svs", "tile", "corrupt"])
    }

    @Test("A Philips TIFF whose XML gives no pixel spacing for one of its levels")
    func philipsWithoutLevelSpacing() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("philips", in: dir, name: "philips.tiff")
        // Level 1's spacing made unreadable in place (the same length, so nothing moves).
        var data = try Data(contentsOf: URL(fileURLWithPath: slide))
        let spacing = Data("&quot;0.0005&quot; &quot;0.0005&quot;".utf8)
        let at = try #require(data.range(of: spacing))
        data.replaceSubrange(at, with: Data("&quot;x.xxxx&quot; &quot;x.xxxx&quot;".utf8))
        try data.write(to: URL(fileURLWithPath: slide))
        try expectFailure([slide], output: dir.appendingPathComponent("out").path, mentions: ["philips.tiff", "Philips TIFF", "pixel spacing"])
    }

    @Test("An unsupported compression")
    func unsupportedCompression() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("unsupported", in: dir)
        try expectFailure([slide], output: dir.appendingPathComponent("out").path, mentions: ["unsupported.tiff", "unsupported", "compression"])
    }

    @Test("An output path inside a file")
    func outputUnderAFile() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir)
        try expectFailure([slide], output: slide + "/out", mentions: ["cannot create output folder"])
    }

    @Test("An output folder that already holds instances, without --overwrite")
    func existingOutput() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir)
        let out = dir.appendingPathComponent("out").path
        #expect(try TestSupport.run(TestSupport.dicomizer, [slide, "-o", out, "-q"]).status == 0)
        let second = try TestSupport.run(TestSupport.dicomizer, [slide, "-o", out, "-q"])
        #expect(second.status != 0 && second.stderr.contains("--overwrite"))
        #expect(try TestSupport.run(TestSupport.dicomizer, [slide, "-o", out, "-q", "--overwrite"]).status == 0)
        #expect(TestSupport.instances(in: out).count == 7)
    }

    @Test("A read-only output folder", .enabled(if: TestSupport.isRoot, "mounting needs root"))
    func readOnlyOutput() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir)
        guard let mount = try TestSupport.mount("tmpfs", options: "ro,size=1m", in: dir, name: "ro") else { return }
        defer { TestSupport.unmount(mount) }
        try expectFailure([slide], output: mount, mentions: ["not writable"])
    }

    @Test("A full output folder", .enabled(if: TestSupport.isRoot, "mounting needs root"))
    func fullOutput() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir, width: 1500, height: 1100)
        guard let mount = try TestSupport.mount("tmpfs", options: "size=200k", in: dir, name: "small") else { return }
        defer { TestSupport.unmount(mount) }
        try expectFailure([slide], output: mount + "/out", mentions: ["No space left on device"])
        // Nothing is left behind at all, temporary files included.
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: mount + "/out")) ?? []).isEmpty)
    }

    @Test("An invalid metadata file")
    func badMetadata() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir)
        let metadata = dir.appendingPathComponent("meta.json").path
        try Data(#"{"patient": {"name": 42}}"#.utf8).write(to: URL(fileURLWithPath: metadata))
        try expectFailure([slide, "--metadata", metadata], output: dir.appendingPathComponent("out").path, mentions: ["meta.json", "patient.name"])
    }
}
