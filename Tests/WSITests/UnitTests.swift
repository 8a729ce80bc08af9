import Foundation
import Testing
import WSICodecs
@testable import WSIDICOM
@testable import WSIPyramid

@Suite("DICOM encoding")
struct DICOMEncodingTests {
    @Test("Elements are written in tag order with even lengths and the right padding")
    func encoding() {
        var ds = DataSet()
        ds.set(.patientName, .PN, "Doe^Jane")
        ds.set(.sopClassUID, .UI, "1.2.3")
        ds.set(.rows, us: 256)
        let bytes = ds.encoded()
        // (0008,0016) UI "1.2.3\0" first, then (0010,0010), then (0028,0010).
        #expect(Array(bytes[0..<8]) == [0x08, 0x00, 0x16, 0x00, 0x55, 0x49, 0x06, 0x00])
        #expect(Array(bytes[8..<14]) == Array("1.2.3\0".utf8))
        #expect(bytes.count == 14 + 16 + 10)
        #expect(Array(bytes[bytes.count - 2..<bytes.count]) == [0x00, 0x01])
    }

    @Test("UIDs are 2.25 UIDs of at most 64 characters, all different")
    func uids() {
        let uids = (0..<100).map { _ in UID.make() }
        #expect(Set(uids).count == 100)
        for uid in uids {
            #expect(uid.hasPrefix("2.25.") && uid.count <= 64 && !uid.dropFirst(5).hasPrefix("0"))
        }
        #expect(UID.decimal(of: [0x01, 0x00]) == "256")
        #expect(UID.make(from: "a") == UID.make(from: "a") && UID.make(from: "a") != UID.make(from: "b"))
    }

    @Test("Decimal strings fit in 16 characters")
    func decimalStrings() {
        #expect(DecimalString.format(2) == "2")
        #expect(DecimalString.format(0.00025) == "0.00025")
        #expect(DecimalString.format(1.0 / 3.0).count <= 16)
        #expect(Double(DecimalString.format(12345.678901234567))! - 12345.678901234567 < 1e-9)
    }

    @Test("Part 10 files round-trip through our reader with Basic and Extended Offset Tables",
          arguments: [UInt64(UInt32.max), 10])
    func roundTrip(threshold: UInt64) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var ds = DataSet()
        ds.set(.sopClassUID, .UI, UID.vlWholeSlideMicroscopyImageStorage)
        ds.set(.numberOfFrames, .IS, "3")
        let path = dir.appendingPathComponent("x.dcm").path
        let writer = try Part10Writer(path: path, dataSet: ds, sopInstanceUID: UID.make(), transferSyntax: .jpegBaseline,
                                      frameCount: 3, extendedOffsetThreshold: threshold)
        let frames: [[UInt8]] = [[1, 2, 3], [4, 5, 6, 7], Array(repeating: 9, count: 101)]
        #expect(!FileManager.default.fileExists(atPath: path), "the file must not appear before it is complete")
        for frame in frames { try writer.append(frame: frame) }
        try writer.finish()
        #expect(writer.usedExtendedOffsetTable == (threshold == 10))
        let file = try DICOMFile(path: path)
        #expect(file.numberOfFrames == 3)
        // Odd frames are padded to even length with one zero.
        #expect(try file.frame(0) == [1, 2, 3, 0])
        #expect(try file.frame(1) == [4, 5, 6, 7])
        #expect(try file.frame(2) == Array(repeating: 9, count: 101) + [0])
        #expect(file.transferSyntaxUID == TransferSyntax.jpegBaseline.rawValue)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["x.dcm"])
    }

    @Test("An abandoned writer leaves nothing behind")
    func abandon() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = try Part10Writer(path: dir.appendingPathComponent("x.dcm").path, dataSet: DataSet(), sopInstanceUID: UID.make(),
                                      transferSyntax: .jpegBaseline, frameCount: 2)
        try writer.append(frame: [1, 2])
        #expect(throws: OutputError.self) { try writer.finish() }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test("Output files hold exactly the bytes written and patched, through the page cache or around it",
          arguments: [true, false])
    func outputFile(direct: Bool) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("x.dcm").path
        // Two blocks of staging, so that writes cross it many times; the model is what the file must hold.
        let file = try OutputFile(destination: path, direct: direct, capacity: 8192)
        #expect(file.direct == direct, "O_DIRECT should be taken on the test machine's file system")
        var model = [UInt8](), state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {  // SplitMix64, so that a failure repeats
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
        for step in 0..<400 {
            switch next(10) {
            case 0..<6:
                // Lengths around the block size and the staging size too.
                let length = [0, 1, 4095, 4096, 4097, 8192, next(20_000)][next(7)]
                let bytes = (0..<length).map { _ in UInt8(next(256)) }
                try file.write(bytes)
                model += bytes
            case 6..<9 where !model.isEmpty:
                let offset = next(model.count), length = 1 + next(min(model.count - offset, 9000))
                let bytes = (0..<length).map { _ in UInt8(next(256)) }
                try file.patch(bytes, at: UInt64(offset))
                model.replaceSubrange(offset..<offset + length, with: bytes)
            default:
                // What a reader of the partial file sees after a flush (the Extended Offset Table rewrite
                // reads it so): exactly the bytes so far, no padding.
                try file.flush()
                let written = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file.temporaryPath)))
                #expect(written == model, "after step \(step)")
            }
            #expect(file.position == UInt64(model.count))
        }
        try file.commit()
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == model)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["x.dcm"])
    }

    @Test("Our sRGB profile is an Input-class ICC profile of consistent size")
    func iccProfile() {
        let profile = ICCProfile.sRGB
        #expect(ICCProfile.deviceClass(of: profile) == "scnr")
        let size = Int(profile[0]) << 24 | Int(profile[1]) << 16 | Int(profile[2]) << 8 | Int(profile[3])
        #expect(size == profile.count)
        #expect(Array(profile[36..<40]) == Array("acsp".utf8))
    }
}

@Suite("Codecs and pyramid")
struct CodecAndPyramidTests {
    @Test("JPEGTables merge into an abbreviated tile to give a complete stream")
    func merge() {
        let tables: [UInt8] = [0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x02, 0xFF, 0xD9]
        let tile: [UInt8] = [0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0x11, 0xFF, 0xD9]
        #expect(JPEGStream.merge(tables: tables, tile: tile) == [0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x02, 0xFF, 0xDA, 0x00, 0x02, 0x11, 0xFF, 0xD9])
    }

    @Test("An Adobe RGB marker is added once, right after SOI")
    func adobeMarker() throws {
        let image = RGBImage(width: 16, height: 16, fill: RGB(200, 100, 50))
        let jpeg = try JPEGEncoder().encode(image)
        #expect(!JPEGStream.hasAdobeMarker(jpeg))
        let marked = JPEGStream.addingAdobeRGBMarker(jpeg)
        #expect(JPEGStream.hasAdobeMarker(marked))
        #expect(marked.count == jpeg.count + 16 && marked[2] == 0xFF && marked[3] == 0xEE)
        #expect(JPEGStream.addingAdobeRGBMarker(marked) == marked)
    }

    @Test("JPEG 2000 lossless round-trips exactly and reports a reversible colour transform")
    func jpeg2000() throws {
        var pixels = [UInt8](repeating: 0, count: 64 * 48 * 3)
        for i in pixels.indices { pixels[i] = UInt8((i * 7 + i / 191) % 256) }
        let image = RGBImage(width: 64, height: 48, pixels: pixels)
        let lossless = try JPEG2000Codec.encode(image, ratio: nil)
        #expect(try JPEG2000Codec.decode(lossless) == image)
        let info = try #require(JPEG2000Info(codestream: lossless))
        #expect(info.width == 64 && info.height == 48 && info.components == 3 && info.usesColorTransform && info.isReversible)
        let lossy = try JPEG2000Codec.encode(image, ratio: 10)
        #expect(JPEG2000Info(codestream: lossy)?.isReversible == false)
        #expect(throws: CodecError.self) { try JPEG2000Codec.decode([0xFF, 0x4F, 0xFF, 0x51, 0, 0]) }
    }

    @Test("JPEG 2000 at half size: the next lower resolution, close to the 2x2 averages of the whole image, odd sizes rounded up")
    func jpeg2000HalfSize() throws {
        // Smooth content with some detail, 61 x 47 (odd both ways).
        let (w, h) = (61, 47)
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let i = 3 * (y * w + x)
                pixels[i] = UInt8(60 + 2 * x); pixels[i + 1] = UInt8(40 + 3 * y); pixels[i + 2] = UInt8((x * y) % 64 + 150)
            }
        }
        let image = RGBImage(width: w, height: h, pixels: pixels)
        for ratio in [nil, 8.0] {
            let stream = try JPEG2000Codec.encode(image, ratio: ratio)
            #expect(try #require(JPEG2000Info(codestream: stream)).decompositionLevels >= 1)
            let half = try JPEG2000Codec.decode(stream, halfSize: true)
            #expect(half.width == 31 && half.height == 24)
            let reference = Downsample.half(image)
            var total = 0
            for (a, b) in zip(half.pixels, reference.pixels) { total += abs(Int(a) - Int(b)) }
            let mad = Double(total) / Double(half.pixels.count)
            #expect(mad < 3, "ratio \(String(describing: ratio)): MAD \(mad)")
        }
    }

    @Test("YCbCr planes: a 4:4:4 JPEG re-encoded as 4:2:0 through its planes keeps its pixels; chroma is only ever averaged")
    func ycbcrPlanes() throws {
        let (w, h) = (61, 37)  // odd, so the last chroma samples average what exists
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let i = 3 * (y * w + x)
                pixels[i] = UInt8(40 + 3 * x); pixels[i + 1] = UInt8(60 + 4 * y); pixels[i + 2] = UInt8(200 - 2 * x - y)
            }
        }
        let image = RGBImage(width: w, height: h, pixels: pixels)
        let stream = try JPEGEncoder(quality: 95, subsampling: .s444).encode(image)
        let planes = try #require(try JPEGDecoder().decodePlanes(stream))
        #expect(planes.subsampling == .s444 && planes.planeWidths == [61, 61, 61])
        let halved = try #require(planes.converted(to: .s420))
        // TurboJPEG's planes are padded to whole MCUs: luma to 62 x 38 at 4:2:0.
        #expect(halved.planeWidths == [62, 31, 31] && halved.planeHeights == [38, 19, 19])
        // The last chroma column averages the one column there is: the same value.
        #expect(halved.planes[1][30] == UInt8((Int(planes.planes[1][60]) + Int(planes.planes[1][61 + 60]) + 1) / 2))
        #expect(halved.converted(to: .s444) == nil, "chroma is never upsampled")
        let reencoded = try JPEGEncoder(quality: 95, subsampling: .s420).encode(halved)
        #expect(try JPEGDecoder().info(reencoded).subsampling == .s420)
        let back = try JPEGDecoder().decode(reencoded)
        let mad = zip(back.pixels, image.pixels).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
        #expect(Double(mad) / Double(image.pixels.count) < 3, "mean absolute difference \(Double(mad) / Double(image.pixels.count))")
    }

    @Test("Halving averages 2x2 blocks and rounds odd sizes up")
    func halving() {
        let image = RGBImage(width: 3, height: 3, pixels: [UInt8](0..<27))
        let half = Downsample.half(image)
        #expect(half.width == 2 && half.height == 2)
        // Top-left: pixels 0, 1, 3, 4 -> channel 0 values 0, 3, 9, 12 -> 6.
        #expect(half.pixels[0] == 6)
        // Top-right: the odd column averages its two pixels: channel 0 of pixels 2 and 5 -> (6 + 15 + 1) / 2 = 11.
        #expect(half.pixels[3] == 11)
        // Bottom-right: the lone corner pixel 8 -> 24.
        #expect(half.pixels[9] == 24)

        // A larger odd-sized image, in parallel, against the definition.
        var generator = SystemRandomNumberGenerator()
        let (w, h) = (257, 131)
        let big = RGBImage(width: w, height: h, pixels: (0..<(w * h * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let fast = Downsample.half(big, threads: 2)
        #expect(fast.width == 129 && fast.height == 66)
        var mismatches = 0
        for y in 0..<fast.height {
            for x in 0..<fast.width {
                for c in 0..<3 {
                    var sum = 0, count = 0
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] where 2 * x + dx < w && 2 * y + dy < h {
                        sum += Int(big.pixels[((2 * y + dy) * w + 2 * x + dx) * 3 + c])
                        count += 1
                    }
                    // Two rows of one column (or one row) average two samples; a lone corner copies itself.
                    let expected = count == 4 ? (sum + 2) >> 2 : count == 2 ? (sum + 1) >> 1 : sum
                    if Int(fast.pixels[(y * fast.width + x) * 3 + c]) != expected { mismatches += 1 }
                }
            }
        }
        #expect(mismatches == 0)
    }

    @Test("The plan halves down to one tile")
    func plan() {
        let plan = PyramidPlan.plan(width: 1001, height: 757, tileWidth: 256, tileHeight: 256)
        #expect(plan.levels.map(\.width) == [1001, 501, 251])
        #expect(plan.levels.map(\.height) == [757, 379, 190])
        #expect(plan.levels.map(\.downsample) == [1, 2, 4])
        #expect(PyramidPlan.plan(width: 100, height: 80, tileWidth: 256, tileHeight: 256).levels.count == 1)
        #expect(PyramidPlan.plan(width: 50_000, height: 40_000, tileWidth: 256, tileHeight: 256, maxLevels: 3).levels.count == 3)
        #expect(PyramidPlan.plan(width: 50_000, height: 40_000, tileWidth: 256, tileHeight: 256).levels.last!.width <= 256)
    }

    @Test("Keeping the scanner's levels: they come first as they are, then halvings of the last")
    func sourcePlan() {
        let copied = [(46_000, 32_914, 240, 240), (11_500, 8_228, 240, 240), (2_875, 2_057, 240, 240)]
        let plan = PyramidPlan.plan(levelZero: (46_000, 32_914), copied: copied, tileWidth: 240, tileHeight: 240)
        #expect(plan.levels.map(\.width) == [46_000, 11_500, 2_875, 1_438, 719, 360, 180])
        #expect(plan.levels.map(\.copiedFromSource) == [true, true, true, false, false, false, false])
        #expect(plan.levels.map(\.downsample) == [1, 4, 16, 32, 64, 128, 256])
        #expect(plan.levels[1].downsampleText == "4")
        let odd = PyramidPlan.plan(levelZero: (1001, 757), copied: [(1001, 757, 240, 240), (250, 189, 240, 240)], tileWidth: 240, tileHeight: 240)
        #expect(odd.levels.map(\.width) == [1001, 250, 125] && odd.levels[1].downsampleText == "4.00")
        #expect(PyramidPlan.plan(levelZero: (46_000, 32_914), copied: copied, tileWidth: 240, tileHeight: 240, maxLevels: 2).levels.map(\.width)
                == [46_000, 11_500])
    }

    @Test("Parallel map keeps order and stops on the first error")
    func parallel() throws {
        #expect(try Parallel.map(1000, threads: 4) { $0 * 2 } == (0..<1000).map { $0 * 2 })
        struct Boom: Error {}
        #expect(throws: Boom.self) { try Parallel.forEach(100, threads: 4) { if $0 == 37 { throw Boom() } } }
    }
}
