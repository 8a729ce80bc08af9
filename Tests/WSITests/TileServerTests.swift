import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import WSICodecs
import WSIDICOM
import WSISources
@testable import WSITileServer
import WSITileService

/// The server on a random loopback port, over our output and the peers' output of the same slide:
/// wsidicomizer (TILED_FULL), OrthancWSIDicomizer (per-frame positions, concatenations), and a JPEG 2000
/// pyramid of ours (transcoded), with broken files beside them.
@Suite("Tile server", .serialized)
struct TileServerTests {
    /// Slides converted once for the suite.
    static let fixture: Result<Fixture, any Error> = Result { try Fixture() }

    /// `fixture`, waited for off Swift's cooperative pool: its first use converts for minutes, and suites
    /// blocking both of the pool's threads on it would stall every in-process server meanwhile (a client
    /// then times out).
    static func servedFixture() async throws -> Fixture {
        try await TestSupport.offPool { try fixture.get() }
    }

    struct Fixture {
        let root: URL
        let svs: String
        let jp2k: String

        init() throws {
            root = try TestSupport.temporaryDirectory("server")
            svs = try TestSupport.makeSlide("svs", in: root, width: 1500, height: 1100)
            jp2k = try TestSupport.makeSlide("svs-jp2k", in: root, width: 1001, height: 757)
            let served = root.appendingPathComponent("served")
            try FileManager.default.createDirectory(at: served, withIntermediateDirectories: true)
            func must(_ result: TestSupport.Result, _ what: String) throws {
                guard result.status == 0 else { throw FixtureError(message: "\(what) failed: \(result.stderr.suffix(800))") }
            }
            try must(TestSupport.run(TestSupport.dicomizer, [svs, "-o", served.appendingPathComponent("ours").path, "-q"]), "dicomizer")
            try must(TestSupport.run(TestSupport.dicomizer, [jp2k, "-o", served.appendingPathComponent("ours-j2k").path, "-q"]), "dicomizer j2k")
            try must(TestSupport.python([TestSupport.repositoryRoot.appendingPathComponent("tools/run_wsidicomizer.py").path,
                                         "-i", svs, "-o", served.appendingPathComponent("wsidicomizer").path]), "wsidicomizer")
            let orthanc = served.appendingPathComponent("orthanc")
            try FileManager.default.createDirectory(at: orthanc, withIntermediateDirectories: true)
            try must(TestSupport.run("/usr/bin/OrthancWSIDicomizer", ["--openslide=/usr/lib/x86_64-linux-gnu/libopenslide.so.0",
                                                                      "--folder=\(orthanc.path)", svs]), "OrthancWSIDicomizer")
            // Broken neighbours: not DICOM at all, and a DICOM file cut short.
            try Data("not dicom".utf8).write(to: served.appendingPathComponent("notes.dcm"))
            let level0 = try Data(contentsOf: served.appendingPathComponent("ours/level-0.dcm"))
            try level0.prefix(6000).write(to: served.appendingPathComponent("broken.dcm"))
        }

        var served: String { root.appendingPathComponent("served").path }
    }

    struct FixtureError: Error { let message: String }

    func withServer<T: Sendable>(root: String, token: String? = nil, cors: [String] = [], rescan: Duration = .seconds(60),
                                 _ body: @Sendable (any TestClientProtocol, TileService) async throws -> T) async throws -> T {
        var configuration = TileServerConfiguration(root: root)
        configuration.port = 0
        configuration.token = token
        configuration.corsOrigins = cors
        configuration.webRoot = TestSupport.repositoryRoot.appendingPathComponent("web").path
        configuration.rescanInterval = rescan
        configuration.logRequests = false
        // HummingbirdTesting's live client keeps one connection and does not reconnect when the server
        // closes it, as browsers and HTTP libraries do; tests that wait minutes between requests (for the
        // IIIF validator, on a loaded machine) would see it closed. The idle timeout has a test of its
        // own (HostileRequestTests), on the real binary.
        configuration.idleTimeout = .seconds(3600)
        let (application, service) = TileServer.makeApplication(configuration)
        return try await application.test(.live) { client in try await body(client, service) }
    }

    func json(_ response: TestResponse) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(buffer: response.body))
    }

    @Test("Every route over our output and the peers' output")
    func routes() async throws {
        let fixture = try await Self.servedFixture()
        try await withServer(root: fixture.served) { client, service in
            let slides = service.store.slides
            // Four slides: broken files are skipped and the server keeps going.
            #expect(slides.count == 4)
            func folder(_ slide: Slide) -> String { URL(fileURLWithPath: slide.levels[0].files[0].path).deletingLastPathComponent().lastPathComponent }
            let byFolder = Dictionary(uniqueKeysWithValues: slides.map { (folder($0), $0) })
            #expect(Set(byFolder.keys) == ["ours", "ours-j2k", "wsidicomizer", "orthanc"])
            let reference = try OpenSlideSource(path: fixture.svs)

            let list = try await client.execute(uri: "/api/slides", method: .get)
            #expect(list.status == .ok && list.headers[.contentType] == "application/json")
            let listed = try #require((try json(list) as? [String: Any])?["slides"] as? [[String: Any]])
            #expect(Set(listed.compactMap { $0["id"] as? String }) == Set(slides.map(\.id)))

            for name in ["ours", "wsidicomizer", "orthanc"] {
                let slide = try #require(byFolder[name])
                let detail = try #require(try json(await client.execute(uri: "/api/slides/\(slide.id)", method: .get)) as? [String: Any])
                #expect(detail["width"] as? Int == 1500 && detail["height"] as? Int == 1100, "\(name)")
                let levels = try #require(detail["levels"] as? [[String: Any]])
                #expect(levels.first?["downsample"] as? Double == 1)

                // Passthrough: the tile is the stored frame, byte for byte.
                let level0 = slide.levels[0]
                let frame = try #require(level0.frame(col: 2, row: 1), "\(name): no frame for tile (2, 1)")
                let tile = try await client.execute(uri: "/api/slides/\(slide.id)/tiles/0/2/1", method: .get)
                #expect(tile.status == .ok && tile.headers[.contentType] == "image/jpeg", "\(name)")
                #expect(Data(buffer: tile.body) == (try frame.file.frameData(frame.index)), "\(name): tile differs from its frame")

                // Decoded (PNG) tile against OpenSlide's reading of the same region.
                let png = try await client.execute(uri: "/api/slides/\(slide.id)/tiles/0/2/1?format=png", method: .get)
                #expect(png.headers[.contentType] == "image/png")
                let decoded = try PNGCodec.decode([UInt8](Data(buffer: png.body)))
                let expected = try reference.readRegion(x: 2 * level0.tileWidth, y: level0.tileHeight, width: decoded.width, height: decoded.height, threads: 1)
                #expect(decoded.meanAbsoluteDifference(expected) < 3, "\(name): decoded tile differs from OpenSlide")

                // Orthanc WSI's routes: same shape, same tile.
                let pyramid = try #require(try json(await client.execute(uri: "/wsi/pyramids/\(slide.id)", method: .get)) as? [String: Any])
                for key in ["ID", "Resolutions", "Sizes", "TileWidth", "TileHeight", "TilesCount", "TotalWidth", "TotalHeight"] {
                    #expect(pyramid[key] != nil, "\(name): /wsi/pyramids lacks \(key)")
                }
                let orthancTile = try await client.execute(uri: "/wsi/tiles/\(slide.id)/0/2/1", method: .get)
                #expect(orthancTile.body == tile.body)

                // IIIF: contiguous scale factors, sorted sizes, and tiles right.
                let info = try #require(try json(await client.execute(uri: "/iiif/\(slide.id)/info.json", method: .get)) as? [String: Any])
                #expect(info["profile"] as? String == "level1" && info["width"] as? Int == 1500)
                let tiles = try #require((info["tiles"] as? [[String: Any]])?.first)
                let factors = try #require(tiles["scaleFactors"] as? [Int])
                #expect(factors == (0..<factors.count).map { 1 << $0 } && factors.count >= 3, "\(name): \(factors)")
                let sizes = try #require(info["sizes"] as? [[String: Int]])
                #expect(sizes.map { $0["width"]! } == sizes.map { $0["width"]! }.sorted())
                let t = level0.tileWidth
                let iiifTile = try await client.execute(uri: "/iiif/\(slide.id)/\(2 * t),\(t),\(t),\(t)/\(t),/0/default.jpg", method: .get)
                #expect(iiifTile.status == .ok && iiifTile.body == tile.body, "\(name): IIIF tile is not the stored frame")
                let half = try await client.execute(uri: "/iiif/\(slide.id)/0,0,\(4 * t),\(4 * t)/\(2 * t),/0/default.png", method: .get)
                let halfImage = try PNGCodec.decode([UInt8](Data(buffer: half.body)))
                #expect(halfImage.width == 2 * t && halfImage.height == 2 * t)
                let halfReference = Downsample.half(try reference.readRegion(x: 0, y: 0, width: 4 * t, height: 4 * t, threads: 1))
                #expect(halfImage.meanAbsoluteDifference(halfReference) < 4, "\(name): IIIF region differs")
                let edge = try await client.execute(uri: "/iiif/\(slide.id)/1440,960,60,140/60,/0/default.jpg", method: .get)
                let edgeImage = try JPEGDecoder().decode([UInt8](Data(buffer: edge.body)))
                #expect(edgeImage.width == 60 && edgeImage.height == 140)

                // DICOMweb: metadata and frames.
                let metadata = try await client.execute(uri: "/dicomweb/studies/\(slide.studyInstanceUID)/series/\(slide.id)/metadata", method: .get)
                #expect(metadata.headers[.contentType] == "application/dicom+json")
                let instances = try #require(try json(metadata) as? [[String: Any]])
                #expect(instances.count == slide.files.count)
                let sop = try #require(frame.file.dataSet.string(.sopInstanceUID))
                for accept in ["multipart/related; type=\"application/octet-stream\"; transfer-syntax=*", "*/*", "multipart/related; type=\"image/jpeg\""] {
                    let frames = try await client.execute(
                        uri: "/dicomweb/studies/\(slide.studyInstanceUID)/series/\(slide.id)/instances/\(sop)/frames/\(frame.index + 1)",
                        method: .get, headers: [.accept: accept])
                    #expect(frames.status == .ok, "\(name): frames with Accept \(accept)")
                    let body = Data(buffer: frames.body)
                    #expect(body.range(of: try frame.file.frameData(frame.index)) != nil, "\(name): multipart body lacks the frame")
                    #expect(frames.headers[.contentType]?.hasPrefix("multipart/related") == true)
                }
            }

            // JPEG 2000 frames are decoded and sent as JPEG, or PNG.
            let j2k = try #require(byFolder["ours-j2k"])
            #expect(j2k.levels[0].encoding == .jpeg2000)
            let j2kReference = try OpenSlideSource(path: fixture.jp2k)
            for format in ["jpeg", "png"] {
                let response = try await client.execute(uri: "/api/slides/\(j2k.id)/tiles/0/1/1?format=\(format)", method: .get)
                #expect(response.headers[.contentType] == (format == "png" ? "image/png" : "image/jpeg"))
                let bytes = [UInt8](Data(buffer: response.body))
                let image = format == "png" ? try PNGCodec.decode(bytes) : try JPEGDecoder().decode(bytes)
                let t = j2k.levels[0].tileWidth
                let expected = try j2kReference.readRegion(x: t, y: t, width: t, height: t, threads: 1)
                #expect(image.meanAbsoluteDifference(expected) < (format == "png" ? 0.5 : 3))
            }
            let accepted = try await client.execute(uri: "/api/slides/\(j2k.id)/tiles/0/0/0", method: .get, headers: [.accept: "image/png"])
            #expect(accepted.headers[.contentType] == "image/png")

            // Associated images.
            let ours = try #require(byFolder["ours"])
            for kind in ["label", "overview", "thumbnail"] {
                let response = try await client.execute(uri: "/api/slides/\(ours.id)/associated/\(kind)", method: .get)
                #expect(response.status == .ok && response.headers[.contentType] == "image/jpeg", "\(kind)")
            }

            // Bad requests: statuses and JSON errors, never a crash.
            let bad: [(String, HTTPResponse.Status)] = [
                ("/api/slides/nope", .notFound),
                ("/api/slides/\(ours.id)/tiles/0/99/0", .notFound),
                ("/api/slides/\(ours.id)/tiles/9/0/0", .notFound),
                ("/api/slides/\(ours.id)/tiles/0/-1/0", .badRequest),
                ("/api/slides/\(ours.id)/tiles/x/0/0", .badRequest),
                ("/api/slides/\(ours.id)/tiles/0/0/0?format=gif", .badRequest),
                ("/api/slides/\(ours.id)/associated/macro", .badRequest),
                ("/iiif/\(ours.id)/full/max/90/default.jpg", .badRequest),
                ("/iiif/\(ours.id)/0,0,0,0/max/0/default.jpg", .badRequest),
                ("/iiif/\(ours.id)/full/99999,/0/default.jpg", .badRequest),
                ("/iiif/\(ours.id)/full/max/0/gray.jpg", .badRequest),
                ("/iiif/nope/info.json", .notFound),
                ("/wsi/tiles/\(ours.id)/0/0/99999999999999999999", .badRequest),
                ("/dicomweb/studies/x/series/\(ours.id)/metadata", .notFound),
                ("/api/slides/..%2F..%2Fetc%2Fpasswd", .notFound),
            ]
            for (uri, status) in bad {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.status == status, "\(uri) gave \(response.status)")
                let error = (try? json(response) as? [String: Any])?["error"] as? [String: Any]
                #expect(error?["message"] != nil, "\(uri): no JSON error")
            }

            // The viewer's pages are served.
            for page in ["/", "/viewer.html", "/viewer.js", "/vendor/leaflet/leaflet.js"] {
                let response = try await client.execute(uri: page, method: .get)
                #expect(response.status == .ok, "\(page)")
            }
        }
    }

    @Test("The viewer in headless Chromium: slide list, tiles, zoom, pan, scale bar, navigator, URL position")
    func viewerInBrowser() async throws {
        let fixture = try await Self.servedFixture()
        try await withServer(root: fixture.served) { client, service in
            let slide = try #require(service.store.slides.first { $0.levels[0].files[0].path.contains("/ours/") })
            let port = try #require(client.port)
            let artifacts = TestSupport.repositoryRoot.appendingPathComponent("test-artifacts")
            try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
            let screenshot = artifacts.appendingPathComponent("viewer.png").path
            let script = TestSupport.repositoryRoot.appendingPathComponent("Tests/interop/viewer_check.py").path
            // The browser runs in another process: keep this task free to serve it.
            let result = try await TestSupport.offPool { try TestSupport.python([script, "http://localhost:\(port)", slide.id, screenshot]) }
            #expect(result.status == 0, "viewer check failed: \(result.stdout)\n\(result.stderr.suffix(1500))")
            #expect(FileManager.default.fileExists(atPath: screenshot))
        }
    }

    @Test("A bearer token guards the data routes; CORS answers allowed origins")
    func tokenAndCORS() async throws {
        let fixture = try await Self.servedFixture()
        try await withServer(root: fixture.served, token: "s3cret", cors: ["https://viewer.example"]) { client, service in
            let id = try #require(service.store.slides.first?.id)
            #expect(try await client.execute(uri: "/api/slides", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/api/slides/\(id)/tiles/0/0/0", method: .get, headers: [.authorization: "Bearer wrong"]).status == .unauthorized)
            #expect(try await client.execute(uri: "/api/slides", method: .get, headers: [.authorization: "Bearer s3cret"]).status == .ok)
            #expect(try await client.execute(uri: "/api/slides/\(id)/tiles/0/0/0?access_token=s3cret", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/", method: .get).status == .ok)
            let allowed = try await client.execute(uri: "/iiif/\(id)/info.json?access_token=s3cret", method: .get, headers: [.origin: "https://viewer.example"])
            #expect(allowed.headers[.accessControlAllowOrigin] == "https://viewer.example")
            let other = try await client.execute(uri: "/iiif/\(id)/info.json?access_token=s3cret", method: .get, headers: [.origin: "https://evil.example"])
            #expect(other.headers[.accessControlAllowOrigin] == nil)
            let preflight = try await client.execute(uri: "/api/slides", method: .options, headers: [.origin: "https://viewer.example"])
            #expect(preflight.status == .noContent && preflight.headers[.accessControlAllowMethods] != nil)
        }
    }

    @Test("Ready tiles are answered ahead of the router: same bytes, in request order, token and CORS honoured")
    func tileFastPath() async throws {
        #expect(TileFastPath.tileAddress("/api/slides/1.2.3/tiles/0/12/7")! == ("1.2.3", 0, 12, 7))
        #expect(TileFastPath.tileAddress("/wsi/tiles/1.2.3/2/0/5")! == ("1.2.3", 2, 0, 5))
        for other in ["/api/slides/1.2.3/tiles/0/12/7?format=png", "/api/slides/1.2.3/tiles/0/-1/7", "/api/slides//tiles/0/1/1",
                      "/api/slides/1.2.3/tiles/0/1", "/api/slides/1.2.3/tiles/0/1/1/2", "/wsi/tiles/1.2.3/0/1/x", "/api/slides",
                      "/api/slides/1.2.3/tiles/0/1/99999999999", "/iiif/1.2.3/info.json", ""] {
            #expect(TileFastPath.tileAddress(other) == nil, "\(other)")
        }

        let fixture = try await Self.servedFixture()
        try await withServer(root: fixture.served, token: "s3cret", cors: ["https://viewer.example"]) { client, service in
            let slide = try #require(service.store.slides.first { $0.levels[0].encoding == .jpeg })
            let frame = try #require(slide.levels[0].frame(col: 1, row: 0))
            let stored = try frame.file.frameData(frame.index)
            let auth = "Authorization: Bearer s3cret\r\nHost: test\r\n"
            // Pipelined on one connection: a request for the router, then tiles, then one closing the connection.
            // Without the ordering guard the tile would overtake the slide's JSON.
            let answers = try await rawHTTPOffPool(port: try #require(client.port), [
                "GET /api/slides/\(slide.id) HTTP/1.1\r\n\(auth)\r\n",
                "GET /api/slides/\(slide.id)/tiles/0/1/0 HTTP/1.1\r\n\(auth)Origin: https://viewer.example\r\n\r\n",
                "GET /wsi/tiles/\(slide.id)/0/1/0 HTTP/1.1\r\nHost: test\r\n\r\n",
                "GET /wsi/tiles/\(slide.id)/0/1/0 HTTP/1.1\r\n\(auth)Connection: close\r\n\r\n",
            ].joined())
            try #require(answers.count == 4)
            #expect(answers[0].status == 200 && answers[0].headers["content-type"] == "application/json")
            #expect((try JSONSerialization.jsonObject(with: answers[0].body) as? [String: Any])?["id"] as? String == slide.id)
            #expect(answers[1].status == 200 && answers[1].body == stored)
            #expect(answers[1].headers["content-type"] == "image/jpeg" && answers[1].headers["date"] != nil)
            #expect(answers[1].headers["access-control-allow-origin"] == "https://viewer.example")
            #expect(answers[2].status == 401)
            #expect(answers[3].status == 200 && answers[3].body == stored)
        }
    }

    struct RawAnswer { let status: Int; let headers: [String: String]; let body: Data }

    /// A sending thread's outcome, waited for before its socket is closed.
    final class LockedOutcome: @unchecked Sendable {
        private let condition = NSCondition()
        private var value: Bool?

        func finish(_ sent: Bool) {
            condition.lock()
            value = sent
            condition.broadcast()
            condition.unlock()
        }

        func wait() -> Bool {
            condition.lock()
            defer { condition.unlock() }
            while value == nil { condition.wait() }
            return value ?? false
        }
    }

    /// `rawHTTP` on a thread of its own: it blocks while the in-process server, which needs the
    /// cooperative pool, answers.
    func rawHTTPOffPool(port: Int, _ requests: String) async throws -> [RawAnswer] {
        try await TestSupport.offPool { try self.rawHTTP(port: port, [requests]) }
    }

    /// `rawHTTP` of `chunks` on a thread of its own.
    func rawHTTPOffPool(port: Int, chunks: [String], readDelay: Double = 0) async throws -> [RawAnswer] {
        try await TestSupport.offPool { try self.rawHTTP(port: port, chunks, readDelay: readDelay) }
    }

    /// Sends `chunks` on a new connection, each in one write (a tenth of a second apart, from a thread of
    /// their own), and reads answers, starting after `readDelay` seconds, until the server closes it.
    func rawHTTP(port: Int, _ chunks: [String], readDelay: Double = 0) throws -> [RawAnswer] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = TestSupport.loopback(port: port)
        // Generous: the whole suite runs on two cores beside conversions.
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0)
        // The sender's outcome: nil while it runs, then whether everything was sent.
        let outcome = LockedOutcome()
        Thread {
            for (k, chunk) in chunks.enumerated() {
                if k > 0 { usleep(100_000) }
                let bytes = Array(chunk.utf8)
                var done = 0
                while done < bytes.count {
                    let count = bytes[done...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if count <= 0 { return outcome.finish(false) }
                    done += count
                }
            }
            outcome.finish(true)
        }.start()
        if readDelay > 0 { usleep(UInt32(readDelay * 1_000_000)) }
        var received = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { break }
            received.append(contentsOf: chunk[..<count])
        }
        var answers: [RawAnswer] = []
        var rest = received[...]
        let separator = Data("\r\n\r\n".utf8)
        while let end = rest.range(of: separator) {
            let head = String(decoding: rest[rest.startIndex..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
            var headers: [String: String] = [:]
            for line in head.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            let status = Int(head[0].split(separator: " ")[1]) ?? 0
            guard rest.distance(from: end.upperBound, to: rest.endIndex) >= length else { break }
            let bodyEnd = rest.index(end.upperBound, offsetBy: length)
            answers.append(RawAnswer(status: status, headers: headers, body: Data(rest[end.upperBound..<bodyEnd])))
            rest = rest[bodyEnd...]
        }
        try #require(outcome.wait(), "the server stopped reading the requests")
        return answers
    }

    @Test("New and removed slides are picked up without a restart")
    func rescan() async throws {
        let fixture = try await Self.servedFixture()
        let root = try TestSupport.temporaryDirectory("rescan")
        defer { try? FileManager.default.removeItem(at: root) }
        try await withServer(root: root.path, rescan: .milliseconds(200)) { client, _ in
            func count() async throws -> Int {
                let response = try await client.execute(uri: "/api/slides", method: .get)
                return ((try json(response) as? [String: Any])?["slides"] as? [Any])?.count ?? -1
            }
            #expect(try await count() == 0)
            try FileManager.default.copyItem(atPath: fixture.served + "/ours", toPath: root.appendingPathComponent("new").path)
            var seen = 0
            for _ in 0..<50 where seen == 0 {
                try await Task.sleep(for: .milliseconds(100))
                seen = try await count()
            }
            #expect(seen == 1)
            try FileManager.default.removeItem(at: root.appendingPathComponent("new"))
            for _ in 0..<50 where seen == 1 {
                try await Task.sleep(for: .milliseconds(100))
                seen = try await count()
            }
            #expect(seen == 0)
        }
    }
}
