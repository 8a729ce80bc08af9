import Foundation
import Testing
import WSICodecs
@testable import WSISources

/// The direct NDPI reader against OpenSlide's reading of the same file.
@Suite("NDPI source")
struct NDPISourceTests {
    func meanAbsoluteDifference(_ a: RGBImage, _ b: RGBImage) -> Double {
        precondition(a.width == b.width && a.height == b.height)
        var sum = 0
        for i in 0..<a.pixels.count { sum += abs(Int(a.pixels[i]) - Int(b.pixels[i])) }
        return Double(sum) / Double(a.pixels.count)
    }

    @Test("Level-0 regions equal OpenSlide's, aligned or not, at the edges and past them, with or without McuStarts",
          arguments: [[], ["--no-mcu-starts"]])
    func regionsMatchOpenSlide(extra: [String]) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try TestSupport.makeSlide("ndpi", in: dir, name: "slide.ndpi", width: 1600, height: 1000, extra: extra)
        let source = try SlideOpener.open(path)
        #expect(source is HamamatsuSource)
        #expect(source.properties.lossyMethod == "ISO_10918_1" && (source.properties.lossyRatio ?? 0) > 2)
        let reference = try OpenSlideSource(path: path)
        for (x, y, w, h) in [(0, 0, 1600, 1000), (37, 13, 500, 301), (160, 8, 320, 16), (1500, 950, 256, 256), (-20, -20, 64, 64)] {
            let ours = try source.readRegion(x: x, y: y, width: w, height: h, threads: 2)
            let theirs = try reference.readRegion(x: x, y: y, width: w, height: h, threads: 2)
            #expect(ours.width == w && ours.height == h)
            let mad = meanAbsoluteDifference(ours, theirs)
            #expect(mad <= 1, "region \(x),\(y) \(w)x\(h): MAD \(mad)")
        }
    }

    @Test("A file that is not NDPI is refused, so that OpenSlide reads it")
    func refusesOtherFiles() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try TestSupport.makeSlide("svs", in: dir)
        #expect(throws: SourceError.self) { try HamamatsuSource(ndpi: path, openSlide: try OpenSlideSource(path: path)) }
    }

    @Test("Intervals split at restart markers and reassemble into a stream of the rectangle's size")
    func restartIntervals() throws {
        let data: [UInt8] = [1, 2, 0xFF, 0x00, 3, 0xFF, 0xD0, 4, 5, 0xFF, 0xD1, 6, 0xFF, 0xD9]
        let pieces = RestartIntervalJPEG.intervals(in: data[...])
        #expect(pieces.map(Array.init) == [[1, 2, 0xFF, 0x00, 3], [4, 5], [6]])
        // A range that ends right after a marker leaves no empty interval.
        #expect(RestartIntervalJPEG.intervals(in: data[0..<7]).map(Array.init) == [[1, 2, 0xFF, 0x00, 3]])
    }

    @Test("A header whose sampling factors are 0 (an MCU of no width) is refused; factors of 1 and 2 read as 4:2:0")
    func samplingFactors() throws {
        func header(_ factors: [UInt8]) -> [UInt8] {
            let components: [UInt8] = factors.enumerated().flatMap { (index, factor) -> [UInt8] in [UInt8(index + 1), factor, 0] }
            let sof: [UInt8] = [0xFF, 0xC0, 0, UInt8(8 + components.count), 8, 0, 16, 0, 32, UInt8(factors.count)] + components
            let sos: [UInt8] = [0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]
            return [0xFF, 0xD8] + sof + [0xFF, 0xDD, 0, 4, 0, 2] + sos + [0x12, 0x34]
        }
        #expect(throws: CodecError.self) { try RestartIntervalJPEG(header: header([0x00, 0x00, 0x00])[...]) }
        #expect(throws: CodecError.self) { try RestartIntervalJPEG(header: header([0x50, 0x11, 0x11])[...]) }
        let jpeg = try RestartIntervalJPEG(header: header([0x22, 0x11, 0x11])[...])
        #expect(jpeg.subsampling == .s420 && jpeg.mcuWidth == 16 && jpeg.mcuHeight == 16 && jpeg.intervalWidth == 32)
    }
}
