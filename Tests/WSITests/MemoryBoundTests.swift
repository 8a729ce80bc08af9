import Foundation
import Testing
import WSIDICOM

/// The conversion streams: peak memory stays a small fraction of one decoded level 0, whatever the path.
@Suite("Bounded memory")
struct MemoryBoundTests {
    /// Peak resident memory of one run in MiB, as /usr/bin/time reports it.
    func peakMiB(_ arguments: [String]) throws -> Double {
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("rss-\(UUID().uuidString)").path
        defer { unlink(report) }
        let result = try TestSupport.run("/usr/bin/time", ["-o", report, "-f", "%M", TestSupport.dicomizer] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        let text = try String(contentsOfFile: report, encoding: .utf8)
        return (Double(text.split(separator: "\n").last.map(String.init) ?? "") ?? .infinity) / 1024
    }

    @Test("A 16,000 x 12,000 slide (550 MiB decoded) converts within 200 MiB, copied or re-encoded, with the default or a two-tile window",
          arguments: [[String](), ["--reencode"], ["--tile-size", "512"], ["--reencode", "--window", "2"]])
    func boundedMemory(extra: [String]) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir, width: 16_000, height: 12_000, extra: ["--repeat-tiles", "4"])
        let levelZeroMiB = 16_000.0 * 12_000 * 3 / 1_048_576
        let peak = try peakMiB([slide, "-o", dir.appendingPathComponent("out").path, "-q"] + extra)
        #expect(peak < 200, "peak \(peak) MiB for a level 0 of \(levelZeroMiB) MiB")
        #expect(TestSupport.instances(in: dir.appendingPathComponent("out").path).count >= 9)
    }

    @Test("A 120,000-pixel-wide slide (540 MiB decoded) converts within 300 MiB: memory follows the width (one tile row per level), not the area",
          arguments: [[String](), ["--reencode"], ["--reencode", "--tile-size", "256"]])
    func wideSlide(extra: [String]) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir, width: 120_000, height: 1_500, extra: ["--repeat-tiles", "4"])
        let peak = try peakMiB([slide, "-o", dir.appendingPathComponent("out").path, "-q", "--no-label", "--no-overview", "--no-thumbnail"] + extra)
        #expect(peak < 300, "peak \(peak) MiB")
        #expect(TestSupport.instances(in: dir.appendingPathComponent("out").path).count >= 9)
    }

    @Test("The in-flight window changes memory, not output: the same frames with one tile in flight as with the default",
          arguments: [[String](), ["--reencode"], ["--tile-size", "256"]])
    func windowKeepsFrames(extra: [String]) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // 240-pixel source tiles: re-encoding to 256-pixel tiles straddles source tile rows and columns.
        let slide = try TestSupport.makeSlide("svs", in: dir, width: 2_000, height: 1_500)
        var outputs: [String] = []
        for window in ["1", "128"] {
            let out = dir.appendingPathComponent("window-\(window)").path
            let result = try TestSupport.run(TestSupport.dicomizer, [slide, "-o", out, "-q", "--window", window, "--no-label", "--no-overview", "--no-thumbnail"] + extra)
            #expect(result.status == 0, "\(result.stderr)")
            outputs.append(out)
        }
        let levels = TestSupport.instances(in: outputs[0]).count
        #expect(levels >= 4 && levels == TestSupport.instances(in: outputs[1]).count)
        for level in 0..<levels {
            let small = try DICOMFile(path: "\(outputs[0])/level-\(level).dcm")
            let large = try DICOMFile(path: "\(outputs[1])/level-\(level).dcm")
            #expect(small.numberOfFrames == large.numberOfFrames && small.numberOfFrames > 0)
            let same = try (0..<min(small.numberOfFrames, large.numberOfFrames)).allSatisfy { try small.frameData($0) == large.frameData($0) }
            #expect(same, "level \(level) differs between windows")
        }
    }
}
