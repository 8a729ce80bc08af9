import Foundation
import WSITileService

/// Our own JSON API: the slide list, one slide's pyramid, tiles and associated images.
struct SlideAPIRoutes {
    let service: TileService
    let dicomweb: DICOMwebMount

    func add(to table: inout RouteTable) {
        let service = service
        let api = self
        table.get("/api/slides") { request, _ in
            .json(["slides": service.store.slides.map { api.summary($0, base: request.baseURL) }])
        }
        table.get("/api/slides/:id") { request, parameters in
            .json(api.detail(try service.slide(try parameters.string("id")), base: request.baseURL))
        }
        table.get("/api/slides/:id/tiles/:level/:col/:row") { request, parameters in
            let slide = try service.slide(try parameters.string("id"))
            return .image(try service.tile(slide: slide, level: try parameters.index("level"), col: try parameters.index("col"),
                                           row: try parameters.index("row"), format: try ImageRequest.format(request)))
        }
        table.get("/api/slides/:id/associated/:kind") { request, parameters in
            let slide = try service.slide(try parameters.string("id"))
            guard let kind = AssociatedKind(rawValue: try parameters.string("kind")) else {
                throw TileServiceError.badRequest("associated image must be label, overview or thumbnail")
            }
            return .image(try service.associated(slide: slide, kind: kind, format: try ImageRequest.format(request)))
        }
    }

    func links(_ slide: Slide, base: String) -> [String: Any] {
        var links: [String: Any] = [
            "self": "\(base)/api/slides/\(slide.id)",
            "tiles": "\(base)/api/slides/\(slide.id)/tiles/{level}/{col}/{row}",
            "iiif": "\(base)/iiif/\(slide.id)/info.json",
            "orthanc": "\(base)/wsi/pyramids/\(slide.id)",
            "viewer": "\(base)/viewer.html#slide=\(slide.id)",
        ]
        switch dicomweb {
        case .own: links["dicomweb"] = "\(base)/dicomweb/studies/\(slide.studyInstanceUID)/series/\(slide.id)/metadata"
        case .external(let root): links["dicomweb"] = "\(root)/studies/\(slide.studyInstanceUID)/series/\(slide.id)/metadata"
        case .none: break
        }
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

/// What image format a request wants.
enum ImageRequest {
    /// PNG when `?format=png` or an Accept header that prefers it; JPEG otherwise.
    static func format(_ request: RouteRequest) throws -> ImageFormat {
        if let asked = request.query("format") {
            switch asked.lowercased() {
            case "png": return .png
            case "jpeg", "jpg": return .jpeg
            default: throw TileServiceError.badRequest("format must be jpeg or png")
            }
        }
        let accept = request.header("accept") ?? ""
        if accept.contains("image/png") && !accept.contains("image/jpeg") { return .png }
        return .jpeg
    }
}
