// wsi-codec-floor: how fast TurboJPEG itself goes on a slide's own tiles, on this machine, with the
// threads the converter uses. It decodes every level-0 tile (full size, and at half size through the
// scaled IDCT), and encodes a sample of decoded tiles as JPEG q90 4:2:0, then prints the rates and the
// codec floor of each conversion path: the time the codec work alone takes with perfect parallelism.
// tools/bench.py prints each tool's time against that floor. For YCbCr-coded tiles it also measures the
// same work kept in YCbCr planes (planar*: what a pipeline that never converts to RGB could reach).
import ArgumentParser
import CTurboJPEG
import Foundation
import WSICodecs
import WSISources

@main
struct CodecFloor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wsi-codec-floor",
        abstract: "Measure TurboJPEG's decode and encode rates on a slide's tiles and print the conversion floors (JSON).")

    @Argument(help: "A tiled TIFF or SVS slide with JPEG tiles.") var slide: String
    @Option(help: "Worker threads (default: all cores).") var threads = Parallel.coreCount
    @Option(help: "JPEG quality of the encode measurement.") var quality = 90

    func run() throws {
        let source = try SlideOpener.open(slide)
        guard let raw = source.rawTiles, case .jpeg = raw.encoding else {
            throw ValidationError("\(slide) has no JPEG tiles to measure")
        }
        let tw = raw.tileWidth, th = raw.tileHeight
        let across = (source.width + tw - 1) / tw, down = (source.height + th - 1) / th
        let count = across * down
        let tileMP = Double(tw * th) / 1e6

        // Reading the compressed tiles (not codec work, reported apart).
        var start = Date()
        try Parallel.forEach(count, threads: threads) { i in _ = try raw.rawTile(col: i % across, row: i / across) }
        let readSeconds = Date().timeIntervalSince(start)

        let decoders = HandlePool { JPEGDecoder() }
        func decodeAll(half: Bool) throws -> Double {
            let start = Date()
            try Parallel.forEach(count, threads: threads) { i in
                guard let stream = try raw.rawTile(col: i % across, row: i / across) else { return }
                var image = RGBImage(uninitializedWidth: half ? (tw + 1) / 2 : tw, height: half ? (th + 1) / 2 : th)
                try image.withPixelBuffer { buffer in
                    _ = try decoders.with { half ? try $0.decodeHalf(stream, into: buffer) : try $0.decode(stream, into: buffer) }
                }
            }
            return Date().timeIntervalSince(start) - readSeconds
        }
        let decodeSeconds = try decodeAll(half: false)
        let halfSeconds = try decodeAll(half: true)

        // Encoding: a spread-out sample of decoded tiles, encoded as many times as there are tiles.
        let sampleCount = min(count, 256)
        // (Tiles a sparse file leaves out are not in it.)
        let sample = try (0..<sampleCount).compactMap { k -> RGBImage? in
            let i = k * count / sampleCount
            return try raw.rawTile(col: i % across, row: i / across).map { try JPEGDecoder().decode($0) }
        }
        guard !sample.isEmpty else { throw ValidationError("\(slide) has no tiles in its sample to measure") }
        let encoders = HandlePool { JPEGEncoder(quality: quality, subsampling: .s420) }
        start = Date()
        try Parallel.forEach(count, threads: threads) { i in _ = try encoders.with { try $0.encode(sample[i % sample.count]) } }
        let encodeSeconds = Date().timeIntervalSince(start)

        // The same work kept in YCbCr planes (no colour conversion, no chroma resampling by the codec):
        // what a planar pipeline could reach at best, for the record of how far the floor itself can move.
        let planar = try PlanarRates.measure(raw: raw, across: across, count: count, sample: min(count, 256), threads: threads, quality: quality)

        let levelZero = Double(count) * tileMP
        let decodeRate = levelZero / decodeSeconds, halfRate = levelZero / halfSeconds, encodeRate = levelZero / encodeSeconds
        // A full dyadic pyramid below level 0 has a third of level 0's pixels (1/4 + 1/16 + ...).
        let lower = levelZero / 3
        var result: [String: Any] = [
            "slide": slide, "threads": threads, "tiles": count, "tileWidth": tw, "tileHeight": th, "levelZeroMegapixels": levelZero,
            "readSeconds": readSeconds,
            "decodeMegapixelsPerSecond": decodeRate, "halfDecodeMegapixelsPerSecond": halfRate, "encodeMegapixelsPerSecond": encodeRate,
            // Full re-encode: decode level 0, encode it and every lower level.
            "reencodeFloorSeconds": levelZero / decodeRate + (levelZero + lower) / encodeRate,
            // Copy: level 0 copied; level 0 decoded at half size for level 1; the lower levels encoded.
            "copyFloorSeconds": levelZero / halfRate + lower / encodeRate,
        ]
        if let planar {
            let decode = levelZero / planar.decodeSeconds, encode = levelZero / planar.encodeSeconds
            result["planarDecodeMegapixelsPerSecond"] = decode
            result["planarEncodeMegapixelsPerSecond"] = encode
            result["planarReencodeFloorSeconds"] = levelZero / decode + (levelZero + lower) / encode
        }
        let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys, .prettyPrinted])
        print(String(decoding: json, as: UTF8.self))
    }
}

/// TurboJPEG decoding level 0 into YCbCr planes and encoding 4:2:0 from planes. nil for sources whose
/// tiles are neither 4:4:4 nor 4:2:0 YCbCr.
enum PlanarRates {
    /// TurboJPEG handles and a tile's planes to decode into, owned by one worker at a time.
    final class Handle {
        let decoder = tjInitDecompress()!, encoder = tjInitCompress()!
        let scratch: Planes
        init(scratch: Planes) { self.scratch = scratch }
        deinit { tjDestroy(decoder); tjDestroy(encoder) }
    }

    /// Three planes of one tile, at a subsampling's sizes.
    struct Planes: @unchecked Sendable {
        let planes: [UnsafeMutablePointer<UInt8>]
        let widths: [Int32], heights: [Int32]
        init(width: Int, height: Int, subsampling: Int32) {
            let widths = (0..<3).map { tjPlaneWidth($0, Int32(width), subsampling) }
            let heights = (0..<3).map { tjPlaneHeight($0, Int32(height), subsampling) }
            planes = (0..<3).map { .allocate(capacity: Int(widths[$0] * heights[$0])) }
            self.widths = widths
            self.heights = heights
        }
    }

    static func measure(raw: any RawTileSource, across: Int, count: Int, sample: Int, threads: Int, quality: Int) throws
        -> (decodeSeconds: Double, encodeSeconds: Double)? {
        let tw = raw.tileWidth, th = raw.tileHeight
        guard let first = try raw.rawTile(col: 0, row: 0), let info = try? JPEGDecoder().info(first), !info.isRGBCoded,
              info.subsampling == .s444 || info.subsampling == .s420 else { return nil }
        let sourceSubsampling = Int32(info.subsampling == .s444 ? TJSAMP_444.rawValue : TJSAMP_420.rawValue)
        let handles = HandlePool { Handle(scratch: Planes(width: tw, height: th, subsampling: sourceSubsampling)) }
        @Sendable func decode(_ stream: [UInt8], with handle: Handle, into planes: Planes) {
            var pointers: [UnsafeMutablePointer<UInt8>?] = planes.planes
            var strides = planes.widths
            _ = stream.withUnsafeBufferPointer {
                tjDecompressToYUVPlanes(handle.decoder, $0.baseAddress, UInt($0.count), &pointers, Int32(tw), &strides, Int32(th), 0)
            }
        }
        // Decoding every tile into planes.
        var start = Date()
        try Parallel.forEach(count, threads: threads) { i in
            guard let stream = try raw.rawTile(col: i % across, row: i / across) else { return }
            handles.with { decode(stream, with: $0, into: $0.scratch) }
        }
        let decodeSeconds = Date().timeIntervalSince(start)

        // Encoding 4:2:0 planes of a sample of tiles (4:4:4 chroma averaged 2x2 first), as many as there are tiles.
        let samples = (0..<sample).map { k -> Planes in
            let i = k * count / sample
            let source = Planes(width: tw, height: th, subsampling: sourceSubsampling)
            if let stream = try? raw.rawTile(col: i % across, row: i / across) { handles.with { decode(stream, with: $0, into: source) } }
            guard sourceSubsampling != Int32(TJSAMP_420.rawValue) else { return source }
            let out = Planes(width: tw, height: th, subsampling: Int32(TJSAMP_420.rawValue))
            out.planes[0].update(from: source.planes[0], count: tw * th)
            for c in 1..<3 {
                let w = Int(out.widths[c]), sw = Int(source.widths[c])
                for y in 0..<Int(out.heights[c]) {
                    for x in 0..<w {
                        let a = source.planes[c] + 2 * y * sw + 2 * x
                        let b = 2 * y + 1 < th ? a + sw : a, right = 2 * x + 1 < tw ? 1 : 0
                        out.planes[c][y * w + x] = UInt8((Int(a[0]) + Int(a[right]) + Int(b[0]) + Int(b[right]) + 2) >> 2)
                    }
                }
            }
            return out
        }
        let capacity = Int(tjBufSize(Int32(tw), Int32(th), Int32(TJSAMP_420.rawValue)))
        start = Date()
        try Parallel.forEach(count, threads: threads) { i in
            let planes = samples[i % sample]
            var output = [UInt8](repeating: 0, count: capacity)
            var size = UInt(capacity)
            var pointers: [UnsafePointer<UInt8>?] = planes.planes.map { UnsafePointer($0) }
            var strides = planes.widths
            _ = handles.with { handle in
                output.withUnsafeMutableBufferPointer { buffer in
                    var target: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
                    return tjCompressFromYUVPlanes(handle.encoder, &pointers, Int32(tw), &strides, Int32(th), Int32(TJSAMP_420.rawValue),
                                                   &target, &size, Int32(quality), TJFLAG_NOREALLOC)
                }
            }
        }
        return (decodeSeconds, Date().timeIntervalSince(start))
    }
}
