import Foundation
import WSITileService

/// An HTTP request as the route table sees it, whichever server received it (`dicomizer serve`'s
/// Hummingbird, or Orthanc through its plugin SDK).
public struct RouteRequest: Sendable {
    /// "GET", "HEAD", "OPTIONS", ...
    public var method: String
    /// The path below the mount point, still percent-encoded, without the query: "/api/slides".
    public var path: String
    /// Query parameters, percent-decoded, in order.
    public var query: [(name: String, value: String)]
    /// Header values by lower-cased name.
    public var headers: [String: String]
    /// Scheme, host and mount point for absolute links: "http://127.0.0.1:8080" or "http://pacs:8042/dicomizer".
    public var baseURL: String

    public init(method: String, path: String, query: [(name: String, value: String)] = [], headers: [String: String] = [:], baseURL: String) {
        self.method = method.uppercased()
        self.path = path
        self.query = query
        self.headers = headers
        self.baseURL = baseURL
    }

    /// Splits a raw query string ("a=1&b=%20x") into decoded pairs.
    public static func parseQuery(_ raw: String?) -> [(name: String, value: String)] {
        guard let raw, !raw.isEmpty else { return [] }
        return raw.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// The first value of query parameter `name`.
    public func query(_ name: String) -> String? { query.first { $0.name == name }?.value }

    /// The base URL a host should use: the configured public URL, else the request's scheme and Host
    /// header when it is a plain host[:port] (anything else is not copied into links), plus the mount.
    public static func baseURL(publicURL: String?, scheme: String?, host: String?, mount: String) -> String {
        if let publicURL, !publicURL.isEmpty { return publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL }
        let scheme = scheme == "https" ? "https" : "http"
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")
        let host = host.flatMap { !$0.isEmpty && $0.count <= 255 && $0.allSatisfy(allowed.contains) ? $0 : nil } ?? "localhost"
        return "\(scheme)://\(host)\(mount)"
    }
}

/// An HTTP answer from the route table. The host copies it onto its own response type.
public struct RouteResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Data

    public init(status: Int, headers: [(name: String, value: String)] = [], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }

    public mutating func setHeader(_ name: String, _ value: String) {
        headers.removeAll { $0.name.lowercased() == name.lowercased() }
        headers.append((name, value))
    }

    public var contentType: String? { header("Content-Type") }

    static func json(_ object: Any, status: Int = 200, contentType: String = "application/json") -> RouteResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return RouteResponse(status: status, headers: [("Content-Type", contentType), ("Cache-Control", "no-cache")], body: data)
    }

    static func error(_ status: Int, _ message: String) -> RouteResponse {
        json(["error": ["status": status, "message": message]], status: status)
    }

    static func image(_ image: EncodedImage, cacheSeconds: Int = 3600) -> RouteResponse {
        RouteResponse(status: 200, headers: [("Content-Type", image.mediaType), ("Cache-Control", "public, max-age=\(cacheSeconds)")], body: image.data)
    }

    static func redirect(_ location: String, status: Int = 303) -> RouteResponse {
        RouteResponse(status: status, headers: [("Location", location)])
    }
}
