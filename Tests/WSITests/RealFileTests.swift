import Foundation
import Testing
import WSIDICOM
import WSITileService

/// Files we did not make: openslide-python's test files (a real Aperio SVS, also under an emoji name, a
/// generic tiled TIFF, PixelMed's DICOM conversion of a Leica slide whose tile is larger than its image,
/// and two broken files), fetched from PyPI by `tools/setup.sh` into testdata/fetched and never committed.
@Suite("Real files from PyPI packages")
struct RealFileTests {
    static let fixtures = TestSupport.repositoryRoot.appendingPathComponent("testdata/fetched/openslide-python/tests/fixtures")

    func fixture(_ name: String) throws -> String {
        let path = Self.fixtures.appendingPathComponent(name).path
        try #require(FileManager.default.fileExists(atPath: path), "\(path) is missing: run tools/setup.sh, which fetches it from PyPI")
        return path
    }

    @Test("A real Aperio SVS (also under an emoji name) and a generic tiled TIFF convert to instances every reader takes, with the source's pixels",
          arguments: ["small.svs", "😐.svs", "boxes.tiff"])
    func converts(_ name: String) async throws {
        let source = try fixture(name)
        let dir = try TestSupport.temporaryDirectory("real")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out").path
        let result = try TestSupport.run(TestSupport.dicomizer, [source, "-o", out])
        try #require(result.status == 0, "\(result.stderr)")
        let isSVS = name.hasSuffix(".svs")
        // The SVS's JPEG tile is copied as it is (lossless); the TIFF's Deflate tiles are encoded as JPEG.
        let verdict = try await TestSupport.check(out, source: source, maxMAD0: isSVS ? 0 : 3, maxMAD1: 4,
                                            associated: isSVS ? ["thumbnail"] : [])
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
        #expect(verdict.dciodvfy_errors.values.allSatisfy { $0 == 0 }, "\(verdict.dciodvfy_errors)")
        if isSVS {
            #expect(result.stdout.contains("1 tile copied"), "\(result.stdout)")
            let level0 = try DICOMFile(path: out + "/level-0.dcm")
            // The container identifier comes from the file name, emoji included, within LO's 64 characters.
            let container = try #require(level0.dataSet.string(.containerIdentifier))
            #expect(container == (name as NSString).deletingPathExtension)
            let spacing = try #require(level0.pixelSpacing)
            #expect(abs(spacing[0] - 0.000499) < 1e-9 && abs(spacing[1] - 0.000499) < 1e-9, "\(spacing)")
        } else {
            #expect(verdict.levels == [[300, 250], [150, 125], [75, 63], [38, 32]])
        }
    }

    @Test("A corrupt tile (unreadable.svs) and an unsupported compression (unopenable.tiff) are refused in one line, with nothing left behind",
          arguments: [("unreadable.svs", "corrupt"), ("unopenable.tiff", "unsupported")])
    func refuses(_ name: String, _ reason: String) throws {
        let source = try fixture(name)
        let dir = try TestSupport.temporaryDirectory("real-broken")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out").path
        let run = try HostileInputConversionTests.run([source, "-o", out, "-q"])
        HostileInputConversionTests.expectRefusal(run, output: out, mentions: [name, reason])
    }

    @Test("PixelMed's conversion of a Leica slide is served: a 64-pixel tile over a 16 x 16 image, an uncompressed thumbnail, pixels as OpenSlide reads them")
    func servesPixelMedDICOM() async throws {
        let dir = try TestSupport.temporaryDirectory("real-leica")
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["boxes_0.dcm", "boxes_1.dcm"] {
            try FileManager.default.copyItem(atPath: try fixture(name), toPath: dir.appendingPathComponent(name).path)
        }
        try await TileServerTests().withServer(root: dir.path) { client, service in
            let slides = service.store.slides
            try #require(slides.count == 1)
            let slide = slides[0]
            #expect(slide.width == 16 && slide.height == 16 && slide.levels.count == 1)
            let port = try #require(client.port)
            // Pixels as OpenSlide reads the same file: the IIIF image (cropped to the image) and the thumbnail.
            let script = """
            import io, sys, urllib.request, numpy as np, openslide
            from PIL import Image
            base, path = sys.argv[1], sys.argv[2]
            def get(url): return np.asarray(Image.open(io.BytesIO(urllib.request.urlopen(base + url).read())).convert("RGB")).astype(int)
            s = openslide.OpenSlide(path)
            full = get("/iiif/\(slide.id)/full/max/0/default.png")
            ref = np.asarray(s.read_region((0, 0), 0, s.dimensions).convert("RGB")).astype(int)
            thumb = get("/api/slides/\(slide.id)/associated/thumbnail?format=png")
            tref = np.asarray(s.associated_images["thumbnail"].convert("RGB")).astype(int)
            print(full.shape == ref.shape and np.abs(full - ref).mean() < 0.5, thumb.shape == tref.shape and np.abs(thumb - tref).mean() < 0.5)
            """
            let result = try await TestSupport.offPool {
                try TestSupport.python(["-c", script, "http://127.0.0.1:\(port)", dir.appendingPathComponent("boxes_0.dcm").path])
            }
            #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "True True", "\(result.stdout)\(result.stderr)")
            // The stored frame goes out as it is.
            let tile = try await client.execute(uri: "/api/slides/\(slide.id)/tiles/0/0/0", method: .get)
            let stored = try #require(slide.levels[0].frame(col: 0, row: 0))
            #expect(try Data(buffer: tile.body) == stored.file.frameData(stored.index))
        }
    }
}
