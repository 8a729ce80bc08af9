import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle
import WSITileService

/// Settings of a standalone tile server (`dicomizer serve`).
public struct TileServerConfiguration: Sendable {
    /// The folder scanned recursively for DICOM WSI instances.
    public var root: String
    public var host = "127.0.0.1"
    public var port = 8080
    /// When set, data routes need `Authorization: Bearer TOKEN` (or `?access_token=`).
    public var token: String?
    /// Origins allowed by CORS: empty for none, ["*"] for any.
    public var corsOrigins: [String] = []
    /// The viewer's files (index.html, viewer.html, ...), served at /.
    public var webRoot: String?
    /// Leaflet's installed folder (Debian libjs-leaflet), served at /vendor/leaflet.
    public var leafletRoot: String? = "/usr/share/javascript/leaflet"
    public var rescanInterval: Duration = .seconds(5)
    public var cacheBytes = 256 << 20
    public var logRequests = true

    public init(root: String) { self.root = root }
}

/// The tile service's HTTP face. `addRoutes` mounts every route on any Hummingbird router, so another
/// Swift server can embed it; `makeApplication` builds the standalone server with its middleware and
/// `TileFastPath` in front of the router for tiles that are ready to send.
public enum TileServer {
    public static func addRoutes<Context: RequestContext>(to router: Router<Context>, service: TileService) {
        SlideAPIRoutes(service: service).add(to: router)
        OrthancRoutes(service: service).add(to: router)
        IIIFRoutes(service: service).add(to: router)
        DICOMwebRoutes(service: service).add(to: router)
    }

    /// Hummingbird's HTTP/1 server with `TileFastPath` in front of the router: tiles that are ready to
    /// send (stored JPEG frames, cached images) are answered without the router. Pass it as `server:` to
    /// an `Application` whose router has these routes (`addRoutes`); `token` and `corsOrigins` must match
    /// the router's middleware.
    public static func http1(service: TileService, token: String? = nil, corsOrigins: [String] = [],
                             requestLogger: Logger? = nil) -> HTTPServerBuilder {
        let settings = TileFastPath.Settings(token: token, corsOrigins: corsOrigins, logger: requestLogger)
        return HTTPServerBuilder { responder in
            TileHTTP1Channel(responder: responder, makeFastPath: { TileFastPath(service: service, settings: settings) })
        }
    }

    public static func makeApplication(
        _ configuration: TileServerConfiguration, logger: Logger = Logger(label: "dicomizer.serve"),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> (application: some ApplicationProtocol, service: TileService) {
        let library = SlideLibrary(root: configuration.root, logger: logger)
        library.rescan()
        let service = TileService(library: library, cacheBytes: configuration.cacheBytes)
        let router = Router()
        if configuration.logRequests { router.add(middleware: LogRequestsMiddleware(.info)) }
        if !configuration.corsOrigins.isEmpty { router.add(middleware: AllowedOriginsMiddleware(origins: configuration.corsOrigins)) }
        router.add(middleware: JSONErrorMiddleware())
        if let token = configuration.token { router.add(middleware: BearerTokenMiddleware(token: token)) }
        if let leaflet = configuration.leafletRoot, FileManager.default.fileExists(atPath: leaflet) {
            router.add(middleware: FileMiddleware(leaflet, urlBasePath: "/vendor/leaflet", logger: logger))
        }
        if let web = configuration.webRoot {
            router.add(middleware: FileMiddleware(web, searchForIndexHtml: true, logger: logger))
        }
        addRoutes(to: router, service: service)
        let application = Application(
            router: router,
            server: http1(service: service, token: configuration.token, corsOrigins: configuration.corsOrigins,
                          requestLogger: configuration.logRequests ? logger : nil),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "dicomizer"),
            services: [LibraryWatcher(library: library, interval: configuration.rescanInterval)],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger
        )
        return (application, service)
    }
}

/// Rescans the library in the background while the server runs.
struct LibraryWatcher: Service {
    let library: SlideLibrary
    let interval: Duration

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await library.watch(every: interval)
        }
    }
}
