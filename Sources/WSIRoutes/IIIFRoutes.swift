import Foundation
import WSITileService

/// IIIF Image API 3.0 (see `IIIF` for the level and features).
struct IIIFRoutes {
    let service: TileService

    func add(to table: inout RouteTable) {
        let service = service
        table.get("/iiif/:id") { request, parameters in
            let id = try parameters.string("id")
            _ = try service.slide(id)
            return .redirect("\(request.baseURL)/iiif/\(id)/info.json")
        }
        table.get("/iiif/:id/info.json") { request, parameters in
            let slide = try service.slide(try parameters.string("id"))
            let info = IIIF.info(slide: slide, id: "\(request.baseURL)/iiif/\(slide.id)")
            let accept = request.header("accept") ?? ""
            let type = accept.contains("application/ld+json")
                ? "application/ld+json;profile=\"http://iiif.io/api/image/3/context.json\"" : "application/json"
            return .json(info, contentType: type)
        }
        table.get("/iiif/:id/:region/:size/:rotation/:quality") { _, parameters in
            let slide = try service.slide(try parameters.string("id"))
            let request = try IIIF.parse(region: try parameters.string("region"), size: try parameters.string("size"),
                                         rotation: try parameters.string("rotation"), qualityAndFormat: try parameters.string("quality"),
                                         imageWidth: slide.width, imageHeight: slide.height)
            return .image(try service.iiif(slide: slide, request: request))
        }
    }
}
