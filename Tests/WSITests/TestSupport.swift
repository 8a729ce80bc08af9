import Foundation
import Testing
import WSIDICOM

/// Paths and process helpers shared by the tests: the built `dicomizer` and `wsi-testslide`
/// executables sit beside the test bundle; the interop checker lives under Tests/interop.
enum TestSupport {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let productsDirectory: URL = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL,
            Bundle.main.bundleURL.deletingLastPathComponent(),
            repositoryRoot.appendingPathComponent(".build/debug"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("dicomizer").path) } ?? candidates[0]
    }()

    static var dicomizer: String { productsDirectory.appendingPathComponent("dicomizer").path }
    static var testslide: String { productsDirectory.appendingPathComponent("wsi-testslide").path }
    static var checker: String { repositoryRoot.appendingPathComponent("Tests/interop/check_output.py").path }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes before waiting so that a chatty child never blocks on a full pipe.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs blocking work (a child process waited for) on a thread of its own, off Swift's cooperative
    /// pool: with two cores the pool has two threads, and two tests blocking them while a third waits for
    /// an in-process server (whose handlers need the pool) would stall the whole run.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Swift.Result { try body() }) }.start()
        }
    }

    struct ServeProcessError: Error, CustomStringConvertible { let description: String }

    /// `dicomizer serve FOLDER` in a process of its own on a free loopback port, killed once `body` returns:
    /// for clients with short timeouts (the IIIF validator gives up on a request after 5 s). An in-process
    /// server's handlers wait for Swift's cooperative pool, which other tests' blocking work can hold for
    /// longer than that on two cores. Blocks: call it off the pool.
    static func withServeProcess<T>(_ folder: String, _ options: [String] = [], _ body: (Int) throws -> T) throws -> T {
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: dicomizer)
        process.arguments = ["serve", folder, "--port", String(port), "-q"] + options
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        // It listens once the folder is indexed.
        let deadline = Date().addingTimeInterval(120)
        while !accepts(port) {
            guard process.isRunning else { throw ServeProcessError(description: "dicomizer serve exited (\(process.terminationStatus))") }
            guard Date() < deadline else { throw ServeProcessError(description: "dicomizer serve did not listen on \(port) in 120 s") }
            usleep(100_000)
        }
        return try body(port)
    }

    /// A loopback port free now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServeProcessError(description: "socket: \(errno)") }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw ServeProcessError(description: "bind: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether a connection to 127.0.0.1:`port` is accepted.
    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    static func python(_ arguments: [String]) throws -> Result {
        try run("/usr/bin/env", ["python3"] + arguments)
    }

    /// A fresh temporary folder, removed by the caller's `defer`.
    static func temporaryDirectory(_ name: String = #function) throws -> URL {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dicomizer-tests-\(safe)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Generates a slide with our own generator.
    static func makeSlide(_ kind: String, in folder: URL, name: String? = nil, width: Int = 1001, height: Int = 757, extra: [String] = []) throws -> String {
        let ext = ["png": "png", "jpeg": "jpg", "svs": "svs", "svs-jp2k": "svs", "vms": "vms", "ndpi": "ndpi", "scn": "scn", "mrxs": "mrxs", "bif": "bif"][kind] ?? "tiff"
        let path = folder.appendingPathComponent(name ?? "\(kind).\(ext)").path
        let result = try run(testslide, [path, "--kind", kind, "--width", String(width), "--height", String(height)] + extra)
        #expect(result.status == 0, "wsi-testslide failed: \(result.stderr)")
        return path
    }

    /// The `.dcm` files in a folder.
    static func instances(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".dcm") }.sorted()
    }

    static var isRoot: Bool { getuid() == 0 }

    /// Mounts a file system of `type` (with mount `options`) on a new folder `name` in `dir` (root only) and
    /// returns its path, or nil when it cannot be mounted here; `unmount` takes it down.
    static func mount(_ type: String, options: String? = nil, in dir: URL, name: String) throws -> String? {
        let path = dir.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let arguments = ["-t", type] + (options.map { ["-o", $0] } ?? []) + [type, path]
        return try run("/bin/mount", arguments).status == 0 ? path : nil
    }

    static func unmount(_ path: String) {
        _ = try? run("/bin/umount", [path])
    }
}

/// The interop checker's verdict (Tests/interop/check_output.py).
struct InteropVerdict: Decodable {
    var errors: [String]
    var dciodvfy_errors: [String: Int]
    var levels: [[Int]]?
    var mad: [String: Double]
    var vendor: String?
    var wsidicom_levels: Int?
}

extension TestSupport {
    static func check(_ folder: String, source: String, maxMAD0: Double, maxMAD1: Double = 3, levels: Int? = nil,
                      associated: [String] = [], sourcePyramid: Bool = false, sourceOffset: (x: Int, y: Int)? = nil) async throws -> InteropVerdict {
        var arguments = [checker, folder, source, "--max-mad0", String(maxMAD0), "--max-mad1", String(maxMAD1)]
        if sourcePyramid { arguments.append("--source-pyramid") }
        if let sourceOffset { arguments += ["--source-offset", "\(sourceOffset.x),\(sourceOffset.y)"] }
        if let levels { arguments += ["--levels", String(levels)] }
        if !associated.isEmpty { arguments += ["--associated", associated.joined(separator: ",")] }
        // Minutes on a busy machine: off the cooperative pool, which the in-process servers need.
        let result = try await offPool { [arguments] in try python(arguments) }
        guard let line = result.stdout.split(separator: "\n").last, let data = line.data(using: .utf8),
              let verdict = try? JSONDecoder().decode(InteropVerdict.self, from: data) else {
            Issue.record("interop checker failed (status \(result.status)): \(result.stdout)\n\(result.stderr)")
            throw CheckerFailed()
        }
        return verdict
    }

    struct CheckerFailed: Error {}
}

extension DICOMFile {
    /// Pixel Spacing (mm, rows then columns) from the shared functional groups.
    var pixelSpacing: [Double]? {
        dataSet.items(.sharedFunctionalGroupsSequence)?.first?.items(.pixelMeasuresSequence)?.first?.doubles(.pixelSpacing)
    }
}
