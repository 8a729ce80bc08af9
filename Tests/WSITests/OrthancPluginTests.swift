import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import WSICodecs
import WSIDICOM
import WSITileService

/// The plugin in a real Debian Orthanc on loopback, beside Orthanc's own WSI and DICOMweb plugins, with
/// the Swift toolchain hidden from it (root only: a private mount over /opt/swift).
@Suite("Orthanc plugin", .serialized)
struct OrthancPluginTests {
    static var plugin: String { TestSupport.productsDirectory.appendingPathComponent("libDicomizerOrthanc.so").path }

    /// An Orthanc with our plugin, stopped when the value goes away.
    final class Orthanc {
        let peer: ExportTests.Peer
        let httpPort: Int
        let dicomPort: Int
        var base: String { "http://127.0.0.1:\(httpPort)" }

        init(folder: URL, extra: [String: Any] = [:], plugins: [String]? = nil) async throws {
            httpPort = ExportTests.freePort()
            dicomPort = ExportTests.freePort()
            let storage = folder.appendingPathComponent("storage")
            try FileManager.default.createDirectory(at: storage, withIntermediateDirectories: true)
            var config: [String: Any] = [
                "Name": "dicomizer-test", "StorageDirectory": storage.path, "IndexDirectory": folder.path, "HttpPort": httpPort,
                "DicomPort": dicomPort, "DicomAet": "ORTHANC", "RemoteAccessAllowed": false, "AuthenticationEnabled": false,
                "Plugins": plugins ?? ["/usr/share/orthanc/plugins/libOrthancWSI.so", "/usr/share/orthanc/plugins/libOrthancDicomWeb.so",
                                       OrthancPluginTests.plugin],
                "Dicomizer": ["Root": "/dicomizer", "WebRoot": TestSupport.repositoryRoot.appendingPathComponent("web").path, "RefreshSeconds": 2],
            ]
            config.merge(extra) { _, new in new }
            let path = folder.appendingPathComponent("orthanc.json").path
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
            if TestSupport.isRoot {
                // The toolchain hidden: an empty file system over /opt/swift in a private mount namespace.
                peer = try ExportTests.Peer("/usr/bin/unshare", ["-m", "/bin/sh", "-c", "mount -t tmpfs none /opt/swift && exec /usr/sbin/Orthanc \"$0\"", path],
                                            log: folder.appendingPathComponent("orthanc.log").path)
            } else {
                peer = try ExportTests.Peer("/usr/sbin/Orthanc", [path], log: folder.appendingPathComponent("orthanc.log").path)
            }
            try await ExportTests.waitForPort(httpPort)
        }
    }

    struct Answer {
        let status: Int
        let contentType: String
        let body: Data
        var json: Any? { try? JSONSerialization.jsonObject(with: body) }
    }

    static func request(_ url: String, method: String = "GET", body: Data? = nil) async throws -> Answer {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = 30
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        return Answer(status: http.statusCode, contentType: http.value(forHTTPHeaderField: "Content-Type") ?? "", body: data)
    }

    static func upload(_ files: [String], to orthanc: String) async throws {
        for file in files {
            let answer = try await request("\(orthanc)/instances", method: "POST", body: try Data(contentsOf: URL(fileURLWithPath: file)))
            #expect(answer.status == 200, "Orthanc refused \(file)")
        }
    }

    /// Polls until `condition` holds or ten seconds pass.
    static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<100 {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }

    static func files(_ folder: String) -> [String] { TestSupport.instances(in: folder).map { folder + "/" + $0 } }

    /// A PostgreSQL server of its own in a temporary folder, on a loopback port, stopped with the value.
    final class PostgreSQL: Sendable {
        let folder: URL
        let port: Int
        static let bin = "/usr/lib/postgresql/15/bin"

        init(folder: URL) throws {
            self.folder = folder
            port = ExportTests.freePort()
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let data = folder.appendingPathComponent("data").path
            // The server must not keep our pipes open (the test reads them to their end): all output to files.
            let script = "\(Self.bin)/initdb -D \(data) -A trust -U postgres >\(folder.path)/initdb.log 2>&1 && \(Self.bin)/pg_ctl -D \(data) -w "
                + "-o '-p \(port) -k \(folder.path) -c listen_addresses=127.0.0.1' -l \(folder.path)/log start </dev/null >/dev/null 2>&1 && "
                + "\(Self.bin)/createdb -h 127.0.0.1 -p \(port) -U postgres orthanc"
            let result = try run(script)
            guard result.status == 0 else { throw TileServerTests.FixtureError(message: "PostgreSQL did not start: \(result.stderr)") }
        }

        /// Runs `script` as the postgres user when we are root (PostgreSQL refuses to run as root), its
        /// output to a file, through system(3): the server it starts must hold no pipe of ours, and
        /// Foundation's Process did not reap the parent of a daemon here.
        func run(_ script: String) throws -> (status: Int32, stderr: String) {
            let log = folder.appendingPathComponent("setup.log").path
            let quoted = "'" + script.replacingOccurrences(of: "'", with: "'\\''") + "'"
            let command = TestSupport.isRoot
                ? "chown -R postgres \(folder.path) && runuser -u postgres -- /bin/sh -c \(quoted) </dev/null >>\(log) 2>&1"
                : "/bin/sh -c \(quoted) </dev/null >>\(log) 2>&1"
            let status = system(command)
            return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
        }

        deinit {
            _ = try? run("\(Self.bin)/pg_ctl -D \(folder.path)/data stop -m immediate >/dev/null")
        }
    }

    @Test("Two Orthancs on one PostgreSQL index and one storage folder: a pyramid stored through one is served by the other's plugin")
    func scaleOut() async throws {
        let fixture = try await TileServerTests.servedFixture()
        let dir = try TestSupport.temporaryDirectory("orthanc-scale-out")
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = try await TestSupport.offPool { try PostgreSQL(folder: dir.appendingPathComponent("postgres")) }
        let storage = dir.appendingPathComponent("shared-storage")
        let shared: [String: Any] = [
            "StorageDirectory": storage.path,
            "PostgreSQL": ["EnableIndex": true, "EnableStorage": false, "Host": "127.0.0.1", "Port": database.port, "Database": "orthanc",
                           "Username": "postgres", "Password": "", "Lock": false],
        ]
        let plugins = ["/usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so", Self.plugin]
        let first = try await Orthanc(folder: dir.appendingPathComponent("a"), extra: shared, plugins: plugins)
        let second = try await Orthanc(folder: dir.appendingPathComponent("b"), extra: shared, plugins: plugins)

        let local = SlideLibrary(root: fixture.served + "/ours")
        local.rescan()
        let slide = try #require(local.slides.first)
        let reference = TileService(store: local)
        // Stored through the first: the second's plugin heard no event of it, and finds it on the first request.
        try await Self.upload(Self.files(fixture.served + "/ours"), to: first.base)
        let detail = try await Self.request("\(second.base)/dicomizer/api/slides/\(slide.id)")
        #expect(detail.status == 200, "the second Orthanc does not serve a slide stored through the first")
        let tile = try await Self.request("\(second.base)/dicomizer/api/slides/\(slide.id)/tiles/0/1/1")
        #expect(try tile.body == reference.tile(slide: slide, level: 0, col: 1, row: 1).data)
        let listed = try await Self.eventually {
            let list = try await Self.request("\(second.base)/dicomizer/api/slides")
            return ((list.json as? [String: Any])?["slides"] as? [[String: Any]])?.count == 1
        }
        #expect(listed, "the second Orthanc's slide list does not show it")

        // Deleted through the first: gone from the second after its refresh.
        let series = try #require(try await Self.request("\(first.base)/series").json as? [String])
        #expect(try await Self.request("\(first.base)/series/\(try #require(series.first))", method: "DELETE").status == 200)
        let gone = try await Self.eventually { try await Self.request("\(second.base)/dicomizer/api/slides/\(slide.id)").status == 404 }
        #expect(gone, "the second Orthanc still serves a series deleted through the first")
        withExtendedLifetime((first, second, database)) {}
    }

    @Test("Serves what Orthanc stores: ours (STOW-RS, C-STORE), wsidicomizer's and OrthancWSIDicomizer's, byte for byte")
    func servesStoredPyramids() async throws {
        let fixture = try await TileServerTests.servedFixture()
        let dir = try TestSupport.temporaryDirectory("orthanc-plugin")
        defer { try? FileManager.default.removeItem(at: dir) }
        let needed = try TestSupport.run("/usr/bin/readelf", ["-d", Self.plugin])
        #expect(needed.status == 0 && !needed.stdout.contains("libswift") && !needed.stdout.contains("libFoundation"), "\(needed.stdout)")

        let orthanc = try await Orthanc(folder: dir)
        let served = fixture.served
        let base = orthanc.base, dicomPort = orthanc.dicomPort
        let stow = try await TestSupport.offPool { try TestSupport.run(TestSupport.dicomizer, ["send", served + "/ours", "--to", "\(base)/dicom-web", "-q"]) }
        #expect(stow.status == 0, "\(stow.stderr)")
        let cstore = try await TestSupport.offPool {
            try TestSupport.run(TestSupport.dicomizer, ["send", served + "/ours-j2k", "--to", "dicom://ORTHANC@127.0.0.1:\(dicomPort)", "-q"])
        }
        #expect(cstore.status == 0, "\(cstore.stderr)")
        try await Self.upload(Self.files(served + "/wsidicomizer") + Self.files(served + "/orthanc"), to: orthanc.base)
        // A broken instance inside one of the series: Orthanc keeps it, we skip it.
        let broken = dir.appendingPathComponent("broken.dcm").path
        let ours = Self.files(served + "/ours")
        let made = try TestSupport.python([TestSupport.repositoryRoot.appendingPathComponent("Tests/interop/make_broken_instance.py").path,
                                           try #require(ours.first { $0.hasSuffix("level-0.dcm") }), broken])
        try #require(made.status == 0, "\(made.stderr)")
        try await Self.upload([broken], to: orthanc.base)

        // The same slides as `dicomizer serve` over the same files.
        let local = SlideLibrary(root: served)
        local.rescan()
        let reference = TileService(store: local)
        let expectedIDs = Set(local.slides.map(\.id))
        let root = "\(orthanc.base)/dicomizer"
        let listed = try await Self.eventually {
            let list = try await Self.request("\(root)/api/slides")
            let ids = ((list.json as? [String: Any])?["slides"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
            return Set(ids) == expectedIDs
        }
        #expect(listed, "the plugin did not list the four stored slides")

        let seriesIDs = try #require(try await Self.request("\(orthanc.base)/series").json as? [String])
        for seriesID in seriesIDs {
            let series = try #require(try await Self.request("\(orthanc.base)/series/\(seriesID)").json as? [String: Any])
            let uid = try #require((series["MainDicomTags"] as? [String: Any])?["SeriesInstanceUID"] as? String)
            let slide = try #require(local.slide(uid))
            // Orthanc's series id names the slide too.
            let detail = try await Self.request("\(root)/api/slides/\(seriesID)")
            #expect(detail.status == 200 && (detail.json as? [String: Any])?["id"] as? String == uid)

            // Tiles: the stored frames, through both route families and both identifiers.
            let level0 = slide.levels[0]
            for (col, row) in [(0, 0), (level0.tilesAcross - 1, level0.tilesDown - 1), (1, 1)] {
                let expected = try reference.tile(slide: slide, level: 0, col: col, row: row)
                for url in ["\(root)/api/slides/\(uid)/tiles/0/\(col)/\(row)", "\(root)/wsi/tiles/\(seriesID)/0/\(col)/\(row)"] {
                    let tile = try await Self.request(url)
                    #expect(tile.status == 200 && tile.contentType == expected.mediaType && tile.body == expected.data, "\(url)")
                }
            }
            if level0.encoding == .jpeg, let frame = level0.frame(col: 1, row: 1), let sop = frame.file.dataSet.string(.sopInstanceUID) {
                // ...and Orthanc's own raw frame of the same instance.
                let lookup = try #require(try await Self.request("\(orthanc.base)/tools/lookup", method: "POST", body: Data(sop.utf8)).json as? [[String: Any]])
                let instance = try #require(lookup.first?["ID"] as? String)
                let raw = try await Self.request("\(orthanc.base)/instances/\(instance)/frames/\(frame.index)/raw")
                let tile = try await Self.request("\(root)/wsi/tiles/\(seriesID)/0/1/1")
                #expect(raw.body == tile.body, "tile (1, 1) of \(uid) is not Orthanc's raw frame")
            }

            // /wsi/pyramids agrees with Orthanc's WSI plugin on every pyramid level (orthanc-wsi 1.1 also
            // lists label and overview instances as levels; those are left out of ours).
            let ourPyramid = try #require(try await Self.request("\(root)/wsi/pyramids/\(seriesID)").json as? [String: Any])
            let theirs = try #require(try await Self.request("\(orthanc.base)/wsi/pyramids/\(seriesID)").json as? [String: Any])
            for key in ["ID", "TotalWidth", "TotalHeight"] {
                #expect("\(ourPyramid[key] ?? "")" == "\(theirs[key] ?? "")", "\(key) differs for \(uid)")
            }
            let theirSizes = try #require(theirs["Sizes"] as? [[Int]])
            let ourSizes = try #require(ourPyramid["Sizes"] as? [[Int]])
            for (index, size) in ourSizes.enumerated() {
                let match = try #require(theirSizes.firstIndex(of: size), "level \(size) is not in orthanc-wsi's answer")
                for key in ["TilesCount", "TilesSizes"] {
                    #expect((ourPyramid[key] as? [[Int]])?[index] == (theirs[key] as? [[Int]])?[match], "\(key) of level \(index) differs")
                }
                let ourResolution = try #require((ourPyramid["Resolutions"] as? [Double])?[index])
                let theirResolution = try #require((theirs["Resolutions"] as? [Double])?[match])
                #expect(abs(ourResolution - theirResolution) < 1e-6 * theirResolution, "resolution \(ourResolution) against \(theirResolution)")
            }
            let associatedSizes = Set(slide.associated.values.map { [$0.width, $0.height] })
            #expect(Set(theirSizes).subtracting(ourSizes).isSubset(of: associatedSizes))

            // IIIF: info.json as `serve` gives it (but the id), and a region with the same bytes.
            let info = try await Self.request("\(root)/iiif/\(uid)/info.json").body
            let localInfo = try JSONSerialization.data(withJSONObject: IIIF.info(slide: slide, id: "\(root)/iiif/\(uid)"),
                                                       options: [.sortedKeys, .withoutEscapingSlashes])
            #expect(info == localInfo, "info.json differs for \(uid): \(String(decoding: info, as: UTF8.self)) against \(String(decoding: localInfo, as: UTF8.self))")
            let t = level0.tileWidth
            let region = try IIIF.parse(region: "0,0,\(4 * t),\(3 * t)", size: "\(t),", rotation: "0", qualityAndFormat: "default.jpg",
                                        imageWidth: slide.width, imageHeight: slide.height)
            let iiif = try await Self.request("\(root)/iiif/\(uid)/0,0,\(4 * t),\(3 * t)/\(t),/0/default.jpg")
            let expectedRegion = try reference.iiif(slide: slide, request: region)
            #expect(iiif.status == 200 && iiif.body == expectedRegion.data, "IIIF region of \(uid)")
        }

        // Errors: 404 JSON, never a crash.
        let some = try #require(local.slides.first)
        for url in ["\(root)/api/slides/1.2.3.4", "\(root)/api/slides/\(some.id)/tiles/9/0/0", "\(root)/api/slides/\(some.id)/tiles/0/999/0",
                    "\(root)/wsi/pyramids/00000000-00000000-00000000-00000000-00000000", "\(root)/iiif/nope/info.json"] {
            #expect(try await Self.request(url).status == 404, "\(url)")
        }
        #expect(try await Self.request("\(root)/api/slides/\(some.id)/tiles/x/0/0").status == 400)

        // The viewer, served under the root, draws tiles in headless Chromium.
        let artifacts = TestSupport.repositoryRoot.appendingPathComponent("test-artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let screenshot = artifacts.appendingPathComponent("orthanc-viewer.png").path
        let viewer = try await TestSupport.offPool { try TestSupport.python([TestSupport.repositoryRoot.appendingPathComponent("Tests/interop/viewer_check.py").path, root, some.id, screenshot]) }
        #expect(viewer.status == 0, "viewer check failed: \(viewer.stdout)\n\(viewer.stderr.suffix(1500))")

        // Deleting a series in Orthanc takes its slide away.
        let victim = try #require(seriesIDs.first)
        let victimUID = try #require(try await Self.request("\(root)/api/slides/\(victim)").json as? [String: Any])["id"] as? String
        #expect(try await Self.request("\(orthanc.base)/series/\(victim)", method: "DELETE").status == 200)
        let gone = try await Self.eventually { try await Self.request("\(root)/api/slides/\(victimUID ?? "")").status == 404 }
        #expect(gone, "a deleted series is still served")
        #expect(try await Self.request("\(root)/wsi/tiles/\(victim)/0/0/0").status == 404)
        let remaining = try await Self.request("\(root)/api/slides")
        #expect(((remaining.json as? [String: Any])?["slides"] as? [Any])?.count == expectedIDs.count - 1)
        withExtendedLifetime(orthanc) {}
    }
}
