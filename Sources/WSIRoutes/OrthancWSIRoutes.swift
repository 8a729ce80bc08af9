import Foundation
import WSITileService

/// Orthanc WSI's routes with the JSON shape its plugin gives (its viewer reads `TilesSizes`), so that
/// viewers and scripts written against Orthanc work against us.
struct OrthancWSIRoutes {
    let service: TileService

    func add(to table: inout RouteTable) {
        let service = service
        table.get("/wsi/pyramids/:id") { _, parameters in
            let id = try parameters.string("id")
            return .json(Self.pyramid(try service.slide(id), id: id))
        }
        table.get("/wsi/tiles/:id/:level/:col/:row") { request, parameters in
            let slide = try service.slide(try parameters.string("id"))
            return .image(try service.tile(slide: slide, level: try parameters.index("level"), col: try parameters.index("col"),
                                           row: try parameters.index("row"), format: try ImageRequest.format(request)))
        }
    }

    /// Orthanc WSI's answer: `Resolutions` are level 0's width over each level's, as it computes them;
    /// `ID` is the identifier asked for. `TileWidth` and `TileHeight` (level 0's) are ours, for older clients.
    static func pyramid(_ slide: Slide, id: String) -> [String: Any] {
        let base = slide.levels[0]
        return [
            "ID": id,
            "Resolutions": slide.levels.map { Double(Float(Double(slide.width) / Double($0.width))) },
            "Sizes": slide.levels.map { [$0.width, $0.height] },
            "TileWidth": base.tileWidth,
            "TileHeight": base.tileHeight,
            "TilesCount": slide.levels.map { [$0.tilesAcross, $0.tilesDown] },
            "TilesSizes": slide.levels.map { [$0.tileWidth, $0.tileHeight] },
            "TotalWidth": slide.width,
            "TotalHeight": slide.height,
            "BackgroundColor": "#ffffff",
        ]
    }
}
