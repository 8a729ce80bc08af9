import Foundation
import Testing
import WSICodecs
import WSISources

/// The DCT-domain re-encoder against TurboJPEG's pixel route: the same pixels within JPEG tolerance, the
/// half-size tile equal to TurboJPEG's half-scale decoding, and a clear nil for what it does not take.
@Suite("DCT-domain JPEG re-encoding")
struct JPEGTranscoderTests {
    func mad(_ a: [UInt8], _ b: [UInt8]) -> Double {
        precondition(a.count == b.count)
        return Double(zip(a, b).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }) / Double(a.count)
    }

    /// A 240 x 240 RGB-coded tile of a generated SVS, as the converter reads it (tables merged, Adobe marker).
    func rgbCodedTile() throws -> (stream: [UInt8], folder: URL) {
        let dir = try TestSupport.temporaryDirectory()
        let slide = try TestSupport.makeSlide("svs", in: dir, width: 1001, height: 757)
        let tiles = try #require(try TiledTIFFSource(path: slide).rawTiles)
        return (try #require(try tiles.rawTile(col: 1, row: 1)), dir)
    }

    @Test("An RGB-coded 4:4:4 tile becomes YCbCr 4:2:0 q90 as close to the source as TurboJPEG's decode and re-encode, its half-size tile as TurboJPEG's")
    func rgbCoded() throws {
        let (stream, dir) = try rgbCodedTile()
        defer { try? FileManager.default.removeItem(at: dir) }
        let decoder = JPEGDecoder()
        #expect(try decoder.info(stream).isRGBCoded)
        let source = try decoder.decode(stream)

        var half = RGBImage(width: 120, height: 120, fill: RGB(1, 2, 3))
        let transcoded = try #require(try half.withPixelBuffer { try JPEGTranscoder(quality: 90, subsampling: .s420).transcode(stream, half: $0) })
        let info = try decoder.info(transcoded)
        #expect(!info.isRGBCoded && info.subsampling == .s420 && info.width == 240 && info.height == 240)
        let ours = mad(try decoder.decode(transcoded).pixels, source.pixels)
        let pixelRoute = mad(try decoder.decode(try JPEGEncoder(quality: 90, subsampling: .s420).encode(source)).pixels, source.pixels)
        #expect(ours > 0 && ours < 2, "MAD \(ours)")
        #expect(ours <= pixelRoute + 0.1, "DCT domain \(ours) against pixel route \(pixelRoute)")

        var expectedHalf = RGBImage(width: 120, height: 120)
        #expect(try expectedHalf.withPixelBuffer { try decoder.decodeHalf(stream, into: $0) })
        #expect(mad(half.pixels, expectedHalf.pixels) < 1, "half-size MAD \(mad(half.pixels, expectedHalf.pixels))")

        // At the slide's edge only the visible part is written: the rest of the buffer keeps its pixels.
        var edge = RGBImage(width: 120, height: 120, fill: RGB(7, 7, 7))
        try edge.withPixelBuffer { buffer in
            _ = try JPEGTranscoder().transcode(stream, half: buffer.window(x: 0, y: 0, width: 51, height: 30))
        }
        #expect(edge.crop(x: 51, y: 0, width: 69, height: 120).pixels.allSatisfy { $0 == 7 })
        #expect(edge.crop(x: 0, y: 30, width: 120, height: 90).pixels.allSatisfy { $0 == 7 })
        #expect(mad(edge.crop(x: 0, y: 0, width: 51, height: 30).pixels, expectedHalf.crop(x: 0, y: 0, width: 51, height: 30).pixels) < 1)

        // 4:4:4 output: chroma as a weighted sum of the coefficients, no pixels at all.
        let full = try #require(try JPEGTranscoder(quality: 90, subsampling: .s444).transcode(stream))
        #expect(try decoder.info(full).subsampling == .s444)
        #expect(mad(try decoder.decode(full).pixels, source.pixels) < 1.5)
    }

    @Test("YCbCr tiles: 4:2:0 requantized, 4:4:4 subsampled; no upsampling, no 4:2:2, no sizes off the 16-pixel grid, garbage an error")
    func ycbcrAndRefusals() throws {
        let (stream, dir) = try rgbCodedTile()
        defer { try? FileManager.default.removeItem(at: dir) }
        let decoder = JPEGDecoder()
        let pixels = try decoder.decode(stream)
        for subsampling in [ChromaSubsampling.s420, .s444] {
            let ycbcr = try JPEGEncoder(quality: 95, subsampling: subsampling).encode(pixels)
            let before = try decoder.decode(ycbcr)
            var half = RGBImage(width: 120, height: 120)
            let out = try #require(try half.withPixelBuffer { try JPEGTranscoder(quality: 80, subsampling: .s420).transcode(ycbcr, half: $0) })
            #expect(try decoder.info(out).subsampling == .s420)
            #expect(out.count < ycbcr.count, "quality 80 is smaller than 95")
            #expect(mad(try decoder.decode(out).pixels, before.pixels) < 2.5)
            var expectedHalf = RGBImage(width: 120, height: 120)
            _ = try expectedHalf.withPixelBuffer { try decoder.decodeHalf(ycbcr, into: $0) }
            #expect(mad(half.pixels, expectedHalf.pixels) < 1.5, "\(subsampling): half-size MAD \(mad(half.pixels, expectedHalf.pixels))")
        }
        let subsampled = try JPEGEncoder(quality: 90, subsampling: .s420).encode(pixels)
        #expect(try JPEGTranscoder(quality: 90, subsampling: .s444).transcode(subsampled) == nil, "chroma is never upsampled")
        #expect(!JPEGTranscoder.supports(.s422))
        #expect(try JPEGTranscoder(quality: 90, subsampling: .s422).transcode(stream) == nil)
        let odd = try JPEGEncoder(quality: 90, subsampling: .s420).encode(pixels.crop(x: 0, y: 0, width: 200, height: 120))
        #expect(try JPEGTranscoder().transcode(odd) == nil)
        let transcoder = JPEGTranscoder()
        #expect(throws: CodecError.self) { try transcoder.transcode([0x00, 0x01, 0x02, 0x03]) }
        #expect(throws: CodecError.self) { try transcoder.transcode(Array(stream.prefix(40))) }
        // The transcoder is usable again after an error.
        #expect(try transcoder.transcode(stream) != nil)
    }
}
