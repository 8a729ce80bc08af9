import Foundation
import WSICodecs
import WSIDICOM
import WSITileService

/// A DICOMweb WADO-RS / QIDO-RS subset for Slim-style viewers: study, series and instance searches,
/// series metadata as DICOM JSON, and frames as multipart/related.
struct DICOMwebRoutes {
    let service: TileService
    static let dicomJSON = "application/dicom+json"

    func add(to table: inout RouteTable) {
        let routes = self
        let service = service
        table.get("/dicomweb/studies") { _, _ in
            var studies: [String: Slide] = [:]
            for slide in service.store.slides { studies[slide.studyInstanceUID] = studies[slide.studyInstanceUID] ?? slide }
            return .json(studies.values.map { routes.summary(of: $0.files[0].dataSet, tags: Self.studyTags) }, contentType: Self.dicomJSON)
        }
        table.get("/dicomweb/studies/:study/series") { _, parameters in
            let study = try parameters.string("study")
            let series = service.store.slides.filter { $0.studyInstanceUID == study }
            guard !series.isEmpty else { throw TileServiceError.notFound("no study \(study)") }
            return .json(series.map { routes.summary(of: $0.files[0].dataSet, tags: Self.seriesTags) }, contentType: Self.dicomJSON)
        }
        table.get("/dicomweb/studies/:study/series/:series/instances") { _, parameters in
            let slide = try routes.series(parameters)
            return .json(slide.files.map { routes.summary(of: $0.dataSet, tags: Self.instanceTags) }, contentType: Self.dicomJSON)
        }
        table.get("/dicomweb/studies/:study/series/:series/metadata") { _, parameters in
            let slide = try routes.series(parameters)
            return .json(slide.files.map { routes.metadata($0) }, contentType: Self.dicomJSON)
        }
        table.get("/dicomweb/studies/:study/series/:series/instances/:instance/metadata") { _, parameters in
            .json([routes.metadata(try routes.instance(parameters))], contentType: Self.dicomJSON)
        }
        table.get("/dicomweb/studies/:study/series/:series/instances/:instance/frames/:frames") { request, parameters in
            let file = try routes.instance(parameters)
            let parts = try parameters.string("frames").split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count <= 1000 else { throw TileServiceError.badRequest("at most 1000 frames per request") }
            let list = try parts.map { part -> Int in
                guard let n = Int(part) else { throw TileServiceError.badRequest("frame numbers must be integers: '\(part)'") }
                guard n >= 1, n <= file.numberOfFrames else {
                    throw TileServiceError.notFound("frame \(part) does not exist (1 to \(file.numberOfFrames))")
                }
                return n
            }
            return try routes.frames(file, numbers: list, accept: request.header("accept") ?? "*/*")
        }
    }

    static let studyTags: [Tag] = [.specificCharacterSet, .studyDate, .studyTime, .accessionNumber, .referringPhysicianName, .patientName,
                                   .patientID, .patientBirthDate, .patientSex, .studyInstanceUID, .studyID, .studyDescription]
    static let seriesTags: [Tag] = [.specificCharacterSet, .modality, .seriesDescription, .studyInstanceUID, .seriesInstanceUID, .seriesNumber]
    static let instanceTags: [Tag] = [.specificCharacterSet, .sopClassUID, .sopInstanceUID, .studyInstanceUID, .seriesInstanceUID, .instanceNumber,
                                      .imageType, .rows, .columns, .numberOfFrames, .totalPixelMatrixColumns, .totalPixelMatrixRows]

    func summary(of dataSet: DataSet, tags: [Tag]) -> [String: Any] {
        var subset = DataSet()
        for tag in tags { if let value = dataSet[tag] { subset[tag] = value } }
        return DICOMJSON.object(subset)
    }

    func metadata(_ file: DICOMFile) -> [String: Any] {
        var object = DICOMJSON.object(file.dataSet)
        object["00020010"] = ["vr": "UI", "Value": [file.transferSyntaxUID]]
        return object
    }

    func series(_ parameters: RouteParameters) throws -> Slide {
        let study = try parameters.string("study")
        let slide = try service.slide(try parameters.string("series"))
        guard slide.studyInstanceUID == study else { throw TileServiceError.notFound("series \(slide.id) is not in study \(study)") }
        return slide
    }

    func instance(_ parameters: RouteParameters) throws -> DICOMFile {
        let uid = try parameters.string("instance")
        guard let file = try series(parameters).files.first(where: { $0.dataSet.string(.sopInstanceUID) == uid }) else {
            throw TileServiceError.notFound("no instance \(uid) in this series")
        }
        return file
    }

    /// The stored bitstreams when the client accepts them (any type, `transfer-syntax=*`, or the stored
    /// media type); uncompressed samples when it asks for application/octet-stream with the default syntax.
    func frames(_ file: DICOMFile, numbers: [Int], accept: String) throws -> RouteResponse {
        let stored = file.transferSyntaxUID
        let storedType: String
        switch stored {
        case TransferSyntax.jpegBaseline.rawValue, TransferSyntax.jpegExtended.rawValue: storedType = "image/jpeg"
        case TransferSyntax.jpeg2000.rawValue, TransferSyntax.jpeg2000Lossless.rawValue: storedType = "image/jp2"
        default: storedType = "application/octet-stream"
        }
        let wantsStored = accept.contains("*/*") || accept.contains("transfer-syntax=*") || accept.contains(storedType)
            || accept.contains("transfer-syntax=\(stored)") || accept.isEmpty || accept.contains("multipart/related; type=\"*\"")
            || accept.contains("type=*")
        var partType = storedType
        var syntax = stored
        var bodies: [Data]
        if wantsStored || storedType == "application/octet-stream" {
            bodies = try numbers.map { try service.frameData(file, $0 - 1) }
        } else if accept.contains("application/octet-stream") {
            // Uncompressed, decoded server-side.
            guard let image = PyramidLookup.image(containing: file, in: service) else { throw TileServiceError.notFound("frame's level not found") }
            bodies = try numbers.map { n in
                let (col, row) = try PyramidLookup.position(of: n - 1, in: file, image: image)
                return Data(try service.decodedTile(of: image, col: col, row: row).pixels)
            }
            partType = "application/octet-stream"
            syntax = TransferSyntax.explicitVRLittleEndian.rawValue
        } else {
            throw TileServiceError.notAcceptable("frames are stored as \(storedType) (transfer syntax \(stored)); accept it, */* or transfer-syntax=*")
        }
        let boundary = "dicomizer-\(UUID().uuidString)"
        var body = Data()
        for part in bodies {
            body.append(Data("--\(boundary)\r\nContent-Type: \(partType); transfer-syntax=\(syntax)\r\nContent-Length: \(part.count)\r\n\r\n".utf8))
            body.append(part)
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        return RouteResponse(status: 200, headers: [("Content-Type", "multipart/related; type=\"\(partType)\"; boundary=\(boundary)")], body: body)
    }
}

/// Finds where a frame of an instance sits in its slide's pyramid.
enum PyramidLookup {
    static func image(containing file: DICOMFile, in service: TileService) -> TiledImage? {
        guard let slide = service.store.slide(file.dataSet.string(.seriesInstanceUID) ?? "") else { return nil }
        return (slide.levels + Array(slide.associated.values)).first { $0.files.contains { $0 === file } }
    }

    static func position(of frame: Int, in file: DICOMFile, image: TiledImage) throws -> (Int, Int) {
        for row in 0..<image.tilesDown {
            for col in 0..<image.tilesAcross {
                if let ref = image.frame(col: col, row: row), ref.file === file, ref.index == frame { return (col, row) }
            }
        }
        throw TileServiceError.notFound("frame \(frame + 1) is not placed in the pyramid")
    }
}
