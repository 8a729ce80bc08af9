import Foundation
import Synchronization
import Testing
import WSIBatch
import WSIDICOM

/// Export to real peers started by the tests on loopback: DCMTK's storescp (C-STORE) and Orthanc with
/// its DICOMweb (STOW-RS) and WSI plugins, which must then serve the pyramid.
@Suite("Export to a PACS", .serialized)
struct ExportTests {
    /// Ports handed out so far: the kernel may give a just-closed port again, and two peers told the same
    /// port (Orthanc's HTTP and DICOM ports) would fail to start.
    static let handedOut = Mutex<Set<Int>>([])

    /// A loopback port free now and not handed out before in this run.
    static func freePort() -> Int {
        while true {
            let port = anyFreePort()
            if handedOut.withLock({ $0.insert(port).inserted }) { return port }
        }
    }

    private static func anyFreePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A background process stopped when the test ends.
    final class Peer {
        let process = Process()
        /// `log`: a file that takes the peer's output, for a failing test to show.
        init(_ executable: String, _ arguments: [String], log: String? = nil) throws {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            if let log, FileManager.default.createFile(atPath: log, contents: nil), let handle = FileHandle(forWritingAtPath: log) {
                process.standardOutput = handle
                process.standardError = handle
            } else {
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
            }
            try process.run()
        }
        deinit {
            // SIGKILL: storescp does not stop on SIGTERM while it waits for associations.
            if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        }
    }

    static func waitForPort(_ port: Int) async throws {
        for _ in 0..<100 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            close(fd)
            if connected == 0 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("port \(port) never opened")
    }

    /// Frames by SOP Instance UID, to compare what arrived with what was sent.
    static func framesByUID(_ paths: [String]) throws -> [String: [[UInt8]]] {
        var result: [String: [[UInt8]]] = [:]
        for path in paths {
            let file = try DICOMFile(path: path)
            result[file.dataSet.string(.sopInstanceUID) ?? path] = try (0..<file.numberOfFrames).map { try file.frame($0) }
        }
        return result
    }

    @Test("C-STORE to storescp: every instance arrives with identical pixel data; clear errors otherwise")
    func storescp() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir)
        let out = dir.appendingPathComponent("out").path
        #expect(try TestSupport.run(TestSupport.dicomizer, [slide, "-o", out, "-q"]).status == 0)
        let received = dir.appendingPathComponent("received")
        try FileManager.default.createDirectory(at: received, withIntermediateDirectories: true)
        let port = Self.freePort()
        let scp = try Peer("/usr/bin/storescp", ["--aetitle", "STORE", "+xa", "-od", received.path, String(port)])
        try await Self.waitForPort(port)
        let sent = try TestSupport.run(TestSupport.dicomizer, ["send", out, "--to", "dicom://STORE@127.0.0.1:\(port)", "-q"])
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(sent.stdout.contains("Sent 7 of 7"), "\(sent.stdout)")
        let arrived = try FileManager.default.contentsOfDirectory(atPath: received.path).map { received.appendingPathComponent($0).path }
        #expect(arrived.count == 7)
        let original = try Self.framesByUID(TestSupport.instances(in: out).map { out + "/" + $0 })
        #expect(try Self.framesByUID(arrived) == original, "pixel data changed on the way")
        withExtendedLifetime(scp) {}

        // A peer that accepts no JPEG transfer syntax: a clear error per instance, a non-zero exit.
        let strictPort = Self.freePort()
        let strict = try Peer("/usr/bin/storescp", ["--aetitle", "STORE", "-od", received.path, String(strictPort)])
        try await Self.waitForPort(strictPort)
        let refused = try TestSupport.run(TestSupport.dicomizer, ["send", out, "--to", "dicom://STORE@127.0.0.1:\(strictPort)", "-q"])
        #expect(refused.status != 0 && refused.stderr.contains("does not accept SOP class 1.2.840.10008.5.1.4.1.1.77.1.6"), "\(refused.stderr)")
        withExtendedLifetime(strict) {}

        // Nobody listening: retried, then one clear line.
        let closed = try TestSupport.run(TestSupport.dicomizer, ["send", out, "--to", "dicom://STORE@127.0.0.1:\(Self.freePort())", "--retries", "1", "-q"])
        #expect(closed.status != 0 && closed.stderr.contains("Connection refused"), "\(closed.stderr)")
        let malformed = try TestSupport.run(TestSupport.dicomizer, ["send", out, "--to", "dicom://127.0.0.1:104"])
        #expect(malformed.status != 0 && malformed.stderr.contains("dicom://AETITLE@host:port"))
    }

    @Test("STOW-RS and C-STORE into Orthanc, which then serves the pyramid with its WSI plugin; batch --send too")
    func orthanc() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir)
        let second = try TestSupport.makeSlide("tiff", in: dir, width: 700, height: 500)
        let httpPort = Self.freePort(), dicomPort = Self.freePort()
        let storage = dir.appendingPathComponent("orthanc")
        try FileManager.default.createDirectory(at: storage, withIntermediateDirectories: true)
        let config: [String: Any] = [
            "Name": "test", "StorageDirectory": storage.path, "IndexDirectory": storage.path, "HttpPort": httpPort, "DicomPort": dicomPort,
            "DicomAet": "ORTHANC", "DicomServerEnabled": true, "DicomCheckCalledAet": true, "RemoteAccessAllowed": false, "AuthenticationEnabled": true,
            "RegisteredUsers": ["alice": "secret"], "DicomWeb": ["Enable": true, "Root": "/dicom-web/"],
            "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so", "/usr/share/orthanc/plugins/libOrthancWSI.so"],
        ]
        let configPath = storage.appendingPathComponent("orthanc.json").path
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        let orthanc = try Peer("/usr/sbin/Orthanc", [configPath])
        try await Self.waitForPort(httpPort)
        try await Self.waitForPort(dicomPort)
        func get(_ path: String) throws -> Data {
            let result = try TestSupport.run("/usr/bin/curl", ["-sf", "-u", "alice:secret", "http://127.0.0.1:\(httpPort)\(path)"])
            #expect(result.status == 0, "GET \(path) failed")
            return Data(result.stdout.utf8)
        }

        // convert --send by STOW-RS.
        let out = dir.appendingPathComponent("out").path
        let stow = try TestSupport.run(TestSupport.dicomizer, [slide, "-o", out, "-q", "--send", "http://127.0.0.1:\(httpPort)/dicom-web", "--user", "alice:secret"])
        #expect(stow.status == 0, "\(stow.stderr)")
        let wrong = try TestSupport.run(TestSupport.dicomizer, ["send", out, "--to", "http://127.0.0.1:\(httpPort)/dicom-web", "--user", "alice:nope", "-q"])
        #expect(wrong.status != 0 && wrong.stderr.contains("401"), "\(wrong.stderr)")

        // batch --send by C-STORE.
        let batchInputs = dir.appendingPathComponent("batch-in")
        try FileManager.default.createDirectory(at: batchInputs, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: second, toPath: batchInputs.appendingPathComponent("second.tiff").path)
        let batchOut = dir.appendingPathComponent("batch-out")
        let batch = try TestSupport.run(TestSupport.dicomizer, ["batch", batchInputs.path, "-o", batchOut.path, "--send", "dicom://ORTHANC@127.0.0.1:\(dicomPort)"])
        #expect(batch.status == 0, "\(batch.stdout)\(batch.stderr)")

        // An association Orthanc rejects (wrong called AE title): one clear line, no retry loop.
        let rejected = try TestSupport.run(TestSupport.dicomizer, ["send", out, "--to", "dicom://NOT-ORTHANC@127.0.0.1:\(dicomPort)", "-q"])
        #expect(rejected.status != 0 && rejected.stderr.contains("association failed") && rejected.stderr.split(separator: "\n").count == 1,
                "\(rejected.stderr)")

        let instances = try #require(try JSONSerialization.jsonObject(with: try get("/instances")) as? [String])
        let expected = TestSupport.instances(in: out).count + TestSupport.instances(in: batchOut.appendingPathComponent("second").path).count
        #expect(instances.count == expected)
        // Byte-identical pixel data: download each stored instance and compare frames.
        var downloaded: [String] = []
        for (index, id) in instances.enumerated() {
            let path = dir.appendingPathComponent("dl-\(index).dcm").path
            #expect(try TestSupport.run("/usr/bin/curl", ["-sf", "-u", "alice:secret", "-o", path, "http://127.0.0.1:\(httpPort)/instances/\(id)/file"]).status == 0)
            downloaded.append(path)
        }
        let sent = try Self.framesByUID(TestSupport.instances(in: out).map { out + "/" + $0 }
            + TestSupport.instances(in: batchOut.appendingPathComponent("second").path).map { batchOut.appendingPathComponent("second/\($0)").path })
        #expect(try Self.framesByUID(downloaded) == sent)

        // Orthanc's WSI plugin serves both pyramids.
        let series = try #require(try JSONSerialization.jsonObject(with: try get("/series")) as? [String])
        #expect(series.count == 2)
        for id in series {
            let pyramid = try #require(try JSONSerialization.jsonObject(with: try get("/wsi/pyramids/\(id)")) as? [String: Any])
            #expect((pyramid["Sizes"] as? [[Int]])?.isEmpty == false)
            let tile = try TestSupport.run("/usr/bin/curl", ["-sf", "-u", "alice:secret", "-o", "/dev/null", "-w", "%{content_type}",
                                                            "http://127.0.0.1:\(httpPort)/wsi/tiles/\(id)/0/0/0"])
            #expect(tile.status == 0 && tile.stdout == "image/jpeg")
        }
        withExtendedLifetime(orthanc) {}
    }
}
