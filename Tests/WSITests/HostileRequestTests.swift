import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WSIDICOM
@testable import WSITileServer
import WSITileService

/// What an attacker sends, and what happens to files under a running server: the token is decided on
/// the route that matched, a file changed under the server gives an error status and never a crash.
@Suite("Hostile requests", .serialized)
struct HostileRequestTests {
    let server = TileServerTests()

    @Test("Doubled slashes, dot segments and encoded slashes do not get past the token", arguments: [
        "//api/slides", "/api//slides", "//api/slides/ID", "//wsi/tiles/ID/0/0/0", "//wsi/pyramids/ID", "//iiif/ID/info.json",
        "//iiif/ID/full/max/0/default.jpg", "//dicomweb/studies", "//dicomweb/studies/STUDY/series/ID/metadata",
        "//dicomweb/studies/STUDY/series/ID/instances/SOP/frames/1", "/api/slides/ID/tiles//0/0/0", "///api///slides///ID",
        "/api/slides/ID/tiles/0/0/0?format=png",
    ])
    func tokenOnMatchedRoute(_ template: String) async throws {
        let fixture = try await TileServerTests.servedFixture()
        try await server.withServer(root: fixture.served, token: "s3cret") { client, service in
            let slide = try #require(service.store.slides.first { $0.levels[0].encoding == .jpeg })
            let sop = try #require(slide.levels[0].files[0].dataSet.string(.sopInstanceUID))
            let path = template.replacingOccurrences(of: "STUDY", with: slide.studyInstanceUID)
                .replacingOccurrences(of: "SOP", with: sop).replacingOccurrences(of: "ID", with: slide.id)
            // As curl --path-as-is sends it: the raw bytes, no normalisation on the way.
            let answers = try await server.rawHTTPOffPool(port: try #require(client.port), "GET \(path) HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            #expect(answers.first?.status == 401, "\(path) gave \(answers.first?.status ?? 0) without the token")
            let allowed = try await server.rawHTTPOffPool(port: try #require(client.port),
                                             "GET \(path) HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer s3cret\r\nConnection: close\r\n\r\n")
            #expect(allowed.first?.status == 200, "\(path) gave \(allowed.first?.status ?? 0) with the token")
        }
    }

    @Test("HEAD, a NUL in a file name, an empty frame list, and a hostile Host header")
    func smallLeaks() async throws {
        let fixture = try await TileServerTests.servedFixture()
        try await server.withServer(root: fixture.served) { client, service in
            let slide = try #require(service.store.slides.first { $0.levels[0].encoding == .jpeg })
            let head = try await client.execute(uri: "/api/slides/\(slide.id)/tiles/0/0/0", method: .head)
            #expect(head.status == .ok && head.body.readableBytes == 0)
            #expect(try await client.execute(uri: "/viewer.html%00.png", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/..%2F..%2Fetc%2Fpasswd", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/%2Fapi/slides", method: .get).status == .notFound)
            let sop = try #require(slide.levels[0].files[0].dataSet.string(.sopInstanceUID))
            let frames = try await client.execute(uri: "/dicomweb/studies/\(slide.studyInstanceUID)/series/\(slide.id)/instances/\(sop)/frames/,",
                                                  method: .get)
            #expect(frames.status == .badRequest)
            let port = try #require(client.port)
            let evil = try await server.rawHTTPOffPool(port: port, "GET /iiif/\(slide.id)/info.json HTTP/1.1\r\nHost: evil.example\"><script>\r\nConnection: close\r\n\r\n")
            let answer = try #require(evil.first)
            let info = try #require(try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])
            #expect((info["id"] as? String)?.hasPrefix("http://localhost/iiif/") == true, "\(info["id"] ?? "")")
            #expect(try await client.execute(uri: "/api/slides", method: .post).status == .methodNotAllowed)
        }
    }

    @Test("A served file truncated or overwritten while the server runs gives an error status, never a crash")
    func changedFiles() async throws {
        let fixture = try await TileServerTests.servedFixture()
        let root = try TestSupport.temporaryDirectory("changed")
        defer { try? FileManager.default.removeItem(at: root) }
        for name in ["a", "b"] {
            try FileManager.default.copyItem(atPath: fixture.served + "/ours", toPath: root.appendingPathComponent(name).path)
        }
        // Copies of one pyramid share its Series Instance UID: give b its own by converting again.
        try FileManager.default.removeItem(at: root.appendingPathComponent("b"))
        let converted = try TestSupport.run(TestSupport.dicomizer, [fixture.svs, "-o", root.appendingPathComponent("b").path, "-q"])
        try #require(converted.status == 0)
        try await server.withServer(root: root.path) { client, service in
            let slides = service.store.slides
            try #require(slides.count == 2)
            let victim = try #require(slides.first { $0.levels[0].files[0].path.contains("/a/") })
            let other = try #require(slides.first { $0.id != victim.id })
            let level0 = victim.levels[0].files[0].path
            let last = victim.levels[0].tilesAcross * victim.levels[0].tilesDown - 1
            let lastCol = last % victim.levels[0].tilesAcross, lastRow = last / victim.levels[0].tilesAcross
            #expect(try await client.execute(uri: "/api/slides/\(victim.id)/tiles/0/\(lastCol)/\(lastRow)", method: .get).status == .ok)

            // Truncated in place: the frames past the cut are gone.
            let size = try #require(try FileManager.default.attributesOfItem(atPath: level0)[.size] as? Int)
            #expect(truncate(level0, off_t(size / 2)) == 0)
            for uri in ["/api/slides/\(victim.id)/tiles/0/\(lastCol)/\(lastRow)", "/wsi/tiles/\(victim.id)/0/\(lastCol)/\(lastRow)",
                        "/api/slides/\(victim.id)/tiles/0/\(lastCol)/\(lastRow)?format=png"] {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.status == .internalServerError, "\(uri) gave \(response.status)")
                #expect(!String(buffer: response.body).contains(root.path), "the error names a server path")
            }
            // Overwritten in place by another file (as cp does): an error or the right bytes, never other bytes.
            let replacement = try Data(contentsOf: URL(fileURLWithPath: other.levels[0].files[0].path))
            let handle = try #require(FileHandle(forWritingAtPath: level0))
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: replacement)
            try handle.close()
            let first = try await client.execute(uri: "/api/slides/\(victim.id)/tiles/0/0/0", method: .get)
            #expect(first.status == .internalServerError || first.status == .notFound, "gave \(first.status)")

            // The server is still up and the other slide serves.
            let fine = try await client.execute(uri: "/api/slides/\(other.id)/tiles/0/0/0", method: .get)
            #expect(try fine.status == .ok && Data(buffer: fine.body) == other.levels[0].frame(col: 0, row: 0).map { try $0.file.frameData($0.index) })
        }
    }

    /// `Tests/interop/idle_connections.py` against `dicomizer serve` under a descriptor limit.
    struct IdleRun: Decodable {
        var opened: Int
        var slides_before: Int?
        var slides_during: Int?
        var slides_after: Int?
        var closed_after: Int?
        var log: String
    }

    func idleRun(_ folder: String, idle: Int, touch: Bool, descriptors: Int = 1024, wait: Double = 0, _ options: [String]) async throws -> IdleRun {
        let script = TestSupport.repositoryRoot.appendingPathComponent("Tests/interop/idle_connections.py").path
        let command = ["env", "DESCRIPTORS=\(descriptors)", "IDLE_WAIT=\(wait)", "python3", script, TestSupport.dicomizer, folder,
                       String(idle), touch ? "1" : "0"] + options
        let result = try await TestSupport.offPool { try TestSupport.run("/usr/bin/env", command) }
        try #require(result.status == 0, "\(result.stderr)")
        return try JSONDecoder().decode(IdleRun.self, from: Data(result.stdout.utf8))
    }

    @Test("1,100 idle connections under ulimit -n 1024: a new client is still served, and the slides stay indexed")
    func idleConnectionsPastTheDescriptorLimit() async throws {
        let fixture = try await TileServerTests.servedFixture()
        let run = try await idleRun(fixture.served + "/ours", idle: 1_100, touch: false, ["--idle-timeout", "30", "-q"])
        #expect(run.slides_before == 1 && run.slides_during == 1 && run.slides_after == 1, "\(run.log)")
    }

    @Test("A connection with no request in progress is closed after --idle-timeout")
    func idleTimeout() async throws {
        let fixture = try await TileServerTests.servedFixture()
        let run = try await idleRun(fixture.served + "/ours", idle: 40, touch: false, wait: 4, ["--idle-timeout", "1", "-q"])
        #expect(run.closed_after == 40, "\(run.closed_after ?? -1) of 40 closed")
        #expect(run.slides_after == 1)
    }

    @Test("A rescan that cannot open the folder or its files (no descriptors left) keeps the slides indexed")
    func rescanOutOfDescriptors() async throws {
        let fixture = try await TileServerTests.servedFixture()
        let root = try TestSupport.temporaryDirectory("rescan-fds")
        defer { try? FileManager.default.removeItem(at: root) }
        let folder = root.appendingPathComponent("ours").path
        try FileManager.default.copyItem(atPath: fixture.served + "/ours", toPath: folder)
        // No connection cap (5,000 past a limit of 64): the accepted connections take every descriptor, then
        // every file is touched, so the rescan must index them again and cannot.
        let run = try await idleRun(folder, idle: 200, touch: true, descriptors: 64,
                                    ["--max-connections", "5000", "--idle-timeout", "600", "--rescan-seconds", "0.3", "-q"])
        #expect(run.log.contains("is incomplete"), "the descriptors were not exhausted: \(run.log)")
        #expect(!run.log.contains("indexed 0 slides"), "\(run.log)")
        #expect(run.slides_before == 1 && run.slides_after == 1, "\(run.log)")
    }

    @Test("The HTTP request fuzzer (tools/fuzz/http_fuzz.py, seed 1) finds nothing in 1,500 requests on every route family")
    func httpFuzzer() async throws {
        let fixture = try await TileServerTests.servedFixture()
        let findings = try TestSupport.temporaryDirectory("http-fuzz")
        defer { try? FileManager.default.removeItem(at: findings) }
        let script = TestSupport.repositoryRoot.appendingPathComponent("tools/fuzz/http_fuzz.py").path
        let result = try await TestSupport.offPool {
            try TestSupport.python([script, TestSupport.dicomizer, fixture.served, "--requests", "1500", "--seed", "1", "--findings", findings.path])
        }
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let summary = try #require(result.stdout.split(separator: "\n").last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        // The mutations reach the routes: answers of every kind, not only the parser's 400s.
        let statuses = try #require(summary["statuses"] as? [String: Int])
        for status in ["200", "400", "401", "404", "405"] { #expect((statuses[status] ?? 0) > 0, "\(statuses)") }
    }

    @Test("Issue 19's hostile files beside a good slide: skipped or answered with errors, the server stays up under 512 MiB, the good slide serves")
    func hostileFilesInTheFolder() async throws {
        let fixture = try await TileServerTests.servedFixture()
        let root = try TestSupport.temporaryDirectory("hostile-files")
        defer { try? FileManager.default.removeItem(at: root) }
        let folder = root.appendingPathComponent("slides").path
        try FileManager.default.copyItem(atPath: fixture.served + "/ours", toPath: folder)
        let script = TestSupport.repositoryRoot.appendingPathComponent("Tests/interop/serve_rss.py").path
        let result = try await TestSupport.offPool { try TestSupport.python([script, TestSupport.dicomizer, folder]) }
        try #require(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let log = report["log"] as? String ?? ""
        #expect(report["alive"] as? Bool == true, "\(log)")
        #expect((report["peak_mib"] as? Double ?? .infinity) < 512, "peak \(report["peak_mib"] ?? "?") MiB")
        let statuses = report["statuses"] as? [String: Int] ?? [:]
        #expect(statuses["0"] == nil, "requests that got no answer: \(statuses)")
        #expect(Set(statuses.keys).isSubset(of: ["200", "404", "413", "500"]), "\(statuses)")
        // Skipped at indexing, each with a warning: absurd sizes, counts and fragments.
        for name in ["frames-2G", "matrix-1.6M", "tile-30000", "fragments-n-plus-1", "empty-fragments"] {
            #expect(log.contains("skipping \(folder)/\(name).dcm"), "\(name) was not skipped: \(log)")
        }
        // The good slide plus the two whose offset tables are ignored (their fragments are the frames).
        #expect(report["slides"] as? Int == 3)
    }
}
