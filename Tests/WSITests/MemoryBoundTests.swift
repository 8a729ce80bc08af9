import Foundation
import Testing

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

    @Test("A 16,000 x 12,000 slide (550 MiB decoded) converts within 200 MiB, copied or re-encoded",
          arguments: [[String](), ["--reencode"], ["--tile-size", "512"]])
    func boundedMemory(extra: [String]) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir, width: 16_000, height: 12_000, extra: ["--repeat-tiles", "4"])
        let levelZeroMiB = 16_000.0 * 12_000 * 3 / 1_048_576
        let peak = try peakMiB([slide, "-o", dir.appendingPathComponent("out").path, "-q"] + extra)
        #expect(peak < 200, "peak \(peak) MiB for a level 0 of \(levelZeroMiB) MiB")
        #expect(TestSupport.instances(in: dir.appendingPathComponent("out").path).count >= 9)
    }
}
