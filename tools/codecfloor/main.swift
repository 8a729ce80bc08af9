// wsi-codec-floor: how fast TurboJPEG itself goes on a slide's own tiles, on this machine, with the
// threads the converter uses. It decodes every level-0 tile (full size, and at half size through the
// scaled IDCT), and encodes a sample of decoded tiles as JPEG q90 4:2:0, then prints the rates and the
// codec floor of each conversion path: the time the codec work alone takes with perfect parallelism.
// tools/bench.py prints each tool's time against that floor.
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
        let sample = try (0..<sampleCount).map { k -> RGBImage in
            let i = k * count / sampleCount
            return try JPEGDecoder().decode(try raw.rawTile(col: i % across, row: i / across) ?? [])
        }
        let encoders = HandlePool { JPEGEncoder(quality: quality, subsampling: .s420) }
        start = Date()
        try Parallel.forEach(count, threads: threads) { i in _ = try encoders.with { try $0.encode(sample[i % sampleCount]) } }
        let encodeSeconds = Date().timeIntervalSince(start)

        let levelZero = Double(count) * tileMP
        let decodeRate = levelZero / decodeSeconds, halfRate = levelZero / halfSeconds, encodeRate = levelZero / encodeSeconds
        // A full dyadic pyramid below level 0 has a third of level 0's pixels (1/4 + 1/16 + ...).
        let lower = levelZero / 3
        let result: [String: Any] = [
            "slide": slide, "threads": threads, "tiles": count, "tileWidth": tw, "tileHeight": th, "levelZeroMegapixels": levelZero,
            "readSeconds": readSeconds,
            "decodeMegapixelsPerSecond": decodeRate, "halfDecodeMegapixelsPerSecond": halfRate, "encodeMegapixelsPerSecond": encodeRate,
            // Full re-encode: decode level 0, encode it and every lower level.
            "reencodeFloorSeconds": levelZero / decodeRate + (levelZero + lower) / encodeRate,
            // Copy: level 0 copied; level 0 decoded at half size for level 1; the lower levels encoded.
            "copyFloorSeconds": levelZero / halfRate + lower / encodeRate,
        ]
        let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys, .prettyPrinted])
        print(String(decoding: json, as: UTF8.self))
    }
}
