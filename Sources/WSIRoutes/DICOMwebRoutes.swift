import Foundation
import WSICodecs
import WSIDICOM
import WSITileService

/// The DICOMweb subset real WSI clients use (wsidicom, large_image, dicomweb-client, Slim): QIDO-RS
/// searches at the three levels (`QIDOSearch`), metadata as DICOM JSON with the ICC profile inline
/// (large binary values as BulkDataURIs), bulk data, frames stored or transcoded on Accept (`WADOFrames`), rendered instances and
/// frames (`WADORendered`), and whole instances (`WADORetrieve`). Mounted under `/dicomweb`.
struct DICOMwebRoutes {
    let service: TileService
    static let dicomJSON = "application/dicom+json"

    func add(to table: inout RouteTable) {
        let routes = self
        let service = service
        let frames = WADOFrames(service: service)
        let rendered = WADORendered(service: service)
        let retrieve = WADORetrieve(service: service)

        // QIDO-RS.
        func search(_ pattern: String, _ level: QIDOAttributes.Level) {
            table.get(pattern) { request, parameters in
                let query = try QIDOQuery(request.query, level: level)
                let study = try parameters.optional("study")
                let series = try parameters.optional("series")
                let results = QIDOSearch(service: service, baseURL: request.baseURL).search(level, query: query, study: study, series: series)
                return .json(results, contentType: Self.dicomJSON)
            }
        }
        search("/dicomweb/studies", .study)
        search("/dicomweb/series", .series)
        search("/dicomweb/instances", .instance)
        search("/dicomweb/studies/:study/series", .series)
        search("/dicomweb/studies/:study/instances", .instance)
        search("/dicomweb/studies/:study/series/:series/instances", .instance)

        // Metadata.
        table.get("/dicomweb/studies/:study/metadata") { request, parameters in
            let slides = try routes.study(parameters)
            return .json(slides.flatMap { slide in slide.files.map { routes.metadata($0, slide: slide, baseURL: request.baseURL) } },
                         contentType: Self.dicomJSON)
        }
        table.get("/dicomweb/studies/:study/series/:series/metadata") { request, parameters in
            let slide = try routes.series(parameters)
            return .json(slide.files.map { routes.metadata($0, slide: slide, baseURL: request.baseURL) }, contentType: Self.dicomJSON)
        }
        table.get("/dicomweb/studies/:study/series/:series/instances/:instance/metadata") { request, parameters in
            let (slide, file) = try routes.instance(parameters)
            return .json([routes.metadata(file, slide: slide, baseURL: request.baseURL)], contentType: Self.dicomJSON)
        }
        table.get("/dicomweb/studies/:study/series/:series/instances/:instance/bulkdata/*") { request, parameters in
            let (_, file) = try routes.instance(parameters)
            return try retrieve.bulkData(file, path: parameters.rest, accept: request.header("accept"))
        }

        // Whole instances.
        table.get("/dicomweb/studies/:study") { request, parameters in
            try retrieve.instances(try routes.study(parameters).flatMap(\.files), accept: request.header("accept"))
        }
        table.get("/dicomweb/studies/:study/series/:series") { request, parameters in
            try retrieve.instances(try routes.series(parameters).files, accept: request.header("accept"))
        }
        table.get("/dicomweb/studies/:study/series/:series/instances/:instance") { request, parameters in
            try retrieve.instances([try routes.instance(parameters).1], accept: request.header("accept"))
        }

        // Frames and rendered images.
        table.get("/dicomweb/studies/:study/series/:series/instances/:instance/frames/:frames") { request, parameters in
            let (_, file) = try routes.instance(parameters)
            let numbers = try WADOFrames.frameNumbers(try parameters.string("frames"), file: file)
            return try frames.frames(file, numbers: numbers, accept: request.header("accept"))
        }
        table.get("/dicomweb/studies/:study/series/:series/instances/:instance/frames/:frames/rendered") { request, parameters in
            let (_, file) = try routes.instance(parameters)
            let numbers = try WADOFrames.frameNumbers(try parameters.string("frames"), file: file)
            guard numbers.count == 1, let number = numbers.first else { throw TileServiceError.badRequest("render one frame at a time") }
            return try rendered.frame(file, number: number, accept: request.header("accept"))
        }
        table.get("/dicomweb/studies/:study/series/:series/instances/:instance/rendered") { request, parameters in
            let (_, file) = try routes.instance(parameters)
            return try rendered.instance(file, accept: request.header("accept"))
        }
    }

    /// An instance's data set as DICOM JSON, with its transfer syntax, and binary elements (the ICC
    /// profile) inline, or when large as absolute BulkDataURIs answered by the bulkdata route.
    func metadata(_ file: DICOMFile, slide: Slide, baseURL: String) -> [String: Any] {
        let sop = file.dataSet.string(.sopInstanceUID) ?? ""
        let instanceURL = "\(baseURL)/dicomweb/studies/\(slide.studyInstanceUID)/series/\(slide.id)/instances/\(sop)"
        var object = DICOMJSON.object(file.dataSet) { path in "\(instanceURL)/bulkdata/\(path)" }
        object["00020010"] = ["vr": "UI", "Value": [file.transferSyntaxUID]]
        return object
    }

    func study(_ parameters: RouteParameters) throws -> [Slide] {
        let study = try parameters.string("study")
        let slides = service.store.slides.filter { $0.studyInstanceUID == study }
        guard !slides.isEmpty else { throw TileServiceError.notFound("no study \(study)") }
        return slides
    }

    func series(_ parameters: RouteParameters) throws -> Slide {
        let study = try parameters.string("study")
        let slide = try service.slide(try parameters.string("series"))
        guard slide.studyInstanceUID == study else { throw TileServiceError.notFound("series \(slide.id) is not in study \(study)") }
        return slide
    }

    func instance(_ parameters: RouteParameters) throws -> (Slide, DICOMFile) {
        let uid = try parameters.string("instance")
        let slide = try series(parameters)
        guard let file = slide.files.first(where: { $0.dataSet.string(.sopInstanceUID) == uid }) else {
            throw TileServiceError.notFound("no instance \(uid) in this series")
        }
        return (slide, file)
    }
}

extension RouteParameters {
    /// A parameter the route may not have (nil), or a 400 when present and malformed.
    func optional(_ name: String) throws -> String? {
        values[name] == nil ? nil : try string(name)
    }
}

/// Finds where a frame of an instance sits in its slide's pyramid.
enum PyramidLookup {
    static func image(containing file: DICOMFile, in service: TileService) -> TiledImage? {
        guard let slide = service.store.slide(file.dataSet.string(.seriesInstanceUID) ?? "") else { return nil }
        return (slide.levels + Array(slide.associated.values)).first { $0.files.contains { $0 === file } }
    }
}
