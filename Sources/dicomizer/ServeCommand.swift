import ArgumentParser
import Foundation
import Logging
import WSITileServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the DICOM WSI slides in a folder over HTTP, with a browser viewer.",
        discussion: """
        Scans FOLDER recursively for DICOM WSI instances (ours and other converters'), groups them into slides by Series Instance UID, and serves:
          /                                     the viewer
          /api/slides[/ID]                      slides, one slide's pyramid
          /api/slides/ID/tiles/LEVEL/COL/ROW    a tile (?format=png)
          /api/slides/ID/associated/KIND        label, overview, thumbnail
          /wsi/pyramids/ID, /wsi/tiles/...      Orthanc WSI's routes
          /iiif/ID/info.json, /iiif/ID/...      IIIF Image API 3.0, level 1 (CORS on)
          /dicomweb/studies/...                 QIDO-RS, WADO-RS (metadata, frames, rendered)
        New and removed files are picked up while it runs.
        """)

    @Argument(help: "Folder of DICOM instances.") var folder: String
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port = 8080
    @Option(help: "Require this bearer token on the data routes.") var token: String?
    @Option(name: .customLong("cors"), help: "Allow this origin (repeatable; * for any).") var corsOrigins: [String] = []
    @Option(help: "Folder of the viewer's files (default: the web/ folder of this installation).") var web: String?
    @Option(help: "The URL clients reach the server at (behind a proxy), for absolute links and IIIF ids.") var publicUrl: String?
    @Option(help: "Tile cache size in MiB (transcoded tiles).") var cacheMb = 256
    @Option(help: "Seconds between rescans of the folder.") var rescanSeconds = 5.0
    @Option(help: ArgumentHelp("Connections open at once (default: the descriptor limit less a quarter, at most 256, kept for files).",
                               discussion: "Past it, the connection idle the longest is closed to make room; when all are busy, new ones are refused."))
    var maxConnections: Int?
    @Option(help: "Seconds a connection may stay open with no request in progress.") var idleTimeout = 60.0
    @Flag(name: .shortAndLong, help: "Do not log each request.") var quiet = false

    func run() async throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw fail("\(folder): no such folder")
        }
        guard (0...65_535).contains(port) else { throw fail("--port must be 0 to 65535") }
        var configuration = TileServerConfiguration(root: folder)
        configuration.host = host
        configuration.port = port
        configuration.token = token
        configuration.corsOrigins = corsOrigins
        if let publicUrl {
            guard let url = URL(string: publicUrl), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw fail("--public-url must be an http(s) URL such as https://slides.example.org")
            }
            configuration.publicURL = publicUrl
        }
        configuration.webRoot = web ?? Self.defaultWebRoot()
        configuration.cacheBytes = max(1, cacheMb) << 20
        configuration.rescanInterval = .milliseconds(Int(max(0.1, rescanSeconds) * 1000))
        configuration.logRequests = !quiet
        if let maxConnections {
            guard maxConnections >= 1 else { throw fail("--max-connections must be at least 1") }
            configuration.maxConnections = maxConnections
        }
        guard idleTimeout >= 0.1, idleTimeout <= 86_400 else { throw fail("--idle-timeout must be 0.1 to 86400 seconds") }
        configuration.idleTimeout = .milliseconds(Int(idleTimeout * 1000))
        var logger = Logger(label: "dicomizer")
        logger.logLevel = .info
        let (application, service) = TileServer.makeApplication(configuration, logger: logger) { port in
            // Unbuffered, so scripts and tests waiting for this line see it at once.
            FileHandle.standardOutput.write(Data("dicomizer: serving \(folder) at http://\(host):\(port)/\n".utf8))
        }
        FileHandle.standardOutput.write(Data("dicomizer: \(service.store.slides.count.counted("slide")) found\n".utf8))
        try await application.runService()
    }

    /// web/ beside the build folder (.build/<config>/dicomizer -> web/), or in the working directory.
    static func defaultWebRoot() -> String? {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("web")]
        var folder = executable.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(folder.appendingPathComponent("web"))
            folder = folder.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("index.html").path) }?.path
    }
}
