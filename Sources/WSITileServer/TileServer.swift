import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle
import NIOCore
import NIOFoundationCompat
import WSIRoutes
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
    /// The URL clients reach the server at, for absolute links (IIIF ids); else taken from a plain Host header.
    public var publicURL: String?
    public var logRequests = true
    /// Connections open at once; nil for `ConnectionLimiter.defaultMaximum` of the descriptor limit.
    public var maxConnections: Int?
    /// A connection with no request in progress for this long is closed.
    public var idleTimeout: Duration = .seconds(60)

    public init(root: String) { self.root = root }
}

/// `dicomizer serve`: the shared route table (`TileRoutes`) mounted on Hummingbird's HTTP/1 server, with
/// `TileFastPath` in front for tiles that are ready to send.
public enum TileServer {
    /// Hummingbird's HTTP/1 server with `TileFastPath` in front of the responder: tiles that are ready to
    /// send (stored JPEG frames, cached images) are answered without it. `token` and `corsOrigins` must
    /// match the routes' settings; `accessLog` records the requests answered ahead of the router.
    public static func http1(service: TileService, token: String? = nil, corsOrigins: [String] = [],
                             accessLog: AccessLog? = nil, limiter: ConnectionLimiter) -> HTTPServerBuilder {
        let settings = TileFastPath.Settings(token: token, corsOrigins: corsOrigins, accessLog: accessLog)
        return HTTPServerBuilder { responder in
            TileHTTP1Channel(responder: responder, makeFastPath: { TileFastPath(service: service, settings: settings) },
                             limiter: limiter)
        }
    }

    /// The limiter for `configuration`: its maximum, else one below the descriptor limit (raised to the hard limit).
    public static func connectionLimiter(_ configuration: TileServerConfiguration, logger: Logger) -> ConnectionLimiter {
        let maximum = configuration.maxConnections
            ?? ConnectionLimiter.defaultMaximum(descriptorLimit: ConnectionLimiter.raiseDescriptorLimit())
        return ConnectionLimiter(maximum: maximum, idleTimeout: max(.milliseconds(1), TimeAmount(configuration.idleTimeout)), logger: logger)
    }

    public static func routeSettings(_ configuration: TileServerConfiguration) -> RouteSettings {
        var settings = RouteSettings()
        settings.token = configuration.token
        settings.corsOrigins = configuration.corsOrigins
        settings.webRoot = configuration.webRoot
        settings.leafletRoot = configuration.leafletRoot
        return settings
    }

    public static func makeApplication(
        _ configuration: TileServerConfiguration, logger: Logger = Logger(label: "dicomizer.serve"),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> (application: some ApplicationProtocol, service: TileService) {
        // First: it raises the descriptor limit, which the files' kept descriptors are bounded by.
        let limiter = connectionLimiter(configuration, logger: logger)
        let library = SlideLibrary(root: configuration.root, logger: logger)
        library.rescan()
        let service = TileService(store: library, cacheBytes: configuration.cacheBytes)
        let routes = TileRoutes(service: service, settings: routeSettings(configuration), logger: logger)
        let accessLog = configuration.logRequests ? AccessLog() : nil
        let responder = RouteResponder(routes: routes, publicURL: configuration.publicURL, accessLog: accessLog)
        let application = Application(
            responder: responder,
            server: http1(service: service, token: configuration.token, corsOrigins: configuration.corsOrigins,
                          accessLog: accessLog,
                          limiter: limiter),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "dicomizer"),
            services: [LibraryWatcher(library: library, interval: configuration.rescanInterval)]
                + (accessLog.map { [AccessLogWriter(log: $0)] } ?? []),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger
        )
        return (application, service)
    }
}

/// Hands each Hummingbird request to the route table and copies the answer back.
struct RouteResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let routes: TileRoutes
    let publicURL: String?
    let accessLog: AccessLog?

    func respond(to request: Request, context: Context) async throws -> Response {
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
        }
        let base = RouteRequest.baseURL(publicURL: publicURL, scheme: request.head.scheme, host: request.head.authority, mount: "")
        let answer = routes.respond(RouteRequest(method: request.method.rawValue, path: request.uri.path,
                                                 query: RouteRequest.parseQuery(request.uri.query), headers: headers, baseURL: base))
        accessLog?.record(method: request.method.rawValue, path: request.uri.path, status: answer.status)
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        return Response(status: .init(code: answer.status), headers: fields, body: .init(byteBuffer: ByteBuffer(data: answer.body)))
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
