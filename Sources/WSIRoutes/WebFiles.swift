import Foundation
import WSITileService

/// The viewer's static files and Leaflet, open to anyone (they hold no slide data). Names are checked
/// segment by segment (letters, digits, '.', '-', '_', no leading dot), so nothing outside the two
/// folders can be named, and a file is served with the type its own extension gives.
struct WebFiles {
    let webRoot: String?
    let leafletRoot: String?

    static let types = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "json": "application/json", "ico": "image/x-icon",
    ]

    func add(to table: inout RouteTable) {
        let web = webRoot, leaflet = leafletRoot
        table.get("/", access: .open) { request, _ in
            // Under a mount ("/dicomizer"), relative links need the trailing slash some hosts drop: name the page.
            if !request.path.hasSuffix("/") || request.path == "" { return .redirect("\(request.baseURL)/index.html", status: 302) }
            return try Self.file(root: web, ["index.html"])
        }
        table.get("/:name", access: .open) { _, parameters in try Self.file(root: web, [try parameters.string("name")]) }
        table.get("/vendor/leaflet/*", access: .open) { _, parameters in try Self.file(root: leaflet, parameters.rest) }
    }

    static func file(root: String?, _ segments: [String]) throws -> RouteResponse {
        guard let root, !segments.isEmpty, segments.count <= 4 else { throw TileServiceError.notFound("not found") }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
        for segment in segments {
            guard !segment.isEmpty, segment.count <= 128, !segment.hasPrefix("."), segment.allSatisfy(allowed.contains) else {
                throw TileServiceError.notFound("not found")
            }
        }
        let name = segments.last ?? ""
        let ext = name.split(separator: ".").last.map { String($0).lowercased() } ?? ""
        guard let type = types[ext] else { throw TileServiceError.notFound("not found") }
        let path = ([root] + segments).joined(separator: "/")
        guard let data = FileManager.default.contents(atPath: path) else { throw TileServiceError.notFound("not found") }
        return RouteResponse(status: 200, headers: [("Content-Type", type), ("Cache-Control", "no-cache")], body: data)
    }
}
