import Foundation
import Logging
import WSITileService

/// Settings of one mount of the routes.
public struct RouteSettings: Sendable {
    /// When set, data routes need `Authorization: Bearer TOKEN` (or `?access_token=TOKEN`).
    public var token: String?
    /// Origins allowed by CORS: empty for none, ["*"] for any.
    public var corsOrigins: [String] = []
    /// The viewer's files (index.html, viewer.html, ...), served at the mount's root.
    public var webRoot: String?
    /// Leaflet's installed folder (Debian libjs-leaflet), served at vendor/leaflet.
    public var leafletRoot: String? = "/usr/share/javascript/leaflet"
    /// Who serves DICOMweb for the links in our JSON.
    public var dicomweb: DICOMwebMount = .own

    public init() {}
}

/// Where a slide's DICOMweb resources are.
public enum DICOMwebMount: Sendable, Equatable {
    /// Our own routes, under `dicomweb/` of the mount.
    case own
    /// Another server's, at this absolute URL or path (Orthanc's DICOMweb plugin: "/dicom-web").
    case external(String)
    /// None: links are left out.
    case none
}

/// The tile service's HTTP routes as one table that every host mounts: `dicomizer serve` (Hummingbird)
/// and the Orthanc plugin hand each request over as a `RouteRequest` and copy the `RouteResponse` back.
/// Access (token), CORS, HEAD and errors are decided here, once, on the route that matched.
public final class TileRoutes: Sendable {
    public let service: TileService
    public let settings: RouteSettings
    public let table: RouteTable
    let logger: Logger

    public init(service: TileService, settings: RouteSettings, logger: Logger = Logger(label: "dicomizer.routes")) {
        self.service = service
        self.settings = settings
        self.logger = logger
        var table = RouteTable()
        SlideAPIRoutes(service: service, dicomweb: settings.dicomweb).add(to: &table)
        OrthancWSIRoutes(service: service).add(to: &table)
        IIIFRoutes(service: service).add(to: &table)
        if settings.dicomweb == .own { DICOMwebRoutes(service: service).add(to: &table) }
        WebFiles(webRoot: settings.webRoot, leafletRoot: settings.leafletRoot).add(to: &table)
        self.table = table
    }

    /// The answer to `request`; never throws, never traps on what the request holds.
    public func respond(_ request: RouteRequest) -> RouteResponse {
        var response = dispatch(request)
        if let origin = request.header("origin"), let allowed = allowedOrigin(origin, path: request.path) {
            response.setHeader("Access-Control-Allow-Origin", allowed)
            response.setHeader("Vary", "Origin")
        }
        return response
    }

    /// The value of Access-Control-Allow-Origin for `origin`, or nil when it is not allowed. IIIF is open
    /// to every origin unless origins are configured: its level 1 requires CORS, and its images are
    /// meant for viewers on other sites (the token still guards them).
    public func allowedOrigin(_ origin: String, path: String = "") -> String? {
        if settings.corsOrigins.contains("*") { return "*" }
        if settings.corsOrigins.isEmpty, RouteTable.segments(path)?.first == "iiif" { return "*" }
        return settings.corsOrigins.contains(origin) ? origin : nil
    }

    /// Whether the request carries the token (header or query), compared in constant time.
    public func authorized(_ request: RouteRequest) -> Bool {
        guard let token = settings.token else { return true }
        if let header = request.header("authorization"), Self.constantTimeEqual(header, "Bearer \(token)") { return true }
        if let query = request.query("access_token"), Self.constantTimeEqual(query, token) { return true }
        return false
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = x.count ^ y.count
        for i in 0..<max(x.count, y.count) { difference |= Int((i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)) }
        return difference == 0
    }

    private func dispatch(_ request: RouteRequest) -> RouteResponse {
        guard let segments = RouteTable.segments(request.path) else { return .error(404, "not found") }
        if request.method == "OPTIONS" {
            var response = RouteResponse(status: 204, headers: [("Allow", "GET, HEAD, OPTIONS")])
            if let origin = request.header("origin"), allowedOrigin(origin, path: request.path) != nil {
                response.headers += [("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
                                     ("Access-Control-Allow-Headers", "Accept, Authorization, Content-Type, Origin"),
                                     ("Access-Control-Max-Age", "600")]
            }
            return response
        }
        guard let (route, parameters) = table.match(segments) else { return .error(404, "not found") }
        guard request.method == "GET" || request.method == "HEAD" else {
            var response = RouteResponse.error(405, "method \(request.method) is not allowed here")
            response.setHeader("Allow", "GET, HEAD, OPTIONS")
            return response
        }
        if route.access == .data && !authorized(request) {
            var response = RouteResponse.error(401, "a bearer token is required")
            response.setHeader("WWW-Authenticate", "Bearer")
            return response
        }
        var response: RouteResponse
        do {
            response = try route.handler(request, parameters)
        } catch let error as TileServiceError {
            switch error {
            case .notFound(let message): response = .error(404, message)
            case .badRequest(let message): response = .error(400, message)
            case .unsupported(let message): response = .error(415, message)
            case .notAcceptable(let message): response = .error(406, message)
            case .tooLarge(let message): response = .error(413, message)
            case .failed(let message):
                logger.error("\(route.pattern): \(message)")
                response = .error(500, "the server could not answer this request")
            }
        } catch {
            logger.error("\(route.pattern): \(error)")
            response = .error(500, "the server could not answer this request")
        }
        if request.method == "HEAD" {
            response.setHeader("Content-Length", String(response.body.count))
            response.body = Data()
        }
        return response
    }
}
