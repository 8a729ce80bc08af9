import Foundation
import Hummingbird
import WSITileService

/// Our own JSON API: the slide list, one slide's pyramid, tiles and associated images.
struct SlideAPIRoutes {
    let service: TileService

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/api/slides") { request, _ -> Response in
            let base = HTTP.baseURL(request)
            return HTTP.json(["slides": service.library.slides.map { summary($0, base: base) }])
        }
        router.get("/api/slides/:id") { request, context -> Response in
            let slide = try service.slide(try HTTP.parameter(context, "id"))
            return HTTP.json(detail(slide, base: HTTP.baseURL(request)))
        }
        router.get("/api/slides/:id/tiles/:level/:col/:row") { request, context -> Response in
            let slide = try service.slide(try HTTP.parameter(context, "id"))
            let tile = try service.tile(slide: slide, level: try HTTP.index(context, "level"), col: try HTTP.index(context, "col"),
                                        row: try HTTP.index(context, "row"), format: try HTTP.format(request))
            return HTTP.image(tile)
        }
        router.get("/api/slides/:id/associated/:kind") { request, context -> Response in
            let slide = try service.slide(try HTTP.parameter(context, "id"))
            let name = try HTTP.parameter(context, "kind")
            guard let kind = AssociatedKind(rawValue: name) else {
                throw TileServiceError.badRequest("associated image must be label, overview or thumbnail")
            }
            return HTTP.image(try service.associated(slide: slide, kind: kind, format: try HTTP.format(request)))
        }
    }

    func links(_ slide: Slide, base: String) -> [String: Any] {
        var links: [String: Any] = [
            "self": "\(base)/api/slides/\(slide.id)",
            "tiles": "\(base)/api/slides/\(slide.id)/tiles/{level}/{col}/{row}",
            "iiif": "\(base)/iiif/\(slide.id)/info.json",
            "orthanc": "\(base)/wsi/pyramids/\(slide.id)",
            "dicomweb": "\(base)/dicomweb/studies/\(slide.studyInstanceUID)/series/\(slide.id)/metadata",
            "viewer": "\(base)/viewer.html#slide=\(slide.id)",
        ]
        for kind in AssociatedKind.allCases where slide.associated[kind] != nil {
            links[kind.rawValue] = "\(base)/api/slides/\(slide.id)/associated/\(kind.rawValue)"
        }
        return links
    }

    func mpp(_ slide: Slide) -> Any {
        guard let x = slide.mppX, let y = slide.mppY else { return NSNull() }
        return ["x": x, "y": y]
    }

    func summary(_ slide: Slide, base: String) -> [String: Any] {
        [
            "id": slide.id, "name": slide.name, "width": slide.width, "height": slide.height, "mpp": mpp(slide),
            "levelCount": slide.levels.count, "associated": AssociatedKind.allCases.filter { slide.associated[$0] != nil }.map(\.rawValue),
            "links": links(slide, base: base),
        ]
    }

    func detail(_ slide: Slide, base: String) -> [String: Any] {
        var result = summary(slide, base: base)
        result["studyInstanceUID"] = slide.studyInstanceUID
        result["levels"] = slide.levels.enumerated().map { index, level -> [String: Any] in
            [
                "level": index, "width": level.width, "height": level.height, "tileWidth": level.tileWidth, "tileHeight": level.tileHeight,
                "tilesAcross": level.tilesAcross, "tilesDown": level.tilesDown, "downsample": slide.downsample(index),
                "encoding": describe(level.encoding),
            ]
        }
        result["associatedImages"] = AssociatedKind.allCases.compactMap { kind -> [String: Any]? in
            guard let image = slide.associated[kind] else { return nil }
            return ["kind": kind.rawValue, "width": image.width, "height": image.height, "url": "\(base)/api/slides/\(slide.id)/associated/\(kind.rawValue)"]
        }
        return result
    }

    func describe(_ encoding: FrameEncoding) -> String {
        switch encoding {
        case .jpeg: return "jpeg"
        case .jpeg2000: return "jpeg2000"
        case .native: return "uncompressed"
        case .unsupported(let syntax): return "unsupported (\(syntax))"
        }
    }
}

/// Orthanc WSI's routes, with the same JSON shape, for viewers written against Orthanc.
struct OrthancRoutes {
    let service: TileService

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/wsi/pyramids/:id") { _, context -> Response in
            let slide = try service.slide(try HTTP.parameter(context, "id"))
            let base = slide.levels[0]
            return HTTP.json([
                "ID": slide.id,
                "Resolutions": slide.levels.indices.map { slide.downsample($0) },
                "Sizes": slide.levels.map { [$0.width, $0.height] },
                "TileWidth": base.tileWidth,
                "TileHeight": base.tileHeight,
                "TilesCount": slide.levels.map { [$0.tilesAcross, $0.tilesDown] },
                "TotalWidth": slide.width,
                "TotalHeight": slide.height,
                "BackgroundColor": "#ffffff",
            ])
        }
        router.get("/wsi/tiles/:id/:level/:col/:row") { request, context -> Response in
            let slide = try service.slide(try HTTP.parameter(context, "id"))
            return HTTP.image(try service.tile(slide: slide, level: try HTTP.index(context, "level"), col: try HTTP.index(context, "col"),
                                               row: try HTTP.index(context, "row"), format: try HTTP.format(request)))
        }
    }
}

/// IIIF Image API 3.0, level 1.
struct IIIFRoutes {
    let service: TileService

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/iiif/:id") { request, context -> Response in
            let id = try HTTP.parameter(context, "id")
            _ = try service.slide(id)
            return Response(status: .seeOther, headers: [.location: "\(HTTP.baseURL(request))/iiif/\(id)/info.json"])
        }
        router.get("/iiif/:id/info.json") { request, context -> Response in
            let slide = try service.slide(try HTTP.parameter(context, "id"))
            let info = IIIF.info(slide: slide, id: "\(HTTP.baseURL(request))/iiif/\(slide.id)")
            let accept = request.headers[.accept] ?? ""
            let type = accept.contains("application/ld+json")
                ? "application/ld+json;profile=\"http://iiif.io/api/image/3/context.json\"" : "application/json"
            return HTTP.json(info, contentType: type)
        }
        router.get("/iiif/:id/:region/:size/:rotation/:quality") { _, context -> Response in
            let slide = try service.slide(try HTTP.parameter(context, "id"))
            let request = try IIIF.parse(region: try HTTP.parameter(context, "region"), size: try HTTP.parameter(context, "size"),
                                         rotation: try HTTP.parameter(context, "rotation"), qualityAndFormat: try HTTP.parameter(context, "quality"),
                                         imageWidth: slide.width, imageHeight: slide.height)
            return HTTP.image(try service.iiif(slide: slide, request: request))
        }
    }
}
