import CJPEGLib
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

    @Test("YCbCr tiles: 4:2:0 requantized, 4:2:2 and 4:4:4 subsampled; no upsampling, no 4:2:2 output, no sizes off the 16-pixel grid, garbage an error")
    func ycbcrAndRefusals() throws {
        let (stream, dir) = try rgbCodedTile()
        defer { try? FileManager.default.removeItem(at: dir) }
        let decoder = JPEGDecoder()
        let pixels = try decoder.decode(stream)
        for subsampling in [ChromaSubsampling.s420, .s422, .s444] {
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
            // Half-size decoding alone (the level below a copied frame) makes the same pixels.
            var alone = RGBImage(width: 120, height: 120)
            #expect(try alone.withPixelBuffer { try JPEGTranscoder().decodeHalf(ycbcr, into: $0) })
            #expect(alone.pixels == half.pixels, "\(subsampling): decodeHalf")
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

    /// The segments of `stream`'s header (marker, and the bytes from it to the segment's end), and where
    /// its first scan starts.
    func headerSegments(of stream: [UInt8]) -> (segments: [(marker: UInt8, bytes: Range<Int>)], scan: Int) {
        var segments: [(marker: UInt8, bytes: Range<Int>)] = [], at = 2
        while at + 4 <= stream.count, stream[at] == 0xFF, stream[at + 1] != 0xDA {
            let end = at + 2 + (Int(stream[at + 2]) << 8 | Int(stream[at + 3]))
            segments.append((stream[at + 1], at..<end))
            at = end
        }
        return (segments, at)
    }

    /// `stream` without its header's segments of `marker` (0xC4: Huffman tables, 0xDB: quantization tables).
    func removingSegments(_ marker: UInt8, from stream: [UInt8]) -> [UInt8] {
        let (segments, scan) = headerSegments(of: stream)
        return Array(stream[..<2]) + segments.filter { $0.marker != marker }.flatMap { stream[$0.bytes] } + stream[scan...]
    }

    /// Where the first Huffman table of class `kind` (0: DC, 1: AC) starts in `stream`'s header: its class
    /// and number byte, then the 16 counts of codes of each length, then the symbols.
    func huffmanTable(_ kind: UInt8, in stream: [UInt8]) -> Int? {
        for segment in headerSegments(of: stream).segments where segment.marker == 0xC4 {
            var table = segment.bytes.lowerBound + 4
            while table + 17 <= segment.bytes.upperBound {
                if stream[table] >> 4 == kind { return table }
                table += 17 + (1...16).reduce(0) { $0 + Int(stream[table + $1]) }
            }
        }
        return nil
    }

    @Test("A stream that leaves out a table is read the same whatever went before it (our transcoder, TurboJPEG's decoder): Huffman tables the standard ones, quantization tables an error")
    func missingTablesDoNotCarryOver() throws {
        let (tile, dir) = try rgbCodedTile()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pixels = try JPEGDecoder().decode(tile)
        // TurboJPEG writes the standard Huffman tables, so this stream reads without its own.
        let stream = try JPEGEncoder(quality: 90, subsampling: .s420).encode(pixels)
        let noHuffman = removingSegments(0xC4, from: stream), noQuantization = removingSegments(0xDB, from: stream)
        #expect(noHuffman.count < stream.count && noQuantization.count < stream.count)
        // Before it, on the same transcoder, a stream with other tables in the same slots (quantization 0
        // and 1 at quality 50, two codes of one length swapped in its first AC table): libjpeg keeps a
        // decompressor's tables from stream to stream.
        var other = try JPEGEncoder(quality: 50, subsampling: .s420).encode(pixels)
        let at = try #require(huffmanTable(1, in: other))
        let length = try #require((1...16).first { other[at + $0] >= 2 })
        let first = at + 17 + (1..<length).reduce(0) { $0 + Int(other[at + $1]) }
        other.swapAt(first, first + 1)
        for (name, missing) in [("no Huffman tables", noHuffman), ("no quantization tables", noQuantization)] {
            for libjpegOnly in [false, true] {
                let transcoder = JPEGTranscoder(libjpegDecoderOnly: libjpegOnly)
                var afterOther = RGBImage(width: 120, height: 120), alone = afterOther
                _ = try? transcoder.transcode(other)
                let after = afterOther.withPixelBuffer { buffer in Result { try transcoder.transcode(missing, half: buffer) } }
                let firstRead = alone.withPixelBuffer { buffer in
                    Result { try JPEGTranscoder(libjpegDecoderOnly: libjpegOnly).transcode(missing, half: buffer) }
                }
                #expect(same(after, firstRead) && afterOther.pixels == alone.pixels, "\(name), libjpeg only \(libjpegOnly)")
                if missing == noHuffman {
                    let out = try #require(try firstRead.get(), "\(name): read with the standard tables")
                    #expect(mad(try JPEGDecoder().decode(out).pixels, try JPEGDecoder().decode(stream).pixels) < 2)
                } else {
                    #expect((try? firstRead.get()) == nil, "\(name): an error")
                }
                // Half-size decoding alone, after the other stream, too.
                var halfAfter = RGBImage(width: 120, height: 120, fill: RGB(9, 9, 9)), halfFirst = halfAfter
                _ = try? transcoder.transcode(other)
                let decodedAfter = try? halfAfter.withPixelBuffer { try transcoder.decodeHalf(missing, into: $0) }
                let decodedFirst = try? halfFirst.withPixelBuffer { try JPEGTranscoder(libjpegDecoderOnly: libjpegOnly).decodeHalf(missing, into: $0) }
                #expect(decodedAfter == decodedFirst && halfAfter.pixels == halfFirst.pixels, "\(name), libjpeg only \(libjpegOnly): decodeHalf")
            }
            // TurboJPEG's handles keep tables too (a stream without quantization tables came out in the
            // last one's): the decoder reads such streams with a handle of their own.
            let decoder = JPEGDecoder()
            func outcome(_ body: () throws -> [UInt8]) -> [UInt8]? { try? body() }
            _ = try? decoder.decode(other)
            let sameDecode = outcome { try decoder.decode(missing).pixels } == outcome { try JPEGDecoder().decode(missing).pixels }
            #expect(sameDecode, "\(name): decode")
            _ = try? decoder.decode(other)
            let half = outcome {
                var image = RGBImage(width: 120, height: 120)
                _ = try image.withPixelBuffer { try decoder.decodeHalf(missing, into: $0) }
                return image.pixels
            }
            let halfFirst = outcome {
                var image = RGBImage(width: 120, height: 120)
                _ = try image.withPixelBuffer { try JPEGDecoder().decodeHalf(missing, into: $0) }
                return image.pixels
            }
            let sameHalf = half == halfFirst
            #expect(sameHalf, "\(name): decodeHalf")
            _ = try? decoder.decode(other)
            let samePlanes = outcome { try decoder.decodePlanes(missing)?.planes.flatMap { $0 } ?? [] }
                == outcome { try JPEGDecoder().decodePlanes(missing)?.planes.flatMap { $0 } ?? [] }
            #expect(samePlanes, "\(name): decodePlanes")
        }
    }

    /// A reproducible stream of pseudo-random numbers (xorshift), so that a failing case can be rerun.
    @Test("Half-size decoding of subsampled chroma keeps its detail: 4:2:0 and 4:2:2, flat blocks, smooth ones and chroma stripes a few pixels wide")
    func subsampledChromaDetail() throws {
        // Left third flat (DC-only chroma blocks), middle a gentle ramp (low coefficients only), right
        // red and blue squares of nearly the same luma, 4 pixels a side (the chroma blocks' high
        // coefficients, across and down: without them the squares blur into grey). Chroma at half
        // resolution holds them exactly, so the half-size tile is the source's 2 x 2 mean within the
        // quantization's error (and the luma's low-pass, small here).
        let width = 240, height = 128
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let rgb: (Int, Int, Int)
                switch x {
                case ..<80: rgb = (210, 60, 140)
                case ..<160: rgb = (120 + (x - 80) / 2, 90 + y / 4, 140)
                default: rgb = ((x / 4 + y / 4) % 2 == 0) ? (220, 70, 90) : (70, 110, 230)
                }
                pixels[(y * width + x) * 3] = UInt8(rgb.0)
                pixels[(y * width + x) * 3 + 1] = UInt8(rgb.1)
                pixels[(y * width + x) * 3 + 2] = UInt8(rgb.2)
            }
        }
        var mean = [UInt8](repeating: 0, count: width / 2 * height / 2 * 3)
        for y in 0..<height / 2 {
            for x in 0..<width / 2 {
                for c in 0..<3 {
                    let sum = [(0, 0), (1, 0), (0, 1), (1, 1)].reduce(0) { $0 + Int(pixels[((2 * y + $1.1) * width + 2 * x + $1.0) * 3 + c]) }
                    mean[(y * width / 2 + x) * 3 + c] = UInt8((sum + 2) / 4)
                }
            }
        }
        let exact = RGBImage(width: width / 2, height: height / 2, pixels: mean)
        for subsampling in [ChromaSubsampling.s420, .s422] {
            let stream = try JPEGEncoder(quality: 98, subsampling: subsampling).encode(RGBImage(width: width, height: height, pixels: pixels))
            var half = RGBImage(width: width / 2, height: height / 2)
            #expect(try half.withPixelBuffer { try JPEGTranscoder().decodeHalf(stream, into: $0) })
            for (name, x0, x1) in [("flat", 0, 40), ("ramp", 40, 80), ("squares", 80, 120)] {
                let a = half.crop(x: x0, y: 0, width: x1 - x0, height: height / 2).pixels
                let b = exact.crop(x: x0, y: 0, width: x1 - x0, height: height / 2).pixels
                #expect(mad(a, b) < 1.5, "\(subsampling) \(name): MAD \(mad(a, b)) against the source's 2 x 2 mean")
            }
        }
    }

    struct Xorshift: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
    }

    /// A baseline stream with restart markers every `mcus` MCUs, from libjpeg (TurboJPEG 2.1 writes none).
    func restartStream(_ image: RGBImage, subsampling: Int32, mcus: Int32) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = image.pixels.withUnsafeBufferPointer {
            cjpeg_encode_rgb($0.baseAddress, Int32(image.width), Int32(image.height), 90, subsampling, mcus, &out, &size, &message, message.count)
        }
        try #require(status == 0 && out != nil)
        defer { free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(size)))
    }

    /// Transcodes with our entropy decoder and with libjpeg's: the output, the half-size tile, or the error.
    func bothWays(_ stream: [UInt8], quality: Int = 90, subsampling: ChromaSubsampling = .s420)
        -> (ours: Result<[UInt8]?, Error>, libjpeg: Result<[UInt8]?, Error>, halves: ([UInt8], [UInt8])) {
        let decoder = JPEGDecoder()
        let size = (try? decoder.info(stream)).map { ($0.width / 2, $0.height / 2) } ?? (8, 8)
        var halfOurs = RGBImage(width: max(1, size.0), height: max(1, size.1), fill: RGB(9, 9, 9)), halfLibjpeg = halfOurs
        let ours = halfOurs.withPixelBuffer { buffer in
            Result { try JPEGTranscoder(quality: quality, subsampling: subsampling).transcode(stream, half: buffer) }
        }
        let libjpeg = halfLibjpeg.withPixelBuffer { buffer in
            Result { try JPEGTranscoder(quality: quality, subsampling: subsampling, libjpegDecoderOnly: true).transcode(stream, half: buffer) }
        }
        return (ours, libjpeg, (halfOurs.pixels, halfLibjpeg.pixels))
    }

    func same(_ a: Result<[UInt8]?, Error>, _ b: Result<[UInt8]?, Error>) -> Bool {
        switch (a, b) {
        case (.success(let x), .success(let y)): return x == y
        case (.failure, .failure): return true
        default: return false
        }
    }

    @Test("Our entropy decoder reads every stream as libjpeg's does: sources of each sampling, long codes and large values, restart markers, damaged data")
    func ownDecoderMatchesLibjpeg() throws {
        let (tile, dir) = try rgbCodedTile()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pixels = try JPEGDecoder().decode(tile)
        var random = Xorshift(state: 0x9E37_79B9_7F4A_7C15)
        // Noise: the largest coefficients and the longest codes of the standard tables.
        let noise = RGBImage(width: 256, height: 128, pixels: (0..<(256 * 128 * 3)).map { _ in UInt8.random(in: 0...255, using: &random) })
        var streams: [(String, [UInt8])] = [("RGB-coded SVS tile", tile)]
        for (quality, subsampling) in [(95, ChromaSubsampling.s420), (100, .s444), (75, .s420), (90, .s422)] {
            streams.append(("YCbCr \(subsampling) q\(quality)", try JPEGEncoder(quality: quality, subsampling: subsampling).encode(pixels)))
        }
        streams.append(("noise 4:4:4 q100", try JPEGEncoder(quality: 100, subsampling: .s444).encode(noise)))
        streams.append(("noise 4:2:0 q90", try JPEGEncoder(quality: 90, subsampling: .s420).encode(noise)))
        streams.append(("flat", try JPEGEncoder(quality: 90, subsampling: .s420).encode(RGBImage(width: 64, height: 48, fill: RGB(200, 90, 160)))))
        streams.append(("restart markers 4:2:0", try restartStream(pixels, subsampling: 420, mcus: 3)))
        streams.append(("restart markers 4:4:4", try restartStream(noise, subsampling: 444, mcus: 7)))
        for (name, stream) in streams {
            for subsampling in [ChromaSubsampling.s420, .s444] {
                let (ours, libjpeg, halves) = bothWays(stream, subsampling: subsampling)
                let sameOutput = same(ours, libjpeg), sameHalf = halves.0 == halves.1, transcoded = (try? ours.get()) != nil
                #expect(sameOutput, "\(name) to \(subsampling)")
                #expect(sameHalf, "\(name): half-size tile")
                guard subsampling == .s420 else { continue }
                #expect(transcoded, "\(name) is transcoded")
                // Decoding at half size alone (the level below copied frames) gives the same pixels.
                let info = try JPEGDecoder().info(stream)
                var direct = RGBImage(width: info.width / 2, height: info.height / 2, fill: RGB(9, 9, 9))
                let decoded = try direct.withPixelBuffer { try JPEGTranscoder().decodeHalf(stream, into: $0) }
                #expect(decoded && direct.pixels == halves.0, "\(name) (\(info.subsampling)): decodeHalf")
            }
        }

        // Damaged data: bytes changed in the entropy-coded segment, or the stream cut short, of the SVS tile
        // and of a stream with restart markers (a marker changed, lost or out of order among them). Whatever
        // libjpeg makes of it (it fills what it cannot read, resynchronizes at markers), ours gives the
        // same, or the same error.
        let restarts = try restartStream(pixels, subsampling: 420, mcus: 2)
        var differing: [Int] = []
        for trial in 0..<400 {
            let tile = trial < 300 ? tile : restarts
            let scanStart = try #require((2..<tile.count - 1).first { tile[$0] == 0xFF && tile[$0 + 1] == 0xDA })
            var damaged = tile
            let markers = (scanStart..<tile.count - 1).filter { tile[$0] == 0xFF && (0xD0...0xD7).contains(tile[$0 + 1]) }
            if trial >= 300 && trial % 2 == 0 && !markers.isEmpty {
                // A restart marker renumbered, turned into data, or dropped.
                let at = markers[Int.random(in: 0..<markers.count, using: &random)]
                switch trial % 3 {
                case 0: damaged[at + 1] = 0xD0 + (tile[at + 1] - 0xD0 + 3) % 8
                case 1: damaged[at + 1] = 0x00
                default: damaged.removeSubrange(at..<(at + 2))
                }
            } else if trial % 4 == 3 {
                damaged = Array(tile.prefix(Int.random(in: (scanStart + 12)..<tile.count, using: &random)))
            } else {
                for _ in 0...(trial % 3) {
                    let at = Int.random(in: (scanStart + 12)..<(tile.count - 2), using: &random)
                    damaged[at] = trial % 5 == 0 ? 0xFF : UInt8.random(in: 0...255, using: &random)
                }
            }
            let (ours, libjpeg, halves) = bothWays(damaged)
            if !same(ours, libjpeg) || halves.0 != halves.1 { differing.append(trial) }
        }
        #expect(differing.isEmpty, "damaged streams read differently: trials \(differing)")

        // A restart interval cut short (most of its bytes lost; intervals of 4 MCUs, shorter than a row):
        // libjpeg reads the MCU it was in when it met the marker on from zero bits, and leaves the rest of
        // the interval as zero blocks, where reading on would make up their coefficients (found by
        // tools/fuzz/run.sh jpeg).
        let fourMCUs = try restartStream(pixels, subsampling: 420, mcus: 4)
        let markers = (2..<fourMCUs.count - 1).filter { fourMCUs[$0] == 0xFF && (0xD0...0xD7).contains(fourMCUs[$0 + 1]) }
        var short: [Int] = []
        for trial in 0..<40 {
            let index = 1 + (trial * 7) % (markers.count - 1), at = markers[index]
            let cut = (at - markers[index - 1] - 2) * (2 + trial % 3) / 5
            let damaged = Array(fourMCUs[..<(at - cut)]) + fourMCUs[at...]
            let (ours, libjpeg, halves) = bothWays(damaged)
            if !same(ours, libjpeg) || halves.0 != halves.1 { short.append(trial) }
        }
        #expect(short.isEmpty, "intervals cut short read differently: trials \(short)")

        // A scan header naming Huffman tables past the four there can be (libjpeg checks that only as its
        // decoder starts): an error either way, never a read outside the table array.
        var badTables = tile
        badTables[try #require((2..<tile.count - 1).first { tile[$0] == 0xFF && tile[$0 + 1] == 0xDA }) + 6] = 0xFF
        let (ours, libjpeg, _) = bothWays(badTables)
        let bothFail = (try? ours.get()) == nil && (try? libjpeg.get()) == nil
        #expect(bothFail)

        // A DC table with a symbol past 15 (a size no DC difference has), however rarely its code comes up:
        // libjpeg rejects the table as it derives it, and so do we (found by tools/fuzz/run.sh jpeg).
        var badDC = tile
        let at = try #require(huffmanTable(0, in: tile))
        let symbols = (1...16).reduce(0) { $0 + Int(tile[at + $1]) }
        try #require(symbols > 0, "a DC table with symbols")
        badDC[at + 16 + symbols] = 16
        let (oursDC, libjpegDC, _) = bothWays(badDC)
        #expect((try? oursDC.get()) == nil && (try? libjpegDC.get()) == nil && same(oursDC, libjpegDC))

        // More codes of a length than it has (three of one bit; the same number of codes in all): an error
        // either way. Ours rejects the table before such a code indexes its lookup tables (the third code
        // of one bit would start past their end: found by the fuzzer's bounds checks).
        var overfull = tile
        let longer = try #require((2...16).first { tile[at + $0] >= 3 })
        overfull[at + 1] += 3
        overfull[at + longer] -= 3
        let (oursOverfull, libjpegOverfull, _) = bothWays(overfull)
        #expect((try? oursOverfull.get()) == nil && (try? libjpegOverfull.get()) == nil && same(oursOverfull, libjpegOverfull))

        // What follows the scan's data (found by tools/fuzz/run.sh jpeg): libjpeg reads on to the end of the
        // image, skipping stray bytes and comments, taking restart markers, failing at an unknown marker.
        // Ours stops after the last block, so its result stands only where the image ends there.
        let end = tile.count - 2
        #expect(Array(tile[end...]) == [0xFF, 0xD9])
        let trailers: [(String, [UInt8], Bool)] = [
            ("an unknown marker", [0xFF, 0x54, 0x00, 0x04, 0x00, 0x00], false),
            ("stray bytes", [0x12, 0x34, 0x56], true),
            ("a comment", [0xFF, 0xFE, 0x00, 0x05, 0x61, 0x62, 0x63], true),
            ("a restart marker", [0xFF, 0xD0], true),
        ]
        for (name, trailer, readable) in trailers {
            let stream = Array(tile[..<end]) + trailer + [0xFF, 0xD9]
            let (ours, libjpeg, halves) = bothWays(stream)
            #expect(same(ours, libjpeg) && halves.0 == halves.1, "\(name) after the scan")
            #expect(((try? ours.get()) != nil) == readable, "\(name) after the scan")
        }
    }
}
