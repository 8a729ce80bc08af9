import Foundation
import Hummingbird
import NIOCore
import WSITileService

/// JSON bodies, JSON errors and image bodies, shared by every route file.
enum HTTP {
    static func json(_ object: Any, status: HTTPResponse.Status = .ok, contentType: String = "application/json") -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: contentType, .cacheControl: "no-cache"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(["error": ["status": Int(status.code), "message": message]], status: status)
    }

    static func image(_ image: EncodedImage, cacheSeconds: Int = 3600) -> Response {
        Response(status: .ok, headers: [.contentType: image.mediaType, .cacheControl: "public, max-age=\(cacheSeconds)"],
                 body: .init(byteBuffer: ByteBuffer(bytes: image.data)))
    }

    /// The scheme and host the client used, for absolute links (IIIF ids must be absolute).
    static func baseURL(_ request: Request) -> String {
        let host = request.head.authority ?? "localhost"
        let scheme = request.head.scheme ?? "http"
        return "\(scheme)://\(host)"
    }

    /// A non-negative integer path parameter, or a 400.
    static func index(_ context: some RequestContext, _ name: String) throws -> Int {
        guard let text = context.parameters.get(name), let value = Int(text), value >= 0, value < 1 << 30 else {
            throw TileServiceError.badRequest("\(name) must be a non-negative integer")
        }
        return value
    }

    static func parameter(_ context: some RequestContext, _ name: String) throws -> String {
        guard let text = context.parameters.get(name), !text.isEmpty, text.count <= 256 else {
            throw TileServiceError.badRequest("missing or malformed \(name)")
        }
        return text
    }

    /// PNG when `?format=png` or an Accept header that prefers it; JPEG otherwise.
    static func format(_ request: Request) throws -> ImageFormat {
        if let asked = request.uri.queryParameters.get("format") {
            switch asked.lowercased() {
            case "png": return .png
            case "jpeg", "jpg": return .jpeg
            default: throw TileServiceError.badRequest("format must be jpeg or png")
            }
        }
        let accept = request.headers[.accept] ?? ""
        if accept.contains("image/png") && !accept.contains("image/jpeg") { return .png }
        return .jpeg
    }
}

/// Turns service errors and router errors into JSON error bodies with their status codes.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as TileServiceError {
            switch error {
            case .notFound(let message): return HTTP.error(.notFound, message)
            case .badRequest(let message): return HTTP.error(.badRequest, message)
            case .unsupported(let message): return HTTP.error(.unsupportedMediaType, message)
            case .failed(let message):
                context.logger.error("\(request.uri.path): \(message)")
                return HTTP.error(.internalServerError, message)
            }
        } catch let error as HTTPError {
            return HTTP.error(error.status, error.body ?? error.status.reasonPhrase)
        }
    }
}

/// Optional bearer-token authentication for the data routes: `Authorization: Bearer TOKEN`, or
/// `?access_token=TOKEN` for image tags that cannot send headers.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        let protected = ["/api/", "/wsi/", "/iiif/", "/dicomweb/"].contains { path.hasPrefix($0) } || path == "/api"
        guard protected, request.method != .options else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        let query = request.uri.queryParameters.get("access_token")
        guard header == "Bearer \(token)" || query == token else {
            var response = HTTP.error(.unauthorized, "a bearer token is required")
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await next(request, context)
    }
}

/// CORS for viewers on other origins: the allowed origins (or any, with "*") get the CORS headers, and
/// preflight requests are answered here.
struct AllowedOriginsMiddleware<Context: RequestContext>: RouterMiddleware {
    let origins: [String]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], origins.contains("*") || origins.contains(origin) else {
            return try await next(request, context)
        }
        let allowed = origins.contains("*") ? "*" : origin
        if request.method == .options {
            return Response(status: .noContent, headers: [
                .accessControlAllowOrigin: allowed, .accessControlAllowMethods: "GET, HEAD, OPTIONS",
                .accessControlAllowHeaders: "Accept, Authorization, Content-Type, Origin", .accessControlMaxAge: "600", .vary: "Origin",
            ])
        }
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = allowed
        response.headers[.vary] = "Origin"
        return response
    }
}
