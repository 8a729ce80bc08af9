import Foundation
import WSIDICOM
import WSITileService

/// WADO-RS retrieval of whole instances (study, series or one instance) as multipart/related;
/// type="application/dicom", and of bulk data (the ICC profile that metadata points to).
/// The stored files are sent as they are, read with pread; the route table answers with one buffer, so
/// a response past `responseBudget` is refused (413) before anything is read.
struct WADORetrieve {
    let service: TileService

    /// The most bytes of files one response carries: a series of a large slide is several GB, more than
    /// the server should hold in memory; its instances can be retrieved one by one.
    static let responseBudget = 512 << 20

    /// The files as a multipart/related body of application/dicom parts, or one file as a bare
    /// application/dicom body when that is what is asked for. The stored transfer syntax only: a request
    /// for another syntax is a 406.
    func instances(_ files: [DICOMFile], accept: String?) throws -> RouteResponse {
        let (entries, _) = AcceptEntry.parse(accept)
        let syntaxes = Set(files.map(\.transferSyntaxUID))
        var multipart: Bool?
        for entry in entries {
            let type = entry.partType(default: "application/dicom")
            guard ["application/dicom", "*/*", "*", "application/*"].contains(type) else { continue }
            if let syntax = entry.transferSyntax, syntax != "*", syntaxes != [syntax] { continue }
            let isMultipart = entry.isMultipart || entry.mediaType == "*/*"
            guard isMultipart || files.count == 1 else { continue }
            multipart = isMultipart
            break
        }
        guard let multipart else {
            throw TileServiceError.notAcceptable("instances are sent as stored (transfer syntaxes \(syntaxes.sorted().joined(separator: ", "))) "
                                                 + "in multipart/related; type=\"application/dicom\"")
        }
        var total = 0
        var sources: [(DICOMFile, FileByteSource)] = []
        for file in files {
            guard let source = file.fileSource else { throw TileServiceError.unsupported("this store does not hand out whole files") }
            total += source.count
            guard total <= Self.responseBudget else {
                throw TileServiceError.tooLarge("these instances are over \(Self.responseBudget >> 20) MiB together; retrieve them one at a time")
            }
            sources.append((file, source))
        }
        if !multipart, let (file, source) = sources.first {
            return RouteResponse(status: 200, headers: [("Content-Type", "application/dicom")], body: try read(file, source))
        }
        var body = MultipartBody()
        for (file, source) in sources {
            body.append(try read(file, source), contentType: "application/dicom; transfer-syntax=\(file.transferSyntaxUID)")
        }
        return body.response(type: "application/dicom")
    }

    private func read(_ file: DICOMFile, _ source: FileByteSource) throws -> Data {
        do {
            return try source.read(0..<source.count)
        } catch {
            service.store.frameReadFailed(file)
            throw TileServiceError.failed("\(file.path): \(error)")
        }
    }

    /// The binary element at `path` of `file`'s data set (the paths our metadata's BulkDataURIs carry),
    /// as one application/octet-stream part, or bare when the client asks for that alone.
    func bulkData(_ file: DICOMFile, path: [String], accept: String?) throws -> RouteResponse {
        guard let bytes = DICOMJSON.bulkData(in: file.dataSet, path: path) else {
            throw TileServiceError.notFound("no bulk data at \(path.joined(separator: "/"))")
        }
        let (entries, _) = AcceptEntry.parse(accept)
        for entry in entries {
            let type = entry.partType(default: "application/octet-stream")
            guard ["application/octet-stream", "*/*", "*", "application/*"].contains(type) else { continue }
            if entry.isMultipart || entry.mediaType == "*/*" {
                var body = MultipartBody()
                body.append(Data(bytes), contentType: "application/octet-stream")
                return body.response(type: "application/octet-stream")
            }
            return RouteResponse(status: 200, headers: [("Content-Type", "application/octet-stream")], body: Data(bytes))
        }
        throw TileServiceError.notAcceptable("bulk data is sent as application/octet-stream")
    }
}
