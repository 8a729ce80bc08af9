import Foundation
import WSITileService

/// Who may call a route: anyone (the viewer's pages), or holders of the token when one is set.
public enum RouteAccess: Sendable {
    case open
    case data
}

/// The values of a matched route's `:name` segments, percent-decoded.
public struct RouteParameters: Sendable {
    var values: [String: String] = [:]
    /// Segments matched by a trailing `*`.
    public var rest: [String] = []

    /// A non-empty parameter of at most 256 characters, or a 400.
    public func string(_ name: String) throws -> String {
        guard let text = values[name], !text.isEmpty, text.count <= 256 else {
            throw TileServiceError.badRequest("missing or malformed \(name)")
        }
        return text
    }

    /// A non-negative integer parameter below 2^30, or a 400.
    public func index(_ name: String) throws -> Int {
        guard let text = values[name], let value = Int(text), value >= 0, value < 1 << 30 else {
            throw TileServiceError.badRequest("\(name) must be a non-negative integer")
        }
        return value
    }
}

/// One route: a GET pattern such as `/api/slides/:id/tiles/:level/:col/:row`, its access, its handler.
public struct Route: Sendable {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        /// One or more remaining segments (static files below a folder).
        case rest
    }

    public let pattern: String
    let segments: [Segment]
    public let access: RouteAccess
    let handler: @Sendable (RouteRequest, RouteParameters) throws -> RouteResponse

    init(_ pattern: String, access: RouteAccess = .data, _ handler: @escaping @Sendable (RouteRequest, RouteParameters) throws -> RouteResponse) {
        self.pattern = pattern
        self.access = access
        self.handler = handler
        segments = pattern.split(separator: "/").map { part in
            if part == "*" { return .rest }
            return part.hasPrefix(":") ? .parameter(String(part.dropFirst())) : .literal(String(part))
        }
    }

    func match(_ path: [String]) -> RouteParameters? {
        var parameters = RouteParameters()
        for (index, segment) in segments.enumerated() {
            switch segment {
            case .rest:
                guard index < path.count else { return nil }
                parameters.rest = Array(path[index...])
                return parameters
            case .literal(let text):
                guard index < path.count, path[index] == text else { return nil }
            case .parameter(let name):
                guard index < path.count else { return nil }
                parameters.values[name] = path[index]
            }
        }
        return path.count == segments.count ? parameters : nil
    }
}

/// Routes in the order they are tried. Paths are matched segment by segment after percent-decoding;
/// empty segments are dropped, so `//api/slides` is `/api/slides`, and access is decided on the route
/// that matched, never on the raw path.
public struct RouteTable: Sendable {
    public private(set) var routes: [Route] = []

    public init() {}

    mutating func get(_ pattern: String, access: RouteAccess = .data,
                      _ handler: @escaping @Sendable (RouteRequest, RouteParameters) throws -> RouteResponse) {
        routes.append(Route(pattern, access: access, handler))
    }

    /// The decoded, non-empty segments of a raw path; nil when a segment does not decode or holds a NUL
    /// or a slash once decoded. (A backslash is left to the routes: IIIF answers 400 for it, and names
    /// of files are checked letter by letter.)
    public static func segments(_ rawPath: String) -> [String]? {
        var out: [String] = []
        for part in rawPath.split(separator: "/", omittingEmptySubsequences: true) {
            guard let decoded = String(part).removingPercentEncoding,
                  !decoded.contains(where: { $0 == "\0" || $0 == "/" }) else { return nil }
            out.append(decoded)
        }
        return out
    }

    /// The first route matching `segments`, with its parameters.
    public func match(_ segments: [String]) -> (Route, RouteParameters)? {
        for route in routes {
            if let parameters = route.match(segments) { return (route, parameters) }
        }
        return nil
    }
}
