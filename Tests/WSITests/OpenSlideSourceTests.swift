import Foundation
import Testing
import WSICodecs
@testable import WSISources

/// OpenSlide's level-0 regions, composited through pixman's 8-bit DEST_OVER instead of OpenSlide's
/// floating-point SATURATE (`COpenSlideCompositing`), and their conversion to RGB over the background.
@Suite("OpenSlide source")
struct OpenSlideSourceTests {
    @Test("DEST_OVER compositing gives OpenSlide's own bytes: opaque tiles, overlapping MRXS camera images, sparse and empty areas, regions past the edges",
          arguments: ["svs", "tiff", "philips", "scn", "ndpi", "mrxs"])
    func opaqueCompositingMatchesSaturate(kind: String) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try TestSupport.makeSlide(kind, in: dir, width: 1500, height: 1100)
        let source = try OpenSlideSource(path: path)
        #expect(OpenSlideSource.placesLevel0TilesAtWholePixels(vendor: try #require(OpenSlideSource.vendor(of: path))))
        let (w, h) = (source.width, source.height)
        var transparent = 0
        for (x, y, rw, rh) in [(0, 0, w, h), (37, 13, 700, 301), (w - 300, h - 200, 512, 400), (-40, -25, 300, 200)] {
            let fast = source.readARGB(x: x, y: y, width: rw, height: rh, opaqueCompositing: true)
            let reference = source.readARGB(x: x, y: y, width: rw, height: rh, opaqueCompositing: false)
            let differing = zip(fast, reference).count { $0 != $1 }
            #expect(fast.count == reference.count && differing == 0, "\(kind) region \(x),\(y) \(rw)x\(rh): \(differing) pixels differ")
            transparent += fast.count { $0 >> 24 == 0 }
        }
        // Past the edges there is nothing to paint: the regions must have held transparent pixels too.
        #expect(transparent > 0)
        #expect(OpenSlideSource.opaqueCompositingInterposed, "OpenSlide's cairo_set_operator did not reach the interposer")
    }

    @Test("BIF keeps OpenSlide's SATURATE: its level-0 tiles sit at fractional positions, where DEST_OVER would give other bytes")
    func ventanaKeepsSaturate() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try TestSupport.makeSlide("bif", in: dir, width: 1500, height: 1100)
        #expect(OpenSlideSource.vendor(of: path) == "ventana")
        #expect(!OpenSlideSource.placesLevel0TilesAtWholePixels(vendor: "ventana"))
        #expect(!OpenSlideSource.placesLevel0TilesAtWholePixels(vendor: "a vendor of a later OpenSlide"))
        let source = try OpenSlideSource(path: path)
        let fast = source.readARGB(x: 0, y: 0, width: source.width, height: source.height, opaqueCompositing: true)
        let reference = source.readARGB(x: 0, y: 0, width: source.width, height: source.height, opaqueCompositing: false)
        let differing = zip(fast, reference).count { $0 != $1 }
        #expect(differing > 0, "DEST_OVER gave SATURATE's bytes on BIF too: the exclusion is not needed")
    }

    @Test("Premultiplied ARGB becomes RGB over the background: opaque, transparent and partly transparent pixels")
    func argbOverBackground() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = try OpenSlideSource(path: TestSupport.makeSlide("svs", in: dir, width: 600, height: 400))
        var generator = SystemRandomNumberGenerator()
        // Runs of opaque pixels (the vector path) among others, in a count that is not a multiple of 4.
        let argb: [UInt32] = (0..<1027).map { i in
            let alpha: UInt32 = i % 7 == 0 ? 0 : i % 5 == 0 ? UInt32.random(in: 1...254, using: &generator) : 255
            let channel = { UInt32.random(in: 0...alpha, using: &generator) }
            return alpha << 24 | channel() << 16 | channel() << 8 | channel()
        }
        let image = source.unpack(argb, width: argb.count, height: 1)
        let bg = source.properties.background
        for (i, v) in argb.enumerated() {
            let t = 255 - Int(v >> 24)
            let expected = [(Int(v >> 16 & 0xFF), Int(bg.r)), (Int(v >> 8 & 0xFF), Int(bg.g)), (Int(v & 0xFF), Int(bg.b))].map { min(255, $0.0 + ($0.1 * t + 127) / 255) }
            #expect(image.pixels[3 * i..<3 * i + 3].map(Int.init) == expected, "pixel \(i) \(String(v, radix: 16))")
        }
    }
}
