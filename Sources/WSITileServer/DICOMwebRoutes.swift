import Foundation
import Hummingbird
import NIOCore
import WSICodecs
import WSIDICOM
import WSITileService

/// A DICOMweb WADO-RS / QIDO-RS subset for Slim-style viewers: study, series and instance searches,
/// series metadata as DICOM JSON, and frames as multipart/related.
struct DICOMwebRoutes {
    let service: TileService
    static let dicomJSON = "application/dicom+json"

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/dicomweb/studies") { _, _ -> Response in
            var studies: [String: Slide] = [:]
            for slide in service.library.slides { studies[slide.studyInstanceUID] = studies[slide.studyInstanceUID] ?? slide }
            return HTTP.json(studies.values.map { summary(of: $0.files[0].dataSet, tags: Self.studyTags) }, contentType: Self.dicomJSON)
        }
        router.get("/dicomweb/studies/:study/series") { _, context -> Response in
            let study = try HTTP.parameter(context, "study")
            let series = service.library.slides.filter { $0.studyInstanceUID == study }
            guard !series.isEmpty else { throw TileServiceError.notFound("no study \(study)") }
            return HTTP.json(series.map { summary(of: $0.files[0].dataSet, tags: Self.seriesTags) }, contentType: Self.dicomJSON)
        }
        router.get("/dicomweb/studies/:study/series/:series/instances") { _, context -> Response in
            let slide = try series(context)
            return HTTP.json(slide.files.map { summary(of: $0.dataSet, tags: Self.instanceTags) }, contentType: Self.dicomJSON)
        }
        router.get("/dicomweb/studies/:study/series/:series/metadata") { _, context -> Response in
            let slide = try series(context)
            return HTTP.json(slide.files.map { metadata($0) }, contentType: Self.dicomJSON)
        }
        router.get("/dicomweb/studies/:study/series/:series/instances/:instance/metadata") { _, context -> Response in
            let file = try instance(context)
            return HTTP.json([metadata(file)], contentType: Self.dicomJSON)
        }
        router.get("/dicomweb/studies/:study/series/:series/instances/:instance/frames/:frames") { request, context -> Response in
            let file = try instance(context)
            let list = try HTTP.parameter(context, "frames").split(separator: ",").map { part -> Int in
                guard let n = Int(part), n >= 1, n <= file.numberOfFrames else {
                    throw TileServiceError.notFound("frame \(part) does not exist (1 to \(file.numberOfFrames))")
                }
                return n
            }
            return try frames(file, numbers: list, accept: request.headers[.accept] ?? "*/*")
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

    func series(_ context: some RequestContext) throws -> Slide {
        let study = try HTTP.parameter(context, "study")
        let slide = try service.slide(try HTTP.parameter(context, "series"))
        guard slide.studyInstanceUID == study else { throw TileServiceError.notFound("series \(slide.id) is not in study \(study)") }
        return slide
    }

    func instance(_ context: some RequestContext) throws -> DICOMFile {
        let uid = try HTTP.parameter(context, "instance")
        guard let file = try series(context).files.first(where: { $0.dataSet.string(.sopInstanceUID) == uid }) else {
            throw TileServiceError.notFound("no instance \(uid) in this series")
        }
        return file
    }

    /// The stored bitstreams when the client accepts them (any type, `transfer-syntax=*`, or the stored
    /// media type); uncompressed samples when it asks for application/octet-stream with the default syntax.
    func frames(_ file: DICOMFile, numbers: [Int], accept: String) throws -> Response {
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
            bodies = numbers.map { file.frameData($0 - 1) }
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
            return HTTP.error(.notAcceptable, "frames are stored as \(storedType) (transfer syntax \(stored)); accept it, */* or transfer-syntax=*")
        }
        let boundary = "dicomizer-\(UUID().uuidString)"
        var body = Data()
        for part in bodies {
            body.append(Data("--\(boundary)\r\nContent-Type: \(partType); transfer-syntax=\(syntax)\r\nContent-Length: \(part.count)\r\n\r\n".utf8))
            body.append(part)
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        return Response(status: .ok, headers: [.contentType: "multipart/related; type=\"\(partType)\"; boundary=\(boundary)"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Finds where a frame of an instance sits in its slide's pyramid.
enum PyramidLookup {
    static func image(containing file: DICOMFile, in service: TileService) -> TiledImage? {
        guard let slide = service.library.slide(file.dataSet.string(.seriesInstanceUID) ?? "") else { return nil }
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
