import Foundation
import WSICodecs
import WSIDICOM
import WSITileService

/// WADO-RS rendered resources (PS3.18 8.3.5.1.3 and 10.4.1.1.3): an instance or a frame as a consumer
/// image, image/jpeg unless the Accept header prefers image/png. Slim shows label and overview this way.
struct WADORendered {
    let service: TileService

    /// The most pixels an instance is rendered with: 4096 x 4096, 48 MiB of RGB. A pyramid level past it
    /// is refused (413) rather than decoded whole; its frames, or a smaller level, can be rendered instead.
    static let pixelBudget = 4096 * 4096

    /// JPEG or PNG, as the Accept header ranks them; q=0 is honoured, and nothing acceptable is a 406.
    static func format(accept: String?) throws -> ImageFormat {
        let (entries, refused) = AcceptEntry.parse(accept)
        for entry in entries {
            switch entry.partType(default: "image/jpeg") {
            case "image/jpeg": return .jpeg
            case "image/png": return .png
            case "image/*", "*/*", "*":
                if !refused.contains("image/jpeg") { return .jpeg }
                if !refused.contains("image/png") { return .png }
            default: continue
            }
        }
        throw TileServiceError.notAcceptable("rendered images are image/jpeg or image/png")
    }

    func rendered(_ image: RGBImage, accept: String?) throws -> RouteResponse {
        let encoded = try service.encoded(image, format: try Self.format(accept: accept))
        return RouteResponse(status: 200, headers: [("Content-Type", encoded.mediaType), ("Cache-Control", "private, max-age=3600")],
                             body: encoded.data)
    }

    /// Frame `number` (from 1) of `file`, rendered.
    func frame(_ file: DICOMFile, number: Int, accept: String?) throws -> RouteResponse {
        let format = try Self.format(accept: accept)
        return try rendered(service.decodedFrame(file, number - 1), accept: format.mediaType)
    }

    /// The whole instance: its one frame (label, overview, thumbnail), or its level assembled from the
    /// frames when that fits the pixel budget.
    func instance(_ file: DICOMFile, accept: String?) throws -> RouteResponse {
        let format = try Self.format(accept: accept)
        let width = file.dataSet.int(.totalPixelMatrixColumns) ?? file.dataSet.int(.columns) ?? 0
        let height = file.dataSet.int(.totalPixelMatrixRows) ?? file.dataSet.int(.rows) ?? 0
        guard width > 0, height > 0 else { throw TileServiceError.failed("\(file.path) has no image size") }
        guard width <= Self.pixelBudget / height else {
            throw TileServiceError.tooLarge("this instance is \(width) x \(height) pixels, past the \(Self.pixelBudget) pixels rendered at once; "
                                            + "render its frames, or a smaller level")
        }
        if file.numberOfFrames == 1 {
            let frame = try service.decodedFrame(file, 0)
            let whole = frame.width == width && frame.height == height ? frame : frame.crop(x: 0, y: 0, width: width, height: height)
            return try rendered(whole, accept: format.mediaType)
        }
        guard let image = PyramidLookup.image(containing: file, in: service) else {
            throw TileServiceError.notFound("the instance's frames are not placed in a pyramid")
        }
        guard image.width <= Self.pixelBudget / max(1, image.height) else {
            throw TileServiceError.tooLarge("this level is \(image.width) x \(image.height) pixels, past the \(Self.pixelBudget) pixels rendered at once")
        }
        let whole = try service.region(of: image, x: 0, y: 0, width: image.width, height: image.height)
        return try rendered(whole, accept: format.mediaType)
    }
}
