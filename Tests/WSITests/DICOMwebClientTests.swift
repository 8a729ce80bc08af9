import Foundation
import HummingbirdTesting
import Testing
import WSIDICOM
@testable import WSIRoutes
import WSITileService

/// Our DICOMweb routes against the real clients from PyPI (wsidicom, large_image, dicomweb-client,
/// unmodified), and QIDO matching and its refusals at the Swift level. Three studies: the fixture's
/// ours (JPEG), ours-j2k (JPEG 2000) and wsidicomizer folders, copied with a distinct PatientID,
/// AccessionNumber and StudyDate each so that every filter has something to narrow.
@Suite("DICOMweb clients", .serialized)
struct DICOMwebClientTests {
    static let script = TestSupport.repositoryRoot.appendingPathComponent("Tests/interop/dicomweb_clients.py").path

    /// The three studies, prepared once for the suite.
    static let studies: Result<URL, any Error> = Result {
        let fixture = try TileServerTests.fixture.get()
        let root = try TestSupport.temporaryDirectory("dicomweb")
        let result = try TestSupport.python([script, "prepare", fixture.served, root.path])
        guard result.status == 0 else { throw TileServerTests.FixtureError(message: "prepare failed: \(result.stderr.suffix(800))") }
        return root
    }

    @Test("wsidicom, large_image and dicomweb-client read our DICOMweb routes")
    func realClients() async throws {
        let root = try await TestSupport.offPool { try Self.studies.get() }
        try await TileServerTests().withServer(root: root.path) { client, _ in
            let port = try #require(client.port)
            // The clients run in another process: keep this task free to serve them.
            let result = try await TestSupport.offPool {
                try TestSupport.python([Self.script, "check", "http://127.0.0.1:\(port)/dicomweb", root.path])
            }
            #expect(result.status == 0, "DICOMweb client checks failed:\n\(result.stdout.suffix(4000))\n\(result.stderr.suffix(3000))")
        }
    }

    func json(_ response: TestResponse) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [[String: Any]])
    }

    func values(_ results: [[String: Any]], _ tag: String) -> [String] {
        results.compactMap { (($0[tag] as? [String: Any])?["Value"] as? [Any])?.first as? String }.sorted()
    }

    @Test("QIDO-RS: each filter narrows, lists, ranges, tags, includefield, paging; unknown keys are 400s")
    func qidoMatching() async throws {
        let root = try await TestSupport.offPool { try Self.studies.get() }
        try await TileServerTests().withServer(root: root.path) { client, service in
            let slides = service.store.slides
            try #require(slides.count == 3)
            func slide(_ folder: String) throws -> Slide {
                try #require(slides.first { $0.levels[0].files[0].path.contains("/\(folder)/") })
            }
            let a = try slide("ours"), b = try slide("wsidicomizer"), c = try slide("ours-j2k")
            let every = [a, b, c].map(\.studyInstanceUID).sorted()
            func studies(_ query: String) async throws -> [String] {
                let response = try await client.execute(uri: "/dicomweb/studies?\(query)", method: .get)
                #expect(response.status == .ok, "\(query): \(response.status)")
                #expect(response.headers[.contentType] == "application/dicom+json")
                return values(try json(response), "0020000D")
            }
            #expect(try await studies("") == every)
            #expect(try await studies("StudyInstanceUID=\(a.studyInstanceUID)") == [a.studyInstanceUID])
            #expect(try await studies("0020000D=\(b.studyInstanceUID),\(c.studyInstanceUID)") == [b, c].map(\.studyInstanceUID).sorted())
            #expect(try await studies("PatientID=PAT-B") == [b.studyInstanceUID])
            #expect(try await studies("PatientID=PAT-%3F") == every)
            #expect(try await studies("AccessionNumber=ACC-C") == [c.studyInstanceUID])
            #expect(try await studies("StudyDate=20230301") == [a.studyInstanceUID])
            #expect(try await studies("StudyDate=20240101-20241231") == [c.studyInstanceUID])
            #expect(try await studies("StudyDate=20240101-") == [b, c].map(\.studyInstanceUID).sorted())
            #expect(try await studies("StudyDate=-20240101") == [a.studyInstanceUID])
            #expect(try await studies("Modality=SM&PatientID=PAT-A") == [a.studyInstanceUID])
            #expect(try await studies("limit=1&offset=1") == [every[1]])

            // Series and instance levels; the path's UIDs narrow as query keys do.
            let series = try json(await client.execute(uri: "/dicomweb/studies/\(a.studyInstanceUID)/series", method: .get))
            #expect(values(series, "0020000E") == [a.id])
            #expect(values(try json(await client.execute(uri: "/dicomweb/series?SeriesInstanceUID=\(a.id)%5C\(c.id)", method: .get)), "0020000E")
                    == [a.id, c.id].sorted())
            #expect(try json(await client.execute(uri: "/dicomweb/series?00080060=CT", method: .get)).isEmpty)
            let wsiSearch = "/dicomweb/studies/\(a.studyInstanceUID)/instances?00080016=1.2.840.10008.5.1.4.1.1.77.1.6&00080060=SM"
                + "&0020000E=\(a.id)&includefield=AvailableTransferSyntaxUID"
            let instances = try json(await client.execute(uri: wsiSearch, method: .get))
            #expect(instances.count == a.files.count)
            #expect(instances.allSatisfy { (($0["00083002"] as? [String: Any])?["Value"] as? [String])?.first == "1.2.840.10008.1.2.4.50" })
            #expect(try json(await client.execute(uri: "/dicomweb/studies/\(b.studyInstanceUID)/series/\(a.id)/instances", method: .get)).isEmpty)
            let sop = try #require(a.files[0].dataSet.string(.sopInstanceUID))
            #expect(values(try json(await client.execute(uri: "/dicomweb/instances?SOPInstanceUID=\(sop)", method: .get)), "00080018") == [sop])
            let all = try json(await client.execute(uri: "/dicomweb/instances?SOPInstanceUID=\(sop)&includefield=all", method: .get))
            #expect(all.first?["00480105"] != nil, "includefield=all gives the whole data set")

            // Refusals: a 400 with a message naming what is wrong, never a filter silently ignored.
            for (query, word) in [("/dicomweb/studies?Nonsense=1", "Nonsense"), ("/dicomweb/studies?PatientWeight=70", "PatientWeight"),
                                  ("/dicomweb/studies?SOPInstanceUID=\(sop)", "SOPInstanceUID"), ("/dicomweb/series?StudyDate=2023", "StudyDate"),
                                  ("/dicomweb/studies?StudyDate=20230101-20230202-20230303", "StudyDate"),
                                  ("/dicomweb/instances?SOPInstanceUID=abc", "SOPInstanceUID"), ("/dicomweb/studies?limit=x", "limit"),
                                  ("/dicomweb/studies?offset=-2", "offset"), ("/dicomweb/studies?includefield=NoSuchThing", "NoSuchThing"),
                                  ("/dicomweb/series?00400512=x%2Ay", "00400512")] {
                let response = try await client.execute(uri: query, method: .get)
                #expect(response.status == .badRequest, "\(query) gave \(response.status)")
                #expect(String(buffer: response.body).contains(word), "\(query): \(String(buffer: response.body))")
            }
        }
    }

    @Test("Matching and Accept negotiation, without a server")
    func units() throws {
        #expect(QIDOQuery.wildcardMatch("PAT-*", "PAT-A") && QIDOQuery.wildcardMatch("P?T*", "PAT-A") && QIDOQuery.wildcardMatch("*", ""))
        #expect(!QIDOQuery.wildcardMatch("PAT-?", "PAT-AB") && !QIDOQuery.wildcardMatch("PAT", "PAT-A"))
        for (text, day, inside) in [("20230301", "20230301", true), ("20230301", "20230302", false), ("20230101-20231231", "20230615", true),
                                    ("20230101-", "20991231", true), ("-20230101", "20230102", false)] {
            #expect(QIDOQuery.DateRange(text)?.contains(day) == inside, "\(text) \(day)")
        }
        for bad in ["2023", "-", "20230101-2023", "2023010a", "a-b-c"] { #expect(QIDOQuery.DateRange(bad) == nil, "\(bad)") }
        let query = try QIDOQuery([("0020000E", "1.2,1.3"), ("SeriesInstanceUID", "1.4"), ("includefield", "00080060,all"),
                                   ("limit", "5"), ("access_token", "t"), ("fuzzymatching", "false")], level: .instance)
        #expect(query.filters.count == 1 && query.filters[0].values == ["1.2", "1.3", "1.4"])
        #expect(query.includeAll && query.included == [.modality] && query.limit == 5)

        let (entries, refused) = AcceptEntry.parse("multipart/related; type=\"image/jpeg\"; q=0.5, image/png, image/jp2;q=0, */*;q=0.1")
        #expect(entries.map(\.mediaType) == ["image/png", "multipart/related", "*/*"] && refused == ["image/jp2"])
        #expect(entries[1].partType(default: "x") == "image/jpeg")
        #expect(try WADORendered.format(accept: "image/png") == .png && WADORendered.format(accept: nil) == .jpeg)
        #expect(try WADORendered.format(accept: "image/*, image/jpeg;q=0") == .png)
        #expect(throws: TileServiceError.self) { try WADORendered.format(accept: "image/gif") }
    }
}
